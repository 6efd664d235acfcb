//! The demo city's households: a deterministic, synthetic population for 天宁区 (who lives with
//! whom, ages, ID numbers, health, disability, work, income, assistance status), registered through
//! the same validation and sealing as real households. Loading again adds nothing.
//!
//! Randomness comes from a hand-written SplitMix64 seeded per household, not from `rand`: `StdRng`
//! is documented as free to change its stream between rand releases, and the demo city must stay
//! the same after a dependency update. Seeding per household also means the first N households
//! are the same whatever the total, so a small test load is a prefix of `--demo`. (Incomes and
//! grid weights use `ln`, `exp` and `cos` from the platform's maths library, whose last bit may
//! differ between platforms; on one platform the output never changes.)
//!
//! Every number here shapes synthetic data only. The assistance rules read their thresholds from
//! dated configuration; [`ASSUMED_DIBAO_LINE_FEN`] just decides who the demo city's poor are.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Days, Months, NaiveDate};
use geo::BoundingRect;
use jiuzhu_proto::household::{
    AssistanceStatus, CreateHousehold, DailyLiving, DisabilityType, Health, Income, Location,
    MemberInput, Relation, StudentStatus, WorkStatus,
};
use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::crypto::FieldCipher;
use crate::db::repo::households as repo;
use crate::db::repo::org_units;
use crate::db::{self, AnyConnection};
use crate::domain::geo::GridKey;
use crate::domain::geo::{GridEntry, GridLookup, LatLon};
use crate::error::{ApiError, ApiResult};
use crate::registry::{validate, write};

/// How many households `--demo` registers.
pub const FULL_COUNT: usize = 20_000;
/// External ids are `demo-000001` … `demo-020000`.
pub const EXTERNAL_ID_PREFIX: &str = "demo-";
/// 1,000 yuan per person per month, near 常州's urban dibao standard: households below it are the
/// demo city's poor. Only the generator uses it.
pub const ASSUMED_DIBAO_LINE_FEN: i64 = 100_000;

const SEED: u64 = 0x6A69_757A_6875_2026;
/// Households per transaction: a failed load keeps what it committed, and a rerun resumes.
const BATCH: usize = 1_000;
const NOTE: &str = "演示数据：合成家庭，非真实人员 / synthetic demo household";

/// What loading the households did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HouseholdsReport {
    pub created: usize,
    /// Already registered (same external id) and left alone.
    pub existing: usize,
    /// Skipped because a member's ID number is already in another household.
    pub conflicting: usize,
}

/// The external id of the `index`-th (0-based) demo household.
pub fn external_id(index: usize) -> String {
    format!("{EXTERNAL_ID_PREFIX}{:06}", index + 1)
}

/// The day ages are counted on: 1 January of this year (Beijing time). Fixed for a year, so two
/// loads on different days agree, and never in the future, so no birth date is.
pub fn reference_date(today: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today)
}

/// Whole years from `birth` to `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Registers the first `count` demo households in the demo district's grids (idempotent).
pub fn load(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    district_code: &str,
    count: usize,
) -> ApiResult<HouseholdsReport> {
    let mut report = HouseholdsReport::default();
    if count == 0 {
        return Ok(report);
    }
    let started = std::time::Instant::now();
    // The lookup the server itself uses, built from the stored boundaries: a point placed in a
    // grid here is placed back in that grid by every later lookup.
    let (lookup, _) = crate::grid_index::load(conn)?;
    let today = crate::domain::time::today();
    let mut city = Generator::new(&lookup, district_code, reference_date(today));
    if city.grids.is_empty() {
        return Err(ApiError::internal(anyhow::anyhow!(
            "the demo district {district_code} has no grids to put households in"
        )));
    }
    let mut choices: HashMap<String, write::GridChoice> = HashMap::new();
    for g in &city.grids {
        let id = &lookup.grids()[g.entry].key.id;
        let row = org_units::find_by_id(conn, id)?.ok_or_else(ApiError::not_found)?;
        choices.insert(
            id.clone(),
            write::GridChoice {
                grid_id: row.id,
                org_path: row.path,
                overridden: false,
            },
        );
    }
    let now = db::now();
    for start in (0..count).step_by(BATCH) {
        let end = (start + BATCH).min(count);
        // Every household is generated, even ones already stored: later ones depend on the
        // ID numbers handed out before them.
        let drafts = (start..end)
            .map(|i| city.household(i))
            .collect::<Option<Vec<DemoHousehold>>>()
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "no point in the demo grids that the grid lookup recognises"
                ))
            })?;
        let ids: Vec<String> = (start..end).map(external_id).collect();
        let existing: HashSet<String> = repo::existing_external_ids(conn, &ids)?
            .into_iter()
            .collect();
        let mut batch = Vec::with_capacity(drafts.len());
        for draft in drafts {
            if draft
                .input
                .external_id
                .as_ref()
                .is_some_and(|e| existing.contains(e))
            {
                report.existing += 1;
                continue;
            }
            let valid = validate::household(draft.input).map_err(|errors| {
                // Field paths and codes only: the generator made a household the registry
                // refuses, which is a bug here, not bad input.
                let codes: Vec<String> = errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.code))
                    .collect();
                ApiError::internal(anyhow::anyhow!(
                    "demo household refused by validation: {}",
                    codes.join(", ")
                ))
            })?;
            let grid = choices
                .get(&draft.grid_id)
                .ok_or_else(ApiError::not_found)?;
            batch.push(write::build(cipher, &valid, grid, None, now, today)?);
        }
        if batch.is_empty() {
            continue;
        }
        let (created, conflicting) = db::write_transaction(conn, |conn| {
            // The one-household-per-number rule holds for the demo too: a number some real
            // household already has keeps its household, and the demo one is left out.
            let members: Vec<_> = batch
                .iter()
                .flat_map(|n| n.members.iter().cloned())
                .collect();
            let taken: HashSet<Vec<u8>> = write::find_clashes(conn, &members, None)?
                .into_iter()
                .map(|c| c.id_blind)
                .collect();
            let before = batch.len();
            batch.retain(|n| !n.members.iter().any(|m| taken.contains(&m.id_blind)));
            write::insert_all(conn, &batch)?;
            Ok::<_, ApiError>((batch.len(), before - batch.len()))
        })?;
        report.created += created;
        report.conflicting += conflicting;
    }
    if report.created > 0 {
        let district = org_units::find_by_code(conn, district_code)?;
        db::write_transaction(conn, |conn| {
            audit::record(
                conn,
                AuditEntry {
                    actor_id: None,
                    action: "household.demo_load",
                    entity: "org_unit",
                    entity_id: district.as_ref().map_or("", |d| d.id.as_str()),
                    org_path: district.as_ref().map_or("", |d| d.path.as_str()),
                    detail: json!({
                        "created": report.created,
                        "existing": report.existing,
                        "conflicting": report.conflicting,
                    }),
                },
            )
        })?;
    }
    tracing::info!(
        created = report.created,
        existing = report.existing,
        conflicting = report.conflicting,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo households loaded"
    );
    Ok(report)
}

/// One generated household and the grid its location lies in.
#[derive(Debug, Clone)]
pub struct DemoHousehold {
    pub input: CreateHousehold,
    /// The lookup key id of the grid (`GridKey::id`).
    pub grid_id: String,
}

/// A grid households can be put in, with what its addresses look like.
#[derive(Debug, Clone)]
struct DemoGrid {
    /// Index into the lookup's grids.
    entry: usize,
    bounds: geo::Rect<f64>,
    estate: String,
    roads: [&'static str; 2],
    buildings: u64,
    /// Estates built after 2000 have lifts and more floors than the 1980s 新村.
    tall: bool,
}

/// The synthetic population of a district. Households are generated in index order; the only
/// state carried between them is the set of ID numbers already handed out.
pub struct Generator<'a> {
    lookup: &'a GridLookup<GridKey>,
    grids: Vec<DemoGrid>,
    /// Cumulative weights over `grids`.
    cumulative: Vec<f64>,
    /// The first households go one to each grid in this order, so every grid gets some.
    first_round: Vec<usize>,
    as_of: NaiveDate,
    /// First 17 digits of every ID number handed out.
    issued: HashSet<u64>,
}

