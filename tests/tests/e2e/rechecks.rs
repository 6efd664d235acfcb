//! The recurring re-check job: the right households, on time, once, with two instances running it.

use chrono::{Duration, Utc};
use jiuzhu_mobile_api::client::TaskQuery;
use jiuzhu_proto::household::{AssistanceStatus, Relation};
use jiuzhu_proto::task::{TaskKind, TaskState};
use jiuzhu_server::jobs::recheck;
use jiuzhu_tests::{both_backends, spawn_app, Backend};

use crate::households::{coordinator_grid, household, id_number, member};

async fn rechecks_are_created_once(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let today = (Utc::now() + Duration::hours(8)).date_naive();
    // (status, days in it, irregular income, due?)
    let cases = [
        (AssistanceStatus::Dibao, 400, false, true),
        (AssistanceStatus::Dibao, 100, false, false),
        (AssistanceStatus::Dibao, 200, true, true),
        (AssistanceStatus::Dibao, 100, true, false),
        (AssistanceStatus::Tekun, 366, false, true),
        (AssistanceStatus::Edge, 900, false, false),
        (AssistanceStatus::None, 900, false, false),
    ];
    let mut due = Vec::new();
    for (i, (status, days, irregular, is_due)) in cases.iter().enumerate() {
        let mut h = household(
            &format!("{i} 号"),
            lat,
            lon,
            vec![member(
                "户主",
                Relation::Head,
                &id_number(&format!("32040219500101{i:03}")),
            )],
        );
        h.status = Some(*status);
        h.status_since = Some(today - Duration::days(*days));
        if *irregular {
            h.tags = vec!["irregular_income".into()];
        }
        let created = coordinator.create_household(&h).await.unwrap();
        if *is_due {
            due.push(created.id);
        }
    }

    // Two instances run the job at the same moment.
    let second = app.another_instance().await;
    let (a, b) = tokio::join!(recheck::run(&app.state), recheck::run(&second));
    assert_eq!(a.unwrap() + b.unwrap(), due.len());
    let tasks = coordinator
        .tasks(&TaskQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let mut got: Vec<_> = tasks
        .iter()
        .filter(|t| t.kind == TaskKind::Recheck)
        .map(|t| t.household_id)
        .collect();
    got.sort();
    due.sort();
    assert_eq!(got, due);
    // Assigned to the grid's worker, due in 30 days, the home-visit form pinned.
    assert!(tasks.iter().all(|t| t.state == TaskState::Assigned
        && t.form_key == "home_visit"
        && t.form_version.is_some()
        && t.due_date == today + Duration::days(30)));

    // Running again creates nothing: the open tasks stand.
    assert_eq!(recheck::run(&second).await.unwrap(), 0);
    assert_eq!(recheck::run(&app.state).await.unwrap(), 0);
}

both_backends!(recheck_schedule, rechecks_are_created_once);
