//! The audit log: keyed chain and signed checkpoints catch every kind of tampering by someone who
//! can write the database but lacks the key; the application's SQL cannot change or delete
//! records; sensitive reads and writes are recorded with their request id; admins and district
//! officers search it in their subtree; a database chained before the key stays verifiable.

use diesel::RunQueryDsl;
use jiuzhu_proto::audit::{AuditRecord, AuditResult};
use jiuzhu_proto::page::Page;
use jiuzhu_server::audit::{self, AuditEntry, AuditRow, Verification};
use jiuzhu_server::db::repo::audit as repo;
use jiuzhu_server::db::AnyConnection;
use jiuzhu_tests::{both_backends, spawn_app, Backend, TestApp, TestDb, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};

/// Appends `n` records as the server would, and signs the head.
async fn chain_of(app: &TestApp, n: usize) {
    let st = app.state.clone();
    app.state
        .db(move |conn| {
            for i in 0..n {
                audit::record(
                    conn,
                    AuditEntry {
                        actor_id: Some("actor"),
                        action: "test.write",
                        entity: "thing",
                        entity_id: &format!("t{i}"),
                        org_path: "/320400/320402/",
                        detail: serde_json::json!({ "n": i }),
                    },
                )?;
            }
            st.audit.checkpoint(conn, true)?;
            Ok(())
        })
        .await
        .unwrap();
}

async fn verify(app: &TestApp) -> Verification {
    let st = app.state.clone();
    app.state
        .db(move |conn| st.audit.verify(conn))
        .await
        .unwrap()
}

/// Every record, in order.
async fn rows(app: &TestApp) -> Vec<AuditRow> {
    app.state
        .db(|conn| {
            let mut out = Vec::new();
            loop {
                let page = repo::page_from(conn, out.len() as i64 + 1)?;
                if page.is_empty() {
                    break;
                }
                out.extend(page);
            }
            Ok(out)
        })
        .await
        .unwrap()
}

