//! `POST /self-reports`.

use actix_web::{post, web};
use jiuzhu_proto::citizen::{CreateSelfReport, MySelfReport};

use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db;
use crate::domain::roles;
use crate::error::ApiResult;
use crate::self_reports;
use crate::state::AppState;

/// A citizen reports hardship: description, category hint, location (GCJ-02 unless `crs`
/// says otherwise), photos and a contact number. Routed to its grid's worker as a verify task;
/// outside every grid it waits in the city's queue.
#[utoipa::path(
    tag = "citizen",
    security(("bearer" = [])),
    request_body = CreateSelfReport,
    responses(
        (status = 200, description = "Received", body = MySelfReport),
        (status = 403, description = "Citizens only", body = ErrorBody),
        (status = 422, description = "Invalid report", body = ErrorBody),
    )
)]
#[post("/self-reports")]
pub async fn create_self_report(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateSelfReport>,
) -> ApiResult<web::Json<MySelfReport>> {
    caller.require(roles::CITIZENS)?;
    let input = body.into_inner();
    let citizen = caller.user_id.to_string();
    let path = caller.org_path.clone();
    let state = state.into_inner();
    let st = state.clone();
    let row = state
        .tx(move |conn| {
            self_reports::create(
                conn,
                &st.self_report_intake(&st.grids.get()),
                &citizen,
                &path,
                &input,
                db::now(),
            )
        })
        .await?;
    Ok(web::Json(self_reports::to_mine(&row)?))
}
