//! `GET /stats/overview`: counts grouped in SQL within the unit's subtree.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use jiuzhu_proto::application::ApplicationState;
use jiuzhu_proto::stats::{Count, Overview, StepTime};
use jiuzhu_proto::OrgUnitId;

use crate::applications::workflow::{self, Limits};
use crate::calendar::Calendar;
use crate::db::repo;
use crate::db::AnyConnection;
use crate::domain::time::date_of as china_date;
use crate::error::ApiResult;
use crate::scope::Scope;

fn counts(rows: Vec<(String, i64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

pub fn overview(
    conn: &mut AnyConnection,
    calendar: &Calendar,
    unit: OrgUnitId,
    scope: &Scope,
    coverage_days: i64,
    now: NaiveDateTime,
) -> ApiResult<Overview> {
    let today = china_date(now);
    let by_status = repo::households::count_by_status(conn, scope)?;
    let total: i64 = by_status.iter().map(|(_, n)| n).sum();
    let since = now - Duration::days(coverage_days);
    let visited = repo::visits::households_visited_since(conn, scope, since)?;
    let overdue_tasks = repo::tasks::count_overdue(conn, scope, today)?;
    let open_findings = repo::findings::count_open_by_kind(conn, scope)?;
    let by_state = repo::applications::count_by_state(conn, scope)?;
    let limits = repo::applications::limits_in_scope(conn, scope)?;
    let overdue_applications = limits
        .into_iter()
        .filter(|(s, step_due, total_due)| {
            ApplicationState::parse(s).is_some_and(|st| {
                workflow::overdue(
                    st,
                    Limits {
                        step_due: *step_due,
                        total_due: *total_due,
                    },
                    today,
                )
            })
        })
        .count() as i64;
    // Working days spent in each state: between an event and the next one of its application.
    let events = repo::applications::states_entered_in_scope(conn, scope)?;
    let mut spent: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for pair in events.windows(2) {
        let (app, state_in, entered) = &pair[0];
        let (next_app, _, left) = &pair[1];
        if app != next_app {
            continue;
        }
        let days = calendar.working_days_between(china_date(*entered), china_date(*left));
        let e = spent.entry(state_in.clone()).or_default();
        e.0 += 1;
        e.1 += days;
    }
    let flagged = repo::visits::count_flagged_pending(conn, scope)?;
    Ok(Overview {
        org_unit_id: unit,
        households: total,
        households_by_status: counts(by_status),
        coverage_days,
        households_visited: visited,
        visit_coverage: if total > 0 {
            visited as f64 / total as f64
        } else {
            0.0
        },
        overdue_tasks,
        open_findings_by_type: counts(open_findings),
        applications_by_state: counts(by_state),
        step_times: spent
            .into_iter()
            .map(|(state, (steps, days))| StepTime {
                state,
                steps,
                mean_working_days: days as f64 / steps as f64,
            })
            .collect(),
        overdue_applications,
        flagged_visits_pending: flagged,
    })
}
