//! `jiuzhu-field` as a worker uses it: log in, sync, list tasks, record a visit, look at the
//! outbox, push — the real binary against a real server, on both backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Output;

use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::task::{CreateTask, TaskKind};
use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member};
use jiuzhu_tests::{both_backends, spawn_app, Backend, DEMO_PASSWORD};
use serde_json::json;

async fn field(server: &str, home: &Path, args: &[&str]) -> Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_jiuzhu-field"))
        .arg("--server")
        .arg(server)
        .arg("--home")
        .arg(home)
        .args(args)
        .env("JIUZHU_PASSWORD", DEMO_PASSWORD)
        .output()
        .await
        .unwrap();
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn a_day_in_the_field(backend: Backend) {
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
             "required": true}
        ]
    }))
    .unwrap();
    admin.create_form(&form).await.unwrap();
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let h = coordinator
        .create_household(&household(
            "1 号",
            lat,
            lon,
            vec![member(
                "户主",
                Relation::Head,
                &id_number("32040219700101001"),
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

    let home = app.state.settings.data_dir.join("phone");
    let server = app.base.as_str();
    let out = field(server, &home, &["login", "worker1"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("grid_worker"));
    #[cfg(unix)]
    {
        // The tokens act for the worker; the folder holds households' answers: owner only.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home.join("session.json")), 0o600, "session.json");
        assert_eq!(mode(&home), 0o700, "the phone's home folder");
    }
    let out = field(server, &home, &["sync"]).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 tasks"), "{}", text(&out));
    let out = field(server, &home, &["tasks"]).await;
    assert!(text(&out).contains(&task.id.to_string()), "{}", text(&out));
    assert!(text(&out).contains("1 号"));

    // Bad answers are caught on the phone and nothing is queued.
    let answers = home.join("answers.json");
    std::fs::write(&answers, r#"{"income": -1}"#).unwrap();
    let task_id = task.id.to_string();
    let photo = format!(
        "house_photo={}/../../shared/data/photos/gps/DSCN0012.jpg",
        env!("CARGO_MANIFEST_DIR")
    );
    let visit_args = [
        "visit",
        "--task",
        task_id.as_str(),
        "--answers",
        answers.to_str().unwrap(),
        "--photo",
        photo.as_str(),
    ];
    let out = field(server, &home, &visit_args).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("income"), "{}", text(&out));
    let out = field(server, &home, &["outbox"]).await;
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "");

    std::fs::write(&answers, r#"{"income": 4800}"#).unwrap();
    let out = field(server, &home, &visit_args).await;
    assert!(out.status.success(), "{}", text(&out));
    let out = field(server, &home, &["outbox"]).await;
    assert!(text(&out).contains("queued"), "{}", text(&out));
    let out = field(server, &home, &["push"]).await;
    assert!(out.status.success(), "{}", text(&out));
    // The photo first, then the visit that names it.
    assert!(text(&out).contains("sent 2,"), "{}", text(&out));
    let out = field(server, &home, &["outbox"]).await;
    assert!(text(&out).contains("sent"), "{}", text(&out));
    let visits = coordinator
        .visits(&jiuzhu_mobile_api::client::VisitQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(visits.len(), 1);
    assert_eq!(visits[0].answers["income"], 4800);
    assert_eq!(visits[0].photo_ids.len(), 1);
    assert_eq!(
        visits[0].answers["house_photo"],
        visits[0].photo_ids[0].to_string()
    );
    // Flagged: that photo was taken in Italy, long before the task.
    assert!(visits[0]
        .flags
        .iter()
        .any(|f| f.code == jiuzhu_proto::visit::FlagCode::PhotoFar));
    // The submitted task leaves the phone on the next sync.
    field(server, &home, &["sync"]).await;
    let out = field(server, &home, &["tasks"]).await;
    assert!(!text(&out).contains(&task_id), "{}", text(&out));
}

both_backends!(field_cli, a_day_in_the_field);
