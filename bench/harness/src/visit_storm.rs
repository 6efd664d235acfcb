//! `jiuzhu-bench storm --visits`: the evening submission storm. Every simulated worker submits
//! one visit per task it holds (tokens file from `jiuzhu bench-seed --visit-form-fields N`): a
//! fresh UUID v7, a valid answer set for the synthetic N-field form (the generator the server
//! published it from, `jiuzhu_proto::form::synthetic`), a fix a few metres from the household.
//!
//! Closed loop by default (`--concurrency` submissions in flight); `--rate R` schedules R per
//! second whatever the answers do, latency counted from each visit's scheduled start. Visits go
//! out task by task across the workers (every worker's first task, then every second task…), so
//! the submissions in flight belong to different workers, as in the field. Nothing is retried: a
//! failed submission is an error in the report.
//!
//! Afterwards every worker lists its own visits (`GET /visits`) and the stored ids are compared
//! with the acknowledged ones: every acknowledged visit must be there.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use hdrhistogram::Histogram;
use jiuzhu_mobile_api::client::VisitQuery;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::form::synthetic;
use jiuzhu_proto::visit::{LocationFix, SubmitVisit};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::storm::{error_kind, label_prefix, CpuMark, StormArgs};

#[derive(Debug, Deserialize)]
struct TokensFile {
    visit_form: Option<VisitFormRef>,
    workers: Vec<SeededWorker>,
}

#[derive(Debug, Deserialize)]
struct VisitFormRef {
    key: String,
    version: i32,
    fields: usize,
}

#[derive(Debug, Deserialize)]
struct SeededWorker {
    access_token: String,
    #[serde(default)]
    tasks: Vec<SeededTask>,
}

#[derive(Debug, Clone, Deserialize)]
struct SeededTask {
    id: uuid::Uuid,
    lat: Option<f64>,
    lon: Option<f64>,
}

/// One submission to make: the worker, its task, and a seed for the answers and the fix.
#[derive(Debug, Clone, Copy)]
struct Job {
    worker: usize,
    task: usize,
    seed: u64,
}

