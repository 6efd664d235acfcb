//! HTTP endpoints, one file each: extract, parse into domain types, call the repository and the
//! domain, respond. Registered through utoipa-actix-web so the router and the OpenAPI document
//! come from the same list and cannot drift.

pub mod applications;
pub mod audit;
pub mod auth;
pub mod citizen;
pub mod exports;
mod extract;
pub mod findings;
pub mod forms;
pub mod geo;
pub mod households;
pub mod imports;
pub mod ops;
pub mod org_units;
pub mod photos;
pub mod rules;
pub mod standards;
pub mod stats;
pub mod sync;
pub mod tasks;
pub mod users;
pub mod visits;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every endpoint under `/api/v1`.
pub fn api(cfg: &mut ServiceConfig) {
    cfg.service(auth::login::login)
        .service(auth::refresh::refresh)
        .service(auth::logout::logout)
        .service(auth::me::me)
        .service(auth::second_factor::start)
        .service(auth::second_factor::confirm)
        .service(audit::search::search_audit)
        .service(users::list::list_users)
        .service(users::create::create_user)
        .service(users::update::update_user)
        .service(users::second_factor::reset_second_factor)
        .service(org_units::list::list_org_units)
        .service(org_units::import::import_org_units)
        .service(org_units::get::get_org_unit)
        .service(org_units::create::create_org_unit)
        .service(geo::locate::locate)
        .service(households::list::list_households)
        .service(households::create::create_household)
        .service(households::conflicts::list_conflicts)
        .service(households::import::import_households)
        .service(households::import::get_import_job)
        .service(households::get::get_household)
        .service(households::update::update_household)
        .service(households::reveal::reveal_ids)
        .service(exports::get::export)
        .service(tasks::list::list_tasks)
        .service(tasks::create::create_task)
        .service(tasks::bulk::bulk_create_tasks)
        .service(tasks::assign::assign_task)
        .service(tasks::accept::accept_task)
        .service(tasks::cancel::cancel_task)
        .service(forms::list::list_forms)
        .service(forms::create::create_form)
        .service(forms::import_xlsform::import_xlsform)
        .service(forms::get_version::get_form_version)
        .service(forms::publish::publish_version)
        .service(visits::submit::submit_visit)
        .service(visits::list::list_visits)
        .service(visits::get::get_visit)
        .service(visits::review::review_visit)
        .service(photos::put::put_photo)
        .service(photos::get::get_photo)
        .service(photos::get::get_display)
        .service(photos::get::get_thumb)
        .service(photos::uploads::create_upload)
        .service(photos::uploads::upload_offset)
        .service(photos::uploads::append_upload)
        .service(sync::sync)
        .service(standards::list::list_standards)
        .service(standards::put::put_standard)
        .service(rules::list::list_rules)
        .service(rules::gaps::list_gaps)
        .service(rules::put::put_rule)
        .service(households::evaluate::evaluate_household)
        .service(findings::list::list_findings)
        .service(findings::list::get_finding)
        .service(findings::act::convert_finding)
        .service(findings::act::dismiss_finding)
        .service(applications::list::list_applications)
        .service(applications::create::create_application)
        .service(applications::list::get_application)
        .service(applications::transition::transition_application)
        .service(citizen::register::register)
        .service(citizen::register::verify)
        .service(citizen::register::demo_sms_code)
        .service(citizen::self_reports::create_self_report)
        .service(citizen::my::my_self_reports)
        .service(citizen::my::my_applications)
        .service(imports::department::import_department)
        .service(imports::department::unmatched_rows)
        .service(stats::overview::stats_overview)
        .service(stats::overview::stats_relative_poverty)
        .service(stats::overview::stats_mpi)
        .service(stats::jobs::create_job)
        .service(stats::jobs::get_job);
}

/// Parses a path id, answering 404 (not 400) for a malformed one: a bad id names nothing.
pub fn parse_id<T: std::str::FromStr>(raw: &str) -> crate::error::ApiResult<T> {
    raw.parse().map_err(|_| crate::error::ApiError::not_found())
}

/// The `next` of a keyset page: the last row's id when the page is full.
pub fn next_after<T>(rows: &[T], limit: i64, id: impl Fn(&T) -> &String) -> Option<String> {
    (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| id(r).clone()))
        .flatten()
}

/// Page size: 50 by default, at most 500.
pub fn page_limit(requested: Option<i64>) -> i64 {
    requested.unwrap_or(50).clamp(1, 500)
}

/// Reads a request body up to `limit` bytes, answering 413 beyond it without reading the rest.
pub async fn read_body(
    req: &actix_web::HttpRequest,
    mut payload: actix_web::web::Payload,
    limit: usize,
) -> crate::error::ApiResult<Vec<u8>> {
    use futures_util::StreamExt;
    let too_large = || {
        crate::error::ApiError::new(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            jiuzhu_proto::ErrorCode::PayloadTooLarge,
            "请求体过大",
            format!("the request body exceeds {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            crate::error::ApiError::bad_request(
                jiuzhu_proto::ErrorCode::BadRequest,
                "无法读取请求体",
                e.to_string(),
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
