//! `jiuzhu-bench storm`: the morning sync storm. Many simulated phones, each with its own bearer
//! token, first sync their full task set and then keep syncing incrementally with their cursor,
//! as a real phone does; the report gives syncs per second, latency percentiles and errors by
//! kind. Tokens come from `jiuzhu bench-seed --out FILE` (a benchmark harness on the server).
//!
//! Two phases:
//! 1. **first sync**: every worker's full sync (no cursor), once, `--concurrency` at a time;
//! 2. **incremental**: syncs with each worker's cursor, round-robin over the workers, for
//!    `--warmup` then `--duration` seconds. Closed loop by default (`--concurrency` requests in
//!    flight, the next sent when one answers: the highest rate the target sustains); with
//!    `--rate R` open loop (R syncs/s scheduled whatever the answers do, latency counted from each
//!    sync's scheduled start, so a stalled server cannot hide its queue: no coordinated omission).
//!
//! `--target-url` sends the same requests to another base URL (the bare actix-web peer).
//!
//! `--decode` says how much of each answer the storm builds. `outline` (the default) parses every
//! body as JSON to the end and reads what the storm checks (the cursor, `has_more`, the number
//! of tasks) but builds nothing else, as load generators such as wrk or oha build nothing: on a
//! machine the storm shares with its target, decoding 83 KB full-sync bodies into `SyncPage`
//! took ~0.4 ms of CPU each, a quarter of what a first sync cost both processes together.
//! `full` decodes every body into `SyncPage`, as the phone's SDK does.
//!
//! `--visits` runs the visit-submission storm instead (`visit_storm`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use jiuzhu_mobile_api::{Client, ClientError};
use jiuzhu_proto::task::SyncPage;
use reqwest::Method;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

#[derive(Debug, Clone, Args)]
pub struct StormArgs {
    /// Tokens file written by `jiuzhu bench-seed --out`.
    #[arg(long)]
    pub(crate) tokens: PathBuf,
    /// Simulated workers: the first N of the tokens file (all of them when absent).
    #[arg(long)]
    pub(crate) workers: Option<usize>,
    /// Tasks each worker holds; a first sync that returns another number counts as an error
    /// (default: what the tokens file says).
    #[arg(long)]
    pub(crate) tasks_per_worker: Option<usize>,
    /// Requests in flight at once (closed loop; always for the first syncs).
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Open loop: schedule this many incremental syncs per second.
    #[arg(long)]
    pub(crate) rate: Option<f64>,
    /// Open loop: most syncs in flight at once; later ones wait, their wait counted as latency.
    #[arg(long, default_value_t = 1024)]
    pub(crate) max_in_flight: usize,
    /// Seconds of incremental syncing that are measured.
    #[arg(long, default_value_t = 20.0)]
    pub(crate) duration: f64,
    /// Seconds of incremental syncing before the measurement starts.
    #[arg(long, default_value_t = 5.0)]
    pub(crate) warmup: f64,
    /// Skip the incremental phase (first syncs only).
    #[arg(long)]
    pub(crate) first_only: bool,
    /// Send the same requests to this base URL instead of --server (e.g. the bare peer).
    #[arg(long)]
    pub(crate) target_url: Option<String>,
    /// Also report the CPU used by this process (the target server) over each phase.
    #[arg(long)]
    pub(crate) watch_pid: Option<u32>,
    /// Seconds before a sync counts as a timeout.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) timeout: f64,
    /// A name for this run in the report.
    #[arg(long, default_value = "")]
    pub(crate) label: String,
    /// How much of each sync's answer to build: `outline` (valid JSON, cursor, has_more and the
    /// task count checked; the rest skipped) or `full` (into `SyncPage`, as the phone's SDK).
    #[arg(long, value_enum, default_value_t = Decode::Outline)]
    pub(crate) decode: Decode,
    /// Print the report as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Visit-submission storm instead of syncs: every worker submits one visit per task of the
    /// tokens file (`jiuzhu bench-seed --visit-form-fields N`), then the stored visits are
    /// counted against the acknowledged ones.
    #[arg(long)]
    pub(crate) visits: bool,
    /// Visit storm: at most this many visits per worker (default: one per task).
    #[arg(long)]
    pub(crate) visits_per_worker: Option<usize>,
}

/// How much of a sync's answer the storm builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decode {
    /// Parse the whole body as JSON, build only what the storm checks.
    Outline,
    /// Build the whole `SyncPage`.
    Full,
}

