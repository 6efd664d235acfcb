//! The privacy check (issue 21 §7): after a representative run on each backend, the stores and
//! the logs hold no plaintext ID number, phone number or token, and no stored photo carries an
//! EXIF position.
//!
//! The other tests drop their databases when they end, so this one runs its own workload and
//! looks at what it leaves: the demo city with its households (sealed ID and phone numbers), six
//! weeks of demo activity (visits with photos whose EXIF has a GPS position, findings,
//! applications, self-reports), both household fixture files imported (UTF-8 and GBK), a citizen
//! who registers and reports with numbers in the description, a reviewer's note with a number in
//! it, and log-ins. The secrets it searches for are every number the database holds sealed
//! (opened with the server's key), the numbers in the fixture files and in the workload, and every
//! token issued. It scans the SQLite file with its WAL and shared memory (copied while the server
//! runs, so the WAL is not yet checkpointed), a `pg_dump` of the PostgreSQL database, every other
//! file in the data folder, and the server's log.
//!
//! The log is real: the workload runs in a child process (this test binary again, running
//! [`child_workload`]) whose stderr is a file, with the server's own `telemetry::init`, so the
//! scan also shows that a log written to a file carries no colour codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::RunQueryDsl;
use jiuzhu_mobile_api::Client;
use jiuzhu_tests::{spawn_app_with, Backend, TestApp, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Set for the child process: the folder it writes its findings into.
const CHILD: &str = "JIUZHU_PRIVACY_SCAN_DIR";

/// Numbers the workload writes into free text; none may be stored or logged in full.
const CITIZEN_PHONE: &str = "13955550123";
const NOTE_PHONE: &str = "13811112222";
const NOTE_ID: &str = "320402195808083016";

#[test]
fn no_plaintext_personal_numbers_or_tokens_after_a_run() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir =
        std::env::temp_dir().join(format!("jiuzhu-privacy-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("server.log");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_workload",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, &dir)
        .env("RUST_LOG", "info")
        .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    let log_bytes = std::fs::read(&log).unwrap();
    if !status.success() {
        let tail = String::from_utf8_lossy(&log_bytes[log_bytes.len().saturating_sub(6000)..]);
        let out = std::fs::read_to_string(dir.join("stdout.txt")).unwrap_or_default();
        panic!("the workload failed ({status}):\n{out}\n{tail}");
    }
    let secrets: Vec<String> = std::fs::read_to_string(dir.join("secrets.txt"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let summary = std::fs::read_to_string(dir.join("summary.txt")).unwrap();
    eprintln!("{summary}");

    // The log was written, by the server, to a file: plain text, no secrets.
    let text = String::from_utf8_lossy(&log_bytes);
    assert!(
        text.contains("request finished"),
        "no server log was written"
    );
    assert!(
        !text.contains('\u{1b}'),
        "colour codes in a log written to a file"
    );
    let leaked = leaks(&log_bytes, &secrets);
    assert!(leaked.is_empty(), "the log holds plaintext: {leaked:?}");
    eprintln!(
        "privacy scan: log of {} bytes searched for {} secrets",
        log_bytes.len(),
        secrets.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The workload and the scan of the stores, run by the test above in a child process (it does
/// nothing on its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn child_workload() {
    let Some(dir) = std::env::var_os(CHILD).map(PathBuf::from) else {
        return;
    };
    jiuzhu_server::telemetry::init(false);
    let mut secrets = BTreeSet::new();
    let mut summary = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if let Some(line) = run_and_scan(backend, &mut secrets).await {
            summary.push(line);
        }
    }
    let mut text = secrets.into_iter().collect::<Vec<_>>().join("\n");
    text.push('\n');
    std::fs::write(dir.join("secrets.txt"), text).unwrap();
    std::fs::write(dir.join("summary.txt"), summary.join("\n")).unwrap();
}

/// Which secrets occur in `haystack`, shortened for the failure message.
fn leaks(haystack: &[u8], secrets: &[String]) -> Vec<String> {
    let Ok(searcher) = aho_corasick::AhoCorasick::new(secrets) else {
        panic!("cannot build the searcher");
    };
    let found: BTreeSet<usize> = searcher
        .find_iter(haystack)
        .map(|m| m.pattern().as_usize())
        .collect();
    found
        .into_iter()
        .map(|i| {
            let s = &secrets[i];
            format!("{}…({} chars)", s.get(..4).unwrap_or_default(), s.len())
        })
        .collect()
}

async fn run_and_scan(backend: Backend, secrets: &mut BTreeSet<String>) -> Option<String> {
    let app = spawn_app_with(backend, |s| s.discovery.sms_sender = "file".into()).await?;
    app.load_demo_with_households(2_000).await;
    let activity = jiuzhu_server::demo::activity::seed(&app.state)
        .await
        .unwrap();
    assert!(activity.visits > 0 && activity.photos > 0, "{activity:?}");
    for token in workload(&app).await {
        secrets.insert(token);
    }
    for s in [CITIZEN_PHONE, NOTE_PHONE, NOTE_ID] {
        secrets.insert(s.to_owned());
    }
    for s in fixture_numbers() {
        secrets.insert(s);
    }
    let sealed = sealed_numbers(&app).await;
    assert!(sealed.len() > 1000, "only {} sealed numbers", sealed.len());
    secrets.extend(sealed);
    let secrets_now: Vec<String> = secrets.iter().cloned().collect();

    // Every file of the data folder, the database files included while the server runs.
    let data_dir = app.state.settings.data_dir.clone();
    let mut scanned = 0usize;
    let mut photos = 0usize;
    for file in files_under(&data_dir) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        // The spool the `file` SMS sender writes for a gateway must name the number to reach.
        if name == "sms-outbox.jsonl" {
            continue;
        }
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        scanned += bytes.len();
        let leaked = leaks(&bytes, &secrets_now);
        assert!(
            leaked.is_empty(),
            "{backend:?}: {name} holds plaintext: {leaked:?}"
        );
        if jiuzhu_photos::sniff(&bytes).is_ok() {
            let inspected = jiuzhu_photos::inspect(bytes, &jiuzhu_photos::Limits::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                inspected.metadata.position.is_none(),
                "{backend:?}: stored photo {name} has an EXIF position"
            );
            photos += 1;
        }
    }
    assert!(photos >= activity.photos, "{photos} stored photos seen");
    if backend == Backend::Sqlite {
        assert!(data_dir.join("jiuzhu.db").exists());
    }
    let mut line = format!(
        "{backend:?}: {} secrets searched in {} bytes of {} ({} photos checked for EXIF position)",
        secrets_now.len(),
        scanned,
        data_dir.display(),
        photos
    );
    if backend == Backend::Postgres {
        let dump = std::process::Command::new("pg_dump")
            .arg(&app.owner_url)
            .output()
            .expect("pg_dump");
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        assert!(dump.stdout.len() > 100_000, "the dump is too small");
        let leaked = leaks(&dump.stdout, &secrets_now);
        assert!(
            leaked.is_empty(),
            "the PostgreSQL dump holds plaintext: {leaked:?}"
        );
        line.push_str(&format!("; pg_dump of {} bytes", dump.stdout.len()));
    }
    Some(line)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// ID and phone numbers in the household fixture files.
fn fixture_numbers() -> Vec<String> {
    let text = std::fs::read_to_string(fixture("sample-utf8.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let columns: Vec<usize> = ["id_number", "phone"]
        .iter()
        .map(|c| header.iter().position(|h| h == c).unwrap())
        .collect();
    let mut out = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        for &c in &columns {
            if let Some(v) = cells.get(c).filter(|v| v.len() >= 11) {
                out.push((*v).to_owned());
            }
        }
    }
    assert!(out.len() >= 9, "{out:?}");
    out
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/households")
        .join(name)
}

#[derive(diesel::QueryableByName)]
struct Sealed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    context: String,
}

/// Every number the database holds sealed, opened: members' ID and phone numbers, self-reports'
/// phones, and the ID- and phone-shaped numbers inside visits' answers.
async fn sealed_numbers(app: &TestApp) -> BTreeSet<String> {
    let rows = app
        .state
        .db(move |conn| {
            Ok(diesel::sql_query(
                "SELECT id_key_id AS key_id, id_cipher AS value, 'members.id_number' AS context \
                 FROM members \
                 UNION ALL SELECT id_key_id, phone_cipher, 'members.phone' FROM members \
                 WHERE phone_cipher IS NOT NULL \
                 UNION ALL SELECT answers_key_id, answers_sealed, 'visit.answers' FROM visits \
                 UNION ALL SELECT '', phone_cipher, 'self_report.phone' FROM self_reports",
            )
            .load::<Sealed>(conn)?)
        })
        .await
        .unwrap();
    let mut out = BTreeSet::new();
    for row in rows {
        let (key_id, value) = if row.key_id.is_empty() {
            let (k, v) = row.value.split_once(':').unwrap();
            (k.to_owned(), v.to_owned())
        } else {
            (row.key_id, row.value)
        };
        let plain = app
            .state
            .cipher
            .decrypt(&key_id, &value, &row.context)
            .unwrap_or_else(|_| panic!("cannot open a {} value", row.context));
        if row.context == "visit.answers" {
            out.extend(numbers_in(&plain));
        } else {
            out.insert(plain);
        }
    }
    out
}

/// The ID- and mobile-shaped numbers in a text: runs of 18 characters (17 digits and a digit or
/// `X`), 15 digits, or 11 digits starting `13`-`19`, not the fraction of a decimal number.
fn numbers_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run = String::new();
    let mut after_dot = false;
    let mut previous = ' ';
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || (matches!(c, 'X' | 'x') && run.len() == 17) {
            if run.is_empty() {
                after_dot = previous == '.';
            }
            run.push(c);
        } else {
            let b = run.as_bytes();
            let mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]);
            if !after_dot && (mobile || b.len() == 15 || b.len() == 18) {
                out.push(run.clone());
            }
            run.clear();
        }
        previous = c;
    }
    out
}

