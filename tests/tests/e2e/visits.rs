//! The phone loop end to end through the SDK: tasks reach the phone's store, a visit waits in the
//! outbox while the server is down and arrives exactly once; the server's checks, review and bad
//! input.

use std::time::Duration;

use chrono::Utc;
use jiuzhu_mobile_api::client::VisitQuery;
use jiuzhu_mobile_api::outbox::ItemState;
use jiuzhu_mobile_api::{Client, Outbox, RetryPolicy, Store};
use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::task::{BulkCreateTasks, BulkTarget, TaskKind, TaskState};
use jiuzhu_proto::visit::{
    FlagCode, LocationFix, ReviewDecision, ReviewState, ReviewVisit, SubmitVisit,
};
use jiuzhu_proto::ErrorCode;
use jiuzhu_tests::{both_backends, spawn_app, Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::households::{coordinator_grid, household, id_number, member};
use jiuzhu_tests::fixtures::post_json;

const FORM: &str = "quick_check";

fn form() -> FormDefinition {
    serde_json::from_value(json!({
        "key": FORM,
        "title": {"zh": "快速核查", "en": "Quick check"},
        "version": 1,
        "fields": [
            {"name": "visit_date", "label": {"zh": "走访日期", "en": "Date"}, "kind": "date", "required": true},
            {"name": "income", "label": {"zh": "家庭年收入", "en": "Income"}, "kind": "integer", "required": true,
             "min": 0, "max": 10000000},
            {"name": "head_id", "label": {"zh": "户主身份证", "en": "Head's ID"}, "kind": "text"},
            {"name": "has_notes", "label": {"zh": "有备注", "en": "Has notes"}, "kind": "boolean"},
            {"name": "notes", "label": {"zh": "备注", "en": "Notes"}, "kind": "text", "relevant": "${has_notes}"}
        ]
    }))
    .unwrap()
}

fn answers(income: i64) -> Value {
    json!({
        "visit_date": (Utc::now() + chrono::Duration::hours(8)).date_naive().to_string(),
        "income": income,
        "head_id": "11010519491231002X",
        "has_notes": false,
        "notes": "dropped because not relevant",
    })
}

struct City {
    app: TestApp,
    coordinator: Client,
    worker1: Client,
    worker2: Client,
    lat: f64,
    lon: f64,
    households: Vec<uuid::Uuid>,
}

/// The demo city, the quick form, and `n` households at one point of worker1's grid, each with
/// a visit task assigned to worker1.
async fn city(backend: Backend, n: usize) -> Option<City> {
    let app = spawn_app(backend).await?;
    app.load_demo().await;
    let admin = app.login("admin").await;
    admin.create_form(&form()).await.unwrap();
    let (grid, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let mut households = Vec::new();
    for i in 0..n {
        let h = household(
            &format!("{i} 号"),
            lat,
            lon,
            vec![member(
                "户主",
                Relation::Head,
                &id_number(&format!("32040219600101{i:03}")),
            )],
        );
        households.push(coordinator.create_household(&h).await.unwrap().id);
    }
    let due = (Utc::now() + chrono::Duration::days(14)).date_naive();
    let created = coordinator
        .bulk_create_tasks(&BulkCreateTasks {
            kind: TaskKind::Visit,
            form_key: FORM.into(),
            target: BulkTarget::Grid(grid.id),
            due_date: due,
            priority: 0,
            note: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(created.assigned as usize, n);
    let worker1 = app.login("worker1").await;
    let worker2 = app.login("worker2").await;
    Some(City {
        app,
        coordinator,
        worker1,
        worker2,
        lat,
        lon,
        households,
    })
}

/// A city with two tasks, synced onto worker1's phone.
async fn synced_city(backend: Backend) -> Option<(City, Store)> {
    let city = city(backend, 2).await?;
    let store = Store::open(&city.app.state.settings.data_dir.join("phone.sqlite")).unwrap();
    store.sync(&city.worker1).await.unwrap();
    Some((city, store))
}

fn visit_for(task: &jiuzhu_proto::task::Task, lat: f64, lon: f64, income: i64) -> SubmitVisit {
    let now = Utc::now();
    SubmitVisit {
        id: uuid::Uuid::new_v4(),
        task_id: task.id,
        form_key: task.form_key.clone(),
        form_version: task.form_version.unwrap(),
        answers: answers(income),
        location: LocationFix {
            lat,
            lon,
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

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(1),
        max: Duration::from_millis(5),
    }
}

async fn the_phone_loop(backend: Backend) {
    let Some(City {
        mut app,
        coordinator,
        worker1,
        worker2,
        lat,
        lon,
        households,
    }) = city(backend, 3).await
    else {
        return;
    };
    let dir = app.state.settings.data_dir.join("phones");
    std::fs::create_dir_all(&dir).unwrap();
    let store1 = Store::open(&dir.join("w1-store.sqlite")).unwrap();
    let store2 = Store::open(&dir.join("w2-store.sqlite")).unwrap();

    // The first sync brings the three tasks, their households (masked) and the pinned form.
    let report = store1.sync(&worker1).await.unwrap();
    assert_eq!((report.tasks, report.households, report.forms), (3, 3, 1));
    let tasks = store1.tasks().unwrap();
    assert_eq!(tasks.len(), 3);
    let h = store1.household(tasks[0].household_id).unwrap().unwrap();
    assert!(h.members[0].id_number_masked.contains("********"));
    assert!(store1.form(FORM, 1).unwrap().is_some());
    store2.sync(&worker2).await.unwrap();
    assert!(store2.tasks().unwrap().is_empty());

    // Reassignment: gone from worker1's phone on its next sync, there on worker2's.
    let moved = tasks[2].id;
    let worker2_id = worker2.me().await.unwrap().id;
    coordinator.assign_task(moved, worker2_id).await.unwrap();
    let report = store1.sync(&worker1).await.unwrap();
    assert_eq!(report.removed, 1);
    assert_eq!(store1.tasks().unwrap().len(), 2);
    assert!(store1.task(moved).unwrap().is_none());
    store2.sync(&worker2).await.unwrap();
    assert_eq!(
        store2
            .tasks()
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        vec![moved]
    );

    // A visit is recorded offline; the server is down when the phone tries.
    let outbox = Outbox::open(&dir.join("w1-outbox.sqlite")).unwrap();
    let task = store1.task(tasks[0].id).unwrap().unwrap();
    let form = store1.form(FORM, 1).unwrap().unwrap();
    let visit = visit_for(&task, lat, lon, 9600);
    // Checked on the phone first: a bad answer set is never queued.
    let mut bad = visit.clone();
    bad.answers["income"] = json!(-5);
    assert!(outbox.queue_visit(&bad, &form).is_err());
    outbox.queue_visit(&visit, &form).unwrap();
    assert!(matches!(
        outbox.queue_visit(&visit, &form),
        Err(jiuzhu_mobile_api::outbox::OutboxError::Duplicate)
    ));
    app.stop().await;
    let report = outbox.push(&worker1, &fast_retry()).await.unwrap();
    assert_eq!((report.sent, report.retry_later), (0, 1));
    let items = outbox.items().unwrap();
    assert_eq!(items[0].state, ItemState::Queued);
    assert_eq!(items[0].attempts, 1);
    assert_eq!(items[0].last_error.as_deref(), Some("network"));

    // The server comes back; the outbox (reopened, as after the app restarts) delivers it once.
    app.start_again().await;
    drop(outbox);
    let outbox = Outbox::open(&dir.join("w1-outbox.sqlite")).unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let report = outbox.push(&worker1, &fast_retry()).await.unwrap();
    assert_eq!((report.sent, report.retry_later), (1, 0), "{report:?}");
    assert_eq!(outbox.items().unwrap()[0].state, ItemState::Sent);
    let report = outbox.push(&worker1, &fast_retry()).await.unwrap();
    assert_eq!(report, jiuzhu_mobile_api::PushReport::default());
    // A response lost on the way back: the same visit again is a replay, not a second visit.
    let again = worker1.submit_visit(&visit).await.unwrap();
    assert!(again.replay);
    let stored = coordinator
        .visits(&VisitQuery {
            household_id: Some(task.household_id),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(stored.len(), 1);
    let stored = &stored[0];
    assert_eq!(stored.id, visit.id);
    assert!(stored.flags.is_empty(), "{:?}", stored.flags);
    assert_eq!(stored.review_state, ReviewState::Pending);
    // Stored without the answer that was not relevant; the ID number masked on the way out.
    assert!(stored.answers.get("notes").is_none());
    assert_eq!(stored.answers["head_id"], "110105********002X");
    assert_eq!(stored.answers["income"], 9600);
    // The submitted task leaves the phone.
    store1.sync(&worker1).await.unwrap();
    assert!(store1.task(task.id).unwrap().is_none());

    // The same id with another body is refused, and a permanent error waits for a person.
    let mut clash = visit.clone();
    clash.answers["income"] = json!(1);
    let outbox2 = Outbox::open(&dir.join("w1-outbox-2.sqlite")).unwrap();
    outbox2.queue_visit(&clash, &form).unwrap();
    let report = outbox2.push(&worker1, &fast_retry()).await.unwrap();
    assert_eq!(report.needs_attention, 1);
    let item = &outbox2.items().unwrap()[0];
    assert_eq!(item.state, ItemState::NeedsAttention);
    assert_eq!(item.last_error.as_deref(), Some("idempotency_conflict"));
    // Never retried on its own.
    let report = outbox2.push(&worker1, &fast_retry()).await.unwrap();
    assert_eq!(report, jiuzhu_mobile_api::PushReport::default());
    assert_eq!(households.len(), 3);
}

both_backends!(the_phone_loop, the_phone_loop);

async fn checks_and_review(backend: Backend) {
    let Some((city, store)) = synced_city(backend).await else {
        return;
    };
    let City {
        app,
        coordinator,
        worker1,
        worker2,
        lat,
        lon,
        ..
    } = city;
    let tasks = store.tasks().unwrap();

    // About 1.1 km away, with a mock fix and three minutes on site.
    let mut far = visit_for(&tasks[0], lat + 0.01, lon, 100);
    far.location.mock = true;
    far.started_at = far.finished_at - chrono::Duration::minutes(3);
    far.location.fix_time = far.finished_at;
    let v = worker1.submit_visit(&far).await.unwrap();
    assert!(!v.replay);
    let codes: Vec<FlagCode> = v.visit.flags.iter().map(|f| f.code).collect();
    assert!(codes.contains(&FlagCode::FarFromHousehold), "{codes:?}");
    assert!(codes.contains(&FlagCode::MockLocation), "{codes:?}");
    assert!(codes.contains(&FlagCode::TooShort), "{codes:?}");
    let d = v.visit.flags[0].evidence["distance_m"].as_f64().unwrap();
    assert!((1000.0..1300.0).contains(&d), "{d}");
    let flagged = coordinator
        .visits(&VisitQuery {
            flagged: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(flagged.items.len(), 1);

    // Sent back with issues: the task returns to the worker's phone.
    let (status, body) = post_json(
        &coordinator,
        &format!("/visits/{}/review", v.visit.id),
        json!({"decision": "has_issues"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let reviewed = coordinator
        .review_visit(
            v.visit.id,
            &ReviewVisit {
                decision: ReviewDecision::HasIssues,
                note: "请到户核实 / please visit the home".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(reviewed.review_state, ReviewState::HasIssues);
    store.sync(&worker1).await.unwrap();
    let back = store.task(tasks[0].id).unwrap().unwrap();
    assert_eq!(back.state, TaskState::Accepted);
    // Reviewing twice is refused.
    let again = coordinator
        .review_visit(
            v.visit.id,
            &ReviewVisit {
                decision: ReviewDecision::Approved,
                note: String::new(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(again.status(), Some(StatusCode::CONFLICT));

    // The corrected visit names the one it supersedes, and is approved.
    let mut fixed = visit_for(&back, lat, lon, 100);
    fixed.supersedes = Some(v.visit.id);
    let fixed = worker1.submit_visit(&fixed).await.unwrap().visit;
    assert!(fixed.flags.is_empty(), "{:?}", fixed.flags);
    let approved = coordinator
        .review_visit(
            fixed.id,
            &ReviewVisit {
                decision: ReviewDecision::Approved,
                note: String::new(),
            },
        )
        .await
        .unwrap();
    assert_eq!(approved.review_state, ReviewState::Approved);
    let task = coordinator
        .tasks(&jiuzhu_mobile_api::client::TaskQuery {
            household_id: Some(tasks[0].household_id),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(task[0].state, TaskState::Reviewed);
    let old = coordinator.visit(v.visit.id).await.unwrap();
    assert_eq!(old.review_state, ReviewState::HasIssues);

    // Someone else's visits are not found; a worker sees only their own.
    assert_eq!(
        worker2.visit(fixed.id).await.unwrap_err().status(),
        Some(StatusCode::NOT_FOUND)
    );
    assert_eq!(
        worker2
            .visits(&VisitQuery::default())
            .await
            .unwrap()
            .items
            .len(),
        0
    );
    drop(app);
}

both_backends!(visit_checks_and_review, checks_and_review);

async fn bad_visits(backend: Backend) {
    let Some((city, store)) = synced_city(backend).await else {
        return;
    };
    let City {
        app,
        coordinator,
        worker1,
        worker2,
        lat,
        lon,
        ..
    } = city;
    let tasks = store.tasks().unwrap();
    let good = visit_for(&tasks[0], lat, lon, 100);
    let expect = |r: Result<_, jiuzhu_mobile_api::ClientError>, status: StatusCode| {
        let e = r.expect_err("refused");
        assert_eq!(e.status(), Some(status), "{e}");
        e
    };

    // Coordinates out of range, a fix a year ahead, invalid answers: every field listed.
    let mut v = good.clone();
    v.location.lat = 91.0;
    v.location.fix_time = Utc::now() + chrono::Duration::days(365);
    let e = expect(
        worker1.submit_visit(&v).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let jiuzhu_mobile_api::ClientError::Api { body, .. } = e else {
        panic!()
    };
    let fields: Vec<&str> = body.details.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, vec!["location", "location.fix_time"]);
    let mut v = good.clone();
    v.answers = json!({"income": "lots", "bogus": 1});
    let e = expect(
        worker1.submit_visit(&v).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let jiuzhu_mobile_api::ClientError::Api { body, .. } = e else {
        panic!()
    };
    let fields: Vec<&str> = body.details.iter().map(|d| d.field.as_str()).collect();
    assert!(fields.contains(&"answers.visit_date"), "{fields:?}");
    assert!(fields.contains(&"answers.income"), "{fields:?}");
    // NaN cannot even be written in JSON.
    let mut raw = serde_json::to_value(&good).unwrap();
    let text = serde_json::to_string(&raw).unwrap().replace(
        &format!("\"lat\":{}", serde_json::to_string(&lat).unwrap()),
        "\"lat\":NaN",
    );
    let res = worker1
        .request(Method::POST, "/visits")
        .header("content-type", "application/json")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // Unknown fields, the wrong form version, unknown staff, unknown photos.
    raw["extra"] = json!(1);
    let (status, _) = post_json(&worker1, "/visits", raw).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut v = good.clone();
    v.form_version = 2;
    expect(
        worker1.submit_visit(&v).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let mut v = good.clone();
    v.staff = vec![jiuzhu_proto::UserId::new()];
    expect(
        worker1.submit_visit(&v).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    // A citizen's account is not staff.
    let citizen = account_id(&app, "citizen").await;
    let mut v = good.clone();
    v.staff = vec![citizen];
    expect(
        worker1.submit_visit(&v).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let mut v = good.clone();
    v.photo_ids = vec![uuid::Uuid::new_v4()];
    expect(
        worker1.submit_visit(&v).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    let mut v = good.clone();
    v.finished_at = v.started_at - chrono::Duration::minutes(1);
    expect(
        worker1.submit_visit(&v).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    // Nothing of the above was written.
    assert!(coordinator
        .visits(&VisitQuery::default())
        .await
        .unwrap()
        .items
        .is_empty());

    // Someone else's task is not found; coordinators do not submit visits.
    let e = expect(worker2.submit_visit(&good).await, StatusCode::NOT_FOUND);
    assert_eq!(e.code(), Some(ErrorCode::NotFound));
    expect(coordinator.submit_visit(&good).await, StatusCode::FORBIDDEN);

    // A task reassigned while the phone was offline: refused for good, with its own code.
    let worker2_id = worker2.me().await.unwrap().id;
    coordinator
        .assign_task(tasks[1].id, worker2_id)
        .await
        .unwrap();
    let late = visit_for(&tasks[1], lat, lon, 100);
    let e = expect(worker1.submit_visit(&late).await, StatusCode::CONFLICT);
    assert_eq!(e.code(), Some(ErrorCode::TaskNotOpen));

    // The good one goes in once; a second visit to a submitted task must say what it corrects.
    worker1.submit_visit(&good).await.unwrap();
    let second = visit_for(&tasks[0], lat, lon, 100);
    let e = expect(worker1.submit_visit(&second).await, StatusCode::CONFLICT);
    assert_eq!(e.code(), Some(ErrorCode::TaskNotOpen));
}

both_backends!(bad_visit_input, bad_visits);

async fn many_at_once(backend: Backend) {
    let Some(City {
        app: _app,
        coordinator,
        worker1,
        lat,
        lon,
        ..
    }) = city(backend, 13).await
    else {
        return;
    };
    let tasks = worker1.sync(None).await.unwrap().tasks;
    assert_eq!(tasks.len(), 13);
    // Twelve good visits, one of them sent twice, and two bad ones, all at the same moment: on
    // SQLite they share commits; each still gets its own answer.
    let mut visits: Vec<SubmitVisit> = tasks[..12]
        .iter()
        .map(|t| visit_for(t, lat, lon, 100))
        .collect();
    visits.push(visits[0].clone());
    let mut bad = visit_for(&tasks[12], lat, lon, 100);
    bad.answers["income"] = json!(-1);
    visits.push(bad);
    let mut clash = visits[2].clone();
    clash.answers["income"] = json!(7);
    visits.push(clash);
    let handles: Vec<_> = visits
        .iter()
        .cloned()
        .map(|v| {
            let w = worker1.clone();
            tokio::spawn(async move { w.submit_visit(&v).await })
        })
        .collect();
    let mut created = 0;
    let mut replays = 0;
    let mut refused = Vec::new();
    for h in handles {
        match h.await.unwrap() {
            Ok(s) if s.replay => replays += 1,
            Ok(_) => created += 1,
            Err(e) => refused.push(e.status().unwrap()),
        }
    }
    // The duplicate of visit 0 and the clash with visit 2 race their originals: whichever
    // lands second is the replay (200) or the conflict (409); the invalid one is always 422.
    assert_eq!((created, replays), (12, 1), "{refused:?}");
    refused.sort();
    assert_eq!(
        refused,
        vec![StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY]
    );
    let stored = coordinator
        .visits(&VisitQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(stored.len(), 12);
}

both_backends!(concurrent_visits, many_at_once);

/// A demo account's id, as the admin sees it.
async fn account_id(app: &TestApp, username: &str) -> jiuzhu_proto::UserId {
    let admin = app.login("admin").await;
    admin
        .users(None, Some(500))
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|u| u.username == username)
        .unwrap()
        .id
}
