//! Streaming exports: CSV with a BOM or in GBK, GeoJSON, masked numbers, scope, filters, unknown
//! kinds, a large streamed export, and `jiuzhu export`.

use clap::Parser;
use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::user::{CreateUser, Role};
use jiuzhu_proto::{ErrorBody, ErrorCode};
use jiuzhu_server::bench::visits::{seed, BenchSeedVisitsArgs};
use jiuzhu_tests::{both_backends, spawn_app, Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::households::{coordinator_grid, household, id_number, member};

const BOM: &[u8] = b"\xef\xbb\xbf";

struct Got {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

async fn get(client: &Client, path: &str) -> Got {
    let res = client.request(Method::GET, path).send().await.unwrap();
    Got {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.bytes().await.unwrap().to_vec(),
    }
}

fn error_code(got: &Got) -> ErrorCode {
    let body: ErrorBody = serde_json::from_slice(&got.body)
        .unwrap_or_else(|_| panic!("not an error body: {}", String::from_utf8_lossy(&got.body)));
    body.error
}

/// The CSV's records after the header (BOM stripped), split naively: the tests' values hold no
/// commas or quotes.
fn records(body: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(body.strip_prefix(BOM).unwrap_or(body)).unwrap();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The community a coordinator works in.
async fn own_community(coordinator: &Client) -> jiuzhu_proto::org::OrgUnit {
    coordinator
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Community),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .remove(0)
}

/// Three households in the coordinator's first grid, with Chinese names and real ID numbers.
async fn registry(app: &TestApp) -> Vec<String> {
    let (_, lat, lon) = coordinator_grid(app).await;
    let coordinator = app.login("coordinator").await;
    let mut ids = Vec::new();
    for (i, name) in ["王建国", "李秀英", "赵德胜"].iter().enumerate() {
        let id = id_number(&format!("3204021950010100{i}"));
        let h = household(
            &format!("天宁区红梅新村 {i} 幢"),
            lat + 0.00001 * i as f64,
            lon,
            vec![member(name, Relation::Head, &id)],
        );
        coordinator.create_household(&h).await.unwrap();
        ids.push(id);
    }
    ids
}

/// `PRAGMA mmap_size` of every idle connection in the app's pool (SQLite), each taken at once.
async fn idle_mmap_sizes(app: &TestApp) -> Vec<i64> {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        mmap_size: i64,
    }
    let pool = app.state.database.pool.clone();
    tokio::task::spawn_blocking(move || {
        let mut held = Vec::new();
        for _ in 0..pool.state().idle_connections {
            held.push(pool.get().unwrap());
        }
        held.iter_mut()
            .map(|conn| {
                diesel::sql_query("PRAGMA mmap_size")
                    .get_result::<Size>(&mut **conn)
                    .unwrap()
                    .mmap_size
            })
            .collect::<Vec<i64>>()
    })
    .await
    .unwrap()
}

async fn households_csv_gbk_geojson(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let ids = registry(&app).await;
    let coordinator = app.login("coordinator").await;

    // UTF-8 CSV: a BOM for Excel, a header naming the time zone, masked numbers only.
    let got = get(&coordinator, "/exports/households").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    assert!(got.headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("households-"));
    assert!(got.body.starts_with(BOM), "no BOM");
    let (header, rows) = records(&got.body);
    assert!(header.contains(&"updated_at (Asia/Shanghai)".to_string()));
    assert_eq!(rows.len(), 3);
    let text = String::from_utf8(got.body.clone()).unwrap();
    for (i, id) in ids.iter().enumerate() {
        assert!(
            !text.contains(id.as_str()),
            "plaintext ID number {i} in the export"
        );
        assert!(
            !text.contains(&id[6..14]),
            "birth date digits of ID {i} in the export"
        );
        assert!(text.contains(&format!("{}********{}", &id[..6], &id[14..])));
    }
    assert!(text.contains("王建国") && text.contains("138****5678"));
    assert!(!text.contains("13812345678"));

    // GBK: no BOM, not UTF-8, decodes back to the same names.
    let got = get(&coordinator, "/exports/households?encoding=gbk").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.headers["content-type"].to_str().unwrap(),
        "text/csv; charset=gbk"
    );
    assert!(!got.body.starts_with(BOM));
    assert!(std::str::from_utf8(&got.body).is_err());
    let (decoded, _, bad) = encoding_rs::GBK.decode(&got.body);
    assert!(!bad);
    for name in ["王建国", "李秀英", "赵德胜", "天宁区红梅新村"] {
        assert!(decoded.contains(name), "{name} lost in GBK");
    }
    assert_eq!(decoded.trim_end().split("\r\n").count(), 4);
    // Headed in Chinese for Excel in a Chinese office; English on request.
    let header = decoded.lines().next().unwrap_or_default();
    assert!(header.starts_with("家庭编号,外部编号,网格代码"), "{header}");
    assert!(header.contains("户主身份证号(脱敏)") && header.contains("更新时间(北京时间)"));
    let got = get(&coordinator, "/exports/households?encoding=gbk&header=en").await;
    let (decoded, _, _) = encoding_rs::GBK.decode(&got.body);
    assert!(decoded.starts_with("household_id,external_id,grid_code"));
    let got = get(&coordinator, "/exports/households?header=zh").await;
    assert!(String::from_utf8_lossy(&got.body).contains("家庭编号"));

    // GeoJSON: a FeatureCollection with one point per household.
    let got = get(&coordinator, "/exports/households?format=geojson").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.headers["content-type"].to_str().unwrap(),
        "application/geo+json"
    );
    let doc: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(doc["type"], "FeatureCollection");
    let features = doc["features"].as_array().unwrap();
    assert_eq!(features.len(), 3);
    for f in features {
        assert_eq!(f["geometry"]["type"], "Point");
        assert!(f["geometry"]["coordinates"][0].as_f64().unwrap() > 119.0);
        assert!(f["properties"]["head_id_number_masked"]
            .as_str()
            .unwrap()
            .contains("********"));
        assert!(f["properties"]["updated_at"]
            .as_str()
            .unwrap()
            .ends_with("+08:00"));
    }

    // Filters: a status nobody has; a filter the kind does not have; GeoJSON in GBK.
    let got = get(&coordinator, "/exports/households?status=tekun").await;
    assert_eq!(records(&got.body).1.len(), 0);
    let got = get(&coordinator, "/exports/households?review_state=pending").await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    let got = get(
        &coordinator,
        "/exports/households?format=geojson&encoding=gbk",
    )
    .await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);
    let got = get(&coordinator, "/exports/households?colour=red").await;
    assert_eq!(got.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Unknown kinds: 404 with their own code.
    let got = get(&coordinator, "/exports/nonsense").await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&got), ErrorCode::UnknownExportKind);

    // Grid workers and citizens do not export.
    let worker = app.login("worker1").await;
    assert_eq!(
        get(&worker, "/exports/households").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&app.client(), "/exports/households").await.status,
        StatusCode::UNAUTHORIZED
    );
}

