//! Changing one household through the API: versioned (a stale version answers 409 and changes
//! nothing), with the grid, the status history, members added, changed and removed, the audit
//! entry, the phones told, and the rules on the new facts.

use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::household::{Relation, UpdateHousehold};
use jiuzhu_proto::ErrorCode;
use serde_json::json;

use super::{
    read, stored, validate, write, Clashed, Registrar, ValidMember, Written, PHONE_CONTEXT,
};
use crate::audit::{self, AuditEntry};
use crate::db::repo::households::{self as repo, HouseholdChanges};
use crate::db::{self, AnyConnection};
use crate::domain::geo::LatLon;
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

fn version_conflict() -> ApiError {
    ApiError::conflict(
        ErrorCode::Conflict,
        "该户已被他人修改，请刷新后重试",
        "the household changed since you read it: reload and apply your change again",
    )
}

/// A change whose fields have been checked without the database.
pub struct CheckedUpdate {
    input: UpdateHousehold,
    address: Option<String>,
    notes: Option<String>,
    location: Option<LatLon>,
    tags: Option<Vec<String>>,
    status_note: String,
    added: Vec<ValidMember>,
    warnings: Vec<String>,
}

/// Checks everything that needs no database, and reports every problem at once (422).
pub fn check(mut input: UpdateHousehold) -> ApiResult<CheckedUpdate> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let address = input
        .address
        .as_deref()
        .map(|a| validate::check_text(&mut errors, "address", a, validate::MAX_ADDRESS, true));
    let notes = input
        .notes
        .as_deref()
        .map(|n| validate::check_free_text(&mut errors, "notes", n, validate::MAX_NOTES, false));
    let location = input
        .location
        .as_ref()
        .and_then(|l| validate::check_location(&mut errors, "location", l));
    let tags = input
        .tags
        .as_deref()
        .map(|t| validate::tags(&mut errors, t));
    let status_note = input
        .status_note
        .as_deref()
        .map(|n| validate::check_free_text(&mut errors, "status_note", n, 500, false))
        .unwrap_or_default();
    let added: Vec<_> = input
        .add_members
        .drain(..)
        .enumerate()
        .filter_map(|(i, m)| {
            validate::member(&mut errors, &mut warnings, &format!("add_members[{i}]."), m)
                .map(|v| (i, v))
        })
        .collect();
    validate::duplicates(&mut errors, "add_members", &added);
    let added: Vec<_> = added.into_iter().map(|(_, m)| m).collect();
    for (i, p) in input.update_members.iter().enumerate() {
        let prefix = format!("update_members[{i}].");
        if let Some(name) = &p.name {
            validate::check_text(
                &mut errors,
                &format!("{prefix}name"),
                name,
                validate::MAX_NAME,
                true,
            );
        }
        if let Some(income) = &p.annual_income {
            validate::check_income(&mut errors, &format!("{prefix}annual_income"), income);
        }
        if let Some(Some(phone)) = &p.phone {
            validate::check_phone(&mut errors, &format!("{prefix}phone"), phone);
        }
        if let Some(Some(level)) = p.disability_level {
            if !(1..=4).contains(&level) {
                errors.push(FieldError {
                    field: format!("{prefix}disability_level"),
                    code: "out_of_range".into(),
                    message: "残疾等级为 1 到 4 / disability level is 1 to 4".into(),
                });
            }
        }
    }

    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    Ok(CheckedUpdate {
        input,
        address,
        notes,
        location,
        tags,
        status_note,
        added,
        warnings,
    })
}

