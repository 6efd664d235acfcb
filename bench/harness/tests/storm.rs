//! `jiuzhu-bench storm`, the benchmarks' load generator, on small workloads seeded by the
//! server's benchmark harness (`jiuzhu bench-seed`): the real binary against a real server, on both
//! backends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use jiuzhu_tests::{both_backends, spawn_app, Backend};

async fn bench(server: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_jiuzhu-bench"))
        .arg("--server")
        .arg(server)
        .args(args)
        .output()
        .await
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `jiuzhu-bench storm`: every seeded worker's first sync brings its tasks, then incremental
/// syncs with the cursor run for the measured time, with no error.
async fn a_small_sync_storm(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo_with_households(40).await;
    let tokens = app.state.settings.data_dir.join("storm-tokens.json");
    let seeded = app.bench_seed(4, 3, None, &tokens).await;
    assert_eq!(seeded.workers_created, 4);
    assert_eq!(seeded.tasks_created, 12);
    let out = bench(
        &app.base,
        &[
            "storm",
            "--tokens",
            tokens.to_str().unwrap(),
            "--concurrency",
            "2",
            "--warmup",
            "0.2",
            "--duration",
            "0.5",
            "--json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["workers"], 4, "{report}");
    assert_eq!(report["tasks_per_worker"], 3, "{report}");
    let first = &report["first_sync"];
    assert_eq!(first["syncs"], 4, "{report}");
    assert_eq!(first["full_syncs"], 4, "{report}");
    assert_eq!(first["errors"], 0, "{report}");
    let incremental = &report["incremental"];
    assert!(incremental["syncs"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(incremental["errors"], 0, "{report}");
    assert_eq!(incremental["full_syncs"], 0, "{report}");

    // A worker holding other than the expected number of tasks is counted as an error.
    let out = bench(
        &app.base,
        &[
            "storm",
            "--tokens",
            tokens.to_str().unwrap(),
            "--tasks-per-worker",
            "5",
            "--first-only",
            "--json",
        ],
    )
    .await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["first_sync"]["errors"], 4, "{}", text(&out));
    assert_eq!(
        report["first_sync"]["errors_by_kind"]["wrong_task_count"], 4,
        "{report}"
    );
}

both_backends!(sync_storm, a_small_sync_storm);

/// `jiuzhu-bench storm --visits` on a small seeded workload: every visit acknowledged, none
/// refused, and every acknowledged one listed by the server afterwards.
async fn a_small_visit_storm(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo_with_households(40).await;
    let tokens = app.state.settings.data_dir.join("storm-tokens.json");
    let seeded = app.bench_seed(3, 2, Some(25), &tokens).await;
    assert_eq!(seeded.tasks_created, 6);
    assert_ne!(
        app.analyzed("tasks").await,
        Some(false),
        "tasks not analyzed"
    );
    let out = bench(
        &app.base,
        &[
            "storm",
            "--visits",
            "--tokens",
            tokens.to_str().unwrap(),
            "--concurrency",
            "4",
            "--json",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["planned"], 6, "{report}");
    assert_eq!(report["created"], 6, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["form_fields"], 25);
    let v = &report["verification"];
    assert_eq!(v["acknowledged"], 6, "{report}");
    assert_eq!(v["stored"], 6, "{report}");
    assert_eq!(v["missing"], 0, "{report}");
    // The visits are real: an administrator sees them, answered.
    let admin = app.login("admin").await;
    let visits = admin
        .visits(&jiuzhu_mobile_api::client::VisitQuery::default())
        .await
        .unwrap()
        .items;
    assert_eq!(visits.len(), 6);
    assert!(visits.iter().all(|v| v.form_key == "storm_visit_25"));
    assert!(visits.iter().all(|v| v.answers["q000"].is_string()));

    // A second storm on the same tokens finds every task submitted: all refused, and the tool
    // fails rather than report a throughput.
    let out = bench(
        &app.base,
        &[
            "storm",
            "--visits",
            "--tokens",
            tokens.to_str().unwrap(),
            "--json",
        ],
    )
    .await;
    assert!(!out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["created"], 0, "{report}");
    assert_eq!(report["errors"], 6, "{report}");
}

both_backends!(visit_storm, a_small_visit_storm);
