//! `jiuzhu bench-seed-visits` (benchmark harness, `bench` feature only) fills a database with N
//! valid visit rows for the export benchmark, far faster than N submissions through the API (which
//! verify, seal and commit one visit at a time).
//!
//! The demo city and its households are loaded by the demo's own code; each household gets one
//! visit task through `tasks::create`. The visits are then inserted directly: every foreign key
//! (task, household, worker) is real, the org path is the household's, the times, fixes, flags and
//! review states vary, and the answers are one representative answer set sealed once with the
//! server's cipher and reused (the export never opens them).

use std::time::Instant;

use chrono::{Duration, NaiveDateTime};
use clap::Args;
use jiuzhu_proto::task::TaskKind;
use jiuzhu_proto::user::Role;

use crate::config::{Secrets, Settings};
use crate::crypto::FieldCipher;
use crate::db::repo::visits::VisitRow;
use crate::db::{self, repo, AnyConnection};
use crate::demo;
use crate::error::ApiError;
use crate::tasks::NewTask;

#[derive(Debug, Clone, Args)]
pub struct BenchSeedVisitsArgs {
    /// Visit rows to add.
    #[arg(long, default_value_t = 1_000_000)]
    pub visits: usize,
    /// Demo households to load first (the visits are spread over them).
    #[arg(long, default_value_t = 20_000)]
    pub households: usize,
}

#[derive(Debug, Default)]
pub struct SeedVisitsReport {
    pub households: usize,
    pub tasks_created: usize,
    pub visits: usize,
    pub seconds: f64,
}

/// Rows per transaction.
const ROWS_PER_TX: usize = 20_000;

fn api(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// `jiuzhu bench-seed-visits`: opens the database named by the settings and seeds it.
pub fn run(settings: Settings, args: &BenchSeedVisitsArgs) -> anyhow::Result<SeedVisitsReport> {
    let cipher = Secrets::resolve(&settings)?.field_cipher(&settings.data_key_id);
    let (_, pool) = db::connect(&settings.database_url(), 1)?;
    let mut conn = pool.get()?;
    db::migrate(&mut conn)?;
    seed(&mut conn, &cipher, args)
}

/// Loads the demo city with `args.households` households and adds `args.visits` visits.
pub fn seed(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    args: &BenchSeedVisitsArgs,
) -> anyhow::Result<SeedVisitsReport> {
    let started = Instant::now();
    demo::load(conn, cipher, demo::DemoSize::households(args.households)).map_err(api)?;
    let homes = repo::bench::homes(conn)?;
    anyhow::ensure!(!homes.is_empty(), "the demo loaded no households");
    let workers = repo::bench::user_ids_with_role(conn, Role::GridWorker.as_str())?;
    anyhow::ensure!(!workers.is_empty(), "the demo has no grid workers");
    let mut report = SeedVisitsReport {
        households: homes.len(),
        ..Default::default()
    };
    let now = db::now();
    // One visit task per household (reused when seeding again).
    let mut task_of = Vec::with_capacity(homes.len());
    for batch in homes.chunks(1000) {
        let made = db::write_transaction(conn, |conn| -> anyhow::Result<Vec<String>> {
            let mut ids = Vec::with_capacity(batch.len());
            for (household, path) in batch {
                let existing = repo::bench::a_task_of(conn, household)?;
                let id = match existing {
                    Some(id) => id,
                    None => {
                        report.tasks_created += 1;
                        let task = crate::tasks::create(
                            conn,
                            NewTask {
                                kind: TaskKind::Visit,
                                household_id: household,
                                household_path: path,
                                form_key: "home_visit",
                                assignee: None,
                                due_date: (now + Duration::days(14)).date(),
                                priority: 0,
                                note: "",
                                actor: None,
                            },
                            now,
                        )
                        .map_err(api)?;
                        task.id
                    }
                };
                ids.push(id);
            }
            Ok(ids)
        })?;
        task_of.extend(made);
    }
    let answers = serde_json::json!({
        "visit_date": "2026-11-20",
        "household_size": 3,
        "head_id": "32040219500101001X",
        "head_phone": "13812345678",
        "income_wages": 18000,
        "income_pension": 9600,
        "medical_out_of_pocket": 23000,
        "housing": "self_owned_old",
        "disability_in_household": true,
        "chronic_illness": ["hypertension", "diabetes"],
        "children_in_school": 1,
        "notes": "户主长期卧床，配偶照料，子女在外地务工，每月寄回约一千元。",
    });
    let sealed = cipher
        .encrypt(&answers.to_string(), crate::answers::ANSWERS_CONTEXT)
        .map_err(|e| anyhow::anyhow!("seal: {e}"))?;
    let flag = r#"[{"code":"far_from_household","message":"距离住户 850 米 / 850 m from the household","evidence":{"distance_m":850,"limit_m":300}}]"#;
    let states = ["pending", "approved", "approved", "has_issues", "rejected"];
    let mut done = 0;
    while done < args.visits {
        let n = ROWS_PER_TX.min(args.visits - done);
        let rows: Vec<VisitRow> = (done..done + n)
            .map(|i| {
                let h = i % homes.len();
                let (household, path) = &homes[h];
                let started: NaiveDateTime = now
                    - Duration::minutes(((i * 7919) % (365 * 24 * 60)) as i64)
                    - Duration::hours(1);
                let lat = 31.78 + (h % 97) as f64 * 0.0007;
                let lon = 119.95 + (h % 89) as f64 * 0.0007;
                let flagged = i % 10 == 0;
                let state = states[i % states.len()];
                VisitRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    task_id: task_of[h].clone(),
                    household_id: household.clone(),
                    org_path: path.clone(),
                    worker_id: workers[h % workers.len()].clone(),
                    form_key: "home_visit".into(),
                    form_version: 1,
                    answers_key_id: sealed.key_id.clone(),
                    answers_sealed: sealed.ciphertext.clone(),
                    body_hash: format!("{:064x}", i),
                    fix_as_sent: format!(
                        r#"{{"lat":{lat},"lon":{lon},"accuracy_m":12.0,"crs":null,"fix_time":"{}Z","mock":false}}"#,
                        started.format("%Y-%m-%dT%H:%M:%S")
                    ),
                    lat,
                    lon,
                    accuracy_m: 5.0 + (i % 30) as f64,
                    fix_time: started + Duration::minutes(5),
                    mock_location: i % 1000 == 0,
                    started_at: started,
                    finished_at: started + Duration::minutes(25),
                    photo_ids: "[]".into(),
                    staff: "[]".into(),
                    supersedes: None,
                    flags: if flagged { flag.into() } else { "[]".into() },
                    flag_count: i32::from(flagged),
                    review_state: state.into(),
                    review_note: None,
                    reviewed_by: None,
                    reviewed_at: (state != "pending").then(|| started + Duration::days(1)),
                    received_at: started + Duration::minutes(30),
                }
            })
            .collect();
        db::write_transaction(conn, |conn| -> anyhow::Result<()> {
            repo::bench::insert_visits(conn, &rows)?;
            Ok(())
        })?;
        done += n;
        report.visits = done;
        if done % 100_000 < ROWS_PER_TX {
            eprintln!(
                "bench-seed-visits: {done} visits, {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
