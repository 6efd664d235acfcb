//! Six weeks of the demo city's life, so that a newcomer's first look finds work in every list:
//! tasks in every state (some overdue), visits with photos (some carrying each kind of
//! verification flag), reviews, findings open, converted and dismissed, applications waiting at
//! every step of the dibao workflow (some overdue, one whose public notice has ended), and
//! citizens' self-reports.
//!
//! Everything goes through the domain functions the API's handlers call, with a simulated clock:
//! the same checks, the same rules, the same audit trail. It is deterministic (SplitMix64 from a
//! fixed seed, dates counted back from today) and idempotent: the first demo visit's id is fixed,
//! and when it is stored already nothing is seeded again.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use jiuzhu_proto::application::{Action, Category, DataCheck, Transition};
use jiuzhu_proto::citizen::CreateSelfReport;
use jiuzhu_proto::household::Location;
use jiuzhu_proto::task::TaskKind;
use jiuzhu_proto::user::Role;
use jiuzhu_proto::visit::{LocationFix, ReviewDecision, SubmitVisit};
use serde_json::{json, Value};

use super::photo::{self, Shot, SplitMix};
use crate::applications::{self, Actor};
use crate::db::repo::{self, households::HouseholdFilter, households::HouseholdRow};
use crate::domain::time;
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;
use crate::state::AppState;
use crate::tasks::{self, NewTask};

const SEED: u64 = 0x6a69_757a_6875_2026;
/// How far back the activity reaches.
const DAYS: i64 = 42;
/// Households of each grid that get a task, at most.
const PER_GRID: usize = 24;

/// What seeding did.
#[derive(Debug, Clone, Default)]
pub struct ActivityReport {
    /// Seeded by an earlier start: nothing was done.
    pub already: bool,
    pub tasks: usize,
    pub visits: usize,
    pub photos: usize,
    pub applications: usize,
    pub findings_converted: usize,
    pub findings_dismissed: usize,
    pub self_reports: usize,
}

/// A grid worker, their grid and the coordinator who reviews their visits.
struct Crew {
    worker: Person,
    coordinator: Person,
    street: Person,
    district: Person,
    grid_path: String,
}

#[derive(Clone)]
struct Person {
    id: String,
    path: String,
    role: Role,
}

impl Person {
    fn actor(&self) -> Actor {
        Actor {
            id: self.id.clone(),
            role: self.role,
        }
    }

    fn scope(&self) -> Scope {
        Scope::subtree(&self.path)
    }
}

/// What happens to a household's visit task, in a cycle over each grid's households.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Visited, approved; modest income.
    Approved,
    /// Visited from 600 m away: far from the household and likely outside the grid.
    Far,
    /// Visited, approved; a poor household, so the rules raise findings.
    ApprovedPoor,
    /// Assigned, due three days ago, not done.
    Overdue,
    /// A fix of poor accuracy from a mock-location app.
    MockFix,
    /// Created, no worker yet.
    Unassigned,
    /// Photos taken 2 km away and two days earlier; sent back to the worker.
    PhotoMismatch,
    /// Accepted by the worker, not yet visited.
    Accepted,
    /// Visited, approved; grave illness and heavy medical spending.
    ApprovedIll,
    /// Cancelled with a reason.
    Cancelled,
    /// The same photo as another household's visit.
    ReusedPhoto,
    /// Three minutes on site; rejected.
    TooShort,
}

const PLANS: [Plan; 12] = [
    Plan::Approved,
    Plan::Far,
    Plan::ApprovedPoor,
    Plan::Overdue,
    Plan::MockFix,
    Plan::Unassigned,
    Plan::PhotoMismatch,
    Plan::Accepted,
    Plan::ApprovedIll,
    Plan::Cancelled,
    Plan::ReusedPhoto,
    Plan::TooShort,
];

fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(anyhow::anyhow!("demo activity: {e}"))
}

