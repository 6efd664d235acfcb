//! The `Caller` extractor: who is asking, with which role, over which subtree.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{http::header, web, FromRequest, HttpRequest};
use jiuzhu_proto::user::Role;
use jiuzhu_proto::{OrgUnitId, UserId};

use crate::auth::token::{self, TokenKind};
use crate::db::{self, repo};
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;
use crate::state::AppState;

/// An authenticated user, taken from a live access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub role: Role,
    pub org_unit_id: OrgUnitId,
    pub org_path: String,
    /// The token family this request's token belongs to (log-out revokes it).
    pub token_family: String,
}

impl Caller {
    /// The subtree this caller may read and write.
    pub fn scope(&self) -> Scope {
        Scope::subtree(&self.org_path)
    }

    /// The caller as the author of a workflow step.
    pub fn actor(&self) -> crate::applications::Actor {
        crate::applications::Actor {
            id: self.user_id.to_string(),
            role: self.role,
        }
    }

    /// Refuses unless the caller has one of the roles.
    pub fn require(&self, roles: &[Role]) -> ApiResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

/// The bearer token in the Authorization header, if well-formed.
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// The cheap half of authentication, before any query: the stored form of the presented access
/// token, or 401.
pub fn presented_hash(state: &AppState, presented: Option<&str>) -> ApiResult<String> {
    let presented = presented.ok_or_else(ApiError::unauthorized)?;
    if !token::looks_like(TokenKind::Access, presented) {
        return Err(ApiError::unauthorized());
    }
    Ok(token::hash(&state.secrets.token_pepper, presented))
}

/// The blocking half: the live token with this hash and its user, as a `Caller`, or 401. For a
/// handler that authenticates inside its own database call (sync) instead of paying a second
/// trip to the blocking pool.
pub fn lookup(conn: &mut db::AnyConnection, hash: &str) -> ApiResult<Caller> {
    let (tok, user) = repo::tokens::find_live(conn, hash, "access", db::now())?
        .ok_or_else(ApiError::unauthorized)?;
    if user.disabled {
        return Err(ApiError::unauthorized());
    }
    let role = Role::parse(&user.role)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown role in database")))?;
    Ok(Caller {
        user_id: user.id.parse().map_err(ApiError::internal)?,
        role,
        org_unit_id: user.org_unit_id.parse().map_err(ApiError::internal)?,
        org_path: user.org_path,
        token_family: tok.family_id,
    })
}

async fn authenticate(state: Arc<AppState>, presented: Option<String>) -> ApiResult<Caller> {
    let hash = presented_hash(&state, presented.as_deref())?;
    let caller = state.db(move |conn| lookup(conn, &hash)).await?;
    // The request's audit records name this caller.
    crate::telemetry::set_request_actor(caller.user_id.to_string());
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
