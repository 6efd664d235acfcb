//! Crash durability (issue 21 §4): several phones submit visits and upload real JPEGs (whole with
//! `PUT /photos/{id}`, or resumably with `POST /uploads` and `PATCH`) while the server binary is
//! killed with SIGKILL at a random moment; on PostgreSQL some rounds stop the database with
//! `pg_ctl stop -m immediate` instead of, or as well as, the server. After each fault, and again
//! after each start, the database and the data folder are read behind the server's back: every
//! acknowledged visit, photo and upload offset is there, no partial rows, no orphan files, and the
//! database's integrity check is clean. At the end the phones finish what they were doing and
//! every acknowledged visit reads back through the API as sent.
//!
//! `CHAOS_ROUNDS` (default 8) rounds per backend, `CHAOS_CLIENTS` (default 3) phones.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiuzhu_mobile_api::Client;
use jiuzhu_proto::photo::{CreateUpload, Photo, Upload};
use jiuzhu_proto::visit::SubmitVisit;
use jiuzhu_tests::Backend;
use rand::rngs::StdRng;
use rand::Rng;
use reqwest::{Method, StatusCode};

use super::harness::{
    env_num, inspect, lock, pick, real_jpegs, rng, runtime, seed, serial, sha256_hex, unique_jpeg,
    Findings, Moment, SharedLedger, Tally, TaskRef, World,
};

#[test]
fn crash_sqlite() {
    let _one_at_a_time = serial();
    runtime().block_on(crash(Backend::Sqlite));
}

#[test]
fn crash_postgres() {
    let _one_at_a_time = serial();
    runtime().block_on(crash(Backend::Postgres));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// SIGKILL the server.
    Kill,
    /// `pg_ctl stop -m immediate`, start it again; the server lives on and must recover.
    PgStop,
    /// Both at once.
    Both,
}

#[derive(Clone)]
struct PhotoJob {
    id: uuid::Uuid,
    bytes: Arc<Vec<u8>>,
    sha: String,
    resumable: bool,
    upload: Option<uuid::Uuid>,
    acked: bool,
}

/// One visit in the making on one phone: its photos first, then the visit.
#[derive(Clone)]
struct Job {
    photos: Vec<PhotoJob>,
    visit: SubmitVisit,
}

enum Step {
    Progress,
    Done,
    /// The server or its database is not answering: what the request met.
    Down(String),
}

struct Phone {
    index: usize,
    trace: Trace,
    client: Client,
    job: Option<Job>,
    tasks: VecDeque<TaskRef>,
    rng: StdRng,
    tally: Tally,
}

const TASKS_PER_ROUND: usize = 4;

/// The last steps of the phones and the faults, with their times since the start: printed when a
/// round stalls, to show what the phones met while nothing was acknowledged.
#[derive(Clone)]
struct Trace {
    began: Instant,
    lines: Arc<std::sync::Mutex<VecDeque<String>>>,
}

impl Trace {
    const KEEP: usize = 300;

    fn new() -> Self {
        Trace {
            began: Instant::now(),
            lines: Default::default(),
        }
    }

    fn note(&self, line: impl std::fmt::Display) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() == Self::KEEP {
            lines.pop_front();
        }
        lines.push_back(format!(
            "{:9.3} s  {line}",
            self.began.elapsed().as_secs_f64()
        ));
    }

    fn dump(&self) -> String {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }
}