/// A fixed, version-4-shaped id for the n-th demo object of a kind.
fn demo_id(kind: u64, n: u64) -> uuid::Uuid {
    let mut rng = SplitMix(SEED ^ kind.wrapping_mul(0x1000_0000_01B3) ^ n);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

const VISIT: u64 = 1;
const PHOTO: u64 = 2;
const REPORT: u64 = 3;

/// A moment of the simulated clock: `day` days before today, at `hour`:`minute` in Shanghai,
/// as the UTC time the database stores.
fn at(today: NaiveDate, days_ago: i64, hour: u32, minute: u32) -> NaiveDateTime {
    let local = (today - Duration::days(days_ago))
        .and_hms_opt(hour, minute, 0)
        .unwrap_or_default();
    time::utc(local)
}

fn find_person(conn: &mut crate::db::AnyConnection, username: &str) -> ApiResult<Option<Person>> {
    Ok(
        repo::users::find_by_username(conn, username)?.and_then(|u| {
            Some(Person {
                role: Role::parse(&u.role)?,
                id: u.id,
                path: u.org_path,
            })
        }),
    )
}

/// A valid resident ID number (GB 11643) from its first 17 digits.
fn id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    format!("{first17}{}", CHECK[(sum % 11) as usize] as char)
}

/// A home-visit answer set (`fixtures/forms/home_visit.xlsx`) for the plan's kind of family.
fn answers(plan: Plan, n: u64, day: NaiveDate, lat: f64, lon: f64, photos: &[uuid::Uuid]) -> Value {
    let (head_wages, spouse_wages, medical, health) = match plan {
        Plan::ApprovedPoor => (3_600, 0, 1_200, "chronic"),
        Plan::ApprovedIll => (9_000, 0, 36_000, "grave_illness"),
        _ => (42_000 + (n % 7) as i64 * 3_000, 30_000, 2_000, "healthy"),
    };
    let house = photos.first().map(|p| p.to_string()).unwrap_or_default();
    let signature = photos
        .get(1)
        .map(|p| p.to_string())
        .unwrap_or_else(|| house.clone());
    json!({
        "visit_date": day.to_string(),
        "dibao_investigation": "yes",
        "staff_present": ["staff_01", "staff_02"],
        "location": {"lat": lat, "lon": lon},
        "members": [
            {
                "member_name": "户主", "relation": "head",
                "id_number": id_number(&format!("3204021968{:02}{:02}{:03}", n % 12 + 1, n % 28 + 1, n % 900 + 11)),
                "birth_date": format!("1968-{:02}-{:02}", n % 12 + 1, n % 28 + 1),
                "health": health, "disability_level": "none", "work_status": "employed",
                "adl_eating": "able", "adl_dressing": "able", "adl_transfer": "able",
                "adl_toileting": "able", "adl_walking": "unable", "adl_bathing": "unable",
                "income_wages": head_wages,
            },
            {
                "member_name": "配偶", "relation": "spouse",
                "id_number": id_number(&format!("3204021970{:02}{:02}{:03}", n % 12 + 1, n % 28 + 1, n % 900 + 12)),
                "birth_date": format!("1970-{:02}-{:02}", n % 12 + 1, n % 28 + 1),
                "health": "healthy", "disability_level": "none",
                "work_status": if spouse_wages > 0 { "employed" } else { "unemployed" },
                "income_wages": spouse_wages,
            }
        ],
        "housing_type": "owned", "housing_area": 48.0 + (n % 30) as f64, "safety_grade": "b",
        "vehicles": 0, "savings": 2_000 + (n % 5) as i64 * 1_000,
        "medical_oop_12m": medical, "school_oop_12m": 3_000,
        "hardship_causes": match plan {
            Plan::ApprovedIll => json!(["illness"]),
            Plan::ApprovedPoor => json!(["lack_of_labour"]),
            _ => json!(["schooling"]),
        },
        "illness_detail": if plan == Plan::ApprovedIll { "户主患尿毒症，每周透析三次" } else { "" },
        "house_photo": house, "staff_signature": signature, "family_signature": signature,
    })
}