/// Applies a checked change to household `id` in scope, inside the caller's write transaction.
/// New members whose ID numbers another household holds are not written: the answer is
/// [`Written::Clashed`].
pub fn update(
    conn: &mut AnyConnection,
    registrar: &Registrar<'_>,
    scope: &Scope,
    actor: &str,
    id: &str,
    checked: CheckedUpdate,
) -> ApiResult<Written> {
    let CheckedUpdate {
        input,
        address,
        notes,
        location,
        tags,
        status_note,
        added,
        warnings,
    } = checked;
    let now = db::now();
    let (current, _) = repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)?;
    if current.version != input.version {
        return Err(version_conflict());
    }
    let mut changes = HouseholdChanges {
        address,
        notes,
        updated_at: Some(now),
        ..Default::default()
    };
    let mut audit_detail = json!({});

    // Location and grid: an override sticks until a coordinator clears it.
    if let Some(p) = location {
        changes.lat = Some(Some(p.lat()));
        changes.lon = Some(Some(p.lon()));
    }
    let new_point = location.or(match (current.lat, current.lon) {
        (Some(lat), Some(lon)) => LatLon::new(lat, lon).ok(),
        _ => None,
    });
    let grid = if let Some(g) = input.grid_id {
        Some(write::choose_grid(
            conn,
            scope,
            registrar.grids,
            None,
            Some(&g.to_string()),
        )?)
    } else if input.clear_grid_override || (location.is_some() && !current.grid_overridden) {
        Some(write::choose_grid(
            conn,
            scope,
            registrar.grids,
            new_point,
            None,
        )?)
    } else {
        None
    };
    if let Some(g) = &grid {
        if g.grid_id != current.grid_id || g.overridden != current.grid_overridden {
            audit_detail["grid"] =
                json!({"from": current.grid_id, "to": g.grid_id, "overridden": g.overridden});
        }
        changes.grid_id = Some(g.grid_id.clone());
        changes.org_path = Some(g.org_path.clone());
        changes.grid_overridden = Some(g.overridden);
    }

    // Status: close the open period, open the new one.
    if let Some(status) = input.status.filter(|s| s.as_str() != current.status) {
        let since = input
            .status_since
            .unwrap_or_else(crate::domain::time::today);
        repo::close_open_status(conn, &current.id, since)?;
        repo::insert_statuses(
            conn,
            &[write::status_row(
                &current.id,
                status,
                since,
                &status_note,
                Some(actor),
                now,
            )],
        )?;
        changes.status = Some(status.as_str().to_owned());
        audit_detail["status"] = json!({"from": current.status, "to": status.as_str()});
    }
    if let Some(tags) = &tags {
        repo::replace_tags(conn, &current.id, tags)?;
    }

    // Members.
    let mut members = repo::members_of(conn, &current.id)?;
    let unknown = |mid: &uuid::Uuid| !members.iter().any(|m| m.id == mid.to_string());
    if input
        .remove_members
        .iter()
        .chain(input.update_members.iter().map(|p| &p.id))
        .any(unknown)
    {
        return Err(ApiError::not_found());
    }
    let removed: Vec<String> = input.remove_members.iter().map(|m| m.to_string()).collect();
    repo::delete_members(conn, &current.id, &removed)?;
    members.retain(|m| !removed.contains(&m.id));
    for p in &input.update_members {
        let Some(row) = members.iter_mut().find(|m| m.id == p.id.to_string()) else {
            continue;
        };
        if let Some(v) = &p.name {
            row.name = v.trim().to_owned();
        }
        if let Some(v) = p.relation {
            row.relation = v.as_str().to_owned();
        }
        if let Some(v) = p.health {
            row.health = v.as_str().to_owned();
        }
        if let Some(v) = p.disability_type {
            row.disability_type = v.map(|d| d.as_str().to_owned());
        }
        if let Some(v) = p.disability_level {
            row.disability_level = v.map(i32::from);
        }
        if let Some(v) = &p.daily_living {
            row.daily_living = stored::daily_living_text(v);
        }
        if let Some(v) = p.work_status {
            row.work_status = v.as_str().to_owned();
        }
        if let Some(v) = p.student_status {
            row.student_status = v.as_str().to_owned();
        }
        if let Some(v) = &p.annual_income {
            row.income = stored::income_text(v);
            row.annual_income_fen = v.total().unwrap_or(i64::MAX);
        }
        if let Some(v) = &p.phone {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(phone) => {
                    row.phone_cipher = Some(
                        registrar
                            .cipher
                            .encrypt(phone, PHONE_CONTEXT)
                            .map_err(ApiError::internal)?
                            .ciphertext,
                    );
                    row.phone_masked = Some(crate::domain::id_number::mask_phone(phone));
                }
                None => {
                    row.phone_cipher = None;
                    row.phone_masked = None;
                }
            }
        }
        if (row.disability_type.is_some()) != (row.disability_level.is_some()) {
            return Err(ApiError::validation(vec![FieldError {
                field: "update_members".into(),
                code: "incomplete".into(),
                message: "残疾类别与等级须同时填写 / disability type and level go together".into(),
            }]));
        }
        row.updated_at = now;
        repo::update_member(conn, row)?;
    }
    let next_position = members.iter().map(|m| m.position).max().unwrap_or(-1) + 1;
    let new_rows = added
        .iter()
        .enumerate()
        .map(|(i, m)| {
            write::seal_member(
                registrar.cipher,
                &current.id,
                next_position + i as i32,
                m,
                now,
            )
        })
        .collect::<ApiResult<Vec<_>>>()?;
    if !new_rows.is_empty() {
        // Also a clash with a member already in this very household.
        let mut clashes = write::find_clashes(conn, &new_rows, Some(&current.id))?;
        for (i, r) in new_rows.iter().enumerate() {
            if members.iter().any(|m| m.id_blind == r.id_blind) {
                clashes.push(write::Clash {
                    member_index: i,
                    id_blind: r.id_blind.clone(),
                    id_masked: r.id_masked.clone(),
                    existing_household_id: current.id.clone(),
                    existing_org_path: current.org_path.clone(),
                });
            }
        }
        if !clashes.is_empty() {
            return Ok(Written::Clashed(Clashed {
                clashes,
                scope: scope.clone(),
                field_prefix: "add_members",
                action: "household.update",
                attempted_path: current.org_path.clone(),
                actor: actor.to_owned(),
            }));
        }
        repo::insert_members(conn, &new_rows)?;
        members.extend(new_rows);
    }
    check_one_head(&members)?;
    if !added.is_empty() || !removed.is_empty() || !input.update_members.is_empty() {
        let head = members
            .iter()
            .find(|m| m.relation == Relation::Head.as_str());
        changes.head_member_id = Some(head.map(|h| h.id.clone()));
        changes.head_name = Some(head.map(|h| h.name.clone()));
        changes.member_count = Some(members.len() as i32);
        audit_detail["members"] = json!({"added": added.len(), "removed": removed.len(), "updated": input.update_members.len()});
    }
    if !repo::update_versioned(conn, &current.id, input.version, &changes)? {
        return Err(version_conflict());
    }
    // Phones holding tasks on this household get the new version on their next sync.
    crate::changes::household_touched(conn, &current.id)?;
    record(
        conn,
        actor,
        &current.id,
        changes.org_path.as_deref().unwrap_or(&current.org_path),
        audit_detail,
    )?;
    super::facts_changed(conn, &registrar.rules, &[current.id.as_str()], now)?;
    let mut household =
        read::household(conn, scope, &current.id)?.ok_or_else(ApiError::not_found)?;
    household.warnings = warnings;
    Ok(Written::Done(Box::new(household)))
}

fn check_one_head(members: &[repo::MemberRow]) -> ApiResult<()> {
    let heads = members
        .iter()
        .filter(|m| m.relation == Relation::Head.as_str())
        .count();
    if members.is_empty() || heads != 1 {
        return Err(ApiError::validation(vec![FieldError {
            field: "members".into(),
            code: "one_head".into(),
            message: "须有且仅有一名户主 / exactly one member must be the head".into(),
        }]));
    }
    Ok(())
}

fn record(
    conn: &mut AnyConnection,
    actor: &str,
    id: &str,
    org_path: &str,
    detail: serde_json::Value,
) -> ApiResult<i64> {
    audit::record(
        conn,
        AuditEntry {
            actor_id: Some(actor),
            action: "household.update",
            entity: "household",
            entity_id: id,
            org_path,
            detail,
        },
    )
}