impl<'a> Generator<'a> {
    /// Households for the grids of `lookup` whose codes start with `district_code`; ages are as
    /// of `as_of`.
    pub fn new(lookup: &'a GridLookup<GridKey>, district_code: &str, as_of: NaiveDate) -> Self {
        let mut grids = Vec::new();
        let mut weights = Vec::new();
        for (entry, g) in lookup.grids().iter().enumerate() {
            if !g.code.starts_with(district_code) {
                continue;
            }
            let Some(bounds) = g.boundary.bounding_rect() else {
                continue;
            };
            let mut rng = Rng::new(SEED ^ hash_str(&g.code));
            weights.push(density(&mut rng, g, bounds));
            grids.push(describe_grid(&mut rng, entry, g, bounds));
        }
        let mut cumulative = Vec::with_capacity(weights.len());
        let mut total = 0.0;
        for w in weights {
            total += w;
            cumulative.push(total);
        }
        let mut first_round: Vec<usize> = (0..grids.len()).collect();
        let mut rng = Rng::new(SEED.rotate_left(17));
        for i in (1..first_round.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            first_round.swap(i, j);
        }
        Self {
            lookup,
            grids,
            cumulative,
            first_round,
            as_of,
            issued: HashSet::new(),
        }
    }

    /// The `index`-th household (0-based); call in index order for the same ID numbers. `None`
    /// only when no grid has a point the lookup finds.
    pub fn household(&mut self, index: usize) -> Option<DemoHousehold> {
        let mut rng = Rng::new(SEED ^ mix(index as u64));
        let (grid, point) = self.place(&mut rng, index)?;
        let grid_id = self.lookup.grids()[self.grids[grid].entry].key.id.clone();
        let shape = *rng.weighted(SHAPES);
        let mut people = compose(&mut rng, shape);
        for p in &mut people {
            p.health = health(&mut rng, p.age);
            p.disability = disability(&mut rng, p.age);
        }
        let stratum = stratum(&mut rng, shape, &people);
        for p in &mut people {
            p.daily_living = daily_living(&mut rng, p);
            let (work, student) = occupation(&mut rng, p, stratum);
            p.work = work;
            p.student = student;
            p.income = income(&mut rng, p, stratum);
        }
        fit_income(&mut rng, &mut people, stratum);
        if stratum == Stratum::Comfortable && rng.chance(0.05) {
            // Letting a second flat: 常州 rents run 1,000–5,000 yuan a month.
            people[0].income.rent_fen += yuan(rng.range(12_000, 60_000) as f64);
        }
        let (status, since) = status(&mut rng, shape, &people, stratum, self.as_of);
        let tags = tags(shape, &people);
        let address = self.address(&mut rng, grid);
        let origin = origin(&mut rng, people[0].age);
        let home_region = region_of(&mut rng, origin);
        let surnames = surnames(&mut rng, &people);
        let mut members = Vec::with_capacity(people.len());
        for (p, surname) in people.iter().zip(surnames) {
            let region = region(&mut rng, p, home_region);
            let birth = birth_date(&mut rng, p.age, self.as_of);
            let (id_number, birth) = self.issue_id(&mut rng, region, birth, p.male);
            members.push(MemberInput {
                name: name(&mut rng, surname, birth.year(), p.male),
                relation: p.relation,
                id_number,
                birth_date: Some(birth),
                gender: None,
                health: p.health,
                disability_type: p.disability.map(|d| d.0),
                disability_level: p.disability.map(|d| d.1),
                daily_living: p.daily_living,
                work_status: p.work,
                student_status: p.student,
                annual_income: p.income,
                phone: phone(&mut rng, p),
            });
        }
        Some(DemoHousehold {
            input: CreateHousehold {
                external_id: Some(external_id(index)),
                address,
                location: Some(Location {
                    lat: point.lat(),
                    lon: point.lon(),
                    crs: None,
                }),
                grid_id: None,
                status: Some(status),
                status_since: since,
                tags,
                notes: NOTE.to_owned(),
                members,
            },
            grid_id,
        })
    }

    /// A grid and a point the lookup puts in it, by rejection sampling in the grid's bounding
    /// box. The point is rounded to 6 decimals (about 0.1 m) before the test, so what is stored
    /// is what was tested.
    fn place(&self, rng: &mut Rng, index: usize) -> Option<(usize, LatLon)> {
        let mut grid = match self.first_round.get(index) {
            Some(g) => *g,
            None => self.weighted_grid(rng),
        };
        for _ in 0..100 {
            let g = &self.grids[grid];
            let key = &self.lookup.grids()[g.entry].key.id;
            for _ in 0..2_000 {
                let lon = round6(g.bounds.min().x + rng.unit() * g.bounds.width());
                let lat = round6(g.bounds.min().y + rng.unit() * g.bounds.height());
                let Ok(p) = LatLon::new(lat, lon) else {
                    continue;
                };
                if self.lookup.locate(p).is_some_and(|e| &e.key.id == key) {
                    return Some((grid, p));
                }
            }
            // A sliver the sampler cannot hit: another grid takes the household.
            grid = self.weighted_grid(rng);
        }
        None
    }

    fn weighted_grid(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let x = rng.unit() * total;
        self.cumulative
            .partition_point(|c| *c <= x)
            .min(self.grids.len().saturating_sub(1))
    }

    fn address(&self, rng: &mut Rng, grid: usize) -> String {
        let g = &self.grids[grid];
        let floors = if g.tall { 18 } else { 6 };
        let floor = rng.range(1, floors);
        let room = rng.range(1, if g.tall { 4 } else { 2 });
        if rng.chance(0.7) {
            let building = rng.range(1, g.buildings as i64);
            let unit = rng.range(1, if g.tall { 2 } else { 4 });
            format!("天宁区{}{building}幢{unit}单元{floor}{room:02}室", g.estate)
        } else {
            let road = g.roads[rng.below(2) as usize];
            let number = rng.range(1, 399);
            format!("天宁区{road}{number}号{floor}{room:02}室")
        }
    }

    /// A GB 11643 number nobody in the demo city has yet, and the birth date in it: the sequence
    /// number moves on (keeping its parity, which is the gender) until it is free.
    fn issue_id(
        &mut self,
        rng: &mut Rng,
        region: u64,
        birth: NaiveDate,
        male: bool,
    ) -> (String, NaiveDate) {
        let mut birth = birth;
        loop {
            let date = u64::from(birth.year() as u32) * 10_000
                + u64::from(birth.month()) * 100
                + u64::from(birth.day());
            let start = rng.below(500);
            for step in 0..500 {
                let seq = ((start + step) % 500) * 2 + u64::from(male);
                if seq == 0 {
                    continue;
                }
                let first17 = region * 100_000_000_000 + date * 1_000 + seq;
                if self.issued.insert(first17) {
                    let digits = format!("{first17:017}");
                    return (format!("{digits}{}", check_character(&digits)), birth);
                }
            }
            // All 500 numbers of that day are taken (never, at demo sizes): use the day before.
            birth = birth.pred_opt().unwrap_or(birth);
        }
    }
}

/// The GB 11643 check character: Σ(digit × weight) mod 11, weights 7 9 10 5 8 4 2 1 6 3 7 9 10
/// 5 8 4 2, mapped 0..10 → `1 0 X 9 8 7 6 5 4 3 2`.
fn check_character(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    CHARS[(sum % 11) as usize]
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

fn yuan(amount: f64) -> i64 {
    (amount * 100.0).round().max(0.0) as i64
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and its output is fixed by its
/// definition rather than by a crate version.
struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hash_str(s: &str) -> u64 {
    s.bytes()
        .fold(0u64, |h, b| mix(h.wrapping_add(GOLDEN) ^ u64::from(b)))
}

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(mix(seed))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in lo..=hi (lo when hi < lo).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn weighted<'t, T>(&mut self, items: &'t [(T, u32)]) -> &'t T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            if x < u64::from(*w) {
                return item;
            }
            x -= u64::from(*w);
        }
        &items[items.len() - 1].0
    }

    /// An age from (lowest, highest, weight) bands, uniform within a band.
    fn age(&mut self, bands: &[(i32, i32, u32)]) -> i32 {
        let total: u64 = bands.iter().map(|b| u64::from(b.2)).sum();
        let mut x = self.below(total);
        for &(lo, hi, w) in bands {
            if x < u64::from(w) {
                return self.range(i64::from(lo), i64::from(hi)) as i32;
            }
            x -= u64::from(w);
        }
        bands.last().map_or(0, |b| b.1)
    }
}

