//! Walks the households of a subtree a page at a time with the facts the rules read.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value as Json;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::crypto::FieldCipher;
use crate::db::repo::households::{self as household_repo, HouseholdRow};
use crate::db::repo::standards::{self as standard_repo, StandardRow};
use crate::db::repo::visits::VisitRow;
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::rules::facts::{self, Sources};
use crate::scope::Scope;

const PAGE: u32 = 1000;

/// How long a scan waits for its turn before the caller is told the server is busy.
const WAIT: Duration = Duration::from_secs(30);

/// Scans read, unseal and judge every household of a subtree: seconds of a database connection and
/// a CPU core each for a district. However many officers open the figures at once (or one script
/// asks again and again), only half the cores scan at a time, so log-ins, visits and syncs keep
/// their connections and their CPU.
fn permits() -> &'static Semaphore {
    static PERMITS: OnceLock<Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Semaphore::new((cores / 2).max(1))
    })
}

/// A turn to scan: wait for it (up to 30 s), then scan while holding it. Busy (503 with
/// Retry-After) when the wait runs out.
pub async fn turn() -> ApiResult<SemaphorePermit<'static>> {
    turn_within(permits(), WAIT).await
}

async fn turn_within(permits: &Semaphore, wait: Duration) -> ApiResult<SemaphorePermit<'_>> {
    match tokio::time::timeout(wait, permits.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        Ok(Err(_)) | Err(_) => Err(ApiError::busy(5)),
    }
}

/// Calls `each(household, facts, has_accepted_visit)` for every household in `scope`.
pub fn scan(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    scope: &Scope,
    mut each: impl FnMut(&HouseholdRow, &Json, bool),
) -> ApiResult<()> {
    let today = crate::domain::time::today();
    let mut standards: HashMap<String, Option<StandardRow>> = HashMap::new();
    let no_signals = serde_json::Map::new();
    let mut after = String::new();
    loop {
        let page = household_repo::page_in_scope::<PAGE>(conn, scope, &after)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id.clone();
        let ids: Vec<String> = page.iter().map(|h| h.id.clone()).collect();
        let mut members: HashMap<String, Vec<_>> = HashMap::new();
        for m in household_repo::members_of_many(conn, &ids)? {
            members.entry(m.household_id.clone()).or_default().push(m);
        }
        // The latest accepted visit of each household on the page.
        let mut latest: HashMap<String, VisitRow> = HashMap::new();
        let approved = crate::db::repo::visits::approved_of_many(conn, &ids)?;
        for v in approved {
            let newer = latest
                .get(&v.household_id)
                .is_none_or(|cur| (v.received_at, &v.id) > (cur.received_at, &cur.id));
            if newer {
                latest.insert(v.household_id.clone(), v);
            }
        }
        for h in &page {
            let district = facts::district_code(&h.org_path).unwrap_or("").to_owned();
            if !standards.contains_key(&district) {
                let found = standard_repo::in_force(conn, &district, today)?;
                standards.insert(district.clone(), found);
            }
            let visit = match latest.get(&h.id) {
                Some(v) => Some(crate::answers::open_answers(v, cipher)?),
                None => None,
            };
            let facts = facts::gather(&Sources {
                household: h,
                members: members.get(&h.id).map_or(&[][..], |m| &m[..]),
                visit: visit.as_ref(),
                standard: standards.get(&district).and_then(Option::as_ref),
                signals: &no_signals,
                today,
            });
            each(h, &facts, visit.is_some());
        }
    }
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;

    use super::*;

    #[tokio::test]
    async fn a_scan_waits_for_its_turn_and_then_is_told_busy() {
        let permits = Semaphore::new(1);
        let first = turn_within(&permits, Duration::from_millis(10)).await;
        assert!(first.is_ok());
        let second = turn_within(&permits, Duration::from_millis(50)).await;
        let status = second.err().map(|e| e.status_code());
        assert_eq!(
            status,
            Some(actix_web::http::StatusCode::SERVICE_UNAVAILABLE)
        );
        drop(first);
        assert!(turn_within(&permits, Duration::from_millis(10))
            .await
            .is_ok());
    }
}
