//! Department data: claims, certificates and records matched to members by ID number, each
//! record once, bad rows by line, unmatched rows downloadable; a match runs the rules and an
//! alert becomes a finding and a verify task on the grid worker's phone.

use chrono::{Duration, Utc};
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::task::TaskKind;
use jiuzhu_server::db::repo::{departments as departments_repo, households as households_repo};
use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member};
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn upload(
    client: &Client,
    path: &str,
    body: Vec<u8>,
    content_type: &str,
) -> (StatusCode, Value) {
    let res = client
        .request(Method::POST, path)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn findings(client: &Client, query: &str) -> Vec<Value> {
    let res = client
        .request(Method::GET, &format!("/findings?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

async fn claims_disability_and_deaths(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let admin = app.login("admin").await;
    let worker1 = app.login("worker1").await;
    let head_id = id_number("32040219700101001");
    let spouse_id = id_number("32040219720101002");
    let mut spouse = member("配偶", Relation::Spouse, &spouse_id);
    spouse.annual_income.wages_fen = 1_200_000;
    let h = coordinator
        .create_household(&household(
            "红梅街道 1 号",
            lat,
            lon,
            vec![member("户主", Relation::Head, &head_id), spouse],
        ))
        .await
        .unwrap()
        .id;
    assert!(findings(&coordinator, &format!("household_id={h}"))
        .await
        .is_empty());

    // A GBK file from the medical-insurance bureau, Chinese header, with bad rows.
    let day = |days: i64| (Utc::now() + Duration::hours(8) - Duration::days(days)).date_naive();
    let stranger = id_number("11010519491231002");
    let csv = format!(
        "结算单号,身份证号,结算日期,总费用,统筹支付,个人自付,医院\n\
         YB-001,{head_id},{},30000,18000,12000.50,常州市第一人民医院\n\
         YB-002,{stranger},{},800,600,200,常州市第二人民医院\n\
         YB-003,32040219700101001X,{},100,50,50,医院\n\
         YB-004,{head_id},{},100,50,50,医院\n\
         YB-005,{head_id},{},100,50,-5,医院\n\
         YB-001,{head_id},{},30000,18000,12000.50,常州市第一人民医院\n",
        day(60),
        day(10),
        day(5),
        day(-3),
        day(5),
        day(60),
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let (status, _) = upload(
        &coordinator,
        "/imports/medical-claims",
        gbk.to_vec(),
        "text/csv",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "coordinators do not load department data"
    );
    let (status, report) =
        upload(&admin, "/imports/medical-claims", gbk.to_vec(), "text/csv").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["rows"], 6, "{report}");
    assert_eq!(report["matched"], 1, "{report}");
    assert_eq!(report["unmatched"], 1);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["rejected"], 3);
    let lines: Vec<(i64, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_i64().unwrap(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            (4, "invalid_id_number".to_owned()),
            (5, "future_date".to_owned()),
            (6, "out_of_range".to_owned())
        ]
    );
    assert_eq!(report["findings_opened"], 1);
    assert_eq!(report["tasks_created"], 1);
    let illness = findings(&coordinator, &format!("household_id={h}&type=illness")).await;
    assert_eq!(illness.len(), 1);
    assert_eq!(illness[0]["source"], "department");
    assert_eq!(illness[0]["inputs"]["medical_oop_12m"], 12000.5);
    // The alert is on the grid worker's phone as a verify task.
    let page = worker1.sync(None).await.unwrap();
    assert!(page
        .tasks
        .iter()
        .any(|t| t.household_id == h && t.kind == TaskKind::Verify));

    // The same file again changes nothing.
    let (_, again) = upload(&admin, "/imports/medical-claims", gbk.to_vec(), "text/csv").await;
    assert_eq!(again["matched"], 0, "{again}");
    assert_eq!(again["duplicates"], 3);
    assert_eq!(again["findings_opened"], 0);
    assert_eq!(again["tasks_created"], 0);

    // The sending department gets its unmatched rows back, ID numbers masked.
    let id = report["id"].as_str().unwrap();
    let res = admin
        .request(
            Method::GET,
            &format!("/imports/medical-claims/{id}/unmatched"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(text.contains("YB-002"), "{text}");
    assert!(!text.contains(&stranger), "{text}");
    assert!(text.contains("110105********002"), "{text}");

    // A new severe disability (JSON) raises its finding.
    let body = json!([
        {"record_id": "CJ-9", "id_number": spouse_id, "type": "physical", "level": "1", "date": day(30).to_string()}
    ]);
    let (status, report) = upload(
        &admin,
        "/imports/disability?format=json",
        serde_json::to_vec(&body).unwrap(),
        "application/json",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["matched"], 1);
    let severe = findings(
        &coordinator,
        &format!("household_id={h}&type=new_severe_disability"),
    )
    .await;
    assert_eq!(severe.len(), 1, "{severe:?}");

    // The main earner's death (the head earns most).
    let csv = format!("record_id,id_number,date\nSW-1,{head_id},{}\n", day(3));
    let (status, report) = upload(&admin, "/imports/deaths", csv.into_bytes(), "text/csv").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        findings(&coordinator, &format!("household_id={h}&type=earner_died"))
            .await
            .len(),
        1
    );

    // Files that cannot be read at all.
    let (status, body) = upload(
        &admin,
        "/imports/deaths",
        b"who,when\n1,2\n".to_vec(),
        "text/csv",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = upload(&admin, "/imports/weather", b"x".to_vec(), "text/csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let cut = "record_id,id_number,date\nSW-2,\"1101051949";
    let (status, body) = upload(
        &admin,
        "/imports/deaths",
        cut.as_bytes().to_vec(),
        "text/csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["rejected"], 1,
        "a file cut off half-way: its last row is reported"
    );
}
both_backends!(
    department_data_matched_and_alerting,
    claims_disability_and_deaths
);

/// An import that died between its two passes (records stored, households not yet evaluated) is
/// completed by the next send of the file: its records are duplicates, its household is
/// evaluated, and it is marked finished.
async fn an_interrupted_import_is_completed_by_the_next(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let admin = app.login("admin").await;
    let head = id_number("32040219700101001");
    let h = coordinator
        .create_household(&household(
            "1 号",
            lat,
            lon,
            vec![member("户主", Relation::Head, &head)],
        ))
        .await
        .unwrap()
        .id
        .to_string();
    let day = (Utc::now() + Duration::hours(8) - Duration::days(30)).date_naive();
    // What the dead import left: its row, unfinished, and its one record, matched.
    let blind = app
        .state
        .cipher
        .blind_index(jiuzhu_server::registry::ID_INDEX, &head)
        .to_vec();
    let (household_id, dead) = (h.clone(), "01900000-0000-7000-8000-000000000001");
    app.state
        .tx(move |conn| {
            let member = households_repo::members_of(conn, &household_id)?
                .into_iter()
                .next()
                .map(|m| m.id);
            let now = jiuzhu_server::db::now();
            departments_repo::insert_import(
                conn,
                departments_repo::NewImport {
                    id: dead,
                    source: "medical_claims",
                    org_path: "",
                    created_by: None,
                    created_at: now,
                },
            )?;
            departments_repo::insert_records(
                conn,
                &[departments_repo::RecordRow {
                    source: "medical_claims",
                    record_id: "YB-1".into(),
                    import_id: dead,
                    line: 2,
                    id_blind: blind,
                    id_masked: "320402********0011".into(),
                    member_id: member,
                    household_id: Some(household_id),
                    event_date: day,
                    amount_fen: Some(1_500_000),
                    detail: "{}".into(),
                    imported_at: now,
                }],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    assert!(findings(&coordinator, &format!("household_id={h}"))
        .await
        .is_empty());

    let csv = format!(
        "record_id,id_number,settlement_date,total_cost,insurance_paid,out_of_pocket,hospital\n\
         YB-1,{head},{day},30000,15000,15000,医院\n"
    );
    let (status, body) = upload(
        &admin,
        "/imports/medical-claims",
        csv.into_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["duplicates"], 1, "{body}");
    assert_eq!(body["matched"], 0, "{body}");
    assert_eq!(body["findings_opened"], 1, "{body}");
    assert_eq!(body["tasks_created"], 1, "{body}");
    let found = findings(&coordinator, &format!("household_id={h}")).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["type"], "illness", "{found:?}");
    assert_eq!(found[0]["source_id"], "medical_claims:YB-1", "{found:?}");
    let finished: Option<chrono::NaiveDateTime> = app
        .state
        .db(move |conn| Ok(departments_repo::finished_at(conn, dead)?))
        .await
        .unwrap();
    assert!(finished.is_some(), "the dead import is marked finished");

    // A third send changes nothing: no second finding, no second task.
    let csv = format!(
        "record_id,id_number,settlement_date,total_cost,insurance_paid,out_of_pocket,hospital\n\
         YB-1,{head},{day},30000,15000,15000,医院\n"
    );
    let (_, body) = upload(
        &admin,
        "/imports/medical-claims",
        csv.into_bytes(),
        "text/csv",
    )
    .await;
    assert_eq!(body["findings_opened"], 0, "{body}");
    assert_eq!(body["tasks_created"], 0, "{body}");
    assert_eq!(
        findings(&coordinator, &format!("household_id={h}"))
            .await
            .len(),
        1
    );
}
both_backends!(
    interrupted_department_import_completed,
    an_interrupted_import_is_completed_by_the_next
);
