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
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use reqwest::{Method, StatusCode};
use serde_json::json;

const FORM: &str = "audit_snap";

/// The one record of `action` on `entity`/`entity_id`, found by the admin's audit search; it
/// must have succeeded and name `actor` as its actor.
async fn the_record(
    admin: &Client,
    action: &str,
    entity: &str,
    entity_id: &str,
    actor: &str,
) -> AuditRecord {
    let res = admin
        .request(Method::GET, "/audit")
        .query(&[
            ("action", action),
            ("entity", entity),
            ("entity_id", entity_id),
            ("limit", "500"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "audit search for {action}");
    let page: Page<AuditRecord> = res.json().await.unwrap();
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
