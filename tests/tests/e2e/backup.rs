//! `jiuzhu backup` while phones write visits, and `jiuzhu restore` into a fresh folder: every row
//! of every table in the restored database is the source's row as it was before or after the
//! writes (none torn, none made up), the rows a request changes move together (a visit and its
//! task, the change log and its head, the audit chain and its head), every visit acknowledged
//! before the backup began is there, the photos are there byte for byte, and the restored folder
//! serves with the same secrets and verifies its audit log. On PostgreSQL the command refuses
//! and names pg_dump.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::form::synthetic;
use jiuzhu_proto::visit::{LocationFix, SubmitVisit};
use jiuzhu_server::bench::storm::{SeededTask, TokensFile, VisitFormRef};
use jiuzhu_tests::{both_backends, spawn_app, test_settings, Backend};

use crate::photos::sample;

/// Every row of every table of a SQLite file: table → primary key → the row, each value
/// `quote()`d.
type Dump = BTreeMap<String, BTreeMap<String, String>>;

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = diesel::sql_types::Text)]
    a: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pk: i32,
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    k: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    r: String,
}

fn open(path: &Path) -> SqliteConnection {
    let mut conn = SqliteConnection::establish(path.to_str().unwrap()).unwrap();
    diesel::sql_query("PRAGMA busy_timeout = 10000")
        .execute(&mut conn)
        .unwrap();
    conn
}

