//! `GET /sync?cursor=`: everything that changed for the calling worker since the cursor.

use actix_web::http::header::ContentType;
use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use jiuzhu_proto::task::SyncPage;
use jiuzhu_proto::ErrorBody;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::caller;
use crate::domain::roles;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
// Named here: the handler takes the query from the request rather than as an argument, so the
// location cannot be inferred.
#[into_params(parameter_in = Query)]
pub struct SyncQuery {
    /// The `cursor` of the last page; absent for the full current set.
    #[param(nullable)]
    pub cursor: Option<String>,
}

/// A grid worker's sync: tasks, the (masked) households they need, the pinned form versions, and
/// tombstones for whatever was cancelled or reassigned away. Read-only; safe to repeat.
#[utoipa::path(
    tag = "sync",
    security(("bearer" = [])),
    params(SyncQuery),
    responses(
        (status = 200, description = "A page of changes", body = SyncPage),
        (status = 400, description = "An edited, truncated, foreign or future cursor", body = ErrorBody),
        (status = 403, description = "Only grid workers sync", body = ErrorBody),
    )
)]
#[get("/sync")]
pub async fn sync(state: web::Data<AppState>, req: HttpRequest) -> actix_web::Result<HttpResponse> {
    // Sync is the hottest route (every phone, every morning), so it authenticates inside its one
    // database call rather than through the `Caller` extractor: one trip to the blocking pool
    // instead of two. The errors come in the order the extractors gave them: token (401), query
    // (400), role (403), cursor (400).
    let state = state.into_inner();
    let token_hash = caller::presented_hash(&state.tokens(), caller::bearer(&req))?;
    // Parsed now with the app's query configuration; its error is raised after authentication.
    let (query, query_error) = match web::Query::<SyncQuery>::extract(&req).await {
        Ok(q) => (Some(q.into_inner()), None),
        Err(e) => (None, Some(e)),
    };
    let st = state.clone();
    let second_factor = state.settings.admin_second_factor_required();
    let page = state
        .db(move |conn| {
            let caller = caller::lookup(conn, &token_hash, second_factor)?;
            let Some(query) = query else {
                return Ok(None);
            };
            caller.require(roles::GRID_WORKERS)?;
            let me = caller.user_id.to_string();
            let sources = st.sync_sources();
            crate::sync::page(
                conn,
                &sources,
                &me,
                &caller.scope(),
                query.cursor.as_deref(),
            )
            .map(Some)
        })
        .await?;
    match (page, query_error) {
        (Some(page), _) => Ok(HttpResponse::Ok()
            .content_type(ContentType::json())
            .body(page)),
        (None, Some(e)) => Err(e),
        (None, None) => Err(ApiError::internal(anyhow::anyhow!("sync query lost")).into()),
    }
}
