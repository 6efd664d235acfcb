//! Network chaos (issue 21 §5): many phone outboxes (`jiuzhu-field`'s `Outbox`), each holding
//! visits with photos recorded offline, push through [`Proxy`] while it drops, delays, truncates
//! and resets their connections, and the server binary is restarted (SIGKILL or SIGTERM) in
//! between. The phones push again and again without waiting out their backoff, as a worker
//! pressing "send" does. Then the proxy calms down and they push until nothing is left queued:
//! every visit and photo must be on the server exactly once (by id and by count, each photo on its
//! own visit), and no item may be left "needs attention", since none of them needs a person.
//!
//! This is the test that catches the outbox blip of issue 21 (a visit sent before its photos,
//! refused and parked for good): on the outbox before that fix it fails with visits parked as
//! `validation_failed`.
//!
//! `CHAOS_NET_WORKERS` (default 20) phones, `CHAOS_NET_VISITS` (default 2) visits each,
//! `CHAOS_NET_SECS` (default 20) seconds of chaos at most.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::sql_types::{Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use jiuzhu_mobile_api::outbox::{ItemState, Outbox, RetryPolicy};
use jiuzhu_proto::visit::SubmitVisit;
use jiuzhu_tests::Backend;
use rand::Rng;

use super::harness::{
    env_num, inspect, pick, real_jpegs, rng, runtime, seed, serial, unique_jpeg, visit_for, Ledger,
    Moment, Tally, World,
};
use super::proxy::Proxy;

#[test]
fn network_sqlite() {
    let _one_at_a_time = serial();
    runtime().block_on(network(Backend::Sqlite));
}

#[test]
fn network_postgres() {
    let _one_at_a_time = serial();
    runtime().block_on(network(Backend::Postgres));
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<Text>)]
    parent: Option<String>,
}

