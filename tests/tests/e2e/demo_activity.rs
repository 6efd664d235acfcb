//! The living demo city: six weeks of activity seeded through the domain, deterministic and
//! seeded once; every list a newcomer opens has something in it, and each street sees its own.

use std::collections::BTreeSet;

use jiuzhu_mobile_api::Client;
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use reqwest::Method;
use serde_json::Value;

async fn items(client: &Client, path: &str) -> Vec<Value> {
    let res = client.request(Method::GET, path).send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().cloned().unwrap_or_default()
}

fn strings(items: &[Value], key: &str) -> BTreeSet<String> {
    items
        .iter()
        .filter_map(|i| i[key].as_str().map(str::to_owned))
        .collect()
}

async fn living_demo(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo_with_households(jiuzhu_server::demo::households::FULL_COUNT)
        .await;
    let report = jiuzhu_server::demo::activity::seed(&app.state)
        .await
        .unwrap();
    assert!(!report.already);
    assert!(report.tasks >= 60 && report.visits >= 40, "{report:?}");
    assert_eq!(report.photos, 2 * report.visits);
    assert!(report.findings_converted > 0 && report.findings_dismissed > 0);
    assert_eq!(report.self_reports, 3);

    // Applications wait at every step of the workflow, some overdue, one notice over.
    let district = app.login("district").await;
    let apps = items(&district, "/applications?limit=200").await;
    let states = strings(&apps, "state");
    for state in [
        "submitted",
        "returned",
        "accepted",
        "investigating",
        "first_review",
        "public_notice",
        "democratic_review",
        "approved",
        "active",
        "refused",
    ] {
        assert!(states.contains(state), "no application {state}: {states:?}");
    }
    assert!(apps.iter().any(|a| a["overdue"] == true), "none overdue");
    let today = (chrono::Utc::now() + chrono::Duration::hours(8))
        .date_naive()
        .to_string();
    let notice_over = apps.iter().find(|a| {
        a["state"] == "public_notice"
            && a["notice_ends_on"]
                .as_str()
                .is_some_and(|d| d < today.as_str())
    });
    let notice_over = notice_over.expect("an application whose notice has ended");
    // The district can decide it today: the detail offers approval, not blocked.
    let id = notice_over["id"].as_str().unwrap();
    let res = district
        .request(Method::GET, &format!("/applications/{id}"))
        .send()
        .await
        .unwrap();
    let detail: Value = res.json().await.unwrap();
    let approve = detail["allowed_actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action"] == "approve")
        .cloned()
        .unwrap();
    assert!(approve["blocked"].is_null(), "{detail}");

    // Visits carry each kind of verification flag, and reviews of each kind were made.
    let visits = items(&district, "/visits?limit=200").await;
    let flags: BTreeSet<String> = visits
        .iter()
        .flat_map(|v| v["flags"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f["code"].as_str().map(str::to_owned))
        .collect();
    for code in [
        "far_from_household",
        "outside_grid",
        "poor_accuracy",
        "mock_location",
        "too_short",
        "fix_time_mismatch",
        "photo_far",
        "photo_time_mismatch",
        "duplicate_photo",
        "similar_photo",
        "photo_before_task",
    ] {
        assert!(flags.contains(code), "no visit flagged {code}: {flags:?}");
    }
    let reviews = strings(&visits, "review_state");
    for state in ["pending", "approved", "has_issues", "rejected"] {
        assert!(reviews.contains(state), "{reviews:?}");
    }
    // Tasks in every state, some overdue; findings open, converted, dismissed.
    let tasks = items(&district, "/tasks?limit=500").await;
    let task_states = strings(&tasks, "state");
    for state in [
        "pending",
        "assigned",
        "accepted",
        "submitted",
        "reviewed",
        "cancelled",
    ] {
        assert!(task_states.contains(state), "{task_states:?}");
    }
    assert!(tasks.iter().any(|t| t["overdue"] == true));
    let findings = items(&district, "/findings?limit=200").await;
    let finding_states = strings(&findings, "state");
    for state in ["open", "converted", "dismissed"] {
        assert!(finding_states.contains(state), "{finding_states:?}");
    }
    assert!(strings(&findings, "type").contains("self_report"));

    // Each street sees its own applications and none of the other's.
    let street = app.login("street").await;
    let street2 = app.login("street2").await;
    let mine = strings(&items(&street, "/applications?limit=200").await, "id");
    let theirs = strings(&items(&street2, "/applications?limit=200").await, "id");
    assert!(!mine.is_empty() && !theirs.is_empty());
    assert!(mine.is_disjoint(&theirs));
    assert_eq!(mine.len() + theirs.len(), apps.len());

    // Seeded once: a second start adds nothing.
    let again = jiuzhu_server::demo::activity::seed(&app.state)
        .await
        .unwrap();
    assert!(again.already);
    assert_eq!(
        items(&district, "/applications?limit=200").await.len(),
        apps.len()
    );
}
both_backends!(living_demo, living_demo);
