//! End-to-end tests: a real server on port 0, each test on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_surface;
mod audit;
mod audit_actions;
mod auth;
mod authz;
mod backup;
mod contention;
mod demo_activity;
mod demo_households;
mod departments;
mod discovery;
mod exports;
mod household_import;
mod households;
mod jobs;
mod lockout;
mod migrations;
mod org_units;
mod photos;
mod rechecks;
mod reseal;
mod scope;
mod second_factor;
mod stats;
mod sync_full;
mod tasks;
mod users;
mod visits;

/// A request through the client: its status and JSON body (`Null` when it has none).
async fn call(
    client: &jiuzhu_mobile_api::Client,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut req = client.request(method, path);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}