/// How the stored visits compare with the acknowledged ones.
#[derive(Debug, Default, Serialize)]
pub struct Verification {
    pub acknowledged: u64,
    /// Visits of the storm's workers the server lists.
    pub stored: u64,
    /// Acknowledged but not listed: must be 0.
    pub missing: u64,
    /// Listed but never acknowledged (a submission that timed out on the phone but was stored).
    pub unacknowledged_stored: u64,
    /// Workers whose list could not be read.
    pub list_errors: u64,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct VisitStormReport {
    pub label: String,
    pub target: String,
    pub workers: usize,
    pub form_key: String,
    pub form_version: i32,
    pub form_fields: usize,
    /// `closed` or `open`.
    pub mode: String,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub planned: u64,
    /// Answered 201: stored by this call.
    pub created: u64,
    /// Answered 200: already stored (should be 0: every id is fresh).
    pub replays: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    pub seconds: f64,
    /// Acknowledged (201 or 200) submissions per second of the whole storm.
    pub visits_per_sec: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Mean request body (the visit as JSON).
    pub mean_request_bytes: u64,
    pub storm_cpu_cores: Option<f64>,
    pub target_cpu_cores: Option<f64>,
    pub verification: Verification,
}

struct Stats {
    latency_us: Histogram<u64>,
    created: u64,
    replays: u64,
    errors: BTreeMap<String, u64>,
    request_bytes: u64,
    /// Acknowledged visit ids per worker.
    acked: Vec<Vec<uuid::Uuid>>,
}

fn with_stats(stats: &Mutex<Stats>, f: impl FnOnce(&mut Stats)) {
    match stats.lock() {
        Ok(mut s) => f(&mut s),
        Err(poisoned) => f(&mut poisoned.into_inner()),
    }
}

/// The visit a phone would send for `job`: recorded over the last 20 minutes, the fix within
/// about 15 m of the household's registered point.
fn visit_for(job: Job, task: &SeededTask, form: &VisitFormRef) -> SubmitVisit {
    let now = Utc::now();
    // Metres as degrees near 31.8° N: 1e-5° of latitude is 1.1 m, of longitude 0.95 m.
    let jitter = |shift: u32| ((job.seed >> shift) % 21) as f64 - 10.0;
    let (lat, lon) = (task.lat.unwrap_or(31.78), task.lon.unwrap_or(119.97));
    SubmitVisit {
        id: uuid::Uuid::now_v7(),
        task_id: task.id,
        form_key: form.key.clone(),
        form_version: form.version,
        answers: synthetic::answers(form.fields, job.seed),
        location: LocationFix {
            lat: lat + jitter(0) * 1e-5,
            lon: lon + jitter(8) * 1e-5,
            accuracy_m: 5.0 + (job.seed % 11) as f64,
            crs: None,
            fix_time: now - chrono::Duration::minutes(10),
            mock: false,
        },
        started_at: now - chrono::Duration::minutes(20),
        finished_at: now - chrono::Duration::minutes(1),
        photo_ids: Vec::new(),
        staff: Vec::new(),
        supersedes: None,
    }
}

async fn submit_one(
    phone: &Client,
    job: Job,
    task: &SeededTask,
    form: &VisitFormRef,
    timeout: Duration,
    stats: &Mutex<Stats>,
    scheduled: Option<Instant>,
) {
    let visit = visit_for(job, task, form);
    let bytes = serde_json::to_vec(&visit).map_or(0, |b| b.len() as u64);
    let t0 = scheduled.unwrap_or_else(Instant::now);
    let result = tokio::time::timeout(timeout, phone.submit_visit(&visit)).await;
    let latency = t0.elapsed();
    with_stats(stats, |s| {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        s.latency_us.saturating_record(us.max(1));
        s.request_bytes += bytes;
        match result {
            Err(_) => *s.errors.entry("timeout".into()).or_default() += 1,
            Ok(Err(e)) => *s.errors.entry(error_kind(&e)).or_default() += 1,
            Ok(Ok(done)) if done.visit.id != visit.id => {
                *s.errors.entry("wrong_visit_returned".into()).or_default() += 1
            }
            Ok(Ok(done)) => {
                if done.replay {
                    s.replays += 1;
                } else {
                    s.created += 1;
                }
                if let Some(acked) = s.acked.get_mut(job.worker) {
                    acked.push(visit.id);
                }
            }
        }
    });
}

/// Lists every worker's visits and compares them with what was acknowledged.
async fn verify(
    phones: &Arc<Vec<Client>>,
    acked: Vec<Vec<uuid::Uuid>>,
    concurrency: usize,
) -> Verification {
    let started = Instant::now();
    let acked = Arc::new(acked);
    let next = Arc::new(AtomicUsize::new(0));
    let totals = Arc::new(Mutex::new(Verification::default()));
    let mut set = JoinSet::new();
    for _ in 0..concurrency.clamp(1, 8) {
        let (phones, acked, next, totals) =
            (phones.clone(), acked.clone(), next.clone(), totals.clone());
        set.spawn(async move {
            loop {
                let w = next.fetch_add(1, Ordering::Relaxed);
                let (Some(phone), Some(mine)) = (phones.get(w), acked.get(w)) else {
                    break;
                };
                let mut stored = HashSet::new();
                let mut query = VisitQuery {
                    limit: Some(500),
                    ..VisitQuery::default()
                };
                let mut failed = false;
                loop {
                    match phone.visits(&query).await {
                        Ok(page) => {
                            stored.extend(page.items.iter().map(|v| v.id));
                            match page.next {
                                Some(after) => query.after = Some(after),
                                None => break,
                            }
                        }
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                let missing = mine.iter().filter(|id| !stored.contains(id)).count() as u64;
                let mine_set: HashSet<&uuid::Uuid> = mine.iter().collect();
                let extra = stored.iter().filter(|id| !mine_set.contains(id)).count() as u64;
                let mut t = match totals.lock() {
                    Ok(t) => t,
                    Err(p) => p.into_inner(),
                };
                t.acknowledged += mine.len() as u64;
                t.stored += stored.len() as u64;
                t.missing += missing;
                t.unacknowledged_stored += extra;
                t.list_errors += u64::from(failed);
            }
        });
    }
    while set.join_next().await.is_some() {}
    let mut out = match totals.lock() {
        Ok(mut t) => std::mem::take(&mut *t),
        Err(p) => std::mem::take(&mut *p.into_inner()),
    };
    out.seconds = started.elapsed().as_secs_f64();
    out
}

pub async fn run(server: &str, args: StormArgs) -> anyhow::Result<()> {
    let file: TokensFile = serde_json::from_slice(&std::fs::read(&args.tokens)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.tokens.display()))?;
    let form = file.visit_form.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no visit form; seed with `jiuzhu bench-seed --visit-form-fields N`",
            args.tokens.display()
        )
    })?;
    let n = args.workers.unwrap_or(file.workers.len());
    anyhow::ensure!(
        n > 0 && n <= file.workers.len(),
        "--workers {n}: the tokens file holds {} workers",
        file.workers.len()
    );
    let per_worker = args.visits_per_worker.unwrap_or(usize::MAX);
    let target = args.target_url.clone().unwrap_or_else(|| server.to_owned());
    let base = Client::new(&target);
    let workers: Vec<SeededWorker> = file.workers.into_iter().take(n).collect();
    let phones: Arc<Vec<Client>> = Arc::new(
        workers
            .iter()
            .map(|w| base.clone().with_token(w.access_token.clone()))
            .collect(),
    );
    let tasks: Arc<Vec<Vec<SeededTask>>> = Arc::new(
        workers
            .into_iter()
            .map(|w| w.tasks.into_iter().take(per_worker).collect())
            .collect(),
    );
    // Task by task across the workers.
    let rounds = tasks.iter().map(Vec::len).max().unwrap_or(0);
    let mut jobs = Vec::new();
    for task in 0..rounds {
        for (worker, list) in tasks.iter().enumerate() {
            if task < list.len() {
                jobs.push(Job {
                    worker,
                    task,
                    seed: ((worker as u64) << 20) | task as u64,
                });
            }
        }
    }
    anyhow::ensure!(!jobs.is_empty(), "the tokens file lists no tasks");
    let jobs = Arc::new(jobs);
    let form = Arc::new(form);
    // The phone checks its answers before queueing them; so does the storm, once.
    if let Some(first) = jobs.first() {
        let compiled = synthetic::visit_form(&form.key, form.fields)
            .check()
            .map_err(|e| anyhow::anyhow!("the synthetic form does not check: {e:?}"))?;
        let outcome = compiled.validate(&synthetic::answers(form.fields, first.seed));
        anyhow::ensure!(
            outcome.is_valid(),
            "generated answers are invalid: {:?}",
            outcome.errors
        );
    }
    let stats = Arc::new(Mutex::new(Stats {
        latency_us: Histogram::new_with_bounds(1, 120_000_000, 3)?,
        created: 0,
        replays: 0,
        errors: BTreeMap::new(),
        request_bytes: 0,
        acked: vec![Vec::new(); n],
    }));
    let timeout = Duration::from_secs_f64(args.timeout);
    if !args.json {
        eprintln!(
            "storm: {} visits ({n} workers, {} fields) → {target}…",
            jobs.len(),
            form.fields
        );
    }
    let mark = CpuMark::now(args.watch_pid);
    let started = Instant::now();
    let mut set = JoinSet::new();
    match args.rate {
        None => {
            let next = Arc::new(AtomicUsize::new(0));
            for _ in 0..args.concurrency.max(1) {
                let (phones, tasks, jobs, form, stats, next) = (
                    phones.clone(),
                    tasks.clone(),
                    jobs.clone(),
                    form.clone(),
                    stats.clone(),
                    next.clone(),
                );
                set.spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&job) = jobs.get(i) else { break };
                        let (Some(phone), Some(task)) = (
                            phones.get(job.worker),
                            tasks.get(job.worker).and_then(|t| t.get(job.task)),
                        ) else {
                            continue;
                        };
                        submit_one(phone, job, task, &form, timeout, &stats, None).await;
                    }
                });
            }
        }
        Some(rate) => {
            let rate = rate.max(0.001);
            let permits = Arc::new(tokio::sync::Semaphore::new(args.max_in_flight.max(1)));
            for (i, &job) in jobs.iter().enumerate() {
                let scheduled = started + Duration::from_secs_f64(i as f64 / rate);
                tokio::time::sleep_until(scheduled.into()).await;
                let (phones, tasks, form, stats, permits) = (
                    phones.clone(),
                    tasks.clone(),
                    form.clone(),
                    stats.clone(),
                    permits.clone(),
                );
                set.spawn(async move {
                    let Ok(_permit) = permits.acquire().await else {
                        return;
                    };
                    let (Some(phone), Some(task)) = (
                        phones.get(job.worker),
                        tasks.get(job.worker).and_then(|t| t.get(job.task)),
                    ) else {
                        return;
                    };
                    submit_one(phone, job, task, &form, timeout, &stats, Some(scheduled)).await;
                });
                while set.try_join_next().is_some() {}
            }
        }
    }
    while set.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let cpu = mark.since();
    let (created, replays, errors, request_bytes, latency, acked) = {
        let mut s = match stats.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        (
            s.created,
            s.replays,
            s.errors.clone(),
            s.request_bytes,
            s.latency_us.clone(),
            std::mem::take(&mut s.acked),
        )
    };
    if !args.json {
        eprintln!("storm: checking the stored visits…");
    }
    let verification = verify(&phones, acked, args.concurrency).await;
    let ms = |us: u64| us as f64 / 1000.0;
    let planned = jobs.len() as u64;
    let report = VisitStormReport {
        label: args.label.clone(),
        target,
        workers: n,
        form_key: form.key.clone(),
        form_version: form.version,
        form_fields: form.fields,
        mode: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        }
        .into(),
        concurrency: args.concurrency,
        rate: args.rate,
        planned,
        created,
        replays,
        errors: errors.values().sum(),
        errors_by_kind: errors,
        seconds,
        visits_per_sec: (created + replays) as f64 / seconds.max(1e-9),
        mean_ms: latency.mean() / 1000.0,
        p50_ms: ms(latency.value_at_quantile(0.50)),
        p95_ms: ms(latency.value_at_quantile(0.95)),
        p99_ms: ms(latency.value_at_quantile(0.99)),
        max_ms: ms(latency.max()),
        mean_request_bytes: request_bytes / planned.max(1),
        storm_cpu_cores: cpu.storm,
        target_cpu_cores: cpu.target,
        verification,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    let v = &report.verification;
    anyhow::ensure!(
        report.errors == 0,
        "{} of {} submissions failed",
        report.errors,
        report.planned
    );
    anyhow::ensure!(
        v.missing == 0 && v.list_errors == 0,
        "{} acknowledged visits are not stored ({} workers' lists unreadable)",
        v.missing,
        v.list_errors
    );
    Ok(())
}

