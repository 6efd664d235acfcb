//! Every audited action leaves its record: a photo and a visit viewed, an export, each step a
//! person takes on a task, a visit reviewed, an org unit created and changed, a form created and
//! published. Each is done through the API by the role that does it, then found through the
//! audit search with its actor, object and result.

use chrono::Utc;
use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::audit::{AuditRecord, AuditResult};
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::page::Page;
use jiuzhu_proto::task::{CreateTask, TaskKind, TaskState};
use jiuzhu_proto::visit::{ReviewDecision, ReviewState, ReviewVisit};
use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member};
use jiuzhu_tests::{both_backends, spawn_app, spawn_app_with, Backend};
use reqwest::{Method, StatusCode};
use serde_json::json;

const FORM: &str = "audit_snap";

/// The admin's audit search for `action` on `entity_id` (of `entity`, when given).
async fn search(
    admin: &Client,
    action: &str,
    entity: Option<&str>,
    entity_id: &str,
) -> Page<AuditRecord> {
    let mut query = vec![
        ("action", action),
        ("entity_id", entity_id),
        ("limit", "500"),
    ];
    query.extend(entity.map(|e| ("entity", e)));
    let res = admin
        .request(Method::GET, "/audit")
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "audit search for {action}");
    res.json().await.unwrap()
}

/// The one record of `action` on `entity`/`entity_id`, found by the admin's audit search; it
/// must have succeeded and name `actor` as its actor.
async fn the_record(
    admin: &Client,
    action: &str,
    entity: &str,
    entity_id: &str,
    actor: &str,
) -> AuditRecord {
    let page = search(admin, action, Some(entity), entity_id).await;
    assert_eq!(
        page.items.len(),
        1,
        "{action} on {entity} {entity_id}: {:?}",
        page.items
    );
    let record = page.items.into_iter().next().unwrap();
    assert_eq!(record.action, action);
    assert_eq!(record.entity, entity);
    assert_eq!(record.entity_id, entity_id);
    assert_eq!(record.result, AuditResult::Success, "{record:?}");
    assert_eq!(record.actor_id.as_deref(), Some(actor), "{record:?}");
    assert!(
        record.request_id.as_deref().is_some_and(|r| !r.is_empty()),
        "{record:?}"
    );
    record
}

async fn user_id(client: &Client) -> String {
    client.me().await.unwrap().id.to_string()
}