// ---------------------------------------------------------------------------------------------
// Grids and addresses

/// Roads of 天宁区.
const ROADS: &[&str] = &[
    "延陵东路",
    "和平北路",
    "关河东路",
    "劳动东路",
    "东横街",
    "青洋北路",
    "竹林北路",
    "飞龙东路",
    "中吴大道",
    "北塘河路",
    "红梅南路",
    "兰陵北路",
    "博爱路",
    "丽华北路",
    "晋陵北路",
    "健身路",
    "常澄路",
    "永宁北路",
];

const ESTATE_SUFFIXES: &[&str] = &["新村", "花苑", "家园", "小区", "公寓"];

/// 红梅公园, the old city centre (WGS-84): households thin out away from it.
const CENTRE: (f64, f64) = (119.9636, 31.7790);

fn density(rng: &mut Rng, g: &GridEntry<GridKey>, bounds: geo::Rect<f64>) -> f64 {
    let area = geo::Area::unsigned_area(&g.boundary);
    let c = bounds.center();
    let km_x = (c.x - CENTRE.0) * 111.32 * CENTRE.1.to_radians().cos();
    let km_y = (c.y - CENTRE.1) * 110.57;
    let km = (km_x * km_x + km_y * km_y).sqrt();
    area * (0.35 + (-km / 5.0).exp()) * (0.6 + 0.8 * rng.unit())
}

fn describe_grid(
    rng: &mut Rng,
    entry: usize,
    g: &GridEntry<GridKey>,
    bounds: geo::Rect<f64>,
) -> DemoGrid {
    // "红梅新村社区第3网格" → "红梅新村"; a repeated community name, "丽华新村2村", gives "丽华新村",
    // and its estate is told apart as "丽华新村二区".
    let community = g.key.name.split("社区").next().unwrap_or_default();
    let (base, round) = match community.find(|c: char| c.is_ascii_digit()) {
        Some(at) => (&community[..at], community[at..].trim_end_matches('村')),
        None => (community, ""),
    };
    let base = if base.is_empty() { "天宁" } else { base };
    let mut estate = if ["新村", "苑", "花园", "新城", "家园"]
        .iter()
        .any(|s| base.ends_with(s))
    {
        base.to_owned()
    } else {
        format!("{base}{}", rng.pick(ESTATE_SUFFIXES))
    };
    if !round.is_empty() {
        const NUMERALS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
        let n: usize = round.parse().unwrap_or(0);
        match NUMERALS.get(n).filter(|s| !s.is_empty()) {
            Some(numeral) => estate.push_str(&format!("{numeral}区")),
            None => estate.push_str(&format!("{round}区")),
        }
    }
    DemoGrid {
        entry,
        bounds,
        estate,
        roads: [rng.pick(ROADS), rng.pick(ROADS)],
        buildings: rng.range(8, 60) as u64,
        tall: rng.chance(0.4),
    }
}

// ---------------------------------------------------------------------------------------------
// Who lives together

/// Household compositions of an urban district. Weights are per mille of households; sizes come
/// out 1: 26 %, 2: 28.5 %, 3: 22 %, 4: 13.5 %, 5: 7 %, 6: 3 % (mean ≈ 2.55, near the 2020
/// census's 2.5 for urban Jiangsu), with many elderly living alone or as couples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    SoloElder,
    SoloAdult,
    ElderCouple,
    Couple,
    SingleParent {
        kids: u8,
    },
    ElderWithChild,
    Couple2 {
        kids: u8,
        parents: u8,
    },
    /// Grandparents raising a grandchild while the parents work elsewhere (隔代抚养).
    SkippedGeneration,
    /// An older couple with a grown child, perhaps the child's spouse, and grandchildren.
    ThreeGenerations {
        in_law: bool,
        grandkids: u8,
    },
}

const SHAPES: &[(Shape, u32)] = &[
    (Shape::SoloElder, 105),
    (Shape::SoloAdult, 155),
    (Shape::ElderCouple, 130),
    (Shape::Couple, 85),
    (Shape::SingleParent { kids: 1 }, 40),
    (Shape::ElderWithChild, 30),
    (
        Shape::Couple2 {
            kids: 1,
            parents: 0,
        },
        175,
    ),
    (
        Shape::Couple2 {
            kids: 0,
            parents: 1,
        },
        20,
    ),
    (Shape::SkippedGeneration, 15),
    (Shape::SingleParent { kids: 2 }, 10),
    (
        Shape::Couple2 {
            kids: 2,
            parents: 0,
        },
        70,
    ),
    (
        Shape::Couple2 {
            kids: 1,
            parents: 1,
        },
        40,
    ),
    (
        Shape::ThreeGenerations {
            in_law: false,
            grandkids: 1,
        },
        25,
    ),
    (
        Shape::Couple2 {
            kids: 1,
            parents: 2,
        },
        30,
    ),
    (
        Shape::Couple2 {
            kids: 2,
            parents: 1,
        },
        20,
    ),
    (
        Shape::ThreeGenerations {
            in_law: true,
            grandkids: 1,
        },
        20,
    ),
    (
        Shape::Couple2 {
            kids: 2,
            parents: 2,
        },
        15,
    ),
    (
        Shape::ThreeGenerations {
            in_law: true,
            grandkids: 2,
        },
        15,
    ),
];

/// 60 and over, living with others: the young old predominate.
const ELDER_AGES: &[(i32, i32, u32)] = &[
    (60, 64, 25),
    (65, 69, 25),
    (70, 74, 19),
    (75, 79, 12),
    (80, 84, 10),
    (85, 89, 6),
    (90, 99, 3),
];
/// 60 and over, living alone: older, mostly widowed.
const SOLO_ELDER_AGES: &[(i32, i32, u32)] = &[
    (60, 64, 12),
    (65, 69, 16),
    (70, 74, 20),
    (75, 79, 18),
    (80, 84, 17),
    (85, 89, 11),
    (90, 99, 6),
];
const SOLO_ADULT_AGES: &[(i32, i32, u32)] = &[
    (20, 24, 15),
    (25, 29, 22),
    (30, 34, 18),
    (35, 39, 12),
    (40, 49, 15),
    (50, 59, 18),
];

#[derive(Debug, Clone)]
struct Person {
    relation: Relation,
    age: i32,
    male: bool,
    health: Health,
    disability: Option<(DisabilityType, u8)>,
    daily_living: DailyLiving,
    work: WorkStatus,
    student: StudentStatus,
    income: Income,
}

impl Person {
    fn new(relation: Relation, age: i32, male: bool) -> Self {
        Self {
            relation,
            age: age.clamp(0, 104),
            male,
            health: Health::Healthy,
            disability: None,
            daily_living: DailyLiving::default(),
            work: WorkStatus::NotWorkingAge,
            student: StudentStatus::NotStudent,
            income: Income::default(),
        }
    }

    fn severely_disabled(&self) -> bool {
        self.disability.is_some_and(|(_, level)| level <= 2)
    }
}

/// Husbands are usually a little older than their wives.
fn spouse_of(rng: &mut Rng, head: &Person) -> Person {
    let gap = *rng.weighted(&[
        (0, 20),
        (1, 18),
        (2, 18),
        (3, 14),
        (4, 10),
        (6, 8),
        (-1, 7),
        (-2, 5),
    ]);
    let age = if head.male {
        head.age - gap
    } else {
        head.age + gap
    };
    Person::new(Relation::Spouse, age.max(20), !head.male)
}