async fn crash(backend: Backend) {
    let name = format!("crash {backend:?}");
    let seed = seed(&name);
    let rounds = env_num("CHAOS_ROUNDS", 8);
    let clients = env_num("CHAOS_CLIENTS", 3);
    let began = Instant::now();
    let Some(mut world) = World::create(backend, clients).await else {
        return;
    };
    eprintln!(
        "[{name}] world seeded in {:.1} s",
        began.elapsed().as_secs_f64()
    );
    let jpegs = real_jpegs();
    let ledger = SharedLedger::default();
    let mut driver = rng(seed, u64::MAX);
    let trace = Trace::new();
    let mut phones: Vec<Phone> = (0..clients)
        .map(|i| Phone {
            index: i,
            trace: trace.clone(),
            client: world.worker_client(i, &world.server.base()),
            job: None,
            tasks: VecDeque::new(),
            rng: rng(seed, i as u64),
            tally: Tally::new(),
        })
        .collect();
    let mut faults = Tally::new();
    let mut unique = seed << 20;
    let mut looks = 0usize;
    let mut slowest_recovery = Duration::ZERO;

    for round in 0..rounds {
        for (i, phone) in phones.iter_mut().enumerate() {
            let need = TASKS_PER_ROUND.saturating_sub(phone.tasks.len());
            if need > 0 {
                phone.tasks.extend(world.new_tasks(i, need).await);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut running = Vec::new();
        for mut phone in phones.drain(..) {
            let (stop, ledger, jpegs, point) =
                (stop.clone(), ledger.clone(), jpegs.clone(), world.point);
            unique += 1000;
            let base = unique;
            running.push(tokio::spawn(async move {
                phone_loop(&mut phone, &stop, &ledger, &jpegs, point, base, false).await;
                phone
            }));
        }
        // A random moment after this round's first acknowledged write (so each round makes
        // progress however slow the machine), while the other phones are mid-request.
        let before = lock(&ledger).acks;
        let deadline = Instant::now() + Duration::from_secs(30);
        while lock(&ledger).acks == before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(driver.random_range(0..1500))).await;
        let fault = match backend {
            Backend::Sqlite => Fault::Kill,
            Backend::Postgres => match driver.random_range(0..3) {
                0 => Fault::Kill,
                1 => Fault::PgStop,
                _ => Fault::Both,
            },
        };
        *faults.entry(fault_name(fault)).or_default() += 1;
        trace.note(format!("round {round}: {}", fault_name(fault)));
        match fault {
            Fault::Kill => world.server.kill(),
            Fault::Both => {
                world.server.kill();
                world.pg.as_mut().unwrap().stop_immediate();
            }
            Fault::PgStop => {
                let before = lock(&ledger).acks;
                world.pg.as_mut().unwrap().stop_immediate();
                trace.note("database stopped");
                tokio::time::sleep(Duration::from_millis(driver.random_range(100..1000))).await;
                world.pg.as_mut().unwrap().start();
                trace.note("database started");
                // The server reconnects by itself: writes are acknowledged again (the phones'
                // own retry pauses and a loaded machine's WAL replay take their share of this).
                let restarted = Instant::now();
                let deadline = restarted + Duration::from_secs(90);
                while lock(&ledger).acks == before && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let waited = restarted.elapsed();
                trace.note(format!("first write acknowledged after {waited:.1?}"));
                if std::env::var("CHAOS_TRACE").is_ok() {
                    eprintln!("{}", trace.dump());
                }
                eprintln!(
                    "[{name}] round {round}: first write {waited:.1?} after the database's restart"
                );
                slowest_recovery = slowest_recovery.max(waited);
                if lock(&ledger).acks == before {
                    lock(&ledger).problems.push(format!(
                        "round {round}: no write acknowledged within 90 s of the database's \
                         restart; the last steps:\n{}\n--- server log ---\n{}",
                        trace.dump(),
                        world.server.log_tail()
                    ));
                }
                tokio::time::sleep(Duration::from_millis(driver.random_range(100..800))).await;
            }
        }
        stop.store(true, Ordering::SeqCst);
        for r in running {
            phones.push(r.await.unwrap());
        }
        // The database recovers on its own (PostgreSQL replays its WAL at start).
        if world.pg.as_ref().is_some_and(|pg| !pg.is_up()) {
            world.pg.as_mut().unwrap().start();
        }
        if !world.server.is_running() {
            look(&world, &ledger, Moment::AfterCrash, round);
            looks += 1;
        }
        // Files are checked for orphans only after a start: objects stored for a photo whose row
        // the database refused while it was down stay, named by their `.pending` note, until the
        // sweep (at start, and every ten minutes) while the server keeps running.
        let moment = if world.server.is_running() {
            Moment::AfterCrash
        } else {
            world.server.start().await;
            Moment::AfterStart
        };
        look(&world, &ledger, moment, round);
        looks += 1;
        eprintln!(
            "[{name}] round {round}: {}, {} acks so far",
            fault_name(fault),
            lock(&ledger).acks
        );
    }

    // The phones finish what they had started, with nothing failing now.
    let stop = Arc::new(AtomicBool::new(false));
    let mut running = Vec::new();
    for mut phone in phones.drain(..) {
        let (stop, ledger, jpegs, point) =
            (stop.clone(), ledger.clone(), jpegs.clone(), world.point);
        running.push(tokio::spawn(async move {
            phone_loop(&mut phone, &stop, &ledger, &jpegs, point, 0, true).await;
            phone
        }));
    }
    let drain = tokio::time::timeout(Duration::from_secs(120), async {
        for r in running {
            phones.push(r.await.unwrap());
        }
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    assert!(drain.is_ok(), "the phones did not finish within 120 s");
    // A last start, so that the sweep has run before the last look at the files.
    world.server.terminate();
    world.server.start().await;
    let findings = look(&world, &ledger, Moment::AfterStart, rounds);
    looks += 1;

    // Every acknowledged visit reads back through the API as it was sent.
    let visits: Vec<SubmitVisit> = lock(&ledger).visits.values().cloned().collect();
    for sent in &visits {
        let got = world.coordinator.visit(sent.id).await.unwrap();
        assert_eq!(got.photo_ids, sent.photo_ids, "visit {}", sent.id);
        assert_eq!(got.task_id, sent.task_id, "visit {}", sent.id);
        assert_eq!(
            got.answers["income"], sent.answers["income"],
            "visit {}",
            sent.id
        );
    }
    let mut phone_tally = Tally::new();
    for p in &phones {
        for (k, v) in &p.tally {
            *phone_tally.entry(k).or_default() += v;
        }
    }
    let recovery = match faults.get("pg_stop") {
        Some(n) => format!(
            "the first write after each of the {n} database restarts under a running server \
             within {slowest_recovery:.1?}; "
        ),
        None => String::new(),
    };
    let l = lock(&ledger);
    eprintln!(
        "[{name}] seed {seed}: {rounds} rounds in {:.0} s; faults {faults:?}; server SIGKILLs {}, \
         starts {}; pg immediate stops {}; {} writes acknowledged ({} visits, {} photos, {} upload \
         offsets), all checked at {looks} looks; {recovery}database holds {} visits, {} photos, {} files; \
         phones {phone_tally:?}",
        began.elapsed().as_secs_f64(),
        world.server.kills,
        world.server.starts,
        world.pg.as_ref().map_or(0, |pg| pg.immediate_stops),
        l.acks,
        l.visits.len(),
        l.photos.len(),
        l.offsets.len(),
        findings.visits,
        findings.photos,
        findings.files,
    );
    assert!(
        l.problems.is_empty(),
        "problems seen by the phones: {:#?}",
        l.problems
    );
    assert!(
        !l.visits.is_empty(),
        "no visit was ever acknowledged: the test tested nothing"
    );
}

fn fault_name(f: Fault) -> &'static str {
    match f {
        Fault::Kill => "sigkill",
        Fault::PgStop => "pg_stop",
        Fault::Both => "sigkill+pg_stop",
    }
}

/// Inspects, and fails the test with every problem found.
fn look(world: &World, ledger: &SharedLedger, moment: Moment, round: usize) -> Findings {
    let l = lock(ledger);
    let found = inspect(&world.url, &world.data_dir, &l, moment);
    let mut problems = found.problems.clone();
    problems.extend(l.problems.iter().cloned());
    assert!(
        problems.is_empty(),
        "round {round}, {moment:?}: {} problems:\n{}\n--- server log ---\n{}",
        problems.len(),
        problems.join("\n"),
        world.server.log_tail()
    );
    found
}

/// Works through the phone's tasks until told to stop; with `drain`, finishes the job in hand
/// and stops.
async fn phone_loop(
    phone: &mut Phone,
    stop: &AtomicBool,
    ledger: &SharedLedger,
    jpegs: &[(String, Arc<Vec<u8>>)],
    point: (f64, f64),
    mut unique: u64,
    drain: bool,
) {
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if phone.job.is_none() {
            if drain {
                return;
            }
            let Some(task) = phone.tasks.pop_front() else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            unique += 1;
            phone.job = Some(new_job(&mut phone.rng, task, jpegs, point, unique));
        }
        let job = phone.job.as_mut().unwrap();
        let (began, before) = (Instant::now(), phone.tally.clone());
        let result = step(&phone.client, job, ledger, &mut phone.rng, &mut phone.tally).await;
        let took = began.elapsed().as_secs_f64();
        let did = phone
            .tally
            .iter()
            .find(|(k, v)| before.get(*k) != Some(*v))
            .map_or("", |(k, _)| *k);
        match result {
            Step::Progress => phone
                .trace
                .note(format_args!("phone {} {did} ({took:.2} s)", phone.index)),
            Step::Done => {
                phone.trace.note(format_args!(
                    "phone {} {did}, done ({took:.2} s)",
                    phone.index
                ));
                phone.job = None;
            }
            Step::Down(why) => {
                phone.trace.note(format_args!(
                    "phone {} down: {why} ({took:.2} s)",
                    phone.index
                ));
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }
    }
}

fn new_job(
    rng: &mut StdRng,
    task: TaskRef,
    jpegs: &[(String, Arc<Vec<u8>>)],
    point: (f64, f64),
    unique: u64,
) -> Job {
    let n = rng.random_range(0..=2usize);
    let photos: Vec<PhotoJob> = (0..n)
        .map(|k| {
            let bytes = if rng.random_bool(0.5) {
                pick(rng, jpegs).1
            } else {
                Arc::new(unique_jpeg(unique * 4 + k as u64, point))
            };
            PhotoJob {
                id: uuid::Uuid::now_v7(),
                sha: sha256_hex(&bytes),
                bytes,
                resumable: rng.random_bool(0.5),
                upload: None,
                acked: false,
            }
        })
        .collect();
    let ids: Vec<uuid::Uuid> = photos.iter().map(|p| p.id).collect();
    let visit = super::harness::visit_for(point, task, &ids, rng.random_range(0..100_000));
    Job { photos, visit }
}

fn count(tally: &mut Tally, what: &'static str) {
    *tally.entry(what).or_default() += 1;
}

/// One request towards finishing `job`.
async fn step(
    client: &Client,
    job: &mut Job,
    ledger: &SharedLedger,
    rng: &mut StdRng,
    tally: &mut Tally,
) -> Step {
    if let Some(photo) = job.photos.iter_mut().find(|p| !p.acked) {
        return if photo.resumable {
            resumable_step(client, photo, ledger, rng, tally).await
        } else {
            match client.put_photo(photo.id, photo.bytes.to_vec()).await {
                Ok((stored, replay)) => {
                    count(tally, if replay { "put_replayed" } else { "put_stored" });
                    photo_acked(ledger, photo, &stored, "PUT");
                    Step::Progress
                }
                Err(e) if e.is_retryable() => Step::Down(format!("PUT /photos: {e}")),
                Err(e) => {
                    lock(ledger)
                        .problems
                        .push(format!("PUT /photos/{} refused: {e}", photo.id));
                    Step::Done
                }
            }
        };
    }
    match client.submit_visit(&job.visit).await {
        Ok(s) => {
            count(
                tally,
                if s.replay {
                    "visit_replayed"
                } else {
                    "visit_stored"
                },
            );
            let mut l = lock(ledger);
            l.acks += 1;
            if s.visit.id != job.visit.id {
                l.problems
                    .push(format!("visit {} stored as {}", job.visit.id, s.visit.id));
            }
            l.visits.insert(job.visit.id, job.visit.clone());
            Step::Done
        }
        Err(e) if e.is_retryable() => Step::Down(format!("POST /visits: {e}")),
        Err(e) => {
            let details = match &e {
                jiuzhu_mobile_api::client::ClientError::Api { body, .. } => {
                    format!("{:?}", body.details)
                }
                _ => String::new(),
            };
            lock(ledger).problems.push(format!(
                "POST /visits {} refused although its photos were acknowledged: {e} {details}",
                job.visit.id
            ));
            Step::Done
        }
    }
}

fn photo_acked(ledger: &SharedLedger, photo: &mut PhotoJob, stored: &Photo, how: &str) {
    let mut l = lock(ledger);
    l.acks += 1;
    if stored.sha256 != photo.sha || stored.id != photo.id {
        l.problems.push(format!(
            "{how} {} answered photo {} with sha256 {}, not {}",
            photo.id, stored.id, stored.sha256, photo.sha
        ));
    }
    l.photos.insert(photo.id, photo.sha.clone());
    photo.acked = true;
}

fn offset_of(res: &reqwest::Response) -> Option<u64> {
    res.headers()
        .get("Upload-Offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn resumable_step(
    client: &Client,
    photo: &mut PhotoJob,
    ledger: &SharedLedger,
    rng: &mut StdRng,
    tally: &mut Tally,
) -> Step {
    let Some(upload) = photo.upload else {
        let body = CreateUpload {
            photo_id: photo.id,
            length: photo.bytes.len() as u64,
            sha256: photo.sha.clone(),
        };
        let res = client
            .request(Method::POST, "/uploads")
            .json(&body)
            .send()
            .await;
        return match res {
            Ok(r) if r.status() == StatusCode::CREATED => match r.json::<Upload>().await {
                Ok(u) => {
                    lock(ledger).acks += 1;
                    count(tally, "upload_created");
                    photo.upload = Some(u.id);
                    Step::Progress
                }
                Err(e) => Step::Down(format!("POST /uploads: {e}")),
            },
            Ok(r) if r.status().is_server_error() => {
                Step::Down(format!("POST /uploads: {}", r.status()))
            }
            Ok(r) => {
                let status = r.status();
                let text = r.text().await.unwrap_or_default();
                lock(ledger)
                    .problems
                    .push(format!("POST /uploads refused: {status} {text}"));
                photo.acked = true;
                Step::Done
            }
            Err(e) => Step::Down(format!("POST /uploads: {e}")),
        };
    };
    // Where the server is: at least what it acknowledged.
    let res = match client
        .request(Method::HEAD, &format!("/uploads/{upload}"))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return Step::Down(format!("HEAD /uploads: {e}")),
    };
    if res.status() == StatusCode::NOT_FOUND {
        // Finished (its answer lost), or cut off while finishing: start again; a finished photo
        // answers as a replay.
        count(tally, "upload_gone");
        photo.upload = None;
        return Step::Progress;
    }
    if res.status().is_server_error() {
        return Step::Down(format!("HEAD /uploads: {}", res.status()));
    }
    let Some(offset) = offset_of(&res) else {
        lock(ledger).problems.push(format!(
            "HEAD /uploads/{upload}: {} without Upload-Offset",
            res.status()
        ));
        return Step::Down("HEAD /uploads: no offset".into());
    };
    let acked = lock(ledger).offsets.get(&upload).map_or(0, |o| o.1);
    if offset < acked {
        lock(ledger).problems.push(format!(
            "upload {upload}: offset {offset} after {acked} bytes were acknowledged"
        ));
    }
    let len = photo.bytes.len() as u64;
    let end = (offset + rng.random_range(32_768..131_072u64)).min(len);
    let chunk = photo.bytes[offset as usize..end as usize].to_vec();
    let res = client
        .request(Method::PATCH, &format!("/uploads/{upload}"))
        .header("Upload-Offset", offset.to_string())
        .header("Content-Type", "application/offset+octet-stream")
        .body(chunk)
        .send()
        .await;
    let res = match res {
        Ok(r) => r,
        Err(e) => return Step::Down(format!("PATCH /uploads: {e}")),
    };
    match res.status() {
        StatusCode::NO_CONTENT => {
            let to = offset_of(&res).unwrap_or(0);
            let mut l = lock(ledger);
            l.acks += 1;
            if to != end {
                l.problems.push(format!(
                    "PATCH {upload} at {offset} to {end} answered offset {to}"
                ));
            }
            l.offsets.insert(upload, (photo.id, to));
            count(tally, "patch_appended");
            Step::Progress
        }
        StatusCode::OK | StatusCode::CREATED => match res.json::<Photo>().await {
            Ok(stored) => {
                count(tally, "upload_completed");
                photo_acked(ledger, photo, &stored, "PATCH");
                Step::Progress
            }
            Err(e) => Step::Down(format!("PATCH /uploads answer: {e}")),
        },
        StatusCode::CONFLICT | StatusCode::NOT_FOUND => {
            count(tally, "patch_retry");
            Step::Progress
        }
        s if s.is_server_error() => Step::Down(format!("PATCH /uploads: {s}")),
        s => {
            let text = res.text().await.unwrap_or_default();
            lock(ledger)
                .problems
                .push(format!("PATCH /uploads/{upload} refused: {s} {text}"));
            photo.acked = true;
            Step::Progress
        }
    }
}
