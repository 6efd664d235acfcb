//! The background job queue: two server instances on one database work a queue of jobs and
//! each job runs once; a job whose worker died is run again without doubling its effects; a
//! department import queued in the background reports like the direct one.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use jiuzhu_proto::household::Relation;
use jiuzhu_server::jobs::queue;
use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member, post_json};
use jiuzhu_tests::{both_backends, spawn_app_with, Backend};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn job_states(
    state: &std::sync::Arc<jiuzhu_server::state::AppState>,
) -> Vec<(String, String, i32, i32)> {
    state
        .db(|conn| {
            #[derive(QueryableByName)]
            struct JobState {
                #[diesel(sql_type = diesel::sql_types::Text)]
                id: String,
                #[diesel(sql_type = diesel::sql_types::Text)]
                state: String,
                #[diesel(sql_type = diesel::sql_types::Integer)]
                attempts: i32,
                #[diesel(sql_type = diesel::sql_types::Integer)]
                runs: i32,
            }
            let rows: Vec<JobState> =
                diesel::sql_query("SELECT id, state, attempts, runs FROM jobs ORDER BY id")
                    .load(conn)?;
            Ok(rows
                .into_iter()
                .map(|j| (j.id, j.state, j.attempts, j.runs))
                .collect())
        })
        .await
        .unwrap()
}

async fn wait_until_done(
    state: &std::sync::Arc<jiuzhu_server::state::AppState>,
) -> Vec<(String, String, i32, i32)> {
    let start = Instant::now();
    loop {
        let all = job_states(state).await;
        if all.iter().all(|(_, s, _, _)| s == "done" || s == "failed") {
            return all;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "jobs still waiting: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn two_instances_one_queue(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.discovery.job_poll_ms = 20).await else {
        return;
    };
    app.load_demo().await;
    let second = app.another_instance().await;
    let coordinator = app.login("coordinator").await;
    let mut ids = Vec::new();
    for i in 0..24 {
        let kind = ["stats_overview", "stats_mpi", "stats_relative_poverty"][i % 3];
        let (status, job) = post_json(&coordinator, "/jobs", json!({"kind": kind})).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        ids.push(job["id"].as_str().unwrap().to_owned());
    }
    // Besides the two instances' own workers, both drive the queue from here as hard as they can.
    let (a, b) = (app.state.clone(), second.clone());
    let drive = |s: std::sync::Arc<jiuzhu_server::state::AppState>, name: &'static str| async move {
        while queue::run_once(&s, name).await.unwrap() {}
    };
    tokio::join!(
        drive(a.clone(), "test-a"),
        drive(b, "test-b"),
        drive(a, "test-c")
    );
    let all = wait_until_done(&app.state).await;
    assert_eq!(all.len(), 24);
    for (id, state, attempts, runs) in &all {
        assert_eq!(state, "done", "{id}");
        assert_eq!((*attempts, *runs), (1, 1), "job {id} ran more than once");
    }
    let res = coordinator
        .request(Method::GET, &format!("/jobs/{}", ids[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["state"], "done");
    assert!(job["result"]["mpi"].is_number(), "{job}");
    // Someone else's job is not found.
    let worker = app.login("worker2").await;
    let res = worker
        .request(Method::GET, &format!("/jobs/{}", ids[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, body) = post_json(&coordinator, "/jobs", json!({"kind": "mine_bitcoin"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
}
both_backends!(two_instances_run_each_job_once, two_instances_one_queue);

async fn a_dead_worker_s_import_is_rerun(backend: Backend) {
    // No worker of the server's own: the test decides when jobs run.
    let Some(app) = spawn_app_with(backend, |s| s.discovery.job_poll_ms = 0).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    let admin = app.login("admin").await;
    let head = id_number("32040219700101001");
    coordinator
        .create_household(&household(
            "1 号",
            lat,
            lon,
            vec![member("户主", Relation::Head, &head)],
        ))
        .await
        .unwrap();
    let csv = format!(
        "record_id,id_number,settlement_date,total_cost,insurance_paid,out_of_pocket,hospital\n\
         YB-1,{head},2026-10-01,30000,15000,15000,医院\n"
    );
    let res = admin
        .request(Method::POST, "/imports/medical-claims?background=true")
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["state"], "queued");
    let id = job["id"].as_str().unwrap().to_owned();

    // A worker takes it, does the import, and dies before recording the result.
    let state = app.state.clone();
    let row = state
        .tx(|conn| Ok(queue::claim(conn, "doomed", jiuzhu_server::db::now())?))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.id, id);
    // What the doomed worker did before dying: the same import (the job runs exactly this).
    let res = admin
        .request(Method::POST, "/imports/medical-claims")
        .header("content-type", "text/csv")
        .body(csv.clone())
        .send()
        .await
        .unwrap();
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["matched"], 1, "{first}");
    // Its lease runs out.
    let expired = jiuzhu_server::db::now() - chrono::Duration::seconds(1);
    let jid = id.clone();
    state
        .db(move |conn| {
            diesel::sql_query("UPDATE jobs SET lease_until = $1 WHERE id = $2")
                .bind::<diesel::sql_types::Timestamp, _>(expired)
                .bind::<diesel::sql_types::Text, _>(&jid)
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    // Another worker runs it again: the record is already there, nothing doubles.
    assert!(queue::run_once(&state, "survivor").await.unwrap());
    let res = admin
        .request(Method::GET, &format!("/jobs/{id}"))
        .send()
        .await
        .unwrap();
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["attempts"], 2);
    assert_eq!(job["result"]["matched"], 0, "{job}");
    assert_eq!(job["result"]["duplicates"], 1);
    // Its progress went out with the renewal of its lease.
    assert_eq!(job["progress"]["phase"], "records", "{job}");
    assert_eq!(job["progress"]["rows"], 1, "{job}");
    let findings: Value = coordinator
        .request(Method::GET, "/findings?type=illness")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(findings["items"].as_array().unwrap().len(), 1);
    // The dead worker's late answer is not kept.
    assert!(!queue::run_once(&state, "idle").await.unwrap());
}
both_backends!(
    dead_worker_import_rerun_without_doubling,
    a_dead_worker_s_import_is_rerun
);