/// What the storm reads of a [`SyncPage`]: every field must be there and the whole body must be
/// valid JSON (serde_json parses what it skips), but only the cursor, `has_more` and the task
/// count are kept.
#[derive(Debug, Deserialize)]
struct PageOutline {
    cursor: String,
    #[allow(dead_code)] // Required, so an answer without it is an error; not otherwise read.
    has_more: bool,
    tasks: Vec<IgnoredAny>,
    #[allow(dead_code)]
    households: IgnoredAny,
    #[allow(dead_code)]
    forms: IgnoredAny,
    #[allow(dead_code)]
    tombstones: IgnoredAny,
}

#[derive(Debug, Deserialize)]
struct TokensFile {
    tasks_per_worker: usize,
    workers: Vec<SeededWorker>,
}

#[derive(Debug, Deserialize)]
struct SeededWorker {
    access_token: String,
}

/// One simulated phone: its client (sharing the connection pool) and its cursor. The lock keeps
/// a phone to one sync at a time, as a real phone is.
struct Phone {
    client: Client,
    cursor: tokio::sync::Mutex<Option<String>>,
}

/// One phase's figures.
#[derive(Debug, Serialize)]
pub struct PhaseReport {
    pub syncs: u64,
    pub seconds: f64,
    pub syncs_per_sec: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Full syncs among these (a worker whose first sync failed syncs in full again).
    pub full_syncs: u64,
    /// Mean response body size, over a sample of the answers.
    pub mean_body_bytes: Option<u64>,
    /// CPU used by this load generator over the phase, in cores (1.0 = one core busy).
    pub storm_cpu_cores: Option<f64>,
    /// CPU used by `--watch-pid` over the phase, in cores.
    pub target_cpu_cores: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct StormReport {
    pub label: String,
    pub target: String,
    pub workers: usize,
    pub tasks_per_worker: usize,
    pub concurrency: usize,
    /// How much of each answer was decoded (`--decode`).
    pub decode: Decode,
    /// Open loop's bound on syncs in flight.
    pub max_in_flight: usize,
    /// `closed` or `open`.
    pub mode: String,
    pub rate: Option<f64>,
    pub first_sync: PhaseReport,
    pub incremental: Option<PhaseReport>,
}

/// What one phase gathers while it runs.
struct Stats {
    latency_us: Histogram<u64>,
    errors: BTreeMap<String, u64>,
    full_syncs: u64,
    body_bytes: u64,
    body_samples: u64,
}

impl Stats {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            latency_us: Histogram::new_with_bounds(1, 120_000_000, 3)?,
            errors: BTreeMap::new(),
            full_syncs: 0,
            body_bytes: 0,
            body_samples: 0,
        })
    }

    fn record(&mut self, latency: Duration, outcome: &Outcome) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.saturating_record(us.max(1));
        if outcome.full {
            self.full_syncs += 1;
        }
        if let Some(bytes) = outcome.body_bytes {
            self.body_bytes += bytes as u64;
            self.body_samples += 1;
        }
        if let Some(kind) = &outcome.error {
            *self.errors.entry(kind.clone()).or_default() += 1;
        }
    }

    fn report(&self, seconds: f64, cpu: CpuSpan) -> PhaseReport {
        let ms = |us: u64| us as f64 / 1000.0;
        let h = &self.latency_us;
        let syncs = h.len();
        PhaseReport {
            syncs,
            seconds,
            syncs_per_sec: if seconds > 0.0 {
                syncs as f64 / seconds
            } else {
                0.0
            },
            mean_ms: h.mean() / 1000.0,
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            errors: self.errors.values().sum(),
            errors_by_kind: self.errors.clone(),
            full_syncs: self.full_syncs,
            mean_body_bytes: (self.body_samples > 0).then(|| self.body_bytes / self.body_samples),
            storm_cpu_cores: cpu.storm,
            target_cpu_cores: cpu.target,
        }
    }
}

type Shared = Arc<Mutex<Stats>>;

fn with_stats(stats: &Shared, f: impl FnOnce(&mut Stats)) {
    match stats.lock() {
        Ok(mut s) => f(&mut s),
        Err(poisoned) => f(&mut poisoned.into_inner()),
    }
}

/// One sync's result.
struct Outcome {
    full: bool,
    error: Option<String>,
    body_bytes: Option<usize>,
}