both_backends!(households_csv_gbk_geojson, households_csv_gbk_geojson);

async fn scope_of_exports(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    registry(&app).await;
    let admin = app.login("admin").await;
    let communities = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Community),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let coordinator = app.login("coordinator").await;
    let mine = &own_community(&coordinator).await;
    let other = communities.iter().find(|c| c.id != mine.id).unwrap();
    admin
        .create_user(&CreateUser {
            username: "coord.b".into(),
            password: "a-good-password".into(),
            display_name: "乙社区".into(),
            role: Role::Coordinator,
            org_unit_id: other.id,
        })
        .await
        .unwrap();
    let mut outsider = app.client();
    outsider
        .login("coord.b", "a-good-password", None)
        .await
        .unwrap();

    // Another community's coordinator sees none of these households.
    let got = get(&outsider, "/exports/households").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(records(&got.body).1.len(), 0);
    assert!(!String::from_utf8_lossy(&got.body).contains("王建国"));

    // An org unit outside the caller's scope answers like a missing one.
    let hidden = get(&outsider, &format!("/exports/households?org={}", mine.code)).await;
    let missing = get(&outsider, "/exports/households?org=999999999999").await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&hidden), ErrorCode::NotFound);
    assert_eq!(hidden.body, missing.body);

    // Inside the scope, `org` narrows: the admin exporting the coordinator's community gets
    // what the coordinator gets.
    let narrowed = get(&admin, &format!("/exports/households?org={}", mine.code)).await;
    let own = get(&coordinator, "/exports/households").await;
    assert_eq!(records(&narrowed.body).1, records(&own.body).1);
    let got = get(
        &outsider,
        &format!("/exports/households?org={}", other.code),
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
}

both_backends!(scope_of_exports, scope_of_exports);

