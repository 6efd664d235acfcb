//! `PUT /standards`.

use actix_web::{put, web};
use jiuzhu_proto::standard::{Standard, StoredStandard};

use jiuzhu_proto::ErrorBody;

use crate::audit::{self, AuditEntry};
use crate::auth::Caller;
use crate::db;
use crate::db::repo::{org_units, standards as repo};
use crate::domain::roles;
use crate::error::{field_error, ApiError, ApiResult};
use crate::state::AppState;

fn check(s: &Standard) -> Vec<jiuzhu_proto::error::FieldError> {
    let mut errors = Vec::new();
    let money = [
        ("s_urban", s.s_urban),
        ("s_rural", s.s_rural),
        ("d_urban", s.d_urban),
        ("d_rural", s.d_rural),
        ("x", s.x),
    ];
    for (name, v) in money {
        if v.is_some_and(|v| !(1..=10_000_000).contains(&v)) {
            errors.push(field_error(
                name,
                "out_of_range",
                "金额须为1至1000万元",
                "1 to 10,000,000 yuan",
            ));
        }
    }
    let ratios = [
        ("k", s.k, 1.0, 5.0),
        ("r", s.r, 0.0, 5.0),
        ("p", s.p, 0.0, 5.0),
    ];
    for (name, v, lo, hi) in ratios {
        if v.is_some_and(|v| !v.is_finite() || v <= lo || v > hi) {
            errors.push(field_error(
                name,
                "out_of_range",
                "比例超出合理范围",
                "out of range",
            ));
        }
    }
    if s.note.chars().count() > 500 {
        errors.push(field_error(
            "note",
            "too_long",
            "说明至多500字",
            "at most 500 characters",
        ));
    }
    errors
}

/// Records a district's standards from a date (admins, for districts in scope). The row for the
/// same district and date is replaced.
#[utoipa::path(
    tag = "discovery",
    security(("bearer" = [])),
    request_body = Standard,
    responses(
        (status = 200, description = "Recorded", body = StoredStandard),
        (status = 404, description = "No such district in scope", body = ErrorBody),
        (status = 422, description = "Invalid values", body = ErrorBody),
    )
)]
#[put("/standards")]
pub async fn put_standard(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<Standard>,
) -> ApiResult<web::Json<StoredStandard>> {
    caller.require(roles::ADMINS)?;
    let input = body.into_inner();
    let errors = check(&input);
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let scope = caller.scope();
    let actor = caller.user_id.to_string();
    let row = state
        .into_inner()
        .tx(move |conn| {
            let district = org_units::find_by_code(conn, &input.district_code)?
                .filter(|u| u.kind == "district" && scope.contains(&u.path))
                .ok_or_else(ApiError::not_found)?;
            let row = repo::StandardRow {
                district_code: input.district_code,
                effective_from: input.effective_from,
                s_urban: input.s_urban,
                s_rural: input.s_rural,
                d_urban: input.d_urban,
                d_rural: input.d_rural,
                k: input.k,
                r: input.r,
                x: input.x,
                p: input.p,
                approval_delegated: input.approval_delegated,
                demo: input.demo,
                note: input.note,
                recorded_by: Some(actor.clone()),
                recorded_at: db::now(),
            };
            repo::put(conn, &row)?;
            audit::record(
                conn,
                AuditEntry {
                    actor_id: Some(&actor),
                    action: "standard.put",
                    entity: "standard",
                    entity_id: &format!("{}@{}", row.district_code, row.effective_from),
                    org_path: &district.path,
                    detail: serde_json::json!({}),
                },
            )?;
            Ok(row)
        })
        .await?;
    Ok(web::Json(super::list::to_api(row)))
}