async fn network(backend: Backend) {
    let name = format!("network {backend:?}");
    let seed = seed(&name);
    let n_workers = env_num("CHAOS_NET_WORKERS", 20);
    let per_worker = env_num("CHAOS_NET_VISITS", 2);
    let chaos_secs = env_num("CHAOS_NET_SECS", 20) as u64;
    let began = Instant::now();
    let Some(mut world) = World::create(backend, n_workers).await else {
        return;
    };
    let jpegs = real_jpegs();
    let mut driver = rng(seed, u64::MAX);

    // Every phone records its visits offline: photos into the outbox, then the visit naming them.
    let phones_dir = world.root.0.join("phones");
    let mut outboxes = Vec::new();
    let mut expected: HashMap<uuid::Uuid, SubmitVisit> = HashMap::new();
    let mut expected_photos = 0usize;
    for i in 0..n_workers {
        let tasks = world.new_tasks(i, per_worker).await;
        let dir = phones_dir.join(i.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let outbox = Outbox::open(&dir.join("outbox.db")).unwrap();
        let mut r = rng(seed, i as u64);
        for (k, task) in tasks.into_iter().enumerate() {
            let mut ids = Vec::new();
            for p in 0..r.random_range(1..=2usize) {
                let bytes = if r.random_bool(0.3) {
                    pick(&mut r, &jpegs).1.to_vec()
                } else {
                    unique_jpeg(
                        seed.wrapping_mul(1_000_003) + (i * 100 + k * 3 + p) as u64,
                        world.point,
                    )
                };
                let file = dir.join(format!("camera-{k}-{p}.jpg"));
                std::fs::write(&file, bytes).unwrap();
                ids.push(outbox.queue_photo(&file).unwrap());
            }
            expected_photos += ids.len();
            let visit = visit_for(world.point, task, &ids, r.random_range(0..100_000));
            outbox.queue_visit(&visit, &world.form).unwrap();
            expected.insert(visit.id, visit);
        }
        outboxes.push(Arc::new(outbox));
    }
    eprintln!(
        "[{name}] {n_workers} phones with {} visits and {expected_photos} photos queued offline \
         ({:.1} s)",
        expected.len(),
        began.elapsed().as_secs_f64()
    );

    let proxy = Proxy::start(world.server.port, seed).await;
    let quiet = Arc::new(AtomicBool::new(false));
    let pushes = Arc::new(AtomicU64::new(0));
    let policy = RetryPolicy {
        base: Duration::from_millis(100),
        max: Duration::from_secs(2),
    };
    let mut phones = Vec::new();
    for (i, outbox) in outboxes.iter().enumerate() {
        let client = world.worker_client(i, &proxy.base());
        let (outbox, quiet, pushes, policy) = (
            outbox.clone(),
            quiet.clone(),
            pushes.clone(),
            policy.clone(),
        );
        let mut r = rng(seed, 1_000 + i as u64);
        phones.push(tokio::spawn(async move {
            let mut tally = Tally::new();
            loop {
                let report = outbox.push(&client, &policy).await.unwrap();
                pushes.fetch_add(1, Ordering::Relaxed);
                *tally.entry("sent").or_default() += u64::from(report.sent);
                *tally.entry("replayed").or_default() += u64::from(report.replayed);
                *tally.entry("retry_later").or_default() += u64::from(report.retry_later);
                *tally.entry("needs_attention").or_default() += u64::from(report.needs_attention);
                let queued = outbox
                    .items()
                    .unwrap()
                    .iter()
                    .any(|item| item.state == ItemState::Queued);
                if !queued && quiet.load(Ordering::SeqCst) {
                    return tally;
                }
                // Pressing "send" again soon, often before the backoff is over.
                tokio::time::sleep(Duration::from_millis(r.random_range(10..250))).await;
            }
        }));
    }

    // Chaos: the server restarted again and again while the phones push through the proxy.
    let chaos_until = Instant::now() + Duration::from_secs(chaos_secs);
    let mut restarts = Tally::new();
    while Instant::now() < chaos_until && !all_settled(&outboxes) {
        tokio::time::sleep(Duration::from_millis(driver.random_range(500..3_000))).await;
        if driver.random_bool(0.7) {
            world.server.kill();
            *restarts.entry("sigkill").or_default() += 1;
        } else {
            world.server.terminate();
            *restarts.entry("sigterm").or_default() += 1;
        }
        tokio::time::sleep(Duration::from_millis(driver.random_range(100..1_500))).await;
        world.server.start().await;
    }
    let chaos_took = began.elapsed();
    proxy.calm();
    quiet.store(true, Ordering::SeqCst);
    let mut tally = Tally::new();
    let settle = tokio::time::timeout(Duration::from_secs(180), async {
        for p in phones {
            for (k, v) in p.await.unwrap() {
                *tally.entry(k).or_default() += v;
            }
        }
    })
    .await;
    assert!(
        settle.is_ok(),
        "the outboxes were not quiet within 180 s of the network calming down"
    );

    // Nothing parked that a person would have to look at: every item was valid.
    let mut parked = Vec::new();
    for (i, outbox) in outboxes.iter().enumerate() {
        for item in outbox.items().unwrap() {
            if item.state != ItemState::Sent {
                parked.push(format!(
                    "phone {i}: {} {} is {:?} ({:?}, {} attempts)",
                    item.kind, item.id, item.state, item.last_error, item.attempts
                ));
            }
        }
    }

    // On the server: each visit once, each photo once and on its own visit, nothing else.
    let url = world.url.clone();
    let (visits, photos) = tokio::task::spawn_blocking(move || {
        let (_, pool) = jiuzhu_server::db::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        let visits: Vec<Row> = diesel::sql_query("SELECT id, task_id AS parent FROM visits")
            .load(&mut *conn)
            .unwrap();
        let photos: Vec<Row> = diesel::sql_query("SELECT id, visit_id AS parent FROM photos")
            .load(&mut *conn)
            .unwrap();
        (visits, photos)
    })
    .await
    .unwrap();
    let mut problems = parked;
    if visits.len() != expected.len() {
        problems.push(format!(
            "{} visits on the server, {} recorded",
            visits.len(),
            expected.len()
        ));
    }
    if photos.len() != expected_photos {
        problems.push(format!(
            "{} photos on the server, {expected_photos} recorded",
            photos.len()
        ));
    }
    let photo_parent: HashMap<&str, Option<&str>> = photos
        .iter()
        .map(|p| (p.id.as_str(), p.parent.as_deref()))
        .collect();
    let mut per_task: HashMap<&str, usize> = HashMap::new();
    for v in &visits {
        *per_task
            .entry(v.parent.as_deref().unwrap_or(""))
            .or_default() += 1;
    }
    for (id, sent) in &expected {
        let key = id.to_string();
        if !visits.iter().any(|v| v.id == key) {
            problems.push(format!("visit {id} never arrived"));
        }
        if per_task.get(sent.task_id.to_string().as_str()) != Some(&1) {
            problems.push(format!(
                "task {} does not have exactly one visit",
                sent.task_id
            ));
        }
        for p in &sent.photo_ids {
            match photo_parent.get(p.to_string().as_str()) {
                None => problems.push(format!("photo {p} of visit {id} never arrived")),
                Some(parent) if *parent != Some(key.as_str()) => {
                    problems.push(format!("photo {p} is on visit {parent:?}, not {id}"))
                }
                Some(_) => {}
            }
        }
    }
    // And the database and folder are whole after all those restarts.
    let ledger = Ledger {
        visits: expected.clone(),
        ..Default::default()
    };
    let findings = inspect(&world.url, &world.data_dir, &ledger, Moment::AfterStart);
    problems.extend(findings.problems);
    eprintln!(
        "[{name}] seed {seed}: {} visits and {expected_photos} photos from {n_workers} phones in \
         {:.0} s ({:.0} s of chaos); server restarts {restarts:?}; proxy: {} connections, faults \
         {:?}; {} pushes, outcomes {tally:?}",
        expected.len(),
        began.elapsed().as_secs_f64(),
        chaos_took.as_secs_f64(),
        proxy.connections(),
        proxy.faults(),
        pushes.load(Ordering::Relaxed),
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}\n--- server log ---\n{}",
        problems.len(),
        problems.join("\n"),
        world.server.log_tail()
    );
}

/// Whether every outbox has nothing left queued (sent, or parked).
fn all_settled(outboxes: &[Arc<Outbox>]) -> bool {
    outboxes.iter().all(|o| {
        o.items()
            .unwrap()
            .iter()
            .all(|item| item.state != ItemState::Queued)
    })
}