async fn visits_stream_in_chunks(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    const VISITS: usize = 9_000;
    let state = app.state.clone();
    let report = app
        .state
        .db(move |conn| {
            seed(
                conn,
                &state.cipher,
                &BenchSeedVisitsArgs {
                    visits: VISITS,
                    households: 300,
                },
            )
            .map_err(jiuzhu_server::error::ApiError::internal)
        })
        .await
        .unwrap();
    assert_eq!(report.visits, VISITS);
    let admin = app.login("admin").await;

    // More rows than one page: streamed in chunks, not with a length known up front.
    let res = admin
        .request(Method::GET, "/exports/visits")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("transfer-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("chunked")
    );
    assert!(res.headers().get("content-length").is_none());
    let body = res.bytes().await.unwrap();
    let (header, rows) = records(&body);
    assert_eq!(header[0], "visit_id");
    assert!(header.contains(&"started_at (Asia/Shanghai)".to_string()));
    assert_eq!(rows.len(), VISITS);
    let mut ids: Vec<&String> = rows.iter().map(|r| &r[0]).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), VISITS, "a visit twice");
    // SQLite: every page was read with the memory map off, and each connection went back to the
    // pool with the map on again.
    if backend == Backend::Sqlite {
        let sizes = idle_mmap_sizes(&app).await;
        assert!(!sizes.is_empty());
        assert!(sizes.iter().all(|&s| s == 1 << 30), "mmap_size {sizes:?}");
    }
    // The seeded answers hold an ID and a mobile number; neither leaves.
    let text = std::str::from_utf8(&body).unwrap();
    assert!(!text.contains("32040219500101001X") && !text.contains("13812345678"));

    // Filters: every tenth visit is flagged, a fifth are pending; all started within a year.
    let flagged = get(&admin, "/exports/visits?flagged=true").await;
    let flagged = records(&flagged.body).1;
    assert_eq!(flagged.len(), VISITS / 10);
    assert!(flagged.iter().all(|r| r[17] == "far_from_household"));
    let pending = get(&admin, "/exports/visits?review_state=pending").await;
    assert_eq!(records(&pending.body).1.len(), VISITS / 5);
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let year_ago = today - chrono::Duration::days(367);
    let all = get(
        &admin,
        &format!("/exports/visits?from={year_ago}&to={today}"),
    )
    .await;
    assert_eq!(records(&all.body).1.len(), VISITS);
    let none = get(&admin, &format!("/exports/visits?to={year_ago}")).await;
    assert_eq!(records(&none.body).1.len(), 0);
    let bad = get(&admin, "/exports/visits?from=2026-02-01&to=2026-01-01").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);

    // GeoJSON of the visits parses and has every visit.
    let geo = get(&admin, "/exports/visits?format=geojson").await;
    let doc: Value = serde_json::from_slice(&geo.body).unwrap();
    assert_eq!(doc["features"].as_array().unwrap().len(), VISITS);

    // The coordinator's export is their community's part, the same as the admin narrowing to it.
    let coordinator = app.login("coordinator").await;
    let community = own_community(&coordinator).await;
    let own = records(&get(&coordinator, "/exports/visits").await.body).1;
    let narrowed = records(
        &get(&admin, &format!("/exports/visits?org={}", community.code))
            .await
            .body,
    )
    .1;
    assert!(own.len() < VISITS);
    assert_eq!(own, narrowed);

    // A client that goes away mid-export: the server carries on serving others.
    let mut res = admin
        .request(Method::GET, "/exports/visits")
        .send()
        .await
        .unwrap();
    let first = res.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(BOM));
    drop(res);
    let again = get(&admin, "/exports/visits?flagged=true").await;
    assert_eq!(records(&again.body).1.len(), VISITS / 10);
}

both_backends!(visits_stream_in_chunks, visits_stream_in_chunks);

async fn command_line_export(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let ids = registry(&app).await;
    let dir = app.state.settings.data_dir.clone();
    let run = |args: Vec<String>| {
        let mut argv = vec![
            "jiuzhu".to_string(),
            "--data-dir".into(),
            dir.display().to_string(),
            "--database-url".into(),
            app.database_url.clone(),
            "export".into(),
        ];
        argv.extend(args);
        jiuzhu_server::cli::run(jiuzhu_server::cli::Cli::parse_from(argv))
    };
    let coordinator = app.login("coordinator").await;
    let community = own_community(&coordinator).await;

    let csv = dir.join("households.csv");
    run(vec![
        "households".into(),
        "--org".into(),
        community.code.clone(),
        "--out".into(),
        csv.display().to_string(),
    ])
    .await
    .unwrap();
    let body = std::fs::read(&csv).unwrap();
    assert!(body.starts_with(BOM));
    assert_eq!(records(&body).1.len(), 3);
    let text = String::from_utf8(body).unwrap();
    assert!(ids.iter().all(|id| !text.contains(id.as_str())));

    let gbk = dir.join("households-gbk.csv");
    run(vec![
        "households".into(),
        "--encoding".into(),
        "gbk".into(),
        "--out".into(),
        gbk.display().to_string(),
    ])
    .await
    .unwrap();
    let bytes = std::fs::read(&gbk).unwrap();
    let (decoded, _, bad) = encoding_rs::GBK.decode(&bytes);
    assert!(!bad && decoded.contains("李秀英"));

    let geo = dir.join("households.geojson");
    run(vec![
        "households".into(),
        "--format".into(),
        "geojson".into(),
        "--out".into(),
        geo.display().to_string(),
    ])
    .await
    .unwrap();
    let doc: Value = serde_json::from_slice(&std::fs::read(&geo).unwrap()).unwrap();
    assert_eq!(doc["features"].as_array().unwrap().len(), 3);

    // Refusals leave no file behind.
    let nothing = dir.join("nothing.csv");
    for args in [
        vec!["nonsense".to_string()],
        vec!["households".into(), "--org".into(), "999999999999".into()],
        vec!["households".into(), "--flagged".into(), "true".into()],
    ] {
        let mut args = args;
        args.extend(["--out".into(), nothing.display().to_string()]);
        assert!(run(args.clone()).await.is_err(), "{args:?}");
        assert!(!nothing.exists());
    }
}

both_backends!(command_line_export, command_line_export);
