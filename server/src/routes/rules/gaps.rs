//! `GET /rules/gaps`.

use actix_web::{get, web};
use jiuzhu_proto::rule::RuleGap;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::standards as repo;
use crate::domain::roles::COORDINATORS;
use crate::error::ApiResult;
use crate::state::AppState;

/// Rules that could not run because a standard is missing, per district: the districts in the
/// caller's scope, or the caller's own district.
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Gaps", body = Vec<RuleGap>),
        (status = 403, description = "Coordinators and above", body = ErrorBody),
    )
)]
#[get("/rules/gaps")]
pub async fn list_gaps(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<RuleGap>>> {
    caller.require(COORDINATORS)?;
    let path = caller.org_path.clone();
    let rows = state
        .into_inner()
        .db(move |conn| {
            let districts = crate::db::repo::org_units::districts(conn)?;
            let mine: Vec<String> = districts
                .into_iter()
                .filter(|(_, p)| p.starts_with(&path) || path.starts_with(p.as_str()))
                .map(|(c, _)| c)
                .collect();
            Ok(repo::gaps(conn, &mine)?)
        })
        .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|g| RuleGap {
                rule_id: g.rule_id,
                rule_version: u32::try_from(g.rule_version).unwrap_or(0),
                district_code: g.district_code,
                missing: g.missing.split(',').map(str::to_owned).collect(),
                times: g.times,
                first_seen: g.first_seen.and_utc(),
                last_seen: g.last_seen.and_utc(),
            })
            .collect(),
    ))
}
