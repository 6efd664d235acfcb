//! `/healthz`, `/readyz`, `/metrics`: for load balancers and Prometheus, outside `/api/v1`.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::db;
use crate::state::AppState;

/// The process is up.
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers and every migration is applied.
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let ready = state
        .into_inner()
        .db(|conn| db::migrations_current(conn).map_err(crate::error::ApiError::unavailable))
        .await;
    match ready {
        Ok(true) => HttpResponse::Ok().json(json!({"status": "ready"})),
        Ok(false) => {
            HttpResponse::ServiceUnavailable().json(json!({"status": "migrations_pending"}))
        }
        Err(_) => {
            HttpResponse::ServiceUnavailable().json(json!({"status": "database_unreachable"}))
        }
    }
}

/// Prometheus text format.
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render(&state.database.pool))
}
