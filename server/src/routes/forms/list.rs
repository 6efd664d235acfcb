//! `GET /forms`: every form with its newest version.

use actix_web::{get, web};
use jiuzhu_proto::form::Label;
use jiuzhu_proto::task::FormSummary;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::tasks as repo;
use crate::domain::roles::STAFF;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// All forms.
#[utoipa::path(
    tag = "forms",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Forms", body = Vec<FormSummary>),
        (status = 403, description = "Citizens have no forms", body = ErrorBody),
    )
)]
#[get("/forms")]
pub async fn list_forms(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<FormSummary>>> {
    caller.require(STAFF)?;
    let rows = state
        .into_inner()
        .db(|conn| Ok(repo::list_forms(conn)?))
        .await?;
    let forms = rows
        .into_iter()
        .map(|(key, title, latest_version)| {
            Ok(FormSummary {
                key,
                title: serde_json::from_str::<Label>(&title).map_err(ApiError::internal)?,
                latest_version,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(web::Json(forms))
}