/// Requests that put numbers where they would leak if not masked, and log-ins; returns the
/// tokens issued.
async fn workload(app: &TestApp) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut coordinator = app.client();
    let pair = coordinator
        .login("coordinator", DEMO_PASSWORD, Some("privacy-phone"))
        .await
        .unwrap();
    tokens.extend([
        pair.access_token.clone(),
        pair.refresh_token.clone(),
        pair.device_token.clone().unwrap(),
    ]);
    let refreshed = coordinator
        .refresh(&pair.refresh_token, Some("privacy-phone"))
        .await
        .unwrap();
    tokens.extend([refreshed.access_token, refreshed.refresh_token]);

    // Both fixture files, UTF-8 and GBK.
    for (file, query) in [("sample-utf8.csv", ""), ("sample-gbk.csv", "?encoding=gbk")] {
        let res = coordinator
            .request(Method::POST, &format!("/households/import{query}"))
            .header("content-type", "text/csv")
            .body(std::fs::read(fixture(file)).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let job: Value = res.json().await.unwrap();
        wait_for_import(&coordinator, job["id"].as_str().unwrap()).await;
    }

    // A reviewer's note with numbers in it.
    let pending: Value = get(&coordinator, "/visits?review_state=pending&limit=5").await;
    if let Some(id) = pending["items"][0]["id"].as_str() {
        let res = coordinator
            .request(Method::POST, &format!("/visits/{id}/review"))
            .json(&json!({
                "decision": "approved",
                "note": format!("户主身份证 {NOTE_ID}，已电话 {NOTE_PHONE} 核实"),
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }

    // A citizen registers with a code by SMS and reports, numbers in the description.
    let anon = app.client();
    let res = anon
        .request(Method::POST, "/citizen/register")
        .json(&json!({"phone": CITIZEN_PHONE, "password": "Citizen-pass-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let spool = app.state.settings.data_dir.join("sms-outbox.jsonl");
    let sent: Value = serde_json::from_str(
        std::fs::read_to_string(&spool)
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let res = anon
        .request(Method::POST, "/citizen/verify")
        .json(&json!({"phone": CITIZEN_PHONE, "code": sent["code"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let verified: Value = res.json().await.unwrap();
    let citizen = anon
        .clone()
        .with_token(verified["access_token"].as_str().unwrap());
    tokens.push(verified["access_token"].as_str().unwrap().to_owned());
    tokens.push(verified["refresh_token"].as_str().unwrap().to_owned());
    let res = citizen
        .request(Method::POST, "/self-reports")
        .json(&json!({
            "description": format!("邻居独居老人，身份证 {NOTE_ID}，请打 {CITIZEN_PHONE}"),
            "category_hint": "temporary",
            "location": {"lat": 31.8111, "lon": 119.9476},
            "contact_phone": CITIZEN_PHONE,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let mut again = app.client();
    let pair = again
        .login(CITIZEN_PHONE, "Citizen-pass-2026", None)
        .await
        .unwrap();
    tokens.extend([pair.access_token, pair.refresh_token]);
    tokens.extend(pair.device_token);
    tokens
}

async fn get(client: &Client, path: &str) -> Value {
    let res = client.request(Method::GET, path).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

async fn wait_for_import(client: &Client, id: &str) {
    for _ in 0..1200 {
        let job: Value = get(client, &format!("/households/imports/{id}")).await;
        match job["status"].as_str() {
            Some("done") => {
                assert_eq!(job["rows_rejected"], 0, "{job}");
                return;
            }
            Some("failed") => panic!("import failed: {job}"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("import did not finish");
}
