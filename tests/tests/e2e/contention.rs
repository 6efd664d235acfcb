//! Readers are served while SQLite's one writer is busy with something long (a household
//! import's batch, a figures job): the requests' writes that wait behind it wait at the server's
//! write gate, holding no pooled connection, so reads still find one. Before the gate, each
//! waiting write held a connection for up to the busy timeout and reads answered 503.

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use jiuzhu_tests::{spawn_app_with, Backend};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::call;

#[tokio::test]
async fn reads_are_served_while_writes_wait_for_a_long_one() {
    let Some(app) = spawn_app_with(Backend::Sqlite, |s| s.db_pool_size = 6).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let street = app.login("street").await;
    let street_id = street.me().await.unwrap().id;

    // Another process's long write: SQLite's lock, held for a few seconds.
    let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
    let owner_url = app.owner_url.clone();
    let hold = Duration::from_secs(4);
    let holder = tokio::task::spawn_blocking(move || {
        let (_, pool) = jiuzhu_server::db::connect(&owner_url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        conn.batch_execute("BEGIN IMMEDIATE").unwrap();
        let _ = locked_tx.send(());
        std::thread::sleep(hold);
        conn.batch_execute("COMMIT").unwrap();
        Instant::now()
    });
    locked_rx.await.unwrap();

    // Twice as many writes as the pool has connections queue behind it.
    let writes: Vec<_> = (0..12)
        .map(|n| {
            let admin = admin.clone();
            tokio::spawn(async move {
                let path = format!("/users/{street_id}");
                let body = json!({"display_name": format!("街道干部{n}")});
                call(&admin, Method::PATCH, &path, Some(body)).await.0
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Reads meanwhile: each answered while the lock is still held.
    let mut read_at = Vec::new();
    for path in ["/me", "/users?limit=5", "/org-units?limit=5"] {
        let (status, body) = call(&street, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        read_at.push(Instant::now());
    }
    let released_at = holder.await.unwrap();
    assert!(
        read_at.iter().all(|t| *t < released_at),
        "reads waited for the long write to end"
    );
    // And every write went through once it ended.
    for w in writes {
        assert_eq!(w.await.unwrap(), StatusCode::OK);
    }
}