fn print_report(r: &VisitStormReport) {
    let mode = match r.rate {
        Some(rate) => format!("open loop at {rate:.0}/s"),
        None => format!("closed loop, {} in flight", r.concurrency),
    };
    println!(
        "{}{} visits by {} workers, {} fields ({} v{}) → {} ({mode})",
        label_prefix(&r.label),
        r.planned,
        r.workers,
        r.form_fields,
        r.form_key,
        r.form_version,
        r.target
    );
    println!(
        "{:>8} {:>7} {:>9} {:>7} {:>7} {:>7} {:>8} {:>7} {:>8} {:>6} {:>6}",
        "visits",
        "secs",
        "visits/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "errors",
        "body B",
        "cpu:me",
        "target"
    );
    let cores = |c: Option<f64>| c.map_or("-".to_owned(), |c| format!("{c:.2}"));
    println!(
        "{:>8} {:>7.1} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>8.1} {:>7} {:>8} {:>6} {:>6}",
        r.created + r.replays,
        r.seconds,
        r.visits_per_sec,
        r.p50_ms,
        r.p95_ms,
        r.p99_ms,
        r.max_ms,
        r.errors,
        r.mean_request_bytes,
        cores(r.storm_cpu_cores),
        cores(r.target_cpu_cores),
    );
    for (k, v) in &r.errors_by_kind {
        println!("  {k}: {v}");
    }
    let v = &r.verification;
    println!(
        "stored {} of {} acknowledged; missing {}, stored but unacknowledged {}, unreadable lists {} ({:.1} s)",
        v.stored, v.acknowledged, v.missing, v.unacknowledged_stored, v.list_errors, v.seconds
    );
}