/// Metres north and east to degrees at this latitude.
fn offset(lat: f64, lon: f64, north_m: f64, east_m: f64) -> (f64, f64) {
    let dlat = north_m / 111_320.0;
    let dlon = east_m / (111_320.0 * lat.to_radians().cos());
    (lat + dlat, lon + dlon)
}

/// Stores a generated photo through the same intake as an upload.
async fn store_photo(
    state: &Arc<AppState>,
    owner: &Person,
    id: uuid::Uuid,
    shot: &Shot,
) -> ApiResult<()> {
    let bytes = photo::jpeg(shot).map_err(internal)?;
    let path = state.photos.temp_path();
    tokio::fs::write(&path, &bytes).await.map_err(internal)?;
    crate::photos::ingest(
        &state.database,
        &state.photos,
        &owner.id,
        &owner.path,
        id,
        &path,
    )
    .await?;
    Ok(())
}

/// Seeds the activity unless an earlier start did.
pub async fn seed(state: &Arc<AppState>) -> ApiResult<ActivityReport> {
    let marker = demo_id(VISIT, 0).to_string();
    let seeded = state
        .db(move |conn| Ok(repo::visits::find(conn, &marker)?.is_some()))
        .await?;
    if seeded {
        return Ok(ActivityReport {
            already: true,
            ..ActivityReport::default()
        });
    }
    let today = crate::domain::time::today();
    let crews = state.db(crews).await?;
    let mut report = ActivityReport::default();
    let mut visited: Vec<(HouseholdRow, String, usize)> = Vec::new();
    let mut n: u64 = 0;
    let mut shots: HashMap<u64, Shot> = HashMap::new();
    for (c, crew) in crews.iter().enumerate() {
        let path = crew.grid_path.clone();
        let households = state
            .db(move |conn| {
                let rows = repo::households::list_in_scope(
                    conn,
                    &Scope::subtree(&path),
                    &HouseholdFilter {
                        limit: PER_GRID as i64,
                        ..HouseholdFilter::default()
                    },
                )?;
                Ok(rows.into_iter().map(|(h, _)| h).collect::<Vec<_>>())
            })
            .await?;
        for (i, household) in households.into_iter().enumerate() {
            let plan = PLANS[i % PLANS.len()];
            // Spread over six weeks, oldest first; the last of each grid is recent.
            let days_ago = DAYS - (i as i64 * (DAYS - 2)) / PER_GRID as i64;
            let visit = task_and_visit(
                state,
                crew,
                &household,
                plan,
                n,
                days_ago,
                today,
                &mut shots,
                &mut report,
            )
            .await?;
            if let Some(visit_id) = visit {
                if matches!(
                    plan,
                    Plan::Approved | Plan::ApprovedPoor | Plan::ApprovedIll
                ) {
                    visited.push((household.clone(), visit_id, c));
                }
            }
            n += 1;
        }
    }
    applications_at_every_step(state, &crews, &visited, today, &mut report).await?;
    self_reports(state, &crews, today, &mut report).await?;
    Ok(report)
}

