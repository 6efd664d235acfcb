//! `GET /stats/overview`, `GET /stats/relative-poverty`, `GET /stats/mpi`.

use actix_web::{get, web};
use jiuzhu_proto::stats::{Mpi, Overview, RelativePoverty};
use jiuzhu_proto::{ErrorBody, OrgUnitId};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::config::MpiIndicator;
use crate::db;
use crate::domain::roles::COORDINATORS;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::stats::{self, household_scan, overview, poverty};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OverviewQuery {
    /// The unit (in your scope); yours when absent.
    pub org_unit_id: Option<OrgUnitId>,
    /// Window of the visit coverage, in days (1–3650, default 365).
    pub days: Option<i64>,
}

/// Households by status, visit coverage, overdue tasks, open findings by type, applications by
/// state with mean working days per step and overdue ones, flagged visits waiting (coordinators
/// and above; a unit outside your scope answers 404).
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(OverviewQuery),
    responses(
        (status = 200, description = "The overview", body = Overview),
        (status = 404, description = "No such unit in scope", body = ErrorBody),
    )
)]
#[get("/stats/overview")]
pub async fn stats_overview(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<OverviewQuery>,
) -> ApiResult<web::Json<Overview>> {
    caller.require(COORDINATORS)?;
    let q = query.into_inner();
    let days = q.days.unwrap_or(365);
    if !(1..=3650).contains(&days) {
        return Err(ApiError::invalid(
            "days",
            "out_of_range",
            "天数为1到3650",
            "days is 1 to 3650",
        ));
    }
    let (scope, unit) = (caller.scope(), caller.org_unit_id);
    let state = state.into_inner();
    let st = state.clone();
    let out = state
        .db(move |conn| {
            let (id, sub) = stats::unit_scope(conn, &scope, &unit, q.org_unit_id)?;
            overview::overview(conn, &st.calendar, id, &sub, days, db::now())
        })
        .await?;
    Ok(web::Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PovertyQuery {
    pub org_unit_id: Option<OrgUnitId>,
    /// Ratios of the median, comma-separated (default `0.4,0.5,0.6`).
    pub ratios: Option<String>,
}

/// The relative poverty line per area, urban and rural apart: the median per-capita income of
/// the latest accepted visits × each ratio, and the households below it.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(PovertyQuery),
    responses(
        (status = 200, description = "Lines", body = RelativePoverty),
        (status = 404, description = "No such unit in scope", body = ErrorBody),
        (status = 422, description = "Bad ratios", body = ErrorBody),
    )
)]
#[get("/stats/relative-poverty")]
pub async fn stats_relative_poverty(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<PovertyQuery>,
) -> ApiResult<web::Json<RelativePoverty>> {
    caller.require(COORDINATORS)?;
    let q = query.into_inner();
    let ratios: Vec<f64> = match &q.ratios {
        None => vec![0.4, 0.5, 0.6],
        Some(text) => text
            .split(',')
            .map(|r| {
                r.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|r| *r > 0.0 && *r <= 2.0)
            })
            .collect::<Option<Vec<_>>>()
            .filter(|r| !r.is_empty() && r.len() <= 10)
            .ok_or_else(|| {
                ApiError::invalid(
                    "ratios",
                    "invalid",
                    "比例须为0到2之间的数，逗号分隔",
                    "ratios are numbers in (0, 2], comma-separated",
                )
            })?,
    };
    let (scope, unit) = (caller.scope(), caller.org_unit_id);
    let _turn = household_scan::turn().await?;
    let state = state.into_inner();
    let st = state.clone();
    let out = state
        .db(move |conn| {
            let (id, sub) = stats::unit_scope(conn, &scope, &unit, q.org_unit_id)?;
            poverty::relative_poverty(conn, &st.cipher, id, &sub, &ratios)
        })
        .await?;
    Ok(web::Json(out))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MpiQuery {
    pub org_unit_id: Option<OrgUnitId>,
    /// Poverty cut-off in (0, 1]; the configured one (1/3 by default) when absent.
    pub k: Option<f64>,
    /// Indicators as JSON `[{"name", "weight", "deprived"}]` (expressions over the household
    /// facts); the configured ones when absent.
    pub indicators: Option<String>,
}

/// The Alkire–Foster index for a unit: headcount H, intensity A, MPI = H × A and each
/// indicator's contribution.
#[utoipa::path(
    tag = "stats",
    security(("bearer" = [])),
    params(MpiQuery),
    responses(
        (status = 200, description = "The index", body = Mpi),
        (status = 404, description = "No such unit in scope", body = ErrorBody),
        (status = 422, description = "Bad k or indicators", body = ErrorBody),
    )
)]
#[get("/stats/mpi")]
pub async fn stats_mpi(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<MpiQuery>,
) -> ApiResult<web::Json<Mpi>> {
    caller.require(COORDINATORS)?;
    let q = query.into_inner();
    let k = q.k.unwrap_or(state.settings.discovery.mpi_k);
    if !k.is_finite() || k <= 0.0 || k > 1.0 {
        return Err(ApiError::invalid(
            "k",
            "out_of_range",
            "k 须在0到1之间",
            "k is in (0, 1]",
        ));
    }
    let list: Vec<MpiIndicator> = match &q.indicators {
        None => state.settings.discovery.mpi_indicators.clone(),
        Some(text) => serde_json::from_str(text).map_err(|_| {
            ApiError::invalid(
                "indicators",
                "invalid_json",
                "指标须为 JSON 数组",
                "indicators must be a JSON array of {name, weight, deprived}",
            )
        })?,
    };
    let indicators = poverty::compile_indicators(&list)?;
    let (scope, unit) = (caller.scope(), caller.org_unit_id);
    let _turn = household_scan::turn().await?;
    let state = state.into_inner();
    let st = state.clone();
    let out = state
        .db(move |conn| {
            let (id, sub) = stats::unit_scope(conn, &scope, &unit, q.org_unit_id)?;
            poverty::mpi(conn, &st.cipher, id, &sub, k, &indicators)
        })
        .await?;
    Ok(web::Json(out))
}