pub(crate) fn error_kind(e: &ClientError) -> String {
    match e {
        ClientError::Network(e) if e.is_timeout() => "timeout".into(),
        ClientError::Network(e) if e.is_connect() => "connect".into(),
        ClientError::Network(e) if e.is_decode() => "decode".into(),
        ClientError::Network(_) => "network".into(),
        ClientError::Api { status, body, .. } => {
            format!("http_{}_{}", status.as_u16(), body.error.as_str())
        }
        ClientError::Unexpected { status, .. } => format!("http_{}", status.as_u16()),
    }
}

/// Every this-many syncs, one answer's size is recorded.
const SAMPLE_EVERY: usize = 97;

/// Why a sync failed, as [`error_kind`] names it.
enum SyncError {
    Client(ClientError),
    /// A 2xx answer that is not a sync page.
    Decode,
}

/// One sync's request and its answer decoded as `decode` says: the page's cursor, its number of
/// tasks and the body's size.
async fn fetch(
    client: &Client,
    cursor: Option<&str>,
    decode: Decode,
) -> Result<(String, usize, usize), SyncError> {
    let mut req = client.request(Method::GET, "/sync");
    if let Some(c) = cursor {
        req = req.query(&[("cursor", c)]);
    }
    let res = req.send().await.map_err(|e| SyncError::Client(e.into()))?;
    if !res.status().is_success() {
        return Err(SyncError::Client(Client::error(res).await));
    }
    let body = res.bytes().await.map_err(|e| SyncError::Client(e.into()))?;
    let (cursor, tasks) = match decode {
        Decode::Outline => {
            let page: PageOutline = serde_json::from_slice(&body).map_err(|_| SyncError::Decode)?;
            (page.cursor, page.tasks.len())
        }
        Decode::Full => {
            let page: SyncPage = serde_json::from_slice(&body).map_err(|_| SyncError::Decode)?;
            (page.cursor, page.tasks.len())
        }
    };
    Ok((cursor, tasks, body.len()))
}

/// One sync of one phone; on success its cursor moves on.
async fn sync_once(
    phone: &Phone,
    cursor: &mut Option<String>,
    expect_tasks: usize,
    timeout: Duration,
    sample: bool,
    decode: Decode,
) -> Outcome {
    let full = cursor.is_none();
    let result =
        tokio::time::timeout(timeout, fetch(&phone.client, cursor.as_deref(), decode)).await;
    let mut outcome = Outcome {
        full,
        error: None,
        body_bytes: None,
    };
    match result {
        Err(_) => outcome.error = Some("timeout".into()),
        Ok(Err(SyncError::Client(e))) => outcome.error = Some(error_kind(&e)),
        Ok(Err(SyncError::Decode)) => outcome.error = Some("decode".into()),
        Ok(Ok((next, tasks, bytes))) => {
            if sample {
                outcome.body_bytes = Some(bytes);
            }
            if full && tasks != expect_tasks {
                outcome.error = Some("wrong_task_count".into());
            }
            *cursor = Some(next);
        }
    }
    outcome
}

/// CPU time (user + system) of a process so far, from `/proc/PID/stat`.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 here (0-based 11, 12);
    // Linux reports them in USER_HZ, which is 100 on every architecture it exposes.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// CPU used over a span of wall time, in cores.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CpuSpan {
    pub(crate) storm: Option<f64>,
    pub(crate) target: Option<f64>,
}

pub(crate) struct CpuMark {
    at: Instant,
    storm: Option<f64>,
    target: Option<f64>,
    pid: Option<u32>,
}

impl CpuMark {
    pub(crate) fn now(pid: Option<u32>) -> Self {
        Self {
            at: Instant::now(),
            storm: cpu_seconds(None),
            target: pid.and_then(|p| cpu_seconds(Some(p))),
            pid,
        }
    }

    pub(crate) fn since(&self) -> CpuSpan {
        let wall = self.at.elapsed().as_secs_f64().max(1e-6);
        let end = CpuMark::now(self.pid);
        let cores = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / wall);
        CpuSpan {
            storm: cores(self.storm, end.storm),
            target: cores(self.target, end.target),
        }
    }
}

