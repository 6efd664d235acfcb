//! `GET /audit`: audit records in the caller's subtree, newest first, by actor, action, object
//! and time.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use jiuzhu_proto::audit::{AuditRecord, AuditResult};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::{ErrorBody, ErrorCode};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::audit::{AuditFilter, AuditRow};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::routes::{audit::AUDITORS, page_limit};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only what this user did.
    pub actor_id: Option<String>,
    /// Only this action, e.g. `household.view`.
    pub action: Option<String>,
    /// Only records about this kind of object, e.g. `household`.
    pub entity: Option<String>,
    /// Only records about this object.
    pub entity_id: Option<String>,
    /// Records at or after this time (RFC 3339).
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// Records before this time (RFC 3339).
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// The `next` of the previous page.
    pub cursor: Option<String>,
    /// Records per page (1 to 500, default 50).
    pub limit: Option<i64>,
}

fn bad_time(field: &str) -> ApiError {
    ApiError::bad_request(
        ErrorCode::BadRequest,
        format!("{field} 不是 RFC 3339 时间"),
        format!("{field} is not an RFC 3339 time"),
    )
}

fn parse_time(raw: Option<&str>, field: &str) -> ApiResult<Option<chrono::NaiveDateTime>> {
    raw.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| t.with_timezone(&Utc).naive_utc())
            .map_err(|_| bad_time(field))
    })
    .transpose()
}

/// Audit records in the caller's subtree, newest first.
#[utoipa::path(
    tag = "audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of audit records, newest first", body = Page<AuditRecord>),
        (status = 400, description = "A time or cursor that cannot be read", body = ErrorBody),
        (status = 401, description = "Not logged in", body = ErrorBody),
        (status = 403, description = "Role may not read the audit log", body = ErrorBody),
    )
)]
#[get("/audit")]
pub async fn search_audit(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<AuditQuery>,
) -> ApiResult<web::Json<Page<AuditRecord>>> {
    caller.require(AUDITORS)?;
    let scope = caller.scope();
    let query = query.into_inner();
    let before_seq = query
        .cursor
        .as_deref()
        .map(|c| {
            c.parse::<i64>().map_err(|_| {
                ApiError::bad_request(
                    ErrorCode::BadRequest,
                    "cursor 无效",
                    "cursor is not one this server gave",
                )
            })
        })
        .transpose()?;
    let filter = AuditFilter {
        actor_id: query.actor_id,
        action: query.action,
        entity: query.entity,
        entity_id: query.entity_id,
        from: parse_time(query.from.as_deref(), "from")?,
        to: parse_time(query.to.as_deref(), "to")?,
        before_seq,
        unbound_too: caller.role == jiuzhu_proto::user::Role::Admin,
        limit: page_limit(query.limit),
    };
    let limit = filter.limit;
    let rows = state
        .into_inner()
        .db(move |conn| crate::audit::search(conn, &scope, &filter))
        .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    let items = rows.into_iter().map(record).collect();
    Ok(web::Json(Page { items, next }))
}

fn record(row: AuditRow) -> AuditRecord {
    AuditRecord {
        seq: row.seq,
        at: row.at.and_utc(),
        actor_id: row.actor_id,
        action: row.action,
        entity: row.entity,
        entity_id: row.entity_id,
        result: if row.result == "failure" {
            AuditResult::Failure
        } else {
            AuditResult::Success
        },
        request_id: row.request_id,
        // Written by `audit::record` from a JSON value; an unreadable one shows as text.
        detail: serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::String(row.detail)),
    }
}
