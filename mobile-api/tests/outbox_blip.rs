//! The outbox across a network blip: a visit recorded offline with its photos, a push while the
//! server is unreachable (the photo backs off), then a push as soon as the server is back. The
//! visit must wait for its photo rather than be sent first, refused for the missing photo and
//! parked for good; in the end exactly one visit with its photos is on the server, and nothing
//! needs a person's attention.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use jiuzhu_mobile_api::outbox::{ItemState, Outbox, RetryPolicy};
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::task::{CreateTask, TaskKind};
use jiuzhu_proto::visit::{LocationFix, SubmitVisit};
use jiuzhu_server::demo::photo::{jpeg, Shot};
use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member};
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use serde_json::json;

/// An address where nothing listens: the phone without signal.
fn unreachable() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

async fn visit_waits_for_its_photos(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let form: FormDefinition = serde_json::from_value(json!({
        "key": "doorstep", "title": {"zh": "门口登记", "en": "Doorstep"}, "version": 1,
        "fields": [
            {"name": "income", "label": {"zh": "年收入", "en": "Income"}, "kind": "integer",
             "required": true, "min": 0},
            {"name": "house_photo", "label": {"zh": "住房照片", "en": "Home"}, "kind": "photo",
             "required": true},
            {"name": "room_photo", "label": {"zh": "室内照片", "en": "Room"}, "kind": "photo",
             "required": true}
        ]
    }))
    .unwrap();
    admin.create_form(&form).await.unwrap();
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let h = coordinator
        .create_household(&household(
            "2 号",
            lat,
            lon,
            vec![member(
                "户主",
                Relation::Head,
                &id_number("32040219700101002"),
            )],
        ))
        .await
        .unwrap();
    let worker = app.login("worker1").await;
    let worker_id = worker.me().await.unwrap().id;
    let task = coordinator
        .create_task(&CreateTask {
            kind: TaskKind::Visit,
            household_id: h.id,
            form_key: "doorstep".into(),
            assignee_id: Some(worker_id),
            due_date: (chrono::Utc::now() + chrono::Duration::days(3)).date_naive(),
            priority: 1,
            note: String::new(),
        })
        .await
        .unwrap();

    // Recorded offline: two photos, then the visit naming them.
    let dir = app.state.settings.data_dir.join("phone");
    std::fs::create_dir_all(&dir).unwrap();
    let outbox = Outbox::open(&dir.join("outbox.db")).unwrap();
    let started = chrono::Utc::now() - chrono::Duration::minutes(20);
    let mut photo_ids = Vec::new();
    for seed in [1u64, 2] {
        let bytes = jpeg(&Shot {
            lat,
            lon,
            taken_local: (started + chrono::Duration::hours(8) + chrono::Duration::minutes(5))
                .naive_utc(),
            seed,
        })
        .unwrap();
        let file = dir.join(format!("p{seed}.jpg"));
        std::fs::write(&file, bytes).unwrap();
        photo_ids.push(outbox.queue_photo(&file).unwrap());
    }
    let visit = SubmitVisit {
        id: uuid::Uuid::new_v4(),
        task_id: task.id,
        form_key: "doorstep".into(),
        form_version: 1,
        answers: json!({
            "income": 4800,
            "house_photo": photo_ids[0].to_string(),
            "room_photo": photo_ids[1].to_string(),
        }),
        location: LocationFix {
            lat,
            lon,
            accuracy_m: 8.0,
            crs: None,
            fix_time: started + chrono::Duration::minutes(2),
            mock: false,
        },
        started_at: started,
        finished_at: started + chrono::Duration::minutes(15),
        photo_ids: photo_ids.clone(),
        staff: Vec::new(),
        supersedes: None,
    };
    outbox.queue_visit(&visit, &form).unwrap();

    // No signal: the first photo goes into its backoff and the pass stops.
    let policy = RetryPolicy {
        base: Duration::from_millis(300),
        max: Duration::from_millis(600),
    };
    let token = worker.token().unwrap().to_owned();
    let offline = Client::new(unreachable()).with_token(token.clone());
    let report = outbox.push(&offline, &policy).await.unwrap();
    assert_eq!(report.retry_later, 1, "{report:?}");

    // Signal again, and the worker pushes at once, while the photo still waits out its backoff:
    // the visit must not go before its photos.
    let online = Client::new(app.base.clone()).with_token(token);
    let report = outbox.push(&online, &policy).await.unwrap();
    assert_eq!(report.needs_attention, 0, "{report:?}");
    let parked: Vec<_> = outbox
        .items()
        .unwrap()
        .into_iter()
        .filter(|i| i.state == ItemState::NeedsAttention)
        .collect();
    assert!(parked.is_empty(), "parked for good: {parked:?}");

    // Once the backoff is over, one push sends the photos and then the visit.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let report = outbox.push(&online, &policy).await.unwrap();
    assert_eq!(report.needs_attention, 0, "{report:?}");
    let items = outbox.items().unwrap();
    assert!(
        items.iter().all(|i| i.state == ItemState::Sent),
        "{items:?}"
    );
    let visits = coordinator
        .visits(&jiuzhu_mobile_api::client::VisitQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(visits.len(), 1, "exactly one visit");
    assert_eq!(visits[0].id, visit.id);
    assert_eq!(visits[0].photo_ids.len(), 2);

    // A visit whose photo reaches the server by another way is refused for it at first, and
    // waits instead of being parked.
    let task2 = coordinator
        .create_task(&CreateTask {
            kind: TaskKind::Visit,
            household_id: h.id,
            form_key: "doorstep".into(),
            assignee_id: Some(worker_id),
            due_date: (chrono::Utc::now() + chrono::Duration::days(3)).date_naive(),
            priority: 1,
            note: String::new(),
        })
        .await;
    if let Ok(task2) = task2 {
        let later = uuid::Uuid::new_v4();
        let mut second = visit.clone();
        second.id = uuid::Uuid::new_v4();
        second.task_id = task2.id;
        second.photo_ids = vec![photo_ids[0], later];
        second.answers["room_photo"] = json!(later.to_string());
        outbox.queue_visit(&second, &form).unwrap();
        let report = outbox.push(&online, &policy).await.unwrap();
        assert_eq!(report.retry_later, 1, "{report:?}");
        assert_eq!(report.needs_attention, 0, "{report:?}");
    }
}
both_backends!(visit_waits_for_its_photos, visit_waits_for_its_photos);