/// Reads every table inside one read transaction (a consistent view of a live file).
fn dump(path: &Path) -> Dump {
    let mut conn = open(path);
    conn.transaction(|conn| {
        let tables: Vec<Text1> = diesel::sql_query(
            "SELECT name AS a FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .load(conn)?;
        let mut out = Dump::new();
        for Text1 { a: table } in tables {
            let columns: Vec<Column> = diesel::sql_query(format!(
                "SELECT name, pk FROM pragma_table_info('{table}') ORDER BY cid"
            ))
            .load(conn)?;
            let quoted = |c: &Column| format!("quote(\"{}\")", c.name);
            let row: Vec<String> = columns.iter().map(quoted).collect();
            let mut key: Vec<String> = columns.iter().filter(|c| c.pk > 0).map(quoted).collect();
            if key.is_empty() {
                key.clone_from(&row);
            }
            let rows: Vec<KeyRow> = diesel::sql_query(format!(
                "SELECT {} AS k, {} AS r FROM \"{table}\"",
                key.join(" || '|' || "),
                row.join(" || '|' || ")
            ))
            .load(conn)?;
            out.insert(table, rows.into_iter().map(|r| (r.k, r.r)).collect());
        }
        Ok::<_, diesel::result::Error>(out)
    })
    .unwrap()
}

fn strings(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
    diesel::sql_query(sql)
        .load::<Text1>(conn)
        .unwrap()
        .into_iter()
        .map(|t| t.a)
        .collect()
}

fn visit_for(task: &SeededTask, form: &VisitFormRef, seed: u64) -> SubmitVisit {
    let now = Utc::now();
    SubmitVisit {
        id: uuid::Uuid::now_v7(),
        task_id: task.id.parse().unwrap(),
        form_key: form.key.clone(),
        form_version: form.version,
        answers: synthetic::answers(form.fields, seed),
        location: LocationFix {
            lat: task.lat.unwrap_or(31.78),
            lon: task.lon.unwrap_or(119.97),
            accuracy_m: 8.0,
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

/// Rows whose value a request rewrites each time (a counter head): checked by what they must
/// agree with instead of against the source's rows.
const HEADS: &[&str] = &["audit_head", "change_head"];

/// The audit journal: a queue the sealer empties into `audit_log` (checked by what its records
/// became, below).
const JOURNAL: &str = "audit_journal";

async fn backup_while_writing(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let dir = app.state.settings.data_dir.clone();
    let out = dir.join("office.backup");
    if backend == Backend::Postgres {
        let e = jiuzhu_server::ops::backup::run(&app.settings_with_keys(), &out)
            .await
            .unwrap_err();
        assert!(e.to_string().contains("pg_dump"), "{e}");
        assert!(!out.exists());
        return;
    }
    app.load_demo_with_households(80).await;
    let tokens_path = dir.join("tokens.json");
    app.bench_seed(6, 200, Some(8), &tokens_path).await;
    let tokens: TokensFile = serde_json::from_slice(&std::fs::read(&tokens_path).unwrap()).unwrap();
    let form = tokens.visit_form.clone().unwrap();
    let phones: Vec<Client> = tokens
        .workers
        .iter()
        .map(|w| Client::new(&app.base).with_token(w.access_token.clone()))
        .collect();
    for (i, rel) in ["gps/DSCN0010.jpg", "gps/DSCN0012.jpg"].iter().enumerate() {
        phones[i]
            .put_photo(uuid::Uuid::now_v7(), sample(rel))
            .await
            .unwrap();
    }
    let db_file = dir.join("jiuzhu.db");
    let before = dump(&db_file);

    // Phones write visits without pause until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(AtomicUsize::new(0));
    let acked_ids = Arc::new(Mutex::new(Vec::<(std::time::Instant, String)>::new()));
    let mut writers = Vec::new();
    for (w, phone) in tokens.workers.iter().zip(&phones) {
        let (stop, acked, ids) = (stop.clone(), acked.clone(), acked_ids.clone());
        let (tasks, phone, form) = (w.tasks.clone(), phone.clone(), form.clone());
        writers.push(tokio::spawn(async move {
            for (n, task) in tasks.iter().enumerate() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let visit = visit_for(task, &form, n as u64);
                phone.submit_visit(&visit).await.unwrap();
                ids.lock()
                    .unwrap()
                    .push((std::time::Instant::now(), visit.id.to_string()));
                acked.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    while acked.load(Ordering::SeqCst) < 30 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let backup_began = std::time::Instant::now();
    let report = jiuzhu_server::ops::backup::run(&app.settings_with_keys(), &out)
        .await
        .unwrap();
    let acked_after_backup = acked.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for w in writers {
        w.await.unwrap();
    }
    let after = dump(&db_file);
    let total = acked.load(Ordering::SeqCst);
    assert!(
        total > acked_after_backup,
        "the phones stopped writing during the backup ({total} visits)"
    );

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup file is readable by others");
    }
    assert!(report.manifest.photos.included);
    assert_eq!(
        report.manifest.photos.objects.len(),
        6,
        "two photos, three objects each"
    );
    assert!(report.manifest.secrets.contains("secrets.toml"));

    // A fresh folder, given the source's secrets, as the admin would.
    let fresh =
        std::env::temp_dir().join(format!("jiuzhu-restore-{}", uuid::Uuid::now_v7().simple()));
    let restored_url = format!("sqlite://{}", fresh.join("jiuzhu.db").display());
    let mut settings = test_settings(&restored_url, &fresh);
    let keys = app.settings_with_keys();
    settings.data_key = keys.data_key.clone();
    settings.token_pepper = keys.token_pepper.clone();
    settings.audit_key = keys.audit_key.clone();
    // A non-empty folder is refused without --force.
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("stray.txt"), b"x").unwrap();
    let e = jiuzhu_server::ops::restore::run(&settings, &out, false).unwrap_err();
    assert!(e.to_string().contains("not empty"), "{e}");
    std::fs::remove_file(fresh.join("stray.txt")).unwrap();
    let restored = jiuzhu_server::ops::restore::run(&settings, &out, false).unwrap();
    assert_eq!(
        restored.secrets_checked.as_deref(),
        Some(&["k1".to_owned()][..])
    );
    assert_eq!(restored.photos_placed, 6);

    let copy = dump(&fresh.join("jiuzhu.db"));
    let mut conn = open(&fresh.join("jiuzhu.db"));
    assert_eq!(
        strings(
            &mut conn,
            "SELECT integrity_check AS a FROM pragma_integrity_check"
        ),
        ["ok"]
    );
    assert_eq!(
        copy.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "the same tables"
    );
    for (table, rows) in &copy {
        assert_eq!(
            rows.len() as i64,
            report.manifest.census.tables[table],
            "{table}: the manifest's count"
        );
        if HEADS.contains(&table.as_str()) || table == JOURNAL {
            continue;
        }
        let (old, new) = (&before[table], &after[table]);
        for (key, row) in rows {
            assert!(
                new.get(key) == Some(row) || old.get(key) == Some(row),
                "{table} {key}: the restored row is neither the source's row before the backup nor after it\n  restored {row}\n  before   {:?}\n  after    {:?}",
                old.get(key),
                new.get(key)
            );
        }
        for key in old.keys().filter(|k| new.contains_key(*k)) {
            assert!(
                rows.contains_key(key),
                "{table} {key}: a row of before and after is missing"
            );
        }
    }
    // A record waiting in the audit journal at the backup is, in the source afterwards, still
    // waiting or chained into the log (the sealer moves it within a second).
    let journal_key = "action || ' ' || entity_id || ' ' || coalesce(request_id, '') AS a";
    let waiting = strings(
        &mut conn,
        &format!("SELECT {journal_key} FROM audit_journal"),
    );
    let mut source = open(&db_file);
    let found: BTreeSet<String> = strings(
        &mut source,
        &format!(
            "SELECT {journal_key} FROM audit_log UNION SELECT {journal_key} FROM audit_journal"
        ),
    )
    .into_iter()
    .collect();
    for record in &waiting {
        assert!(
            found.contains(record),
            "journaled record {record} is in neither the source's log nor its journal"
        );
    }
    // What one request writes together is together in the copy.
    let unvisited = strings(
        &mut conn,
        "SELECT t.id AS a FROM tasks t WHERE t.state = 'submitted' \
         AND NOT EXISTS (SELECT 1 FROM visits v WHERE v.task_id = t.id)",
    );
    assert!(
        unvisited.is_empty(),
        "submitted tasks without their visit: {unvisited:?}"
    );
    let open_visited = strings(
        &mut conn,
        "SELECT v.id AS a FROM visits v JOIN tasks t ON t.id = v.task_id WHERE t.state <> 'submitted'",
    );
    assert!(
        open_visited.is_empty(),
        "visits whose task is still open: {open_visited:?}"
    );
    assert_eq!(
        strings(&mut conn, "SELECT CAST(seq AS TEXT) AS a FROM change_head"),
        strings(
            &mut conn,
            "SELECT CAST(coalesce(max(seq), 0) AS TEXT) AS a FROM changes"
        ),
        "the change log's head is its last row"
    );
    assert_eq!(
        strings(
            &mut conn,
            "SELECT CAST(seq AS TEXT) || hash AS a FROM audit_head"
        ),
        strings(
            &mut conn,
            "SELECT CAST(seq AS TEXT) || hash AS a FROM audit_log ORDER BY seq DESC LIMIT 1"
        ),
        "the audit chain's head is its last record"
    );
    // Acknowledged before the backup began: in it. Acknowledged after it ended: not.
    let in_copy: BTreeSet<String> = strings(&mut conn, "SELECT id AS a FROM visits")
        .into_iter()
        .collect();
    let visits_before = before["visits"].len();
    let acked_ids = acked_ids.lock().unwrap().clone();
    for (at, id) in &acked_ids {
        if *at < backup_began {
            assert!(
                in_copy.contains(id),
                "visit {id}, acknowledged before the backup, is missing"
            );
        }
    }
    let in_snapshot = in_copy.len() - visits_before;
    assert!(
        in_snapshot >= 30 && in_snapshot < total,
        "{in_snapshot} visits in the snapshot; 30 were acknowledged before it, {total} in all"
    );
    // Photos: every object a restored row names, byte for byte.
    for key in strings(
        &mut conn,
        "SELECT original_key AS a FROM photos UNION SELECT display_key FROM photos UNION SELECT thumb_key FROM photos",
    ) {
        let restored = std::fs::read(fresh.join("photos").join(&key)).unwrap();
        let source = std::fs::read(dir.join("photos").join(&key)).unwrap();
        assert_eq!(restored, source, "{key}");
    }
    drop(conn);

    // The restored folder serves with the same secrets: a phone's token still works, the audit
    // log verifies against the restored checkpoints.
    let key = jiuzhu_server::audit::AuditKey::new(
        &jiuzhu_server::config::Secrets::resolve(&settings)
            .unwrap()
            .audit_key,
    )
    .unwrap();
    let loaded = jiuzhu_server::audit::checkpoints::load(
        &jiuzhu_server::audit::checkpoints::path(&fresh),
        &key,
    )
    .unwrap();
    let server = jiuzhu_server::startup::Application::build_with(
        settings.clone(),
        jiuzhu_server::config::Secrets::resolve(&settings).unwrap(),
    )
    .await
    .unwrap();
    let state = server.state();
    let base = format!("http://127.0.0.1:{}", server.port());
    let handle = server.handle();
    tokio::spawn(server.run_until_stopped());
    let verified = state
        .db(move |conn| jiuzhu_server::audit::verify(conn, &key, &loaded))
        .await
        .unwrap();
    assert!(verified.intact(), "{verified:?}");
    let phone = Client::new(&base).with_token(tokens.workers[0].access_token.clone());
    let page = phone.sync(None).await.unwrap();
    assert!(!page.tasks.is_empty());
    handle.stop(true).await;
    let _ = std::fs::remove_dir_all(&fresh);
}

both_backends!(backup_and_restore, backup_while_writing);
