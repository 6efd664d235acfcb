//! The generator: household `index` of the demo city, made from its own seed in the steps of the
//! sibling modules (grid and point, who lives together, health, work and income, status, tags,
//! address, identities), registered later by `load`.

use chrono::{Datelike, NaiveDate};
use geo::BoundingRect;
use jiuzhu_proto::household::{CreateHousehold, Location, MemberInput};

use super::external_id;
use super::families::{compose, SHAPES};
use super::grids::{density, describe_grid, DemoGrid};
use super::health::{daily_living, disability, health};
use super::identity::{birth_date, origin, phone, region, region_of, IssuedNumbers};
use super::income::{fit_income, income, occupation, stratum, yuan, Stratum};
use super::names::{name, surnames};
use super::rng::{hash_str, mix, Rng};
use super::status::{status, tags};
use crate::domain::geo::GridKey;
use crate::domain::geo::{GridLookup, LatLon};

const SEED: u64 = 0x6A69_757A_6875_2026;
const NOTE: &str = "演示数据：合成家庭，非真实人员 / synthetic demo household";

/// One generated household and the grid its location lies in.
#[derive(Debug, Clone)]
pub struct DemoHousehold {
    pub input: CreateHousehold,
    /// The lookup key id of the grid (`GridKey::id`).
    pub grid_id: String,
}

/// The synthetic population of a district. Households are generated in index order; the only
/// state carried between them is the set of ID numbers already handed out.
pub struct Generator<'a> {
    lookup: &'a GridLookup<GridKey>,
    pub(super) grids: Vec<DemoGrid>,
    /// Cumulative weights over `grids`.
    cumulative: Vec<f64>,
    /// The first households go one to each grid in this order, so every grid gets some.
    first_round: Vec<usize>,
    as_of: NaiveDate,
    /// Every ID number handed out.
    issued: IssuedNumbers,
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
            issued: IssuedNumbers::default(),
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
        let address = self.grids[grid].address(&mut rng);
        let origin = origin(&mut rng, people[0].age);
        let home_region = region_of(&mut rng, origin);
        let surnames = surnames(&mut rng, &people);
        let mut members = Vec::with_capacity(people.len());
        for (p, surname) in people.iter().zip(surnames) {
            let region = region(&mut rng, p, home_region);
            let birth = birth_date(&mut rng, p.age, self.as_of);
            let (id_number, birth) = self.issued.issue(&mut rng, region, birth, p.male);
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
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
