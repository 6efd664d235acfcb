//! `GET /standards`.

use actix_web::{get, web};
use jiuzhu_proto::standard::StoredStandard;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo::standards as repo;
use crate::domain::roles::STAFF;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn to_api(r: repo::StandardRow) -> StoredStandard {
    StoredStandard {
        standard: jiuzhu_proto::standard::Standard {
            district_code: r.district_code,
            effective_from: r.effective_from,
            s_urban: r.s_urban,
            s_rural: r.s_rural,
            d_urban: r.d_urban,
            d_rural: r.d_rural,
            k: r.k,
            r: r.r,
            x: r.x,
            p: r.p,
            approval_delegated: r.approval_delegated,
            demo: r.demo,
            note: r.note,
        },
        recorded_at: r.recorded_at.and_utc(),
    }
}

/// Every district's standards, by district and date. Standards are public policy values, so
/// all staff see all districts.
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Standards", body = Vec<StoredStandard>),
        (status = 403, description = "Staff only", body = ErrorBody),
    )
)]
#[get("/standards")]
pub async fn list_standards(
    state: web::Data<AppState>,
    caller: Caller,
) -> ApiResult<web::Json<Vec<StoredStandard>>> {
    caller.require(STAFF)?;
    let rows = state
        .into_inner()
        .db(|conn| {
            let districts = crate::db::repo::org_units::district_codes(conn)?;
            Ok(repo::list(conn, &districts)?)
        })
        .await?;
    Ok(web::Json(rows.into_iter().map(to_api).collect()))
}
