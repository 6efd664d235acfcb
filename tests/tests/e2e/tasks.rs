//! Tasks and per-worker sync: bulk creation, assignment, tombstones, cursors.

use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::household::{Household, Relation};
use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::page::Page;
use jiuzhu_proto::task::{SyncPage, Task, TaskState};
use jiuzhu_proto::user::User;
use jiuzhu_tests::{both_backends, spawn_app, Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::call;

use crate::households::{coordinator_grid, id_number, member};

async fn sync(client: &Client, cursor: Option<&str>) -> (StatusCode, Value) {
    let mut req = client.request(Method::GET, "/sync");
    if let Some(c) = cursor {
        req = req.query(&[("cursor", c)]);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub fn simple_form(key: &str) -> Value {
    json!({
        "key": key,
        "title": {"zh": "入户走访核查表", "en": "Home visit"},
        "version": 1,
        "fields": [
            {"name": "notes", "label": {"zh": "备注", "en": "Notes"}, "kind": "text"}
        ]
    })
}

/// The demo city publishes the standard home-visit form from its XLSForm.
async fn publish_form(app: &TestApp) {
    let admin = app.login("admin").await;
    let (status, body) = call(&admin, Method::GET, "/forms/home_visit/versions/1", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["definition"]["title"]["zh"], "入户走访核查表");
}

async fn user_id(app: &TestApp, username: &str) -> jiuzhu_proto::UserId {
    let admin = app.login("admin").await;
    let users: Page<User> = admin.users(None, Some(500)).await.unwrap();
    users
        .items
        .into_iter()
        .find(|u| u.username == username)
        .unwrap()
        .id
}

async fn tasks_reach_the_right_phones(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    publish_form(&app).await;
    let (grid, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let mut household_ids = Vec::new();
    for i in 0..3 {
        let h = json!({"address": format!("{i} 号"), "location": {"lat": lat, "lon": lon}, "members": [member("户主", Relation::Head, &id_number(&format!("32040219600101{i:03}")))]});
        let (status, body) = call(&coordinator, Method::POST, "/households", Some(h)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        household_ids.push(serde_json::from_value::<Household>(body).unwrap().id);
    }
    let worker1 = app.login("worker1").await;
    let worker2 = app.login("worker2").await;
    // Before anything: an empty sync with a cursor.
    let (status, first) = sync(&worker1, None).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["tasks"].as_array().unwrap().len(), 0);
    let cursor1 = first["cursor"].as_str().unwrap().to_owned();

    // Bulk for the grid: every household gets a task, assigned to the grid's one worker.
    let due = (chrono::Utc::now() + chrono::Duration::days(14)).date_naive();
    let (status, body) = call(&coordinator, Method::POST, "/tasks/bulk", Some(json!({"kind": "visit", "form_key": "home_visit", "target": {"grid": grid.id}, "due_date": due}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"created": 3, "assigned": 3, "skipped": 0}));
    let (_, again) = call(&coordinator, Method::POST, "/tasks/bulk", Some(json!({"kind": "visit", "form_key": "home_visit", "target": {"grid": grid.id}, "due_date": due}))).await;
    assert_eq!(again["skipped"], 3);

    let (status, page) = sync(&worker1, Some(&cursor1)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page: SyncPage = serde_json::from_value(page).unwrap();
    assert_eq!(page.tasks.len(), 3);
    assert!(page
        .tasks
        .iter()
        .all(|t| t.form_version == Some(1) && t.state == TaskState::Assigned && !t.overdue));
    assert_eq!(page.households.len(), 3);
    assert!(page
        .households
        .iter()
        .all(|h| h.members[0].id_number_masked.contains("********")));
    assert_eq!(page.forms.len(), 1);
    assert!(!page.has_more);
    // Repeating a sync is harmless; the full set matches.
    let (_, full) = sync(&worker1, None).await;
    assert_eq!(full["tasks"].as_array().unwrap().len(), 3);
    let (_, nothing_new) = sync(&worker1, Some(&page.cursor)).await;
    assert_eq!(nothing_new["tasks"].as_array().unwrap().len(), 0);
    assert_eq!(nothing_new["cursor"], json!(page.cursor));

    // A grid worker sees only their own tasks; accepting someone else's task looks missing.
    let (_, listed) = call(&worker2, Method::GET, "/tasks", None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    let task = &page.tasks[0];
    let (status, _) = call(
        &worker2,
        Method::POST,
        &format!("/tasks/{}/accept", task.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(
        &worker1,
        Method::POST,
        &format!("/tasks/{}/accept", task.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], "accepted");
    let (status, _) = call(
        &worker1,
        Method::POST,
        &format!("/tasks/{}/accept", task.id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Reassignment, to a second worker of the same grid (a task goes only to a worker whose grid
    // holds the household): a tombstone on worker1's next sync, the task and its household on
    // the colleague's.
    let (status, body) = call(&coordinator, Method::POST, "/users", Some(json!({"username": "worker1.b", "password": "a-good-password", "display_name": "网格员一（二）", "role": "grid_worker", "org_unit_id": grid.id}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let w2 = user_id(&app, "worker1.b").await;
    // A worker of another grid of the same community cannot take it: their scope is their grid,
    // so the task would answer them 404 on accept.
    let sibling = user_id(&app, "worker2").await;
    let (status, body) = call(
        &coordinator,
        Method::POST,
        &format!("/tasks/{}/assign", task.id),
        Some(json!({"assignee_id": sibling})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["code"], "assignee_outside_grid");
    let mut worker2 = app.client();
    worker2
        .login("worker1.b", "a-good-password", None)
        .await
        .unwrap();
    let (_, w2_first) = sync(&worker2, None).await;
    let w2_cursor = w2_first["cursor"].as_str().unwrap().to_owned();
    let (status, body) = call(
        &coordinator,
        Method::POST,
        &format!("/tasks/{}/assign", task.id),
        Some(json!({"assignee_id": w2})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, after) = sync(&worker1, Some(&page.cursor)).await;
    let after: SyncPage = serde_json::from_value(after).unwrap();
    assert_eq!(after.tombstones.len(), 1);
    assert_eq!(after.tombstones[0].id, task.id);
    assert!(after.tasks.is_empty());
    let (_, theirs) = sync(&worker2, Some(&w2_cursor)).await;
    let theirs: SyncPage = serde_json::from_value(theirs).unwrap();
    assert_eq!(
        theirs.tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![task.id]
    );
    assert_eq!(
        theirs.households.iter().map(|h| h.id).collect::<Vec<_>>(),
        vec![task.household_id]
    );

    // A household change reaches the phone that holds a task on it.
    let h = household_ids[1].to_string();
    let (_, current) = call(&coordinator, Method::GET, &format!("/households/{h}"), None).await;
    let (status, body) = call(
        &coordinator,
        Method::PATCH,
        &format!("/households/{h}"),
        Some(json!({"version": current["version"], "notes": "门牌已更换"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, changed) = sync(&worker1, Some(&after.cursor)).await;
    let changed: SyncPage = serde_json::from_value(changed).unwrap();
    assert_eq!(changed.households.len(), 1);
    assert_eq!(changed.households[0].notes, "门牌已更换");

    // Cancel: a tombstone; closed tasks cannot be cancelled again.
    let other = &page.tasks[1];
    let (status, body) = call(
        &coordinator,
        Method::POST,
        &format!("/tasks/{}/cancel", other.id),
        Some(json!({"reason": "户已迁出"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = call(
        &coordinator,
        Method::POST,
        &format!("/tasks/{}/cancel", other.id),
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, cancelled) = sync(&worker1, Some(&changed.cursor)).await;
    assert_eq!(cancelled["tombstones"][0]["id"], json!(other.id));
    // The trail records who moved the task and when.
    let tid = task.id.to_string();
    let events = app
        .state
        .db(move |conn| Ok(jiuzhu_server::db::repo::tasks::events_of(conn, &tid)?))
        .await
        .unwrap();
    let states: Vec<&str> = events.iter().map(|(_, to, _)| to.as_str()).collect();
    assert_eq!(states, vec!["assigned", "accepted", "assigned"]);
    assert!(events.iter().all(|(_, _, actor)| actor.is_some()));
    let _ = grid;
    let _: Option<Task> = None;
}
both_backends!(tasks_and_sync, tasks_reach_the_right_phones);

async fn bad_task_input(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    publish_form(&app).await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let h = json!({"address": "1 号", "location": {"lat": lat, "lon": lon}, "members": [member("户主", Relation::Head, &id_number("32040219600101999"))]});
    let (_, body) = call(&coordinator, Method::POST, "/households", Some(h)).await;
    let household = body["id"].clone();
    let due = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    // A due date in the past; an unknown form.
    let past = (chrono::Utc::now() - chrono::Duration::days(3)).date_naive();
    let (status, body) = call(&coordinator, Method::POST, "/tasks", Some(json!({"kind": "visit", "household_id": household, "form_key": "home_visit", "due_date": past}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, body) = call(&coordinator, Method::POST, "/tasks", Some(json!({"kind": "visit", "household_id": household, "form_key": "nope", "due_date": due}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    // An assignee outside the household's community (a grid worker made in another street).
    let admin = app.login("admin").await;
    let far_grid = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Grid),
            limit: Some(500),
            ..Default::default()
        })
        .await
        .unwrap()
        .items
        .pop()
        .unwrap();
    let outsider = admin
        .create_user(&jiuzhu_proto::user::CreateUser {
            username: "far.worker".into(),
            password: "a-good-password".into(),
            display_name: "远处网格员".into(),
            role: jiuzhu_proto::user::Role::GridWorker,
            org_unit_id: far_grid.id,
        })
        .await
        .unwrap();
    let (status, body) = call(&coordinator, Method::POST, "/tasks", Some(json!({"kind": "visit", "household_id": household, "form_key": "home_visit", "due_date": due, "assignee_id": outsider.id}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"][0]["code"], "assignee_outside_grid");
    // Grid workers create nothing.
    let worker = app.login("worker1").await;
    let (status, _) = call(&worker, Method::POST, "/tasks", Some(json!({"kind": "visit", "household_id": household, "form_key": "home_visit", "due_date": due}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Cursors: edited, truncated, another worker's, from the future: all refused.
    let (_, page) = sync(&worker, None).await;
    let cursor = page["cursor"].as_str().unwrap().to_owned();
    let edited = cursor.replacen("v1.", "v1.9", 1);
    let worker2 = app.login("worker2").await;
    for bad in [edited.as_str(), &cursor[..cursor.len() - 3], "garbage", ""] {
        let (status, body) = sync(&worker, Some(bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    let (status, _) = sync(&worker2, Some(&cursor)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "another worker's cursor");
    let me = worker.me().await.unwrap().id.to_string();
    let future = app.state.cursors.sign(&me, 1_000_000);
    let (status, _) = sync(&worker, Some(&future)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a cursor from the future");
    // Only grid workers sync.
    let (status, _) = sync(&coordinator, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both_backends!(bad_task_input, bad_task_input);

async fn forms_are_checked_and_versions_immutable(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let (status, body) = call(
        &admin,
        Method::POST,
        "/forms",
        Some(simple_form("survey_a")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], 1);
    let (status, _) = call(
        &admin,
        Method::POST,
        "/forms",
        Some(simple_form("survey_a")),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Every problem at once: a duplicate name, an unknown reference, a cycle.
    let bad = json!({"key": "survey_b", "title": {"zh": "乙", "en": "B"}, "version": 1, "fields": [
        {"name": "a", "label": {"zh": "甲", "en": "A"}, "kind": "integer"},
        {"name": "a", "label": {"zh": "甲", "en": "A"}, "kind": "integer"},
        {"name": "b", "label": {"zh": "乙", "en": "B"}, "kind": "calculate", "calculate": "${c} + 1"},
        {"name": "c", "label": {"zh": "丙", "en": "C"}, "kind": "calculate", "calculate": "${b} + 1"},
        {"name": "d", "label": {"zh": "丁", "en": "D"}, "kind": "integer", "relevant": "${nowhere} > 1"}
    ]});
    let (status, body) = call(&admin, Method::POST, "/forms", Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["details"].as_array().unwrap().len() >= 3, "{body}");
    // A new version; the old one stays as published.
    let mut v2 = simple_form("survey_a");
    v2["fields"][0]["label"]["zh"] = json!("说明");
    let (status, body) = call(&admin, Method::POST, "/forms/survey_a/versions", Some(v2)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["version"], 2);
    let (_, v1) = call(&admin, Method::GET, "/forms/survey_a/versions/1", None).await;
    assert_eq!(v1["definition"]["fields"][0]["label"]["zh"], "备注");
    let (_, list) = call(&admin, Method::GET, "/forms", None).await;
    let survey = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "survey_a")
        .unwrap();
    assert_eq!(survey["latest_version"], 2);
    let (status, _) = call(&admin, Method::GET, "/forms/survey_a/versions/9", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &admin,
        Method::POST,
        "/forms/nope/versions",
        Some(simple_form("nope")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Only admins publish.
    let coordinator = app.login("coordinator").await;
    let (status, _) = call(
        &coordinator,
        Method::POST,
        "/forms",
        Some(simple_form("survey_c")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both_backends!(forms_api, forms_are_checked_and_versions_immutable);

async fn xlsform_import(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let xlsx = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/forms/home_visit.xlsx"
    ))
    .unwrap();
    let post = |body: Vec<u8>| {
        admin
            .request(Method::POST, "/forms/import-xlsform")
            .header(
                "content-type",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            .body(body)
            .send()
    };
    // The demo published version 1 from the same workbook; importing it again publishes version 2.
    let res = post(xlsx.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (body["key"].as_str(), body["version"].as_i64()),
        (Some("home_visit"), Some(2))
    );
    // What the importer left out is listed (the standard form leaves nothing out).
    assert_eq!(body["notices"], serde_json::json!([]), "{body}");
    // Not a workbook: refused with a clear code; nothing published.
    let res = post(b"name,age\nx,1\n".to_vec()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["details"][0]["code"], "invalid_workbook");
    let mut truncated = xlsx.clone();
    truncated.truncate(xlsx.len() / 2);
    assert_eq!(
        post(truncated).await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (_, list) = call(&admin, Method::GET, "/forms", None).await;
    let home = list
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "home_visit")
        .unwrap();
    assert_eq!(home["latest_version"], 2);
    let coordinator = app.login("coordinator").await;
    let res = coordinator
        .request(Method::POST, "/forms/import-xlsform")
        .body(xlsx)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}
both_backends!(xlsform, xlsform_import);
