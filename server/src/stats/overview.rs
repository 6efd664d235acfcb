//! `GET /stats/overview`: counts grouped in SQL within the unit's subtree.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::dsl::count_star;
use diesel::prelude::*;
use jiuzhu_proto::application::ApplicationState;
use jiuzhu_proto::stats::{Count, Overview, StepTime};
use jiuzhu_proto::OrgUnitId;

use crate::applications::workflow::{self, Limits};
use crate::calendar::Calendar;
use crate::db::limit::FirstRow;
use crate::db::schema::{application_events, applications, findings, households, tasks, visits};
use crate::db::AnyConnection;
use crate::domain::time::date_of as china_date;
use crate::error::ApiResult;
use crate::in_scope;
use crate::scope::Scope;

fn counts(rows: Vec<(String, i64)>) -> Vec<Count> {
    rows.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

// disallowed_methods: a constant list of states: one statement text whatever the data.
#[allow(clippy::disallowed_methods)]
pub fn overview(
    conn: &mut AnyConnection,
    calendar: &Calendar,
    unit: OrgUnitId,
    scope: &Scope,
    coverage_days: i64,
    now: NaiveDateTime,
) -> ApiResult<Overview> {
    let today = china_date(now);
    let by_status: Vec<(String, i64)> = in_scope!(households::table, households::org_path, scope)
        .group_by(households::status)
        .select((households::status, count_star()))
        .order(households::status)
        .load(conn)?;
    let total: i64 = by_status.iter().map(|(_, n)| n).sum();
    let since = now - Duration::days(coverage_days);
    let visited: i64 = in_scope!(visits::table, visits::org_path, scope)
        .filter(visits::received_at.ge(since))
        .filter(visits::review_state.ne("rejected"))
        .select(diesel::dsl::count(visits::household_id).aggregate_distinct())
        .first_row(conn)?;
    let overdue_tasks: i64 = in_scope!(tasks::table, tasks::org_path, scope)
        .filter(tasks::state.eq_any(["pending", "assigned", "accepted"]))
        .filter(tasks::due_date.lt(today))
        .count()
        .get_result(conn)?;
    let open_findings: Vec<(String, i64)> = in_scope!(findings::table, findings::org_path, scope)
        .filter(findings::state.eq("open"))
        .group_by(findings::kind)
        .select((findings::kind, count_star()))
        .order(findings::kind)
        .load(conn)?;
    let by_state: Vec<(String, i64)> =
        in_scope!(applications::table, applications::org_path, scope)
            .group_by(applications::state)
            .select((applications::state, count_star()))
            .order(applications::state)
            .load(conn)?;
    let limits: Vec<(String, Option<chrono::NaiveDate>, Option<chrono::NaiveDate>)> =
        in_scope!(applications::table, applications::org_path, scope)
            .select((
                applications::state,
                applications::step_due,
                applications::total_due,
            ))
            .load(conn)?;
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
    let events: Vec<(String, String, NaiveDateTime)> = application_events::table
        .inner_join(applications::table)
        .filter(applications::org_path.ge(scope.lower()))
        .filter(applications::org_path.lt(scope.upper()))
        .order((application_events::application_id, application_events::seq))
        .select((
            application_events::application_id,
            application_events::to_state,
            application_events::at,
        ))
        .load(conn)?;
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
    let flagged: i64 = in_scope!(visits::table, visits::org_path, scope)
        .filter(visits::flag_count.gt(0))
        .filter(visits::review_state.eq("pending"))
        .count()
        .get_result(conn)?;
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