/// A child of someone `parent` years old: born when the parent was 22 to 38.
fn child_age(rng: &mut Rng, parent: i32) -> i32 {
    let max_gap = parent.min(38);
    let min_gap = 22.min(max_gap);
    parent - rng.range(i64::from(min_gap), i64::from(max_gap)) as i32
}

fn younger_sibling(rng: &mut Rng, older: i32) -> i32 {
    (older - rng.range(1, 8) as i32).max(0)
}

fn parent_age(rng: &mut Rng, child: i32) -> i32 {
    (child + rng.range(22, 34) as i32).min(101)
}

fn compose(rng: &mut Rng, shape: Shape) -> Vec<Person> {
    let mut people = Vec::with_capacity(6);
    match shape {
        Shape::SoloElder => {
            let age = rng.age(SOLO_ELDER_AGES);
            people.push(Person::new(Relation::Head, age, rng.chance(0.35)));
        }
        Shape::SoloAdult => {
            let age = rng.age(SOLO_ADULT_AGES);
            people.push(Person::new(Relation::Head, age, rng.chance(0.56)));
        }
        Shape::ElderCouple => {
            let head = Person::new(Relation::Head, rng.age(ELDER_AGES), rng.chance(0.8));
            let spouse = spouse_of(rng, &head);
            people.extend([head, spouse]);
        }
        Shape::Couple => {
            let age = if rng.chance(0.55) {
                rng.range(23, 34)
            } else {
                rng.range(45, 59)
            };
            let head = Person::new(Relation::Head, age as i32, rng.chance(0.75));
            let spouse = spouse_of(rng, &head);
            people.extend([head, spouse]);
        }
        Shape::SingleParent { kids } => {
            let head = Person::new(Relation::Head, rng.range(27, 55) as i32, rng.chance(0.25));
            let mut kid = child_age(rng, head.age);
            people.push(head);
            for _ in 0..kids {
                people.push(Person::new(Relation::Child, kid, rng.chance(0.51)));
                kid = younger_sibling(rng, kid);
            }
        }
        Shape::ElderWithChild => {
            let head = Person::new(Relation::Head, rng.range(62, 95) as i32, rng.chance(0.4));
            let child = child_age(rng, head.age).max(25);
            people.push(head);
            people.push(Person::new(Relation::Child, child, rng.chance(0.55)));
        }
        Shape::Couple2 { kids, parents } => {
            let age = match (kids, parents) {
                (0, _) => rng.range(38, 62),
                (_, 0) => rng.range(26, 56),
                _ => rng.range(30, 56),
            };
            let head = Person::new(Relation::Head, age as i32, rng.chance(0.75));
            let spouse = spouse_of(rng, &head);
            let mother = if head.male { spouse.age } else { head.age };
            let own_parent_age = parent_age(rng, head.age);
            people.extend([head, spouse]);
            let mut kid = child_age(rng, mother);
            for _ in 0..kids {
                people.push(Person::new(Relation::Child, kid, rng.chance(0.51)));
                kid = younger_sibling(rng, kid);
            }
            match parents {
                0 => {}
                1 => people.push(Person::new(
                    Relation::Parent,
                    own_parent_age,
                    rng.chance(0.3),
                )),
                _ => {
                    let wife = own_parent_age - rng.range(0, 4) as i32;
                    people.push(Person::new(Relation::Parent, own_parent_age, true));
                    people.push(Person::new(Relation::Parent, wife, false));
                }
            }
        }
        Shape::SkippedGeneration => {
            let head = Person::new(Relation::Head, rng.range(56, 78) as i32, rng.chance(0.7));
            let spouse = spouse_of(rng, &head);
            people.extend([head, spouse]);
            people.push(Person::new(
                Relation::Grandchild,
                rng.range(3, 16) as i32,
                rng.chance(0.51),
            ));
        }
        Shape::ThreeGenerations { in_law, grandkids } => {
            let head = Person::new(Relation::Head, rng.range(52, 78) as i32, rng.chance(0.75));
            let spouse = spouse_of(rng, &head);
            let child_age = child_age(rng, head.age.min(spouse.age)).max(24);
            let child_male = rng.chance(0.6);
            people.extend([head, spouse]);
            people.push(Person::new(Relation::Child, child_age, child_male));
            let mut mother = child_age;
            if in_law {
                let partner_age = (child_age + rng.range(-3, 3) as i32).max(22);
                people.push(Person::new(Relation::ChildInLaw, partner_age, !child_male));
                if child_male {
                    mother = partner_age;
                }
            }
            let mut kid = (mother - rng.range(22, 34) as i32).max(0);
            for _ in 0..grandkids {
                people.push(Person::new(Relation::Grandchild, kid, rng.chance(0.51)));
                kid = younger_sibling(rng, kid);
            }
        }
    }
    people
}

// ---------------------------------------------------------------------------------------------
// Health, disability, daily living

/// Chronic illness rises with age (≈ 40 % over 60); grave illness (cancer, uraemia, …) ≈ 2.5 %.
fn health(rng: &mut Rng, age: i32) -> Health {
    let (grave, chronic) = match age {
        ..=17 => (0.004, 0.02),
        18..=39 => (0.008, 0.06),
        40..=59 => (0.025, 0.20),
        60..=69 => (0.045, 0.34),
        70..=79 => (0.06, 0.42),
        _ => (0.07, 0.48),
    };
    let x = rng.unit();
    if x < grave {
        Health::GraveIllness
    } else if x < grave + chronic {
        Health::Chronic
    } else {
        Health::Healthy
    }
}

/// ≈ 6 % of people (the 2006 national sample survey found 6.3 %), far more among the old; level 1
/// is the most severe and the rarest.
fn disability(rng: &mut Rng, age: i32) -> Option<(DisabilityType, u8)> {
    let p = match age {
        ..=17 => 0.012,
        18..=44 => 0.03,
        45..=59 => 0.06,
        60..=74 => 0.10,
        _ => 0.18,
    };
    if !rng.chance(p) {
        return None;
    }
    use DisabilityType as D;
    let kind = match age {
        ..=17 => *rng.weighted(&[
            (D::Intellectual, 35),
            (D::Physical, 20),
            (D::Multiple, 15),
            (D::Hearing, 10),
            (D::Speech, 10),
            (D::Visual, 5),
            (D::Mental, 5),
        ]),
        18..=59 => *rng.weighted(&[
            (D::Physical, 35),
            (D::Mental, 15),
            (D::Multiple, 13),
            (D::Visual, 12),
            (D::Hearing, 12),
            (D::Intellectual, 10),
            (D::Speech, 3),
        ]),
        _ => *rng.weighted(&[
            (D::Physical, 30),
            (D::Hearing, 28),
            (D::Visual, 20),
            (D::Multiple, 14),
            (D::Mental, 4),
            (D::Intellectual, 2),
            (D::Speech, 2),
        ]),
    };
    let level = *rng.weighted(&[(1u8, 10), (2, 18), (3, 30), (4, 42)]);
    Some((kind, level))
}

/// The six items fail mostly among the very old and the severely disabled, in the usual order
/// of loss (Katz): bathing first, eating last.
fn daily_living(rng: &mut Rng, p: &Person) -> DailyLiving {
    let mut chance: f64 = match p.age {
        ..=59 => 0.005,
        60..=69 => 0.02,
        70..=79 => 0.06,
        80..=84 => 0.15,
        85..=89 => 0.28,
        _ => 0.45,
    };
    let affects_self_care = |d: DisabilityType| {
        !matches!(
            d,
            DisabilityType::Hearing | DisabilityType::Speech | DisabilityType::Visual
        )
    };
    match p.disability {
        Some((d, 1..=2)) if affects_self_care(d) => chance += 0.5,
        Some((_, 1..=2)) => chance += 0.15,
        Some((_, 3)) => chance += 0.08,
        _ => {}
    }
    if p.health == Health::GraveIllness {
        chance += 0.12;
    }
    let mut items = DailyLiving::default();
    if p.age < 3 || !rng.chance(chance.min(0.95)) {
        return items;
    }
    let severe = p.severely_disabled() || p.age >= 90;
    let failed = if severe {
        *rng.weighted(&[(1, 12), (2, 14), (3, 16), (4, 18), (5, 18), (6, 22)])
    } else {
        *rng.weighted(&[(1, 34), (2, 24), (3, 17), (4, 11), (5, 8), (6, 6)])
    };
    let order: [&mut bool; 6] = [
        &mut items.bathing,
        &mut items.dressing,
        &mut items.toileting,
        &mut items.getting_in_and_out_of_bed,
        &mut items.walking_indoors,
        &mut items.eating,
    ];
    for item in order.into_iter().take(failed) {
        *item = false;
    }
    items
}

