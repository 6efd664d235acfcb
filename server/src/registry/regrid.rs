//! After grid boundaries change, households whose grid follows their location are moved to the
//! grid their point now falls in. A coordinator's override stays; a point that now falls in no
//! grid keeps its grid rather than becoming nobody's.

use std::collections::HashMap;

use serde_json::json;

use crate::audit::{self, AuditEntry};
use crate::db::repo::households as repo;
use crate::db::{self, AnyConnection};
use crate::domain::geo::GridKey;
use crate::domain::geo::{GridLookup, LatLon};
use crate::error::ApiResult;

const PAGE: i64 = 2_000;

/// Moves every non-overridden household to the grid its location is in now; returns how many moved.
pub fn regrid_all(
    conn: &mut AnyConnection,
    lookup: &GridLookup<GridKey>,
    actor: Option<&str>,
) -> ApiResult<u64> {
    let mut moved = 0;
    let mut after = String::new();
    let mut paths: HashMap<String, String> = HashMap::new();
    loop {
        let page = repo::placed_by_location_after(conn, &after, PAGE)?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.0.clone();
        let mut moves = Vec::new();
        for (id, lat, lon, grid_id) in page {
            let Ok(point) = LatLon::new(lat, lon) else {
                continue;
            };
            if let Some(entry) = lookup.locate(point) {
                if entry.key.id != grid_id {
                    moves.push((id, grid_id, entry.key.id.clone()));
                }
            }
        }
        if moves.is_empty() {
            continue;
        }
        db::write_transaction(conn, |conn| -> ApiResult<()> {
            let now = db::now();
            for (id, from, to) in &moves {
                let path = match paths.get(to) {
                    Some(p) => p.clone(),
                    None => {
                        let p = crate::db::repo::org_units::path_of(conn, to)?;
                        paths.insert(to.clone(), p.clone());
                        p
                    }
                };
                repo::move_to_grid(conn, id, to, &path, now)?;
                crate::changes::household_touched(conn, id)?;
                audit::record(
                    conn,
                    AuditEntry {
                        actor_id: actor,
                        action: "household.regrid",
                        entity: "household",
                        entity_id: id,
                        org_path: &path,
                        detail: json!({"from": from, "to": to, "reason": "boundary_change"}),
                    },
                )?;
            }
            Ok(())
        })?;
        moved += moves.len() as u64;
    }
    Ok(moved)
}
