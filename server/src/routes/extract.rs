//! The `Caller` extractor: the bearer token of a request, looked up, as the user it belongs to.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};

use crate::auth::caller::{bearer, lookup_session, presented_hash, Caller};
use crate::auth::second_factor;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

async fn authenticate(state: Arc<AppState>, presented: Option<String>) -> ApiResult<Caller> {
    let hash = presented_hash(&state.tokens(), presented.as_deref())?;
    let required = state.settings.admin_second_factor_required();
    let caller = state
        .db(move |conn| lookup_session(conn, &hash, required))
        .await?;
    // The request's audit records name this caller.
    crate::telemetry::set_request_actor(caller.user_id.to_string(), caller.device_id.clone());
    Ok(caller)
}

fn authenticate_request(req: &HttpRequest) -> Pin<Box<dyn Future<Output = ApiResult<Caller>>>> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .map(|d| d.clone().into_inner());
    let presented = bearer(req).map(str::to_owned);
    Box::pin(async move {
        let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no app state")))?;
        authenticate(state, presented).await
    })
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate_request(req);
        Box::pin(async move {
            let caller = caller.await?;
            if caller.second_factor_pending {
                return Err(second_factor::enrolment_required());
            }
            Ok(caller)
        })
    }
}

/// A caller who may also be an admin still to set up a second factor: for reading one's own
/// account, setting the second factor up, and logging out.
pub struct Enrolling(pub Caller);

impl FromRequest for Enrolling {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = authenticate_request(req);
        Box::pin(async move { Ok(Enrolling(caller.await?)) })
    }
}
