//! Findings: what the rules or a citizen raised, until a coordinator converts it into an
//! application or dismisses it with a reason (both audited).

use chrono::NaiveDateTime;
use jiuzhu_proto::application::Category;
use jiuzhu_proto::finding::{Finding, FindingSource, FindingState};
use jiuzhu_proto::ErrorCode;

use crate::applications::{self, Actor};
use crate::audit::{self, AuditEntry};
use crate::db::repo::findings::{self as repo, FindingRow};
use crate::db::repo::households::HouseholdRow;
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

fn not_open() -> ApiError {
    ApiError::conflict(
        ErrorCode::Conflict,
        "该发现已转为申请或已排除",
        "this finding was already converted or dismissed",
    )
}

/// The org unit a finding belongs to: its household's grid, or the unit at its path.
fn unit_of(conn: &mut AnyConnection, row: &FindingRow) -> ApiResult<Option<String>> {
    Ok(crate::db::repo::org_units::id_at_path(conn, &row.org_path)?)
}

pub fn to_api(conn: &mut AnyConnection, row: FindingRow) -> ApiResult<Finding> {
    let bad = || ApiError::internal(anyhow::anyhow!("unreadable finding"));
    let unit = unit_of(conn, &row)?;
    let categories: Vec<String> = serde_json::from_str(&row.categories).map_err(|_| bad())?;
    Ok(Finding {
        id: row.id.parse().map_err(|_| bad())?,
        kind: row.kind,
        household_id: row.household_id.as_deref().and_then(|h| h.parse().ok()),
        self_report_id: row.self_report_id.as_deref().and_then(|s| s.parse().ok()),
        org_unit_id: unit.and_then(|u| u.parse().ok()),
        rule_id: row.rule_id,
        rule_version: row.rule_version.and_then(|v| u32::try_from(v).ok()),
        source: FindingSource::parse(&row.source).ok_or_else(bad)?,
        source_id: row.source_id,
        inputs: serde_json::from_str(&row.inputs).map_err(|_| bad())?,
        computed: serde_json::from_str(&row.computed).map_err(|_| bad())?,
        categories: categories
            .iter()
            .filter_map(|c| Category::parse(c))
            .collect(),
        state: FindingState::parse(&row.state).ok_or_else(bad)?,
        reason: row.reason,
        application_id: row.application_id.as_deref().and_then(|a| a.parse().ok()),
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

/// Turns an open finding into an application prefilled from its household and evidence.
pub fn convert(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
    categories: Option<Vec<Category>>,
    note: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> ApiResult<String> {
    let finding = repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)?;
    if finding.state != FindingState::Open.as_str() {
        return Err(not_open());
    }
    let household_id = finding.household_id.clone().ok_or_else(|| {
        ApiError::invalid(
            "household_id",
            "required",
            "该发现尚未关联家庭，请先核实并登记",
            "this finding has no household yet: verify and register it first",
        )
    })?;
    let household: HouseholdRow = crate::db::repo::households::get(conn, &household_id)?;
    let categories = match categories {
        Some(c) => c,
        None => serde_json::from_str::<Vec<String>>(&finding.categories)
            .map_err(ApiError::internal)?
            .iter()
            .filter_map(|c| Category::parse(c))
            .collect(),
    };
    let note = if note.trim().is_empty() {
        format!(
            "由发现 {} 转入 / from finding {}",
            finding.kind, finding.kind
        )
    } else {
        note.trim().to_owned()
    };
    let application = applications::create(
        conn,
        &household,
        &categories,
        Some(&finding.id),
        actor,
        &note,
        now,
    )?;
    if repo::close(
        conn,
        id,
        FindingState::Converted.as_str(),
        None,
        Some(&application),
        &actor.id,
        now,
    )? == 0
    {
        return Err(not_open());
    }
    audit::record(
        conn,
        AuditEntry {
            actor_id: Some(&actor.id),
            action: "finding.convert",
            entity: "finding",
            entity_id: id,
            org_path: &finding.org_path,
            detail: serde_json::json!({ "application": application }),
        },
    )?;
    Ok(application)
}

/// Dismisses an open finding; the reason is required.
pub fn dismiss(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
    reason: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> ApiResult<FindingRow> {
    let finding = repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)?;
    if repo::close(
        conn,
        id,
        FindingState::Dismissed.as_str(),
        Some(reason),
        None,
        &actor.id,
        now,
    )? == 0
    {
        return Err(not_open());
    }
    audit::record(
        conn,
        AuditEntry {
            actor_id: Some(&actor.id),
            action: "finding.dismiss",
            entity: "finding",
            entity_id: id,
            org_path: &finding.org_path,
            detail: serde_json::json!({ "kind": finding.kind }),
        },
    )?;
    repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)
}