// ---------------------------------------------------------------------------------------------
// Work and income

/// Where a household stands; decided before incomes so that hardship, work and illness go
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stratum {
    /// Per-capita income under the dibao line.
    Poor,
    /// Between the line and 1.5 times it.
    Edge,
    Comfortable,
}

/// Hardship follows living alone in old age, severe disability, grave illness and single
/// parenthood.
fn stratum(rng: &mut Rng, shape: Shape, people: &[Person]) -> Stratum {
    let mut v = 0.0;
    if shape == Shape::SoloElder {
        v += 1.0;
    }
    if people.len() > 1 && people.iter().all(|p| p.age >= 60) {
        v += 0.4;
    }
    if matches!(shape, Shape::SingleParent { .. }) {
        v += 1.0;
    }
    if people.iter().any(Person::severely_disabled) {
        v += 1.5;
    } else if people.iter().any(|p| p.disability.is_some()) {
        v += 0.4;
    }
    if people.iter().any(|p| p.health == Health::GraveIllness) {
        v += 1.5;
    }
    let poor = 0.017 + 0.029 * v;
    let edge = 0.02 + 0.013 * v;
    let x = rng.unit();
    if x < poor {
        Stratum::Poor
    } else if x < poor + edge {
        Stratum::Edge
    } else {
        Stratum::Comfortable
    }
}

fn occupation(rng: &mut Rng, p: &Person, stratum: Stratum) -> (WorkStatus, StudentStatus) {
    use StudentStatus as S;
    use WorkStatus as W;
    let away = p.relation != Relation::Head;
    let school = match p.age {
        ..=2 => Some(S::NotStudent),
        3..=5 => Some(if rng.chance(0.92) {
            S::Preschool
        } else {
            S::NotStudent
        }),
        6..=11 => Some(S::Primary),
        12..=14 => Some(S::JuniorSecondary),
        15..=17 => Some(*rng.weighted(&[
            (S::SeniorSecondary, 80),
            (S::Vocational, 17),
            (S::NotStudent, 3),
        ])),
        // Students away at college stay in their parents' household; none heads one.
        18..=19 if away && rng.chance(0.12) => Some(S::Vocational),
        18..=21 if away && rng.chance(0.55) => Some(S::Tertiary),
        22 if away && rng.chance(0.3) => Some(S::Tertiary),
        _ => None,
    };
    // Full-time pupils and students are outside the labour force.
    if let Some(student) = school {
        if p.severely_disabled() && p.age >= 16 && student == S::NotStudent {
            return (W::UnableToWork, student);
        }
        return (W::NotWorkingAge, student);
    }
    if p.age >= 60 {
        let still_working = p.age < 70 && stratum == Stratum::Comfortable && rng.chance(0.07);
        return (
            if still_working {
                W::Employed
            } else {
                W::Retired
            },
            S::NotStudent,
        );
    }
    if p.severely_disabled() && rng.chance(0.85) {
        return (W::UnableToWork, S::NotStudent);
    }
    if p.health == Health::GraveIllness && rng.chance(0.6) {
        return (W::UnableToWork, S::NotStudent);
    }
    // Women of many trades retire at 50 or 55, men at 60 (a few earlier).
    let retired = match (p.male, p.age) {
        (false, 50..=54) => rng.chance(0.35),
        (false, 55..=59) => rng.chance(0.8),
        (true, 55..=59) => rng.chance(0.12),
        _ => false,
    };
    if retired {
        return (W::Retired, S::NotStudent);
    }
    let work = match stratum {
        Stratum::Comfortable => *rng.weighted(&[
            (W::Employed, 80),
            (W::SelfEmployed, 12),
            (W::Unemployed, 6),
            (W::Farming, 2),
        ]),
        Stratum::Edge => *rng.weighted(&[
            (W::Employed, 58),
            (W::SelfEmployed, 10),
            (W::Unemployed, 29),
            (W::Farming, 3),
        ]),
        Stratum::Poor => *rng.weighted(&[
            (W::Employed, 35),
            (W::SelfEmployed, 7),
            (W::Unemployed, 45),
            (W::UnableToWork, 10),
            (W::Farming, 3),
        ]),
    };
    (work, S::NotStudent)
}

/// Annual income by source. Wages are log-normal around 72,000 yuan a year (常州's urban
/// per-capita disposable income is near 75,000), lower early and late in a career; pensions are
/// the enterprise (≈ 3,400 a month), public-sector (≈ 6,500) or residents' basic (≈ 350–750)
/// kind.
fn income(rng: &mut Rng, p: &Person, stratum: Stratum) -> Income {
    let mut income = Income::default();
    let career = match p.age {
        ..=24 => 0.65,
        25..=34 => 0.95,
        35..=49 => 1.05,
        _ => 0.9,
    };
    let (wage, business) = match stratum {
        Stratum::Comfortable => (72_000.0, 85_000.0),
        Stratum::Edge => (36_000.0, 35_000.0),
        Stratum::Poor => (22_000.0, 18_000.0),
    };
    match p.work {
        WorkStatus::Employed => income.wages_fen = yuan(rng.log_normal(wage * career, 0.45)),
        WorkStatus::SelfEmployed => {
            income.business_fen = yuan(rng.log_normal(business * career, 0.7));
        }
        WorkStatus::Farming => income.farming_fen = yuan(rng.log_normal(12_000.0, 0.4)),
        WorkStatus::Unemployed => {
            let insured = if stratum == Stratum::Comfortable {
                0.35
            } else {
                0.15
            };
            if rng.chance(insured) {
                // Unemployment insurance, about 1,950 yuan a month in 常州, for part of the year.
                income.other_fen = yuan(1_950.0 * rng.range(3, 12) as f64);
            }
        }
        WorkStatus::Retired => {
            let (enterprise, public) = match stratum {
                Stratum::Comfortable => (0.78, 0.14),
                Stratum::Edge => (0.45, 0.0),
                Stratum::Poor => (0.15, 0.0),
            };
            let x = rng.unit();
            let monthly = if x < public {
                rng.log_normal(6_500.0, 0.22)
            } else if x < public + enterprise {
                rng.log_normal(3_400.0, 0.28)
            } else {
                // Never had an urban job: the residents' basic pension, and children help.
                let support = if stratum == Stratum::Comfortable {
                    rng.chance(0.6).then(|| rng.range(6_000, 24_000))
                } else {
                    rng.chance(0.3).then(|| rng.range(1_000, 6_000))
                };
                income.support_fen = yuan(support.unwrap_or(0) as f64);
                rng.range(350, 750) as f64
            };
            income.pension_fen = yuan(monthly * 12.0);
        }
        WorkStatus::UnableToWork => {
            if p.disability.is_some() {
                // 困难残疾人生活补贴 and 重度残疾人护理补贴.
                income.other_fen = yuan(rng.range(1_200, 3_600) as f64);
            }
        }
        WorkStatus::NotWorkingAge => {}
    }
    income
}

fn total(people: &[Person]) -> i64 {
    people
        .iter()
        .map(|p| p.income.total().unwrap_or(i64::MAX))
        .fold(0i64, i64::saturating_add)
}

