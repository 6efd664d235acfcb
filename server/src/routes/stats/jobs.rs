//! `POST /jobs`, `GET /jobs/{id}`.

use actix_web::{get, post, web, HttpResponse};
use jiuzhu_proto::stats::{CreateStatsJob, Job};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::jobs::queue::{self, Work};
use crate::routes::parse_id;
use crate::state::AppState;

/// Queues a heavy statistic for a unit in scope (yours when absent); `GET /jobs/{id}` gives its
/// state and, when done, its result.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    request_body = CreateStatsJob,
    responses(
        (status = 202, description = "Queued", body = Job),
        (status = 404, description = "No such unit in scope", body = ErrorBody),
        (status = 422, description = "Unknown kind", body = ErrorBody),
    )
)]
#[post("/jobs")]
pub async fn create_job(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateStatsJob>,
) -> ApiResult<HttpResponse> {
    caller.require(COORDINATORS)?;
    let input = body.into_inner();
    let scope = caller.scope();
    let unit = caller.org_unit_id;
    let actor = caller.user_id.to_string();
    let job = state
        .into_inner()
        .tx(move |conn| {
            let (unit_id, sub) = crate::stats::unit_scope(conn, &scope, &unit, input.org_unit_id)?;
            let unit_id = unit_id.to_string();
            let work = match input.kind.as_str() {
                "stats_overview" => Work::StatsOverview { unit_id },
                "stats_mpi" => Work::StatsMpi { unit_id },
                "stats_relative_poverty" => Work::StatsRelativePoverty { unit_id },
                _ => {
                    return Err(ApiError::invalid(
                        "kind",
                        "unknown_kind",
                        "未知的任务类型",
                        "kind is stats_overview, stats_mpi or stats_relative_poverty",
                    ))
                }
            };
            let id = uuid::Uuid::now_v7().to_string();
            queue::enqueue(conn, &id, &work, sub.path(), Some(&actor), db::now())?;
            crate::audit::acted(
                conn,
                "job.create",
                "job",
                &id,
                sub.path(),
                serde_json::json!({ "kind": input.kind }),
            )?;
            queue::to_api(queue::find_in_scope(conn, &scope, &id)?)
        })
        .await?;
    Ok(HttpResponse::Accepted().json(job))
}

/// A background job in scope: state, attempts, result or error.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Job id")),
    responses(
        (status = 200, description = "The job", body = Job),
        (status = 404, description = "No such job in scope", body = ErrorBody),
    )
)]
#[get("/jobs/{id}")]
pub async fn get_job(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<web::Json<Job>> {
    caller.require(COORDINATORS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let scope = caller.scope();
    let job = state
        .into_inner()
        .db(move |conn| queue::to_api(queue::find_in_scope(conn, &scope, &id.to_string())?))
        .await?;
    Ok(web::Json(job))
}
