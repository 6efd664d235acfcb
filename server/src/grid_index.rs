//! Builds the point → grid lookup from the stored grid boundaries, and keeps it fresh: rebuilt at
//! once after a local change, and by a watcher that notices changes made by other instances.

use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::db::repo::org_units;
use crate::db::AnyConnection;
use crate::domain::geo::{GridEntry, GridLookup};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, GridKey};

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
pub async fn refresh(state: &Arc<AppState>) -> ApiResult<()> {
    let (lookup, fingerprint) = state.db(load).await?;
    state.grids.replace(lookup, fingerprint);
    Ok(())
}

/// After this instance changed grid boundaries: rebuild the lookup, then move the households whose
/// grid follows their location. Returns how many moved.
pub async fn boundaries_changed(state: &Arc<AppState>, actor: Option<String>) -> ApiResult<u64> {
    refresh(state).await?;
    let lookup = state.grids.get();
    state
        .db(move |conn| crate::registry::regrid::regrid_all(conn, &lookup, actor.as_deref()))
        .await
}

/// Polls the fingerprint and rebuilds when another instance changed the boundaries.
/// It holds the state weakly and ends when the server that owns the state has stopped.
pub fn spawn_watcher(state: Weak<AppState>, every: Duration) {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let Some(state) = state.upgrade() else {
                return;
            };
            let current = state
                .db(|conn| Ok(org_units::grid_fingerprint(conn)?))
                .await;
            match current {
                Ok(fp) if fp != state.grids.fingerprint() => {
                    if let Err(e) = refresh(&state).await {
                        tracing::warn!(error = %e, "grid lookup refresh failed");
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "grid fingerprint check failed"),
            }
        }
    });
}
