//! Builds the point → grid lookup from the stored grid boundaries, and keeps it fresh: rebuilt at
//! once after a local change, and by a watcher (`jobs::spawn_grid_watcher`) that notices changes
//! made by other instances.

use crate::database::Database;
use crate::db::repo::org_units;
use crate::db::AnyConnection;
use crate::domain::geo::{GridEntry, GridLookup};
use crate::domain::geo::{GridIndex, GridKey};
use crate::error::{ApiError, ApiResult};

/// Reads every grid boundary and builds a lookup, with the fingerprint it reflects.
pub fn load(conn: &mut AnyConnection) -> ApiResult<(GridLookup<GridKey>, String)> {
    let fingerprint = org_units::grid_fingerprint(conn)?;
    let rows = org_units::grid_boundaries(conn)?;
    let mut entries = Vec::with_capacity(rows.len());
    for (id, code, name, boundary) in rows {
        let geometry: geojson::Geometry = boundary.parse().map_err(ApiError::internal)?;
        let mp: geo::MultiPolygon<f64> = match geometry.value.try_into() {
            Ok(geo::Geometry::MultiPolygon(mp)) => mp,
            Ok(geo::Geometry::Polygon(p)) => geo::MultiPolygon(vec![p]),
            _ => {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "stored boundary of {code} is not a polygon"
                )))
            }
        };
        entries.push(GridEntry {
            key: GridKey { id, name },
            code,
            boundary: mp,
        });
    }
    Ok((GridLookup::new(entries), fingerprint))
}

/// Rebuilds the lookup now (after this instance changed boundaries).
pub async fn refresh(db: &Database, grids: &GridIndex) -> ApiResult<()> {
    let (lookup, fingerprint) = db.run(load).await?;
    grids.replace(lookup, fingerprint);
    Ok(())
}

/// After this instance changed grid boundaries: rebuild the lookup, then move the households whose
/// grid follows their location. Returns how many moved.
pub async fn boundaries_changed(
    db: &Database,
    grids: &GridIndex,
    actor: Option<String>,
) -> ApiResult<u64> {
    refresh(db, grids).await?;
    let lookup = grids.get();
    db.run(move |conn| crate::registry::regrid::regrid_all(conn, &lookup, actor.as_deref()))
        .await
}