/// Runs SQL as an attacker with the database's owner rights: the append-only triggers are
/// dropped first.
async fn as_attacker(app: &TestApp, statements: Vec<String>) {
    let drop_guards = match app.backend {
        Backend::Sqlite => vec![
            "DROP TRIGGER IF EXISTS audit_log_no_update",
            "DROP TRIGGER IF EXISTS audit_log_no_delete",
            "DROP TRIGGER IF EXISTS audit_head_forward_only",
            "DROP TRIGGER IF EXISTS audit_head_no_delete",
        ],
        Backend::Postgres => vec![
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "ALTER TABLE audit_head DISABLE TRIGGER USER",
        ],
    };
    // The server's own role may not do this on PostgreSQL (`append_only`): the attacker here
    // has the owner's rights.
    let all = drop_guards
        .into_iter()
        .map(str::to_owned)
        .chain(statements)
        .collect();
    if let Err(e) = app.as_owner(all).await {
        panic!("{e}");
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statements that rewrite records `from..` with plain SHA-256 (as the chain was before the
/// key) and move the head onto the last, after `edit` changed the rows in memory.
fn rechain_unkeyed(mut rows: Vec<AuditRow>, from: usize) -> Vec<String> {
    let mut out = Vec::new();
    for i in from..rows.len() {
        let prev = if i == 0 {
            "0".repeat(64)
        } else {
            rows[i - 1].hash.clone()
        };
        rows[i].prev_hash = prev.clone();
        rows[i].hash = audit::unkeyed_hash(&prev, &rows[i]);
        let r = &rows[i];
        out.push(format!(
            "UPDATE audit_log SET action = {}, entity = {}, entity_id = {}, detail = {}, \
             actor_id = {}, org_path = {}, prev_hash = {}, hash = {} WHERE seq = {}",
            quote(&r.action),
            quote(&r.entity),
            quote(&r.entity_id),
            quote(&r.detail),
            r.actor_id
                .as_deref()
                .map(quote)
                .unwrap_or_else(|| "NULL".into()),
            quote(&r.org_path),
            quote(&r.prev_hash),
            quote(&r.hash),
            r.seq
        ));
    }
    if let Some(last) = rows.last() {
        out.push(format!(
            "UPDATE audit_head SET seq = {}, hash = {} WHERE id = 1",
            last.seq,
            quote(&last.hash)
        ));
    }
    out
}

/// The check of versions before the key, over what the attacker rewrote (records from `from`,
/// 1-based, on) and the head: plain SHA-256 links from the untouched record before, and the head
/// in the database on the last. Each tampering below passes it, which is how the chain before
/// the key reported "intact"; the key and the checkpoints close that hole.
fn unkeyed_check_passes(rows: &[AuditRow], head: &(i64, String), from: i64) -> bool {
    let mut prev = match from {
        1 => "0".repeat(64),
        n => match rows.iter().find(|r| r.seq == n - 1) {
            Some(r) => r.hash.clone(),
            None => return false,
        },
    };
    for r in rows.iter().filter(|r| r.seq >= from) {
        if r.prev_hash != prev || audit::unkeyed_hash(&prev, r) != r.hash {
            return false;
        }
        prev = r.hash.clone();
    }
    head.0 == rows.len() as i64 && head.1 == prev
}

async fn head(app: &TestApp) -> (i64, String) {
    let h = app.state.db(|conn| Ok(repo::head(conn)?)).await.unwrap();
    (h.seq, h.hash)
}

/// One tampering on a fresh chain of ten records: returns what `verify` says.
async fn tampered(
    backend: Backend,
    from: i64,
    attack: impl FnOnce(Vec<AuditRow>) -> Vec<String>,
) -> Option<(Verification, bool)> {
    let app = spawn_app(backend).await?;
    chain_of(&app, 10).await;
    let before = verify(&app).await;
    assert!(before.intact(), "{before:?}");
    assert_eq!(before.rows, 10);
    let statements = attack(rows(&app).await);
    as_attacker(&app, statements).await;
    let old_check = unkeyed_check_passes(&rows(&app).await, &head(&app).await, from);
    Some((verify(&app).await, old_check))
}

async fn edit_a_detail(backend: Backend) {
    let Some((v, _)) = tampered(backend, 4, |_| {
        vec!["UPDATE audit_log SET detail = '{\"n\":99}' WHERE seq = 4".into()]
    })
    .await
    else {
        return;
    };
    assert_eq!(v.first_broken, Some(4), "{v:?}");
}
both_backends!(audit_catches_an_edited_record, edit_a_detail);

async fn delete_a_middle_record(backend: Backend) {
    let Some((v, _)) = tampered(backend, 5, |_| {
        vec!["DELETE FROM audit_log WHERE seq = 5".into()]
    })
    .await
    else {
        return;
    };
    assert_eq!(v.first_broken, Some(5), "{v:?}");
}
both_backends!(audit_catches_a_deleted_record, delete_a_middle_record);

async fn delete_the_tail_and_move_the_head(backend: Backend) {
    let Some((v, old_check)) = tampered(backend, 8, |rows| {
        vec![
            "DELETE FROM audit_log WHERE seq > 7".into(),
            format!(
                "UPDATE audit_head SET seq = 7, hash = {} WHERE id = 1",
                quote(&rows[6].hash)
            ),
        ]
    })
    .await
    else {
        return;
    };
    assert!(old_check, "the check before the key said intact");
    assert_eq!(v.first_broken, Some(8), "{v:?}");
    assert!(v.problem.unwrap().contains("deleted"));
}
both_backends!(
    audit_catches_a_deleted_tail_with_the_head_moved,
    delete_the_tail_and_move_the_head
);

async fn insert_a_record(backend: Backend) {
    let Some((v, old_check)) = tampered(backend, 11, |rows| {
        let last = &rows[9];
        let mut forged = last.clone();
        forged.seq = 11;
        forged.detail = r#"{"n":11}"#.into();
        forged.prev_hash = last.hash.clone();
        forged.hash = audit::unkeyed_hash(&last.hash, &forged);
        vec![
            format!(
                "INSERT INTO audit_log (seq, at, actor_id, action, entity, entity_id, org_path, \
                 detail, prev_hash, hash, result) SELECT 11, at, actor_id, action, entity, \
                 entity_id, org_path, {}, {}, {}, result FROM audit_log WHERE seq = 10",
                quote(&forged.detail),
                quote(&forged.prev_hash),
                quote(&forged.hash)
            ),
            format!(
                "UPDATE audit_head SET seq = 11, hash = {} WHERE id = 1",
                quote(&forged.hash)
            ),
        ]
    })
    .await
    else {
        return;
    };
    assert!(old_check, "the check before the key said intact");
    assert_eq!(v.first_broken, Some(11), "{v:?}");
}
both_backends!(audit_catches_an_inserted_record, insert_a_record);

async fn swap_two_records(backend: Backend) {
    let Some((v, old_check)) = tampered(backend, 3, |mut rows| {
        // Records 3 and 4 trade places (their content; the numbers stay in order), and the
        // chain is recomputed from there without the key.
        let (a, b) = (rows[2].clone(), rows[3].clone());
        for (slot, from) in [(2, &b), (3, &a)] {
            rows[slot].entity_id = from.entity_id.clone();
            rows[slot].detail = from.detail.clone();
        }
        rechain_unkeyed(rows, 2)
    })
    .await
    else {
        return;
    };
    assert!(old_check, "the check before the key said intact");
    assert_eq!(v.first_broken, Some(3), "{v:?}");
}
both_backends!(audit_catches_swapped_records, swap_two_records);

async fn edit_and_recompute(backend: Backend) {
    let Some((v, old_check)) = tampered(backend, 6, |mut rows| {
        rows[5].detail = r#"{"n":"rewritten"}"#.into();
        rechain_unkeyed(rows, 5)
    })
    .await
    else {
        return;
    };
    assert!(old_check, "the check before the key said intact");
    assert_eq!(v.first_broken, Some(6), "{v:?}");
}
both_backends!(
    audit_catches_an_edit_with_the_chain_recomputed,
    edit_and_recompute
);

async fn forged_checkpoint(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    chain_of(&app, 3).await;
    let path = app.state.audit.checkpoint_path().to_path_buf();
    let text = std::fs::read_to_string(&path).unwrap();
    let last = text.lines().last().unwrap().to_owned();
    std::fs::write(&path, format!("{text}{}\n", last.replacen(" 3 ", " 2 ", 1))).unwrap();
    let v = verify(&app).await;
    assert!(!v.intact(), "{v:?}");
    assert!(v.problem.unwrap().contains("not signed"));
}
both_backends!(audit_refuses_a_forged_checkpoint, forged_checkpoint);

/// The application's own SQL cannot change, delete or truncate records, nor move the head back;
/// on PostgreSQL it runs as a role that owns nothing (`jiuzhu migrate --app-role`), which cannot
/// lift the guards either.
async fn append_only(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    chain_of(&app, 3).await;
    let mut refused = vec![
        "UPDATE audit_log SET detail = '{}' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 3",
        "DELETE FROM audit_log",
        "UPDATE audit_head SET seq = 1 WHERE id = 1",
        "DELETE FROM audit_head",
    ];
    if backend == Backend::Postgres {
        // The server's role owns nothing: it cannot lift the guards either.
        refused.extend([
            "TRUNCATE audit_log",
            "TRUNCATE audit_head",
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
            "ALTER TABLE audit_head DISABLE TRIGGER USER",
            "DROP TRIGGER audit_log_no_change ON audit_log",
            "DROP TABLE audit_log",
            "ALTER TABLE audit_log OWNER TO jiuzhu_test_app",
            "SET ROLE postgres",
        ]);
    }
    for sql in refused {
        let result = app
            .state
            .db(move |conn: &mut AnyConnection| Ok(diesel::sql_query(sql).execute(conn)?))
            .await;
        assert!(result.is_err(), "{sql} was allowed");
    }
    assert!(verify(&app).await.intact());
    assert_eq!(rows(&app).await.len(), 3);
}
both_backends!(audit_log_is_append_only, append_only);

/// `jiuzhu migrate --app-role` grants only a role that could not lift the audit log's guards.
#[tokio::test]
async fn app_role_refuses_roles_that_could_rewrite_the_audit_log() {
    let Some((_db, owner_url, _dir)) = TestDb::create(Backend::Postgres) else {
        return;
    };
    let outcome = tokio::task::spawn_blocking(move || {
        let (_, pool) = jiuzhu_server::db::connect(&owner_url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        jiuzhu_server::db::migrate(&mut conn).unwrap();
        let mut answers = Vec::new();
        for role in [
            "postgres",
            "no_such_role_here",
            "Bad;Name",
            jiuzhu_tests::PG_APP_ROLE,
        ] {
            answers.push(
                jiuzhu_server::db::app_role::grant(&mut conn, role)
                    .err()
                    .map(|e| e.to_string()),
            );
        }
        answers
    })
    .await
    .unwrap();
    assert!(
        outcome[0].as_deref().unwrap_or("").contains("superuser"),
        "{outcome:?}"
    );
    assert!(
        outcome[1]
            .as_deref()
            .unwrap_or("")
            .contains("does not exist"),
        "{outcome:?}"
    );
    assert!(
        outcome[2].as_deref().unwrap_or("").contains("lower-case"),
        "{outcome:?}"
    );
    assert_eq!(outcome[3], None, "the test role is granted");
}

async fn search(
    client: &jiuzhu_mobile_api::Client,
    query: &str,
) -> (StatusCode, serde_json::Value) {
    let res = client
        .request(Method::GET, &format!("/audit?{query}"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

fn records(body: serde_json::Value) -> Page<AuditRecord> {
    serde_json::from_value(body).unwrap()
}

/// Log-ins (and failures), account changes and household views are recorded with their request
/// id and result; the search shows each officer only their subtree, admins everything.
async fn actions_are_recorded_and_searched_in_scope(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let district = app.login("district").await;
    let street = app.login("street").await;

    // A failed log-in under a known name, and one under a name nobody has.
    for name in ["coordinator", "no.such.person"] {
        let err = app
            .client()
            .login(name, "wrong-password-1", None)
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some(jiuzhu_proto::ErrorCode::InvalidCredentials)
        );
    }
    let coordinator_id = app
        .login("coordinator")
        .await
        .me()
        .await
        .unwrap()
        .id
        .to_string();

    let (status, body) = search(&admin, "action=auth.login&limit=500").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let logins = records(body).items;
    let failed: Vec<&AuditRecord> = logins
        .iter()
        .filter(|r| r.result == AuditResult::Failure)
        .collect();
    assert_eq!(failed.len(), 2, "{logins:?}");
    assert!(failed
        .iter()
        .any(|r| r.entity_id == coordinator_id && r.actor_id.is_none()));
    assert!(failed.iter().any(|r| r.entity_id == "unknown"));
    let text = serde_json::to_string(&logins).unwrap();
    assert!(!text.contains("no.such.person") && !text.contains("wrong-password"));
    assert!(logins.iter().any(|r| r.result == AuditResult::Success
        && r.actor_id.as_deref() == Some(coordinator_id.as_str())));
    assert!(
        logins
            .iter()
            .all(|r| r.request_id.as_deref().is_some_and(|id| !id.is_empty())),
        "every log-in carries its request id: {logins:?}"
    );

    // A household of 天宁区, viewed by the coordinator.
    let (grid, lat, lon) = jiuzhu_tests::fixtures::coordinator_grid(&app).await;
    let _ = grid;
    let coordinator = app.login("coordinator").await;
    let h = coordinator
        .create_household(&jiuzhu_tests::fixtures::household(
            "天宁区 审计路 1 号",
            lat,
            lon,
            vec![jiuzhu_tests::fixtures::member(
                "户主",
                jiuzhu_proto::household::Relation::Head,
                &jiuzhu_tests::fixtures::id_number("32040219700101003"),
            )],
        ))
        .await
        .unwrap();
    coordinator.household(h.id).await.unwrap();
    let (status, body) = search(
        &district,
        &format!("entity=household&entity_id={}&action=household.view", h.id),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let views = records(body).items;
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0].actor_id.as_deref(), Some(coordinator_id.as_str()));

    // A user made by the admin in another district: the admin sees it, 天宁区's officer not.
    let other = admin
        .org_units(&jiuzhu_mobile_api::client::OrgUnitQuery {
            kind: Some(jiuzhu_proto::org::OrgKind::District),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|u| u.code != "320402")
        .unwrap();
    let made = admin
        .create_user(&jiuzhu_proto::user::CreateUser {
            username: "elsewhere.officer".into(),
            password: "a-good-password".into(),
            display_name: "外区".into(),
            role: jiuzhu_proto::user::Role::DistrictOfficer,
            org_unit_id: other.id,
        })
        .await
        .unwrap();
    let query = format!("entity=user&entity_id={}", made.id);
    let (_, body) = search(&admin, &query).await;
    let seen = records(body).items;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].action, "user.create");
    let (status, body) = search(&district, &query).await;
    assert_eq!(status, StatusCode::OK);
    assert!(records(body).items.is_empty(), "out of scope shown");
    // The unknown name's failure belongs to no unit: the admin sees it, the officer not.
    let (_, body) = search(&district, "action=auth.login&entity_id=unknown").await;
    assert!(records(body).items.is_empty());

    // Role and password changes say what changed, never the values.
    let (status, _) = admin
        .request(Method::PATCH, &format!("/users/{}", made.id))
        .json(&serde_json::json!({ "password": "another-good-password", "disabled": true }))
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let (_, body) = search(&admin, &format!("{query}&action=user.update")).await;
    let changed = records(body).items;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].detail["password_changed"], true);
    assert_eq!(changed[0].detail["disabled"], true);
    assert!(!changed[0]
        .detail
        .to_string()
        .contains("another-good-password"));

    // Street officers and the roles below may not search; bad input is a 400.
    let (status, _) = search(&street, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = search(&admin, "from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = search(&admin, "cursor=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Pages, newest first, follow the cursor to the end without repeats.
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut last_seq = i64::MAX;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=7&cursor={c}"),
            None => "limit=7".into(),
        };
        let (status, body) = search(&admin, &q).await;
        assert_eq!(status, StatusCode::OK);
        let page = records(body);
        for r in &page.items {
            assert!(r.seq < last_seq);
            last_seq = r.seq;
            assert!(seen.insert(r.seq));
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert!(seen.len() > 7);
    // And the whole log still verifies.
    let v = verify(&app).await;
    assert!(v.intact(), "{v:?}");
    let _ = DEMO_PASSWORD;
}
both_backends!(
    audit_records_actions_and_searches_in_scope,
    actions_are_recorded_and_searched_in_scope
);

/// A database whose records were chained under plain SHA-256 (before the key) keeps verifying
/// after the upgrade: its records are the legacy prefix, the switch-over point is signed, and
/// rewriting the legacy records is still caught.
async fn legacy_chain_upgrades(backend: Backend) {
    let Some((db, url, dir)) = jiuzhu_tests::TestDb::create(backend) else {
        return;
    };
    let url2 = url.clone();
    tokio::task::spawn_blocking(move || {
        let (_, pool) = jiuzhu_server::db::connect(&url2, 1).unwrap();
        let mut conn = pool.get().unwrap();
        jiuzhu_server::db::migrate_through(&mut conn, "20261130000012").unwrap();
        let mut prev = "0".repeat(64);
        for seq in 1..=3 {
            let row = AuditRow {
                seq,
                at: chrono::NaiveDate::from_ymd_opt(2026, 11, 1)
                    .unwrap()
                    .and_hms_opt(8, 0, seq as u32)
                    .unwrap(),
                actor_id: None,
                action: "household.create".into(),
                entity: "household".into(),
                entity_id: format!("h{seq}"),
                org_path: "/320400/".into(),
                detail: "{}".into(),
                prev_hash: prev.clone(),
                hash: String::new(),
                result: "success".into(),
                request_id: None,
            };
            let hash = audit::unkeyed_hash(&prev, &row);
            diesel::sql_query(format!(
                "INSERT INTO audit_log (seq, at, actor_id, action, entity, entity_id, org_path, \
                 detail, prev_hash, hash) VALUES ({seq}, '2026-11-01 08:00:0{seq}', NULL, \
                 'household.create', 'household', 'h{seq}', '/320400/', '{{}}', '{prev}', '{hash}')"
            ))
            .execute(&mut conn)
            .unwrap();
            prev = hash;
        }
        diesel::sql_query(format!(
            "UPDATE audit_head SET seq = 3, hash = '{prev}' WHERE id = 1"
        ))
        .execute(&mut conn)
        .unwrap();
    })
    .await
    .unwrap();
    let settings = jiuzhu_tests::test_settings(&url, &dir);
    let state = tokio::task::spawn_blocking(move || {
        jiuzhu_server::startup::build_state(settings, jiuzhu_server::config::Secrets::ephemeral())
    })
    .await
    .unwrap()
    .unwrap();
    let st = state.clone();
    let v = state
        .db(move |conn| {
            audit::record(
                conn,
                AuditEntry {
                    actor_id: None,
                    action: "test.after_upgrade",
                    entity: "thing",
                    entity_id: "x",
                    org_path: "/320400/",
                    detail: serde_json::json!({}),
                },
            )?;
            st.audit.checkpoint(conn, true)?;
            st.audit.verify(conn)
        })
        .await
        .unwrap();
    assert!(v.intact(), "{v:?}");
    assert_eq!((v.rows, v.keyed_after), (4, 3));
    // The legacy records rewritten with plain SHA-256 (head and link of record 4 adjusted too).
    let st = state.clone();
    let v = state
        .db(move |conn| {
            let mut rows = repo::page_from(conn, 1)?;
            rows[1].entity_id = "h-forged".into();
            let mut prev = rows[0].hash.clone();
            let mut sql = match backend {
                Backend::Sqlite => vec![
                    "DROP TRIGGER audit_log_no_update".to_owned(),
                    "DROP TRIGGER audit_head_forward_only".to_owned(),
                ],
                Backend::Postgres => vec!["ALTER TABLE audit_log DISABLE TRIGGER USER".to_owned()],
            };
            for r in rows.iter_mut().skip(1).take(2) {
                r.prev_hash = prev.clone();
                r.hash = audit::unkeyed_hash(&prev, r);
                sql.push(format!(
                    "UPDATE audit_log SET entity_id = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
                    r.entity_id, r.prev_hash, r.hash, r.seq
                ));
                prev = r.hash.clone();
            }
            sql.push(format!("UPDATE audit_log SET prev_hash = '{prev}' WHERE seq = 4"));
            for s in sql {
                diesel::sql_query(s).execute(conn)?;
            }
            st.audit.verify(conn)
        })
        .await
        .unwrap();
    assert!(v.first_broken.is_some_and(|s| s <= 3), "{v:?}");
    drop(state);
    drop(db);
}
both_backends!(
    audit_chain_from_before_the_key_upgrades,
    legacy_chain_upgrades
);

/// Journaled records are chained exactly once however many sealers run at once (the running
/// server's ticking one and two more on their own connections, as other instances would run
/// them), in an order the chain verifies, and
/// a journal left by a stopped server is chained when it starts again.
async fn journal_sealed_once(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    const N: usize = 600;
    let journal = |app: &TestApp, from: usize, n: usize| {
        let st = app.state.clone();
        async move {
            for chunk in (from..from + n).collect::<Vec<_>>().chunks(50) {
                let chunk = chunk.to_vec();
                st.tx(move |conn| {
                    for i in chunk {
                        audit::journal(
                            conn,
                            AuditEntry {
                                actor_id: Some("phone"),
                                action: "test.journal",
                                entity: "thing",
                                entity_id: &format!("j{i}"),
                                org_path: "/320400/320402/",
                                detail: serde_json::json!({ "n": i }),
                            },
                            audit::Outcome::Success,
                        )?;
                    }
                    Ok(())
                })
                .await
                .unwrap();
            }
        }
    };
    let seal = |state: std::sync::Arc<jiuzhu_server::state::AppState>| async move {
        let st = state.clone();
        state
            .db(move |conn| audit::seal(conn, st.audit.key()))
            .await
            .unwrap()
    };
    // Writers and two extra sealers at once.
    let (_, _, a, b) = tokio::join!(
        journal(&app, 0, N / 2),
        journal(&app, N / 2, N / 2),
        async {
            let mut n = 0;
            for _ in 0..20 {
                n += seal(app.state.clone()).await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            n
        },
        async {
            let mut n = 0;
            for _ in 0..20 {
                n += seal(app.state.clone()).await;
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            n
        },
    );
    seal(app.state.clone()).await;
    assert!(a + b <= N, "{a} + {b} sealed by the two extra sealers");
    let all = rows(&app).await;
    let mut ids: Vec<&str> = all
        .iter()
        .filter(|r| r.action == "test.journal")
        .map(|r| r.entity_id.as_str())
        .collect();
    assert_eq!(ids.len(), N, "every journaled record chained exactly once");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), N);
    let v = verify(&app).await;
    assert!(v.intact(), "{v:?}");
    assert_eq!(v.journaled, 0);

    // Left in the journal by a stopped server: chained at the next start. (Its last tick runs
    // as it stops: given a moment to finish first.)
    app.stop().await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    journal(&app, N, 3).await;
    let waiting = verify(&app).await;
    assert_eq!(waiting.journaled, 3, "{waiting:?}");
    app.start_again().await;
    let v = verify(&app).await;
    assert!(v.intact(), "{v:?}");
    assert_eq!(v.journaled, 0, "{v:?}");
    assert_eq!(
        rows(&app)
            .await
            .iter()
            .filter(|r| r.action == "test.journal")
            .count(),
        N + 3
    );
}
both_backends!(audit_journal_sealed_once, journal_sealed_once);