/// Phase 1: every worker's first (full) sync, once.
async fn first_syncs(
    phones: &Arc<Vec<Phone>>,
    args: &StormArgs,
    expect_tasks: usize,
) -> anyhow::Result<PhaseReport> {
    let stats: Shared = Arc::new(Mutex::new(Stats::new()?));
    let next = Arc::new(AtomicUsize::new(0));
    let timeout = Duration::from_secs_f64(args.timeout);
    let decode = args.decode;
    let mark = CpuMark::now(args.watch_pid);
    let started = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..args.concurrency.max(1) {
        let (phones, stats, next) = (phones.clone(), stats.clone(), next.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(phone) = phones.get(i) else { break };
                let mut cursor = phone.cursor.lock().await;
                let t0 = Instant::now();
                let outcome = sync_once(
                    phone,
                    &mut cursor,
                    expect_tasks,
                    timeout,
                    i.is_multiple_of(SAMPLE_EVERY),
                    decode,
                )
                .await;
                let latency = t0.elapsed();
                with_stats(&stats, |s| s.record(latency, &outcome));
            }
        });
    }
    while set.join_next().await.is_some() {}
    let seconds = started.elapsed().as_secs_f64();
    let cpu = mark.since();
    let report = match stats.lock() {
        Ok(s) => s.report(seconds, cpu),
        Err(p) => p.into_inner().report(seconds, cpu),
    };
    Ok(report)
}

