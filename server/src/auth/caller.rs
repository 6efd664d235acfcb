//! Who is asking, with which role, over which subtree. The extractor that builds a `Caller` from
//! a request is `routes::extract`.

use actix_web::{http::header, HttpRequest};
use jiuzhu_proto::user::Role;
use jiuzhu_proto::{OrgUnitId, UserId};

use crate::auth::session::TokenIssuer;
use crate::auth::token::{self, TokenKind};
use crate::db::{self, repo};
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

/// An authenticated user, taken from a live access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub role: Role,
    pub org_unit_id: OrgUnitId,
    pub org_path: String,
    /// The token family this request's token belongs to (log-out revokes it).
    pub token_family: String,
    /// The device the session was opened on, when the log-in named one (phones do); audit
    /// records of the caller's writes carry it.
    pub device_id: Option<String>,
    /// An admin without a second factor while the server requires one: the session may only
    /// set one up (and read its account, and log out).
    pub second_factor_pending: bool,
}

impl Caller {
    /// The subtree this caller may read and write.
    pub fn scope(&self) -> Scope {
        Scope::subtree(&self.org_path)
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
pub fn presented_hash(tokens: &TokenIssuer<'_>, presented: Option<&str>) -> ApiResult<String> {
    let presented = presented.ok_or_else(ApiError::unauthorized)?;
    if !token::looks_like(TokenKind::Access, presented) {
        return Err(ApiError::unauthorized());
    }
    Ok(tokens.hash(presented))
}

/// The blocking half: the live token with this hash and its user, as a `Caller`, or 401; 403
/// `second_factor_enrolment_required` for a session that must set up a second factor first
/// (`admins_need_second_factor`: the server's policy). For a handler that authenticates inside
/// its own database call (sync) instead of paying a second trip to the blocking pool.
pub fn lookup(
    conn: &mut db::AnyConnection,
    hash: &str,
    admins_need_second_factor: bool,
) -> ApiResult<Caller> {
    let caller = lookup_session(conn, hash, admins_need_second_factor)?;
    if caller.second_factor_pending {
        return Err(crate::auth::second_factor::enrolment_required());
    }
    Ok(caller)
}

/// As [`lookup`], but a session that must set up a second factor first is let through (marked
/// `second_factor_pending`): for the few routes such a session may use.
pub fn lookup_session(
    conn: &mut db::AnyConnection,
    hash: &str,
    admins_need_second_factor: bool,
) -> ApiResult<Caller> {
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
        device_id: tok.device_id,
        second_factor_pending: crate::auth::second_factor::enrolment_pending(
            admins_need_second_factor,
            role,
            user.totp_enabled,
        ),
    })
}
