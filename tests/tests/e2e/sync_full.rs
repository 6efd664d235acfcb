//! A sync's households are written straight from the rows into the answer (`registry::wire`), a
//! full sync's and a page's after a cursor alike; both must show exactly the households that
//! `GET /households/{id}` shows (`registry::read`), to the byte.

use jiuzhu_mobile_api::Client;
use jiuzhu_proto::household::{DisabilityType, Health, Household, Income, Relation, WorkStatus};
use jiuzhu_proto::task::SyncPage;
use jiuzhu_tests::fixtures::{coordinator_grid, id_number, member};
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::call;

/// The page and its raw JSON.
async fn sync(client: &Client, cursor: Option<&str>) -> (SyncPage, Value) {
    let mut req = client.request(Method::GET, "/sync");
    if let Some(c) = cursor {
        req = req.query(&[("cursor", c)]);
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = res.json().await.unwrap();
    (serde_json::from_value(body.clone()).unwrap(), body)
}

async fn full_sync_households_match_paged_ones(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (grid, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    // Households of one, two and three members, one with tags and a changed status; every
    // optional value both present and absent, and text that needs escaping or is 4-byte UTF-8.
    let mut ids = Vec::new();
    for i in 0..3u32 {
        let members: Vec<_> = (0..=i)
            .map(|m| {
                let relation = if m == 0 {
                    Relation::Head
                } else {
                    Relation::Child
                };
                let mut input = member(
                    &format!("成员{i}{m}"),
                    relation,
                    &id_number(&format!("32040219800101{i}{m}0")),
                );
                if m == 1 {
                    input.name = format!("𠀋\u{202e}\"引号\"\\{i}🙂");
                    input.health = Health::GraveIllness;
                    input.disability_type = Some(DisabilityType::Physical);
                    input.disability_level = Some(2);
                    input.daily_living.bathing = false;
                    input.work_status = WorkStatus::UnableToWork;
                    input.annual_income = Income {
                        pension_fen: 120_050,
                        other_fen: 1,
                        ..Income::default()
                    };
                    input.phone = None;
                }
                input
            })
            .collect();
        let h = match i {
            // No location: the grid is given.
            0 => {
                json!({"address": "同步路 0 号 \"后楼\" \\ 𠀋", "grid_id": grid.id, "members": members})
            }
            _ => json!({"address": format!("同步路 {i} 号"), "location": {"lat": lat, "lon": lon},
                "external_id": format!("EXT-\"{i}\"-𠀋"), "members": members}),
        };
        let (status, body) = call(&coordinator, Method::POST, "/households", Some(h)).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.push(serde_json::from_value::<Household>(body).unwrap().id);
    }
    let h = ids[2].to_string();
    let (_, current) = call(&coordinator, Method::GET, &format!("/households/{h}"), None).await;
    let (status, body) = call(
        &coordinator,
        Method::PATCH,
        &format!("/households/{h}"),
        Some(json!({"version": current["version"], "tags": ["独居", "低保", "\"q\""], "notes": "二楼",
            "status": "dibao", "status_since": "2026-01-15", "status_note": "审批通过"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A second change closes the first period: one `to` date set, one not.
    let (status, body) = call(
        &coordinator,
        Method::PATCH,
        &format!("/households/{h}"),
        Some(json!({"version": body["version"], "status": "tekun", "status_since": "2026-03-01"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let worker = app.login("worker1").await;
    let (empty, _) = sync(&worker, None).await;
    assert!(empty.tasks.is_empty() && empty.households.is_empty());

    let due = (chrono::Utc::now() + chrono::Duration::days(14)).date_naive();
    let (status, body) = call(&coordinator, Method::POST, "/tasks/bulk", Some(json!({"kind": "visit", "form_key": "home_visit", "target": {"grid": grid.id}, "due_date": due}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["created"], 3, "{body}");

    // The same households (and tasks and forms) either way, in the same order, to the byte.
    let (paged, paged_json) = sync(&worker, Some(&empty.cursor)).await;
    let (full, full_json) = sync(&worker, None).await;
    assert_eq!(full.households.len(), 3);
    assert_eq!(full_json["households"], paged_json["households"]);
    assert_eq!(full_json["tasks"], paged_json["tasks"]);
    assert_eq!(full_json["forms"], paged_json["forms"]);
    assert_eq!(full.forms.len(), 1);
    assert_eq!(
        full.households
            .iter()
            .map(|h| h.members.len())
            .collect::<Vec<_>>()
            .iter()
            .sum::<usize>(),
        6
    );
    let mut sorted: Vec<String> = full.households.iter().map(|h| h.id.to_string()).collect();
    sorted.sort();
    assert_eq!(
        full.households
            .iter()
            .map(|h| h.id.to_string())
            .collect::<Vec<_>>(),
        sorted
    );
    let tagged = full.households.iter().find(|h| h.id == ids[2]).unwrap();
    assert_eq!(tagged.tags.len(), 3);
    assert!(tagged.status_history.iter().any(|p| p.to.is_some()));
    assert!(tagged.status_history.iter().any(|p| p.to.is_none()));
    assert_eq!(tagged.notes, "二楼");
    assert!(full
        .households
        .iter()
        .flat_map(|h| &h.members)
        .all(|m| m.id_number_masked.contains("********")));
    for (h, json) in full
        .households
        .iter()
        .zip(full_json["households"].as_array().unwrap())
    {
        let (_, one) = call(&worker, Method::GET, &format!("/households/{}", h.id), None).await;
        assert_eq!(&one, json);
    }
    assert!(full.households.iter().any(|h| h.location.is_none()));
    assert!(full.households.iter().any(|h| h.external_id.is_none()));
    let members: Vec<_> = full.households.iter().flat_map(|h| &h.members).collect();
    assert!(members
        .iter()
        .any(|m| m.name.starts_with("𠀋\u{202e}\"引号\"")));
    assert!(members
        .iter()
        .any(|m| m.phone_masked.is_none() && m.disability_level == Some(2)));
    assert!(members
        .iter()
        .any(|m| m.phone_masked.is_some() && m.disability_type.is_none()));
    let _ = paged;

    // A cancelled task's household leaves the full set; the others stay as they were.
    let cancelled = full
        .tasks
        .iter()
        .find(|t| t.household_id == ids[0])
        .unwrap();
    let (status, body) = call(
        &coordinator,
        Method::POST,
        &format!("/tasks/{}/cancel", cancelled.id),
        Some(json!({"reason": "户已迁出"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (after, after_json) = sync(&worker, None).await;
    assert_eq!(after.tasks.len(), 2);
    assert!(after.households.iter().all(|h| h.id != ids[0]));
    let kept: Vec<&Value> = full_json["households"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["id"] != json!(ids[0]))
        .collect();
    assert_eq!(
        after_json["households"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        kept
    );

    // Another worker's full sync holds none of these.
    let other = app.login("worker2").await;
    let (theirs, _) = sync(&other, None).await;
    assert!(theirs.households.iter().all(|h| !ids.contains(&h.id)));
}
both_backends!(full_sync, full_sync_households_match_paged_ones);
