//! Registering one household through the API: the grid, the external-id and ID-number checks,
//! sealing, the rows, the audit entry, and the rules on the new facts.

use jiuzhu_proto::household::Household;
use jiuzhu_proto::ErrorCode;
use serde_json::json;

use super::{read, write, Clashed, Registrar, ValidHousehold, Written};
use crate::audit::{self, AuditEntry};
use crate::db::{self, repo, AnyConnection};
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

/// Stores a checked household inside the caller's write transaction. An ID number already held
/// by another household is not written: the answer is [`Written::Clashed`], to be recorded and
/// refused after this transaction rolls back.
pub fn create(
    conn: &mut AnyConnection,
    registrar: &Registrar<'_>,
    scope: &Scope,
    actor: &str,
    valid: ValidHousehold,
) -> ApiResult<Written> {
    // Before the external-id and ID-number checks, so concurrent creates cannot both pass.
    write::lock_id_numbers(conn)?;
    let grid = write::choose_grid(
        conn,
        scope,
        registrar.grids,
        valid.location,
        valid.grid_override.as_deref(),
    )?;
    if let Some(ext) = &valid.external_id {
        if repo::households::find_by_external_id(conn, ext)?.is_some() {
            return Err(ApiError::conflict(
                ErrorCode::Conflict,
                "外部编号已存在",
                "a household with this external_id exists",
            ));
        }
    }
    let now = db::now();
    let new = write::build(
        registrar.cipher,
        &valid,
        &grid,
        Some(actor),
        now,
        crate::domain::time::today(),
    )?;
    let clashes = write::find_clashes(conn, &new.members, None)?;
    if !clashes.is_empty() {
        return Ok(Written::Clashed(Clashed {
            clashes,
            scope: scope.clone(),
            field_prefix: "members",
            action: "household.create",
            attempted_path: grid.org_path,
            actor: actor.to_owned(),
        }));
    }
    write::insert_all(conn, std::slice::from_ref(&new))?;
    audit::record(
        conn,
        AuditEntry {
            actor_id: Some(actor),
            action: "household.create",
            entity: "household",
            entity_id: &new.row.id,
            org_path: &new.row.org_path,
            detail: json!({"members": new.members.len(), "grid_overridden": grid.overridden}),
        },
    )?;
    super::facts_changed(conn, &registrar.rules, &[new.row.id.as_str()], now)?;
    let mut household: Household =
        read::household(conn, scope, &new.row.id)?.ok_or_else(ApiError::not_found)?;
    household.warnings = valid.warnings;
    Ok(Written::Done(Box::new(household)))
}