/// Phase 2: incremental syncs; only those that finish inside the measured window count.
async fn incremental(
    phones: &Arc<Vec<Phone>>,
    args: &StormArgs,
    expect_tasks: usize,
) -> anyhow::Result<PhaseReport> {
    let stats: Shared = Arc::new(Mutex::new(Stats::new()?));
    let timeout = Duration::from_secs_f64(args.timeout);
    let decode = args.decode;
    let start = Instant::now();
    let window_start = start + Duration::from_secs_f64(args.warmup);
    let window_end = window_start + Duration::from_secs_f64(args.duration);
    let pid = args.watch_pid;
    // CPU is sampled at the window's edges.
    let cpu = tokio::spawn(async move {
        tokio::time::sleep_until(window_start.into()).await;
        let mark = CpuMark::now(pid);
        tokio::time::sleep_until(window_end.into()).await;
        mark.since()
    });
    let record = move |stats: &Shared, scheduled: Instant, outcome: Outcome| {
        let done = Instant::now();
        if done >= window_start && done <= window_end {
            with_stats(stats, |s| s.record(done - scheduled, &outcome));
        }
    };
    let mut set = JoinSet::new();
    match args.rate {
        None => {
            let next = Arc::new(AtomicUsize::new(0));
            for _ in 0..args.concurrency.max(1) {
                let (phones, stats, next) = (phones.clone(), stats.clone(), next.clone());
                set.spawn(async move {
                    while Instant::now() < window_end {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(phone) = phones.get(i % phones.len().max(1)) else {
                            break;
                        };
                        // A phone still busy with its last sync is skipped this round.
                        let Ok(mut cursor) = phone.cursor.try_lock() else {
                            continue;
                        };
                        let t0 = Instant::now();
                        let outcome = sync_once(
                            phone,
                            &mut cursor,
                            expect_tasks,
                            timeout,
                            i.is_multiple_of(1009),
                            decode,
                        )
                        .await;
                        record(&stats, t0, outcome);
                    }
                });
            }
        }
        Some(rate) => {
            let rate = rate.max(0.001);
            let permits = Arc::new(tokio::sync::Semaphore::new(args.max_in_flight.max(1)));
            let mut issued: u64 = 0;
            loop {
                let now = Instant::now();
                if now >= window_end {
                    break;
                }
                let due = ((now - start).as_secs_f64() * rate) as u64;
                while issued < due {
                    let scheduled = start + Duration::from_secs_f64(issued as f64 / rate);
                    let i = issued as usize;
                    let (phones, stats, permits) = (phones.clone(), stats.clone(), permits.clone());
                    set.spawn(async move {
                        let Ok(_permit) = permits.acquire().await else {
                            return;
                        };
                        let Some(phone) = phones.get(i % phones.len().max(1)) else {
                            return;
                        };
                        let mut cursor = phone.cursor.lock().await;
                        let outcome = sync_once(
                            phone,
                            &mut cursor,
                            expect_tasks,
                            timeout,
                            i.is_multiple_of(1009),
                            decode,
                        )
                        .await;
                        record(&stats, scheduled, outcome);
                    });
                    issued += 1;
                }
                // Reap finished syncs so the set stays small.
                while set.try_join_next().is_some() {}
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
    while set.join_next().await.is_some() {}
    let cpu = cpu.await.unwrap_or_default();
    let report = match stats.lock() {
        Ok(s) => s.report(args.duration, cpu),
        Err(p) => p.into_inner().report(args.duration, cpu),
    };
    Ok(report)
}

pub async fn run(server: &str, args: StormArgs) -> anyhow::Result<()> {
    if args.visits {
        return crate::visit_storm::run(server, args).await;
    }
    let file: TokensFile = serde_json::from_slice(&std::fs::read(&args.tokens)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.tokens.display()))?;
    let n = args.workers.unwrap_or(file.workers.len());
    anyhow::ensure!(
        n > 0 && n <= file.workers.len(),
        "--workers {n}: the tokens file holds {} workers",
        file.workers.len()
    );
    let expect_tasks = args.tasks_per_worker.unwrap_or(file.tasks_per_worker);
    let target = args.target_url.clone().unwrap_or_else(|| server.to_owned());
    // One HTTP client (one connection pool) for all the phones; each phone has its own token.
    let base = Client::new(&target);
    let phones: Arc<Vec<Phone>> = Arc::new(
        file.workers
            .into_iter()
            .take(n)
            .map(|w| Phone {
                client: base.clone().with_token(w.access_token),
                cursor: tokio::sync::Mutex::new(None),
            })
            .collect(),
    );
    if !args.json {
        eprintln!("storm: {n} workers → {target}: first syncs…");
    }
    let first_sync = first_syncs(&phones, &args, expect_tasks).await?;
    let incremental = if args.first_only {
        None
    } else {
        if !args.json {
            eprintln!(
                "storm: incremental syncs, {} s warm-up + {} s measured…",
                args.warmup, args.duration
            );
        }
        Some(incremental(&phones, &args, expect_tasks).await?)
    };
    let report = StormReport {
        label: args.label.clone(),
        target,
        workers: n,
        tasks_per_worker: expect_tasks,
        concurrency: args.concurrency,
        decode: args.decode,
        max_in_flight: args.max_in_flight,
        mode: if args.rate.is_some() {
            "open"
        } else {
            "closed"
        }
        .into(),
        rate: args.rate,
        first_sync,
        incremental,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&report);
    }
    Ok(())
}

/// `[label] ` before a report's first line, or nothing.
pub(crate) fn label_prefix(label: &str) -> String {
    if label.is_empty() {
        String::new()
    } else {
        format!("[{label}] ")
    }
}

fn print_table(r: &StormReport) {
    let mode = match r.rate {
        Some(rate) => format!(
            "open loop at {rate:.0}/s, at most {} in flight",
            r.concurrency
        ),
        None => format!("closed loop, {} in flight", r.concurrency),
    };
    let decode = match r.decode {
        Decode::Outline => "outline decode",
        Decode::Full => "full decode",
    };
    println!(
        "{}{} workers × {} tasks → {} ({mode}, {decode})",
        label_prefix(&r.label),
        r.workers,
        r.tasks_per_worker,
        r.target
    );
    println!(
        "{:<12} {:>8} {:>7} {:>9} {:>7} {:>7} {:>7} {:>8} {:>7} {:>8} {:>6} {:>6}",
        "phase",
        "syncs",
        "secs",
        "syncs/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "body B",
        "cpu:me",
        "target"
    );
    let cores = |c: Option<f64>| c.map_or("-".to_owned(), |c| format!("{c:.2}"));
    let mut kinds = BTreeMap::new();
    for (name, p) in [
        ("first sync", Some(&r.first_sync)),
        ("incremental", r.incremental.as_ref()),
    ] {
        let Some(p) = p else { continue };
        println!(
            "{:<12} {:>8} {:>7.1} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>8.1} {:>7} {:>8} {:>6} {:>6}",
            name,
            p.syncs,
            p.seconds,
            p.syncs_per_sec,
            p.p50_ms,
            p.p90_ms,
            p.p99_ms,
            p.max_ms,
            p.errors,
            p.mean_body_bytes.map_or("-".to_owned(), |b| b.to_string()),
            cores(p.storm_cpu_cores),
            cores(p.target_cpu_cores),
        );
        for (k, v) in &p.errors_by_kind {
            *kinds.entry(format!("{name}: {k}")).or_insert(0) += v;
        }
    }
    if kinds.is_empty() {
        println!("errors by kind: none");
    } else {
        for (k, v) in kinds {
            println!("  {k}: {v}");
        }
    }
}
