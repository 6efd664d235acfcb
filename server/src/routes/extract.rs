//! The `Caller` extractor: the bearer token of a request, looked up, as the user it belongs to.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::auth::caller::{bearer, lookup, presented_hash, Caller};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

async fn authenticate(state: Arc<AppState>, presented: Option<String>) -> ApiResult<Caller> {
    let hash = presented_hash(&state.tokens(), presented.as_deref())?;
    let caller = state.db(move |conn| lookup(conn, &hash)).await?;
    // The request's audit records name this caller.
    crate::telemetry::set_request_actor(caller.user_id.to_string(), caller.device_id.clone());
    Ok(caller)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req
            .app_data::<web::Data<AppState>>()
            .map(|d| d.clone().into_inner());
        let presented = bearer(req).map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
            authenticate(state, presented).await
        })
    }
}