async fn every_audited_action_is_recorded(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let district = app.login("district").await;
    let coordinator = app.login("coordinator").await;
    let worker = app.login("worker1").await;
    let admin_id = user_id(&admin).await;
    let district_id = user_id(&district).await;
    let coordinator_id = user_id(&coordinator).await;
    let worker_id = user_id(&worker).await;

    // A form created, then a new version of it published, by the admin.
    let mut definition = json!({
        "key": FORM, "title": {"zh": "审计拍照", "en": "Audit snap"}, "version": 1,
        "fields": [{"name": "house_photo", "label": {"zh": "住房照片", "en": "Home"}, "kind": "photo", "required": true}]
    });
    let v1 = admin
        .create_form(&serde_json::from_value(definition.clone()).unwrap())
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    definition["title"]["en"] = json!("Audit snapshot");
    let v2 = admin
        .publish_form(&serde_json::from_value(definition).unwrap())
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let created = the_record(&admin, "form.create", "form", FORM, &admin_id).await;
    assert_eq!(created.detail["version"], 1);
    let published = the_record(&admin, "form.publish", "form", FORM, &admin_id).await;
    assert_eq!(published.detail["version"], 2);

    // Two households of worker1's grid, each with a task made by the coordinator.
    let (_, lat, lon) = coordinator_grid(&app).await;
    let mut households = Vec::new();
    for n in 1..=2u32 {
        let h = coordinator
            .create_household(&household(
                &format!("天宁区 审计巷 {n} 号"),
                lat,
                lon,
                vec![member(
                    "户主",
                    Relation::Head,
                    &id_number(&format!("32040219800101{n:03}")),
                )],
            ))
            .await
            .unwrap();
        households.push(h.id);
    }
    let due = (Utc::now() + chrono::Duration::days(3)).date_naive();
    let new_task = |household_id, assignee_id| CreateTask {
        kind: TaskKind::Visit,
        household_id,
        form_key: FORM.into(),
        assignee_id,
        due_date: due,
        priority: 0,
        note: String::new(),
    };
    let worker_uid = worker.me().await.unwrap().id;
    // The first is made assigned to worker1, who accepts it.
    let task = coordinator
        .create_task(&new_task(households[0], Some(worker_uid)))
        .await
        .unwrap();
    assert_eq!(task.state, TaskState::Assigned);
    let task = worker.accept_task(task.id).await.unwrap();
    assert_eq!(task.state, TaskState::Accepted);
    let task_id = task.id.to_string();
    let made = the_record(&admin, "task.create", "task", &task_id, &coordinator_id).await;
    assert_eq!(made.detail["to"], "assigned");
    let accepted = the_record(&admin, "task.accepted", "task", &task_id, &worker_id).await;
    assert_eq!(
        (&accepted.detail["from"], &accepted.detail["to"]),
        (&json!("assigned"), &json!("accepted"))
    );
    // The second is made unassigned, assigned afterwards, then cancelled.
    let other = coordinator
        .create_task(&new_task(households[1], None))
        .await
        .unwrap();
    assert_eq!(other.state, TaskState::Pending);
    coordinator.assign_task(other.id, worker_uid).await.unwrap();
    let cancelled = coordinator
        .cancel_task(other.id, "已由社区另行核实")
        .await
        .unwrap();
    assert_eq!(cancelled.state, TaskState::Cancelled);
    let other_id = other.id.to_string();
    let made = the_record(&admin, "task.create", "task", &other_id, &coordinator_id).await;
    assert_eq!(made.detail["to"], "pending");
    let assigned = the_record(&admin, "task.assign", "task", &other_id, &coordinator_id).await;
    assert_eq!(
        (&assigned.detail["from"], &assigned.detail["to"]),
        (&json!("pending"), &json!("assigned"))
    );
    let gone = the_record(&admin, "task.cancelled", "task", &other_id, &coordinator_id).await;
    assert_eq!(
        (&gone.detail["from"], &gone.detail["to"]),
        (&json!("assigned"), &json!("cancelled"))
    );

    // worker1 visits with a photo; the coordinator looks at the photo and the visit, and
    // approves it.
    let photo = uuid::Uuid::new_v4();
    worker
        .put_photo(photo, crate::photos::sample("gps/DSCN0012.jpg"))
        .await
        .unwrap();
    let visit = worker
        .submit_visit(&jiuzhu_tests::fixtures::photo_visit(
            &task, FORM, lat, lon, photo,
        ))
        .await
        .unwrap()
        .visit;
    let res = coordinator
        .request(Method::GET, &format!("/photos/{photo}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(!res.bytes().await.unwrap().is_empty());
    the_record(
        &admin,
        "photo.view",
        "photo",
        &photo.to_string(),
        &coordinator_id,
    )
    .await;
    let seen = coordinator.visit(visit.id).await.unwrap();
    assert_eq!(seen.id, visit.id);
    let visit_id = visit.id.to_string();
    the_record(&admin, "visit.view", "visit", &visit_id, &coordinator_id).await;
    let reviewed = coordinator
        .review_visit(
            visit.id,
            &ReviewVisit {
                decision: ReviewDecision::Approved,
                note: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(reviewed.review_state, ReviewState::Approved);
    let review = the_record(&admin, "visit.review", "visit", &visit_id, &coordinator_id).await;
    assert_eq!(review.detail["decision"], "approved");

    // The coordinator exports the households of their community.
    let res = coordinator
        .request(Method::GET, "/exports/households")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(
        households.iter().all(|h| csv.contains(&h.to_string())),
        "{csv}"
    );
    let export = the_record(&admin, "export", "export", "households", &coordinator_id).await;
    assert_eq!(export.detail["kind"], "households");

    // The coordinator has a household's rules run again, and queues a figures job.
    let res = coordinator
        .request(
            Method::POST,
            &format!("/households/{}/evaluate", households[0]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    the_record(
        &admin,
        "household.evaluate",
        "household",
        &households[0].to_string(),
        &coordinator_id,
    )
    .await;
    let res = coordinator
        .request(Method::POST, "/jobs")
        .json(&json!({"kind": "stats_overview"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let job: serde_json::Value = res.json().await.unwrap();
    let queued = the_record(
        &admin,
        "job.create",
        "job",
        job["id"].as_str().unwrap(),
        &coordinator_id,
    )
    .await;
    assert_eq!(queued.detail["kind"], "stats_overview");

    // The district officer adds a street by import, then renames it by importing it again.
    let street = |name: &str| {
        json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "320402098", "name": name}, "geometry": null}
        ]})
        .to_string()
    };
    let report = district
        .import_org_units(Crs::Wgs84, street("审计街道"))
        .await
        .unwrap();
    assert_eq!((report.created, report.updated), (1, 0));
    let report = district
        .import_org_units(Crs::Wgs84, street("审计新街道"))
        .await
        .unwrap();
    assert_eq!((report.created, report.updated), (0, 1));
    let unit = district
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Street),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|u| u.code == "320402098")
        .expect("the imported street");
    assert_eq!(unit.name, "审计新街道");
    let unit_id = unit.id.to_string();
    let made = the_record(
        &admin,
        "org_unit.create",
        "org_unit",
        &unit_id,
        &district_id,
    )
    .await;
    assert_eq!(made.detail["code"], "320402098");
    let changed = the_record(
        &admin,
        "org_unit.update",
        "org_unit",
        &unit_id,
        &district_id,
    )
    .await;
    assert_eq!(changed.detail["name_changed"], true);
}
both_backends!(
    audit_records_every_audited_action,
    every_audited_action_is_recorded
);

/// The records of `action` on `entity_id`, as the admin's audit search finds them once the
/// server's sealer has chained them (it runs every second): waits up to 15 s for `want`.
async fn sealed_records(
    admin: &Client,
    action: &str,
    entity_id: &str,
    want: usize,
) -> Vec<AuditRecord> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let page = search(admin, action, None, entity_id).await;
        if page.items.len() >= want || std::time::Instant::now() > deadline {
            assert_eq!(
                page.items.len(),
                want,
                "{action} on {entity_id}: {:?}",
                page.items
            );
            return page.items;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// The phones' and citizens' own writes are audited too: a photo stored (by PUT and by a
/// resumable upload), a visit submitted, a session refreshed and closed, a citizen registered,
/// verified and reporting. Each is journaled in its write's transaction and chained by the
/// sealer: found by the audit search with its actor, request id and device, and the chain with
/// them verifies.
async fn phone_writes_are_audited(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.discovery.sms_sender = "file".into()).await
    else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let coordinator = app.login("coordinator").await;
    let mut worker = app.client();
    let pair = worker
        .login(
            "worker1",
            jiuzhu_tests::DEMO_PASSWORD,
            Some("phone-audit-1"),
        )
        .await
        .unwrap();
    let worker_id = user_id(&worker).await;
    let device = json!("phone-audit-1");

    let definition = json!({
        "key": FORM, "title": {"zh": "审计拍照", "en": "Audit snap"}, "version": 1,
        "fields": [{"name": "house_photo", "label": {"zh": "住房照片", "en": "Home"}, "kind": "photo", "required": true}]
    });
    admin
        .create_form(&serde_json::from_value(definition).unwrap())
        .await
        .unwrap();
    let (_, lat, lon) = coordinator_grid(&app).await;
    let h = coordinator
        .create_household(&household(
            "天宁区 审计巷 9 号",
            lat,
            lon,
            vec![member(
                "户主",
                Relation::Head,
                &id_number("32040219800101009"),
            )],
        ))
        .await
        .unwrap();
    let task = coordinator
        .create_task(&CreateTask {
            kind: TaskKind::Visit,
            household_id: h.id,
            form_key: FORM.into(),
            assignee_id: Some(worker.me().await.unwrap().id),
            due_date: (Utc::now() + chrono::Duration::days(3)).date_naive(),
            priority: 0,
            note: String::new(),
        })
        .await
        .unwrap();

    // A photo by PUT, another by a resumable upload, a visit with the first.
    let photo = uuid::Uuid::new_v4();
    worker
        .put_photo(photo, crate::photos::sample("gps/DSCN0012.jpg"))
        .await
        .unwrap();
    let resumed = uuid::Uuid::new_v4();
    let bytes = crate::photos::sample("mobile/jolla.jpg");
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    let res = worker
        .request(Method::POST, "/uploads")
        .json(&json!({"photo_id": resumed, "length": bytes.len(), "sha256": sha}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let upload: serde_json::Value = res.json().await.unwrap();
    let res = worker
        .request(
            Method::PATCH,
            &format!("/uploads/{}", upload["id"].as_str().unwrap()),
        )
        .header("Upload-Offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let submission = jiuzhu_tests::fixtures::photo_visit(&task, FORM, lat, lon, photo);
    let visit = worker.submit_visit(&submission).await.unwrap().visit;
    // The same visit again is a replay, not a second write: no second record.
    worker.submit_visit(&submission).await.ok();

    let stored = sealed_records(&admin, "photo.store", &photo.to_string(), 1).await;
    let started = sealed_records(&admin, "upload.create", &resumed.to_string(), 1).await;
    let finished = sealed_records(&admin, "photo.store", &resumed.to_string(), 1).await;
    let appended = sealed_records(&admin, "upload.append", &resumed.to_string(), 1).await;
    assert_eq!(appended[0].detail["from"], 0);
    let submitted = sealed_records(&admin, "visit.submit", &visit.id.to_string(), 1).await;
    assert_eq!(submitted[0].detail["task_id"], task.id.to_string());
    assert_eq!(submitted[0].detail["photos"], 1);
    for record in [
        &stored[0],
        &started[0],
        &appended[0],
        &finished[0],
        &submitted[0],
    ] {
        assert_eq!(
            record.actor_id.as_deref(),
            Some(worker_id.as_str()),
            "{record:?}"
        );
        assert_eq!(record.result, AuditResult::Success, "{record:?}");
        assert_eq!(record.detail["device"], device, "{record:?}");
        assert!(
            record.request_id.as_deref().is_some_and(|r| !r.is_empty()),
            "{record:?}"
        );
    }

    // A refresh, a refresh token played twice (revokes the session: a failure record), a log-out.
    let again = worker
        .refresh(&pair.refresh_token, Some("phone-audit-1"))
        .await
        .unwrap();
    let refreshed = sealed_records(&admin, "auth.refresh", &worker_id, 1).await;
    assert_eq!(refreshed[0].detail["device"], device);
    assert_eq!(refreshed[0].result, AuditResult::Success);
    worker.logout().await.unwrap();
    let out = sealed_records(&admin, "auth.logout", &worker_id, 1).await;
    assert_eq!(out[0].detail["device"], device);
    let mut thief = app.client();
    assert!(thief
        .refresh(&pair.refresh_token, Some("phone-audit-1"))
        .await
        .is_err());
    let refreshes = sealed_records(&admin, "auth.refresh", &worker_id, 2).await;
    let refused = refreshes
        .iter()
        .find(|r| r.result == AuditResult::Failure)
        .expect("the replayed refresh token is recorded as refused");
    assert_eq!(refused.detail["refused"], "token_reused");
    drop(again);

    // A citizen registers, verifies and reports.
    let anon = app.client();
    let (status, body) = jiuzhu_tests::fixtures::post_json(
        &anon,
        "/citizen/register",
        json!({"phone": "139 1234 5670", "password": "Citizen-pass-2026"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let outbox = app.state.settings.data_dir.join("sms-outbox.jsonl");
    let line = std::fs::read_to_string(&outbox).unwrap();
    let sent: serde_json::Value = serde_json::from_str(line.lines().last().unwrap()).unwrap();
    let (status, body) = jiuzhu_tests::fixtures::post_json(
        &anon,
        "/citizen/verify",
        json!({"phone": "13912345670", "code": sent["code"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let citizen = anon.with_token(body["access_token"].as_str().unwrap());
    let citizen_id = user_id(&citizen).await;
    let (status, body) = jiuzhu_tests::fixtures::post_json(
        &citizen,
        "/self-reports",
        json!({
            "description": "邻居老人独居，生病无人照顾",
            "category_hint": "temporary",
            "location": {"lat": lat, "lon": lon},
            "contact_phone": "13912345670",
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report_id = body["id"].as_str().unwrap().to_owned();
    for action in ["citizen.register", "citizen.verify"] {
        let r = sealed_records(&admin, action, &citizen_id, 1).await;
        assert_eq!(r[0].actor_id.as_deref(), Some(citizen_id.as_str()));
    }
    let reported = sealed_records(&admin, "self_report.create", &report_id, 1).await;
    assert_eq!(reported[0].actor_id.as_deref(), Some(citizen_id.as_str()));
    // No number in any of them.
    for r in sealed_records(&admin, "citizen.register", &citizen_id, 1).await {
        assert!(!r.detail.to_string().contains("5670"), "{r:?}");
    }

    // Sealed into the chain, which verifies; nothing left waiting.
    let st = app.state.clone();
    let verification = app
        .state
        .db(move |conn| st.audit.verify(conn))
        .await
        .unwrap();
    assert!(verification.intact(), "{verification:?}");
    assert_eq!(verification.journaled, 0, "{verification:?}");
}
both_backends!(phone_writes_audited, phone_writes_are_audited);