fn scale(income: &mut Income, factor: f64) {
    for v in [
        &mut income.wages_fen,
        &mut income.farming_fen,
        &mut income.business_fen,
        &mut income.rent_fen,
        &mut income.pension_fen,
        &mut income.support_fen,
        &mut income.other_fen,
    ] {
        *v = (*v as f64 * factor).floor() as i64;
    }
}

/// Puts per-capita income where the stratum says: a poor household under the line, an edge
/// household between 1 and 1.5 times it, any other at 1.5 times or more. Cutting keeps every
/// source's share; raising raises earnings (wages, business, farming), or, where nobody in the
/// household earns, the help of relatives living elsewhere.
fn fit_income(rng: &mut Rng, people: &mut [Person], stratum: Stratum) {
    let line = ASSUMED_DIBAO_LINE_FEN as f64 * 12.0 * people.len() as f64;
    let (low, high) = match stratum {
        Stratum::Poor => (0.0, 0.1 + 0.85 * rng.unit()),
        Stratum::Edge => {
            let t = 1.02 + 0.46 * rng.unit();
            (t, t)
        }
        Stratum::Comfortable => (1.5 + 0.3 * rng.unit(), f64::INFINITY),
    };
    let now = total(people) as f64;
    if now > line * high {
        let factor = line * high / now;
        for p in people.iter_mut() {
            scale(&mut p.income, factor);
        }
    } else if now < line * low {
        let gap = line * low - now;
        let earned: f64 = people
            .iter()
            .map(|p| (p.income.wages_fen + p.income.business_fen + p.income.farming_fen) as f64)
            .sum();
        if earned > 0.0 {
            let factor = (earned + gap) / earned;
            for p in people.iter_mut() {
                for v in [
                    &mut p.income.wages_fen,
                    &mut p.income.business_fen,
                    &mut p.income.farming_fen,
                ] {
                    *v = (*v as f64 * factor).ceil() as i64;
                }
            }
        } else {
            people[0].income.support_fen += gap.ceil() as i64;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Status and tags

fn status(
    rng: &mut Rng,
    shape: Shape,
    people: &[Person],
    stratum: Stratum,
    as_of: NaiveDate,
) -> (AssistanceStatus, Option<NaiveDate>) {
    use AssistanceStatus as A;
    // 特困: alone and unable to work (old or severely disabled), with nobody obliged to support.
    let tekun_eligible = shape != Shape::ElderWithChild
        && people.len() == 1
        && (people[0].age >= 60 || people[0].severely_disabled());
    let status = match stratum {
        Stratum::Poor if tekun_eligible => {
            *rng.weighted(&[(A::Tekun, 55), (A::Dibao, 35), (A::None, 10)])
        }
        Stratum::Poor => *rng.weighted(&[(A::Dibao, 52), (A::None, 48)]),
        // A few are former dibao households in the gradual exit.
        Stratum::Edge => *rng.weighted(&[(A::Edge, 55), (A::Dibao, 4), (A::None, 41)]),
        Stratum::Comfortable => A::None,
    };
    let days_back = match status {
        A::Dibao => rng.range(60, 2_500),
        A::Tekun => rng.range(180, 3_600),
        A::Edge => rng.range(30, 900),
        _ => return (status, None),
    };
    (status, as_of.checked_sub_days(Days::new(days_back as u64)))
}

fn tags(shape: Shape, people: &[Person]) -> Vec<String> {
    let mut tags = Vec::new();
    if people.len() == 1 && people[0].age >= 60 {
        tags.push("独居老人");
    }
    if people.len() > 1 && people.iter().all(|p| p.age >= 60) {
        tags.push("空巢老人");
    }
    if people.iter().any(|p| p.disability.is_some()) {
        tags.push("残疾人家庭");
    }
    if people.iter().any(|p| p.health == Health::GraveIllness) {
        tags.push("重病家庭");
    }
    if matches!(shape, Shape::SingleParent { .. }) && people.iter().any(|p| p.age < 18) {
        tags.push("单亲家庭");
    }
    if people
        .iter()
        .any(|p| p.age >= 60 && p.daily_living.failed() >= 4)
    {
        tags.push("失能老人");
    }
    let able: Vec<&Person> = people
        .iter()
        .filter(|p| {
            (18..60).contains(&p.age)
                && p.student == StudentStatus::NotStudent
                && !matches!(p.work, WorkStatus::Retired | WorkStatus::UnableToWork)
        })
        .collect();
    if !able.is_empty() && able.iter().all(|p| p.work == WorkStatus::Unemployed) {
        tags.push("零就业家庭");
    }
    tags.into_iter().map(str::to_owned).collect()
}

// ---------------------------------------------------------------------------------------------
// Identity: origin, ID numbers, names, phones

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Tianning,
    Jiangsu,
    Elsewhere,
}

const TIANNING: u64 = 320_402;
/// Elsewhere in 江苏: the rest of 常州 first, then neighbouring cities and the north of the province.
const JIANGSU: &[u64] = &[
    320_404, 320_411, 320_412, 320_413, 320_481, 320_281, 320_102, 320_106, 320_205, 320_213,
    321_102, 321_181, 321_322, 320_923, 321_084, 320_585, 320_724,
];
/// Where 常州's migrants mostly come from: 安徽, 河南, 四川, 湖北, 湖南, 山东, 江西, 浙江.
const ELSEWHERE: &[u64] = &[
    341_222, 341_221, 341_282, 341_125, 341_323, 411_522, 411_524, 410_527, 511_321, 511_322,
    420_984, 430_524, 371_321, 360_124, 330_327,
];

/// Where the head's family comes from: the old mostly local, the working-age often not.
fn origin(rng: &mut Rng, head_age: i32) -> Origin {
    let weights: &[(Origin, u32)] = if head_age >= 55 {
        &[
            (Origin::Tianning, 90),
            (Origin::Jiangsu, 6),
            (Origin::Elsewhere, 4),
        ]
    } else {
        &[
            (Origin::Tianning, 66),
            (Origin::Jiangsu, 14),
            (Origin::Elsewhere, 20),
        ]
    };
    *rng.weighted(weights)
}

fn region_of(rng: &mut Rng, origin: Origin) -> u64 {
    match origin {
        Origin::Tianning => TIANNING,
        Origin::Jiangsu => rng.pick(JIANGSU),
        Origin::Elsewhere => rng.pick(ELSEWHERE),
    }
}

/// The county code in a member's number: the household's own, except that children born here are
/// mostly registered here and a spouse may come from somewhere else.
fn region(rng: &mut Rng, p: &Person, household: u64) -> u64 {
    match p.relation {
        Relation::Child | Relation::Grandchild if p.age < 18 && rng.chance(0.6) => TIANNING,
        Relation::Spouse | Relation::ChildInLaw if rng.chance(0.35) => {
            let origin = *rng.weighted(&[
                (Origin::Tianning, 70),
                (Origin::Jiangsu, 20),
                (Origin::Elsewhere, 10),
            ]);
            region_of(rng, origin)
        }
        _ => household,
    }
}

/// A birth date making the person `age` on `as_of`.
fn birth_date(rng: &mut Rng, age: i32, as_of: NaiveDate) -> NaiveDate {
    as_of
        .checked_sub_months(Months::new(age.max(0) as u32 * 12))
        .and_then(|d| d.checked_sub_days(Days::new(rng.below(365))))
        .unwrap_or(as_of)
}

/// Common surnames, weighted towards those of 常州 (恽, 庄, 钱, 顾, 蒋, 储 …).
const SURNAMES: &[(&str, u32)] = &[
    ("陈", 60),
    ("王", 55),
    ("张", 50),
    ("周", 45),
    ("徐", 40),
    ("朱", 38),
    ("吴", 36),
    ("李", 35),
    ("钱", 30),
    ("顾", 28),
    ("蒋", 28),
    ("沈", 26),
    ("刘", 25),
    ("杨", 24),
    ("孙", 24),
    ("陆", 22),
    ("汤", 20),
    ("许", 20),
    ("庄", 18),
    ("恽", 15),
    ("邵", 15),
    ("储", 14),
    ("黄", 14),
    ("唐", 14),
    ("丁", 12),
    ("胡", 12),
    ("薛", 12),
    ("姚", 12),
    ("包", 10),
    ("谢", 10),
    ("蔡", 10),
    ("史", 10),
    ("吕", 9),
    ("高", 9),
    ("赵", 9),
    ("马", 8),
    ("董", 8),
    ("杭", 7),
    ("虞", 6),
    ("瞿", 6),
    ("盛", 6),
    ("秦", 6),
    ("巢", 5),
    ("欧阳", 2),
    ("司马", 1),
];

/// Given names by birth cohort: (before 1960, 1960s–70s, 1980s–90s, 2000 on), male then female.
const GIVEN_NAMES: [(&[&str], &[&str]); 4] = [
    (
        &[
            "建国", "国强", "志明", "福生", "金根", "国平", "建华", "荣生", "德明", "永康", "根宝",
            "炳生", "洪生", "松林", "明", "伟", "军", "忠",
        ],
        &[
            "秀英", "桂英", "玉兰", "凤英", "秀珍", "桂芳", "淑珍", "美华", "素琴", "菊芬", "兰英",
            "金娣", "彩娣", "惠芬", "英", "红", "芳", "珍",
        ],
    ),
    (
        &[
            "建军", "卫东", "国华", "志强", "红兵", "海涛", "建平", "春华", "晓东", "文杰", "立新",
            "建忠", "军", "勇", "斌", "俊", "刚", "峰",
        ],
        &[
            "丽华", "红梅", "美琴", "小英", "丽萍", "晓燕", "雪芬", "亚芳", "春燕", "海燕", "卫红",
            "建芬", "雅琴", "玲", "燕", "敏", "静", "萍",
        ],
    ),
    (
        &[
            "俊杰", "志伟", "文斌", "晓峰", "建峰", "天宇", "俊峰", "浩然", "一鸣", "家豪", "子健",
            "磊", "杰", "浩", "鹏", "涛", "强", "晨",
        ],
        &[
            "晶晶", "婷婷", "佳怡", "丹丹", "晓雯", "雅婷", "梦洁", "佳佳", "思佳", "雨欣", "倩",
            "婷", "丽", "雪", "雯", "露", "欣", "洁",
        ],
    ),
    (
        &[
            "子轩", "浩宇", "宇轩", "梓豪", "一诺", "俊熙", "子墨", "宇航", "皓轩", "沐阳", "思远",
            "奕辰", "博文", "明轩", "睿", "晨", "哲", "航",
        ],
        &[
            "梓涵", "欣怡", "子涵", "诗涵", "梓萱", "可馨", "雨桐", "语嫣", "若汐", "思琪", "佳琪",
            "梦瑶", "紫萱", "安琪", "悦", "妍", "琪", "萱",
        ],
    ),
];

/// Family names: children take their father's, wives and mothers keep their own.
fn surnames(rng: &mut Rng, people: &[Person]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = people.iter().map(|_| *rng.weighted(SURNAMES)).collect();
    // The children's father among the head and a spouse (a single mother's children take hers).
    let father = people
        .iter()
        .position(|p| p.male && matches!(p.relation, Relation::Head | Relation::Spouse))
        .unwrap_or(0);
    for (i, p) in people.iter().enumerate() {
        match p.relation {
            Relation::Child => out[i] = out[father],
            // The head's father: the head has his name.
            Relation::Parent if p.male => out[i] = out[0],
            _ => {}
        }
    }
    // The grandchildren's father: a son, or a daughter's husband.
    let grandfather_line = people
        .iter()
        .position(|p| p.male && matches!(p.relation, Relation::Child | Relation::ChildInLaw))
        .or_else(|| people.iter().position(|p| p.relation == Relation::Child))
        .unwrap_or(father);
    for (i, p) in people.iter().enumerate() {
        if p.relation == Relation::Grandchild {
            out[i] = out[grandfather_line];
        }
    }
    out
}

fn name(rng: &mut Rng, surname: &str, birth_year: i32, male: bool) -> String {
    let cohort = match birth_year {
        ..=1959 => 0,
        1960..=1979 => 1,
        1980..=1999 => 2,
        _ => 3,
    };
    let (men, women) = GIVEN_NAMES[cohort];
    let pool = if male { men } else { women };
    // Compound surnames take one character, so names stay 2–3 characters.
    let single: Vec<&str> = pool
        .iter()
        .copied()
        .filter(|n| n.chars().count() == 1)
        .collect();
    let double: Vec<&str> = pool
        .iter()
        .copied()
        .filter(|n| n.chars().count() == 2)
        .collect();
    let one_char = surname.chars().count() > 1 || rng.chance(if cohort < 2 { 0.15 } else { 0.08 });
    let given = if one_char {
        rng.pick(&single)
    } else {
        rng.pick(&double)
    };
    format!("{surname}{given}")
}

const MOBILE_PREFIXES: &[&str] = &[
    "138", "139", "135", "136", "137", "150", "151", "152", "157", "158", "159", "182", "187",
    "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189",
    "199",
];

fn phone(rng: &mut Rng, p: &Person) -> Option<String> {
    let chance = match (p.relation, p.age) {
        (_, ..=13) => 0.0,
        (_, 14..=17) => 0.3,
        (Relation::Head, 18..=74) => 0.88,
        (Relation::Head, _) => 0.55,
        (_, 18..=69) => 0.65,
        _ => 0.3,
    };
    rng.chance(chance)
        .then(|| format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.below(100_000_000)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::domain::id_number::IdNumber;
    use geo::{polygon, MultiPolygon};

    /// A 12 × 12 lattice of square grids with demo-style codes and names.
    fn lookup() -> GridLookup<GridKey> {
        let mut grids = Vec::new();
        for i in 0..12u32 {
            for j in 0..12u32 {
                let (x, y) = (119.9 + f64::from(i) * 0.01, 31.7 + f64::from(j) * 0.01);
                let n = i * 12 + j + 1;
                grids.push(GridEntry {
                    key: GridKey {
                        id: format!("grid-{n}"),
                        name: format!("{}社区第{n}网格", ["红梅新村", "雕庄", "茶山"][n as usize % 3]),
                    },
                    code: format!("320402001{:03}{:03}", i + 1, j + 1),
                    boundary: MultiPolygon::new(vec![polygon![
                        (x: x, y: y), (x: x + 0.01, y: y), (x: x + 0.01, y: y + 0.01), (x: x, y: y + 0.01),
                    ]]),
                });
            }
        }
        GridLookup::new(grids)
    }

    fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
    }

    fn generate(lookup: &GridLookup<GridKey>, n: usize) -> Vec<DemoHousehold> {
        let mut g = Generator::new(lookup, "320402", as_of());
        (0..n).map(|i| g.household(i).unwrap()).collect()
    }

    #[test]
    fn check_characters_follow_gb_11643() {
        // The standard's own example.
        assert_eq!(check_character("11010519491231002"), 'X');
        let mut rng = Rng::new(7);
        for _ in 0..1_000 {
            let date = 19_500_101 + rng.below(28) + 100 * rng.below(12) + 10_000 * rng.below(70);
            let digits = format!("320402{date}{:03}", rng.range(1, 999));
            let full = format!("{digits}{}", check_character(&digits));
            assert!(IdNumber::parse(&full).is_ok(), "{full}");
        }
    }

    #[test]
    fn the_same_index_gives_the_same_household_whatever_the_total() {
        let lookup = lookup();
        let short = generate(&lookup, 50);
        let long = generate(&lookup, 300);
        for (a, b) in short.iter().zip(&long) {
            assert_eq!(
                serde_json::to_string(&a.input).unwrap(),
                serde_json::to_string(&b.input).unwrap()
            );
            assert_eq!(a.grid_id, b.grid_id);
        }
    }

    #[test]
    fn every_household_validates_and_lies_in_its_grid() {
        let lookup = lookup();
        let mut numbers = HashSet::new();
        for (i, h) in generate(&lookup, 3_000).into_iter().enumerate() {
            let loc = h.input.location.unwrap();
            let found = lookup
                .locate(LatLon::new(loc.lat, loc.lon).unwrap())
                .unwrap();
            assert_eq!(found.key.id, h.grid_id);
            assert_eq!(
                h.input.external_id.as_deref(),
                Some(external_id(i).as_str())
            );
            for m in &h.input.members {
                assert!(
                    numbers.insert(m.id_number.clone()),
                    "a number was issued twice"
                );
                let chars = m.name.chars().count();
                assert!((2..=3).contains(&chars), "{}", m.name);
            }
            let valid = validate::household(h.input.clone()).unwrap();
            assert!(valid.warnings.is_empty(), "{:?}", valid.warnings);
            for m in &valid.members {
                let age = age_on(m.birth_date, as_of());
                assert!((0..=104).contains(&age));
            }
        }
        // The first households visit every grid once.
        let first: HashSet<String> = generate(&lookup, 144)
            .into_iter()
            .map(|h| h.grid_id)
            .collect();
        assert_eq!(first.len(), 144);
    }

    #[test]
    fn relations_and_ages_agree() {
        let lookup = lookup();
        for h in generate(&lookup, 3_000) {
            let valid = validate::household(h.input).unwrap();
            let age = |m: &crate::registry::ValidMember| age_on(m.birth_date, as_of());
            let head = valid
                .members
                .iter()
                .find(|m| m.input.relation == Relation::Head)
                .unwrap();
            for m in &valid.members {
                match m.input.relation {
                    Relation::Spouse => {
                        assert!((age(m) - age(head)).abs() <= 8);
                        assert_ne!(m.gender, head.gender);
                    }
                    Relation::Child => assert!(age(m) < age(head) - 15 || age(head) < 40),
                    Relation::Parent => assert!(age(m) > age(head) + 15),
                    Relation::Grandchild => assert!(age(m) < age(head) - 30),
                    _ => {}
                }
                let student = m.input.student_status;
                match age(m) {
                    6..=11 => assert_eq!(student, StudentStatus::Primary),
                    12..=14 => assert_eq!(student, StudentStatus::JuniorSecondary),
                    60.. => assert_ne!(m.input.work_status, WorkStatus::Unemployed),
                    _ => {}
                }
            }
        }
    }

    /// The measured shares, printed with `--nocapture`; the bounds are the brief's.
    #[test]
    fn distributions_are_plausible() {
        let lookup = lookup();
        let households = generate(&lookup, FULL_COUNT);
        let n = households.len() as f64;
        let (mut people, mut over_60, mut chronic_60, mut grave, mut disabled, mut severe) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut under_line, mut under_edge, mut zero_income_people, mut phones) =
            (0.0, 0.0, 0.0, 0.0);
        let (mut failed_any, mut local, mut migrants) = (0.0, 0.0, 0.0);
        let mut sizes = [0usize; 7];
        let mut statuses: HashMap<&str, f64> = HashMap::new();
        let mut tags: HashMap<String, f64> = HashMap::new();
        let mut dibao_under_line = 0.0;
        for h in &households {
            let size = h.input.members.len();
            sizes[size] += 1;
            people += size as f64;
            let mut income = 0i64;
            for m in &h.input.members {
                let age = age_on(m.birth_date.unwrap(), as_of());
                if age >= 60 {
                    over_60 += 1.0;
                    if m.health == Health::Chronic {
                        chronic_60 += 1.0;
                    }
                }
                grave += f64::from(u8::from(m.health == Health::GraveIllness));
                disabled += f64::from(u8::from(m.disability_type.is_some()));
                severe += f64::from(u8::from(m.disability_level.is_some_and(|l| l <= 2)));
                failed_any += f64::from(u8::from(m.daily_living.failed() > 0));
                zero_income_people += f64::from(u8::from(m.annual_income.total() == Some(0)));
                phones += f64::from(u8::from(m.phone.is_some()));
                income += m.annual_income.total().unwrap();
                if m.id_number.starts_with("320402") {
                    local += 1.0;
                } else if !m.id_number.starts_with("32") {
                    migrants += 1.0;
                }
            }
            let pc = income as f64 / size as f64 / 12.0;
            let status = h.input.status.unwrap().as_str();
            *statuses.entry(status).or_default() += 1.0;
            if pc < ASSUMED_DIBAO_LINE_FEN as f64 {
                under_line += 1.0;
                if status == "dibao" {
                    dibao_under_line += 1.0;
                }
            } else if pc < 1.5 * ASSUMED_DIBAO_LINE_FEN as f64 {
                under_edge += 1.0;
            }
            for t in &h.input.tags {
                *tags.entry(t.clone()).or_default() += 1.0;
            }
        }
        let share = |x: f64| x / n * 100.0;
        let pshare = |x: f64| x / people * 100.0;
        eprintln!(
            "households {n}, people {people}, mean size {:.2}",
            people / n
        );
        eprintln!("sizes 1–6: {:?}", &sizes[1..]);
        eprintln!(
            "over 60 {:.1} %, chronic among them {:.1} %, grave {:.2} %, disabled {:.2} % (level 1–2 {:.2} %), any daily-living item failed {:.2} %, zero income {:.1} %, phone {:.1} %",
            pshare(over_60),
            chronic_60 / over_60 * 100.0,
            pshare(grave),
            pshare(disabled),
            pshare(severe),
            pshare(failed_any),
            pshare(zero_income_people),
            pshare(phones),
        );
        eprintln!(
            "ID numbers from 天宁 {:.1} %, from other provinces {:.1} %",
            pshare(local),
            pshare(migrants)
        );
        eprintln!(
            "households under the line {:.2} %, between 1 and 1.5 lines {:.2} %, dibao under the line {:.2} %",
            share(under_line),
            share(under_edge),
            share(dibao_under_line)
        );
        let mut st: Vec<_> = statuses.iter().map(|(k, v)| (*k, share(*v))).collect();
        st.sort_by(|a, b| a.0.cmp(b.0));
        eprintln!("statuses {st:.2?}");
        let mut tg: Vec<_> = tags.iter().map(|(k, v)| (k.clone(), share(*v))).collect();
        tg.sort_by(|a, b| a.0.cmp(&b.0));
        eprintln!("tags {tg:.2?}");
        assert!((2.3..=2.8).contains(&(people / n)));
        assert!((20.0..=30.0).contains(&pshare(over_60)));
        assert!((33.0..=47.0).contains(&(chronic_60 / over_60 * 100.0)));
        assert!((1.5..=3.5).contains(&pshare(grave)));
        assert!((4.5..=8.0).contains(&pshare(disabled)));
        assert!((2.0..=4.0).contains(&share(under_line)));
        let dibao = share(statuses.get("dibao").copied().unwrap_or(0.0));
        let tekun = share(statuses.get("tekun").copied().unwrap_or(0.0));
        let edge = share(statuses.get("edge").copied().unwrap_or(0.0));
        assert!((1.0..=2.0).contains(&dibao), "dibao {dibao}");
        assert!((0.15..=0.5).contains(&tekun), "tekun {tekun}");
        assert!((1.0..=2.0).contains(&edge), "edge {edge}");
        assert!((65.0..=90.0).contains(&pshare(local)));
    }

    #[test]
    fn estates_are_named_after_their_community() {
        let estate = |name: &str| {
            let g = GridEntry {
                key: GridKey {
                    id: "g".into(),
                    name: name.into(),
                },
                code: "320402001001001".into(),
                boundary: MultiPolygon::new(vec![]),
            };
            let bounds = geo::Rect::new((0.0, 0.0), (1.0, 1.0));
            describe_grid(&mut Rng::new(1), 0, &g, bounds).estate
        };
        assert_eq!(estate("红梅新村社区第3网格"), "红梅新村");
        assert_eq!(estate("丽华新村2村社区第1网格"), "丽华新村二区");
        assert_eq!(estate("凤凰新城社区第12网格"), "凤凰新城");
        let suffixed = estate("雕庄社区第2网格");
        assert!(
            ESTATE_SUFFIXES
                .iter()
                .any(|s| suffixed == format!("雕庄{s}")),
            "{suffixed}"
        );
    }
}
