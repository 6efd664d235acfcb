//! `GET /households`: households in scope, filtered, in a stable keyset order.

use actix_web::{get, web};
use base64::Engine;
use jiuzhu_proto::household::{AssistanceStatus, HouseholdSummary};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::{ErrorBody, ErrorCode, OrgUnitId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::db::repo::households::{self as repo, HouseholdFilter};
use crate::domain::id_number::IdNumber;
use crate::domain::roles::STAFF;
use crate::error::{ApiError, ApiResult};
use crate::registry::{read, ID_INDEX};
use crate::routes::page_limit;
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListHouseholdsQuery {
    pub grid_id: Option<OrgUnitId>,
    pub status: Option<AssistanceStatus>,
    pub tag: Option<String>,
    /// Households with a member whose name starts with this.
    pub name: Option<String>,
    /// Exact ID number (searched through the blind index; never stored or logged).
    pub id_number: Option<String>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    pub limit: Option<i64>,
}

fn encode_key(path: &str, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{path}|{id}"))
}

fn decode_key(key: &str) -> ApiResult<(String, String)> {
    let bad =
        || ApiError::bad_request(ErrorCode::BadRequest, "翻页标记无效", "invalid `after` key");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (path, id) = text.split_once('|').ok_or_else(bad)?;
    Ok((path.to_owned(), id.to_owned()))
}

/// Households in scope.
#[utoipa::path(
    tag = "households",
    security(("bearer" = [])),
    params(ListHouseholdsQuery),
    responses(
        (status = 200, description = "A page of households", body = Page<HouseholdSummary>),
        (status = 400, description = "An `after` key that cannot be read", body = ErrorBody),
        (status = 422, description = "Bad filter (an ID number that cannot be one)", body = ErrorBody),
    )
)]
#[get("/households")]
pub async fn list_households(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<ListHouseholdsQuery>,
) -> ApiResult<web::Json<Page<HouseholdSummary>>> {
    caller.require(STAFF)?;
    let state = state.into_inner();
    let q = query.into_inner();
    let id_blind = match &q.id_number {
        Some(raw) => {
            let parsed = IdNumber::parse(raw).map_err(|e| {
                ApiError::bad_request(
                    ErrorCode::ValidationFailed,
                    "身份证号格式错误",
                    e.to_string(),
                )
            })?;
            Some(
                state
                    .cipher
                    .blind_index(ID_INDEX, parsed.id.as_str())
                    .to_vec(),
            )
        }
        None => None,
    };
    let filter = HouseholdFilter {
        grid_id: q.grid_id.map(|g| g.to_string()),
        status: q.status.map(|s| s.as_str().to_owned()),
        tag: q.tag,
        name_prefix: q
            .name
            .filter(|n| !n.trim().is_empty())
            .map(|n| n.trim().to_owned()),
        id_blind,
        after: q.after.as_deref().map(decode_key).transpose()?,
        limit: page_limit(q.limit),
    };
    let scope = caller.scope();
    let limit = filter.limit;
    let page = state
        .db(move |conn| {
            let rows = repo::list_in_scope(conn, &scope, &filter)?;
            let next = (rows.len() as i64 == limit)
                .then(|| rows.last().map(|(r, _)| encode_key(&r.org_path, &r.id)))
                .flatten();
            Ok(Page {
                items: read::summaries(conn, rows)?,
                next,
            })
        })
        .await?;
    Ok(web::Json(page))
}