/// worker1, worker2 and worker4 in the first community, worker3 in the second street's first
/// community.
fn crews(conn: &mut crate::db::AnyConnection) -> ApiResult<Vec<Crew>> {
    let person = |conn: &mut crate::db::AnyConnection, name: &str| -> ApiResult<Person> {
        find_person(conn, name)?.ok_or_else(|| internal(format!("demo account {name} missing")))
    };
    let district = person(conn, "district")?;
    let mut out = Vec::new();
    for (worker, coordinator, street) in [
        ("worker1", "coordinator", "street"),
        ("worker2", "coordinator", "street"),
        ("worker4", "coordinator", "street"),
        ("worker3", "coordinator2", "street2"),
    ] {
        let worker = person(conn, worker)?;
        out.push(Crew {
            grid_path: worker.path.clone(),
            worker,
            coordinator: person(conn, coordinator)?,
            street: person(conn, street)?,
            district: district.clone(),
        });
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn task_and_visit(
    state: &Arc<AppState>,
    crew: &Crew,
    household: &HouseholdRow,
    plan: Plan,
    n: u64,
    days_ago: i64,
    today: NaiveDate,
    shots: &mut HashMap<u64, Shot>,
    report: &mut ActivityReport,
) -> ApiResult<Option<String>> {
    let created = at(today, days_ago, 9, (n % 50) as u32);
    let due = match plan {
        Plan::Overdue => today - Duration::days(3),
        Plan::Unassigned | Plan::Accepted | Plan::Cancelled => today + Duration::days(5),
        _ => time::date_of(created) + Duration::days(7),
    };
    let assignee = (plan != Plan::Unassigned).then(|| crew.worker.id.clone());
    let (h_id, h_path) = (household.id.clone(), household.org_path.clone());
    let coordinator = crew.coordinator.clone();
    let task = state
        .tx(move |conn| {
            tasks::create(
                conn,
                NewTask {
                    kind: TaskKind::Visit,
                    household_id: &h_id,
                    household_path: &h_path,
                    form_key: "home_visit",
                    assignee: assignee.as_deref(),
                    due_date: due,
                    priority: 0,
                    note: "入户走访 / home visit",
                    actor: Some(&coordinator.id),
                },
                created,
            )
        })
        .await?;
    report.tasks += 1;
    let accepted_at = created + Duration::hours(20);
    match plan {
        Plan::Unassigned | Plan::Overdue => return Ok(None),
        Plan::Cancelled => {
            let (id, who) = (task.id.clone(), crew.coordinator.clone());
            state
                .tx(move |conn| {
                    tasks::cancel(
                        conn,
                        &who.scope(),
                        &id,
                        &who.id,
                        "该户已搬离本网格 / the family moved away",
                        accepted_at,
                    )
                })
                .await?;
            return Ok(None);
        }
        _ => {}
    }
    let (id, worker) = (task.id.clone(), crew.worker.clone());
    state
        .tx(move |conn| tasks::accept(conn, &worker.scope(), &id, &worker.id, accepted_at))
        .await?;
    if plan == Plan::Accepted {
        return Ok(None);
    }
    let (Some(lat), Some(lon)) = (household.lat, household.lon) else {
        return Ok(None);
    };
    let form_version = task.form_version.unwrap_or(1);
    // The visit: next morning, 25 minutes on site (three for the rushed one).
    let started = at(today, days_ago - 1, 10, (n % 30) as u32);
    let minutes = if plan == Plan::TooShort { 3 } else { 25 };
    let finished = started + Duration::minutes(minutes);
    let mut rng = SplitMix(SEED ^ n);
    let jitter = |rng: &mut SplitMix| (rng.below(30) as f64) - 15.0;
    let (fix_lat, fix_lon) = match plan {
        Plan::Far => offset(lat, lon, 420.0, 430.0),
        _ => offset(lat, lon, jitter(&mut rng), jitter(&mut rng)),
    };
    let accuracy = if plan == Plan::MockFix {
        150.0
    } else {
        8.0 + rng.below(10) as f64
    };
    // Photos: taken on site during the visit, unless the plan says otherwise.
    let (shot_lat, shot_lon) = if plan == Plan::PhotoMismatch {
        offset(lat, lon, 2_000.0, 0.0)
    } else {
        (fix_lat, fix_lon)
    };
    let taken = time::local(if plan == Plan::PhotoMismatch {
        started - Duration::days(2)
    } else {
        started + Duration::minutes(5)
    });
    let photo_ids = [demo_id(PHOTO, 2 * n), demo_id(PHOTO, 2 * n + 1)];
    for (k, id) in photo_ids.iter().enumerate() {
        let shot = Shot {
            lat: shot_lat,
            lon: shot_lon,
            taken_local: taken + Duration::minutes(k as i64),
            seed: SEED ^ n.wrapping_mul(0x9E37) ^ (k as u64 * 0x51),
        };
        // The reused photo: the very file of an earlier visit in another household, sent again.
        // The second: the same scene taken again, here and now (a near copy, not the file).
        let shot = match (plan, k, shots.get(&n.wrapping_sub(10))) {
            (Plan::ReusedPhoto, 0, Some(earlier)) => *earlier,
            (Plan::ReusedPhoto, 1, Some(earlier)) => Shot {
                seed: earlier.seed,
                ..shot
            },
            _ => shot,
        };
        if k == 0 {
            shots.insert(n, shot);
        }
        store_photo(state, &crew.worker, *id, &shot).await?;
        report.photos += 1;
    }
    let visit_id = demo_id(VISIT, n);
    let day = time::date_of(started);
    let submit = SubmitVisit {
        id: visit_id,
        task_id: task.id.parse().map_err(internal)?,
        form_key: "home_visit".into(),
        form_version,
        answers: answers(plan, n, day, fix_lat, fix_lon, &photo_ids),
        location: LocationFix {
            lat: fix_lat,
            lon: fix_lon,
            accuracy_m: accuracy,
            crs: None,
            // The mock-location app also hands over a stale fix, from two hours before.
            fix_time: Utc.from_utc_datetime(&if plan == Plan::MockFix {
                started - Duration::hours(2)
            } else {
                started + Duration::minutes(2)
            }),
            mock: plan == Plan::MockFix,
        },
        started_at: Utc.from_utc_datetime(&started),
        finished_at: Utc.from_utc_datetime(&finished),
        photo_ids: photo_ids.to_vec(),
        staff: vec![crew.coordinator.id.parse().map_err(internal)?],
        supersedes: None,
    };
    let sent = Utc.from_utc_datetime(&(finished + Duration::minutes(3)));
    crate::visits::receive(
        &state.visit_desk(),
        crew.worker.id.clone(),
        crew.worker.scope(),
        submit,
        sent,
    )
    .await?;
    report.visits += 1;
    let decision = match plan {
        Plan::Approved | Plan::ApprovedPoor | Plan::ApprovedIll => {
            Some((ReviewDecision::Approved, ""))
        }
        Plan::PhotoMismatch => Some((
            ReviewDecision::HasIssues,
            "照片拍摄地点与时间不符，请补拍 / photos taken elsewhere and earlier: retake them",
        )),
        Plan::TooShort => Some((
            ReviewDecision::Rejected,
            "在户时间过短，走访无效 / three minutes on site is no visit",
        )),
        // Flagged visits wait in the review queue.
        _ => None,
    };
    if let Some((decision, note)) = decision {
        let reviewed = finished + Duration::hours(6);
        let (st, who, id) = (
            state.clone(),
            crew.coordinator.clone(),
            visit_id.to_string(),
        );
        state
            .tx(move |conn| {
                crate::visits::decide(
                    conn,
                    &st.rule_engine(),
                    &who.scope(),
                    &id,
                    decision,
                    note,
                    &who.id,
                    reviewed,
                )
            })
            .await?;
    }
    Ok(Some(visit_id.to_string()))
}

/// The usual path of a dibao application up to its public notice.
const PATH: [Action; 5] = [
    Action::Accept,
    Action::Investigate,
    Action::RecordDataCheck,
    Action::FinishInvestigation,
    Action::StartNotice,
];

/// Where each seeded application should be left: the first `along` steps of [`PATH`], then `then`.
#[derive(Debug, Clone, Copy)]
struct Stage {
    along: usize,
    then: &'static [Action],
    /// Days before today the application was filed; its steps follow a day or two apart.
    filed_days_ago: i64,
}

impl Stage {
    const fn new(along: usize, then: &'static [Action], filed_days_ago: i64) -> Self {
        Self {
            along,
            then,
            filed_days_ago,
        }
    }

    fn steps(&self) -> Vec<Action> {
        PATH.iter()
            .take(self.along)
            .chain(self.then)
            .copied()
            .collect()
    }
}

const STAGES: [Stage; 11] = [
    Stage::new(0, &[], 1),
    Stage::new(1, &[], 12),
    Stage::new(3, &[], 6),
    Stage::new(4, &[], 8),
    Stage::new(5, &[], 9),
    // The notice has run its course: the district can decide today.
    Stage::new(5, &[], 20),
    Stage::new(5, &[Action::RecordObjection, Action::DemocraticReview], 24),
    Stage::new(5, &[Action::Approve], 30),
    Stage::new(5, &[Action::Approve, Action::Activate], 36),
    Stage::new(4, &[Action::Refuse], 18),
    Stage::new(0, &[Action::Return], 5),
];

async fn applications_at_every_step(
    state: &Arc<AppState>,
    crews: &[Crew],
    visited: &[(HouseholdRow, String, usize)],
    today: NaiveDate,
    report: &mut ActivityReport,
) -> ApiResult<()> {
    // The first street gets every stage; the second street two of its own.
    let mut plan: Vec<(&(HouseholdRow, String, usize), Stage)> = Vec::new();
    let first: Vec<_> = visited.iter().filter(|v| v.2 < 3).collect();
    let second: Vec<_> = visited.iter().filter(|v| v.2 == 3).collect();
    plan.extend(first.iter().copied().zip(STAGES.iter().copied()));
    plan.extend(second.iter().copied().zip([STAGES[0], STAGES[5]]));
    for (k, ((household, visit_id, c), stage)) in plan.into_iter().enumerate() {
        let crew = &crews[*c];
        let filed = at(today, stage.filed_days_ago, 14, 0);
        let (st, crew_c, h, visit, steps) = (
            state.clone(),
            (
                crew.coordinator.clone(),
                crew.street.clone(),
                crew.district.clone(),
            ),
            household.clone(),
            visit_id.clone(),
            stage.steps(),
        );
        let (converted, dismissed) = state
            .tx(move |conn| {
                let (coordinator, street, district) = crew_c;
                // A finding the rules raised for this household, if any, is what the
                // application comes from; the rest are filed by the community directly.
                let mut open = repo::findings::open_of_many(conn, std::slice::from_ref(&h.id))?;
                open.sort_by(|a, b| a.id.cmp(&b.id));
                let mut converted = 0;
                let mut dismissed = 0;
                let app_id = match open.first() {
                    Some(f) => {
                        converted += 1;
                        crate::findings::convert(
                            conn,
                            &coordinator.scope(),
                            &f.id,
                            Some(vec![Category::Dibao]),
                            "入户核实属实，代为申请 / confirmed at the visit; filed on the family's behalf",
                            &coordinator.actor(),
                            filed,
                        )?
                    }
                    None => applications::create(
                        conn,
                        &h,
                        &[Category::Dibao],
                        None,
                        &coordinator.actor(),
                        "社区代为申请 / filed by the community",
                        filed,
                    )?,
                };
                // A second finding of the same household, if the rules raised one, is
                // dismissed: it duplicates the application.
                if k % 3 == 0 {
                    if let Some(f) = open.get(1) {
                        crate::findings::dismiss(
                            conn,
                            &coordinator.scope(),
                            &f.id,
                            "已并入同户低保申请 / covered by the family's dibao application",
                            &coordinator.actor(),
                            filed,
                        )?;
                        dismissed += 1;
                    }
                }
                for (i, action) in steps.iter().enumerate() {
                    let when = filed + Duration::days(1 + i as i64 * 2);
                    let when = when.min(at(today, 0, 8, 0));
                    let mut t = Transition::new(*action);
                    let who = match action {
                        Action::RecordDataCheck | Action::RecordObjection => &coordinator,
                        Action::Approve | Action::Refuse => &district,
                        _ => &street,
                    };
                    match action {
                        Action::RecordDataCheck => {
                            t.data_check = Some(DataCheck {
                                passed: true,
                                reference: format!("HD-{}-{:04}", today.format("%Y"), k + 1),
                            });
                        }
                        Action::FinishInvestigation => {
                            t.visit_id = Some(visit.parse().map_err(internal)?);
                        }
                        Action::Return => {
                            t.note = "缺少收入证明，请社区补充 / income proof missing".into();
                        }
                        Action::RecordObjection => {
                            t.note = "邻居反映其有经营收入 / a neighbour reports business income".into();
                        }
                        Action::DemocraticReview => {
                            t.note = "召开民主评议会 / democratic review convened".into();
                        }
                        Action::Refuse => {
                            t.note = "家庭人均收入高于低保标准 / income above the standard".into();
                            t.public_note = "经核对，家庭人均收入高于当地低保标准。".into();
                        }
                        Action::Approve => {
                            t.public_note = "经审核，符合最低生活保障条件。".into();
                        }
                        _ => {}
                    }
                    // The notice runs seven days after it starts.
                    let when = if matches!(action, Action::Approve | Action::DemocraticReview) {
                        (when + Duration::days(8)).min(at(today, 0, 8, 0))
                    } else {
                        when
                    };
                    applications::transition(conn, &st.calendar, &who.scope(), &app_id, &who.actor(), &t, when)?;
                }
                Ok((converted, dismissed))
            })
            .await?;
        report.applications += 1;
        report.findings_converted += converted;
        report.findings_dismissed += dismissed;
    }
    Ok(())
}

/// Three citizens' reports from the first grid: each becomes a finding and a verify task.
async fn self_reports(
    state: &Arc<AppState>,
    crews: &[Crew],
    today: NaiveDate,
    report: &mut ActivityReport,
) -> ApiResult<()> {
    let Some(citizen) = state.db(|conn| find_person(conn, "citizen")).await? else {
        return Ok(());
    };
    let grid = crews
        .first()
        .map(|c| c.grid_path.clone())
        .unwrap_or_default();
    let points = state
        .db(move |conn| {
            let rows = repo::households::list_in_scope(
                conn,
                &Scope::subtree(&grid),
                &HouseholdFilter {
                    limit: 3,
                    ..HouseholdFilter::default()
                },
            )?;
            Ok(rows
                .into_iter()
                .filter_map(|(h, _)| Some((h.lat?, h.lon?, h.address)))
                .collect::<Vec<_>>())
        })
        .await?;
    let texts = [
        (
            "家中老人突发脑梗住院，医药费负担重，希望得到帮助。",
            Category::Medical,
        ),
        (
            "丈夫工伤失业三个月，孩子上学费用困难。",
            Category::Temporary,
        ),
        ("独居老人，腿脚不便，房屋漏雨。", Category::Housing),
    ];
    for (i, ((lat, lon, address), (text, category))) in points.into_iter().zip(texts).enumerate() {
        let (lat, lon) = offset(lat, lon, 30.0, -20.0);
        let input = CreateSelfReport {
            id: Some(demo_id(REPORT, i as u64)),
            description: text.into(),
            category_hint: Some(category),
            location: Location {
                lat,
                lon,
                crs: Some(jiuzhu_proto::geo::Crs::Wgs84),
            },
            address,
            photo_ids: Vec::new(),
            contact_phone: format!("1391234{:04}", 5670 + i),
        };
        let when = at(today, 5 - 2 * i as i64, 20, 15);
        let (st, who) = (state.clone(), citizen.clone());
        state
            .tx(move |conn| {
                crate::self_reports::create(
                    conn,
                    &st.self_report_intake(&st.grids.get()),
                    &who.id,
                    &who.path,
                    &input,
                    when,
                )
            })
            .await?;
        report.self_reports += 1;
    }
    Ok(())
}
