//! `standards`, `rules` and `rule_gaps`: what the discovery rules run on.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::one_of::one_of;
use crate::db::schema::{rule_gaps, rules, standards};
use crate::db::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = standards)]
pub struct StandardRow {
    pub district_code: String,
    pub effective_from: NaiveDate,
    pub s_urban: Option<i64>,
    pub s_rural: Option<i64>,
    pub d_urban: Option<i64>,
    pub d_rural: Option<i64>,
    pub k: Option<f64>,
    pub r: Option<f64>,
    pub x: Option<i64>,
    pub p: Option<f64>,
    pub approval_delegated: bool,
    pub demo: bool,
    pub note: String,
    pub recorded_by: Option<String>,
    pub recorded_at: NaiveDateTime,
}

/// Replaces the row for (district, date).
pub fn put(conn: &mut AnyConnection, row: &StandardRow) -> QueryResult<()> {
    diesel::delete(
        standards::table
            .filter(standards::district_code.eq(&row.district_code))
            .filter(standards::effective_from.eq(row.effective_from)),
    )
    .execute(conn)?;
    diesel::insert_into(standards::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The standard in force in a district on a day.
pub fn in_force(
    conn: &mut AnyConnection,
    district_code: &str,
    on: NaiveDate,
) -> QueryResult<Option<StandardRow>> {
    standards::table
        .filter(standards::district_code.eq(district_code))
        .filter(standards::effective_from.le(on))
        .order(standards::effective_from.desc())
        .select(StandardRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn list(conn: &mut AnyConnection, districts: &[String]) -> QueryResult<Vec<StandardRow>> {
    standards::table
        .filter(one_of(standards::district_code, districts))
        .order((standards::district_code, standards::effective_from))
        .select(StandardRow::as_select())
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rules)]
pub struct RuleRow {
    pub id: String,
    pub version: i32,
    pub definition: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert_rule(conn: &mut AnyConnection, row: &RuleRow) -> QueryResult<usize> {
    diesel::insert_into(rules::table).values(row).execute(conn)
}

pub fn any_rule(conn: &mut AnyConnection) -> QueryResult<bool> {
    Ok(rules::table
        .select(rules::id)
        .first_row::<String>(conn)
        .optional()?
        .is_some())
}

/// The latest version of every rule.
pub fn latest_rules(conn: &mut AnyConnection) -> QueryResult<Vec<RuleRow>> {
    let all: Vec<RuleRow> = rules::table
        .order((rules::id, rules::version.desc()))
        .select(RuleRow::as_select())
        .load(conn)?;
    let mut latest: Vec<RuleRow> = Vec::new();
    for row in all {
        if latest.last().is_none_or(|l| l.id != row.id) {
            latest.push(row);
        }
    }
    Ok(latest)
}

pub fn latest_version(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<i32>> {
    rules::table
        .filter(rules::id.eq(id))
        .select(diesel::dsl::max(rules::version))
        .first_row(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rule_gaps)]
pub struct GapRow {
    pub rule_id: String,
    pub district_code: String,
    pub missing: String,
    pub rule_version: i32,
    pub times: i64,
    pub first_seen: NaiveDateTime,
    pub last_seen: NaiveDateTime,
}

/// Counts one skipped evaluation.
pub fn record_gap(
    conn: &mut AnyConnection,
    rule_id: &str,
    rule_version: i32,
    district_code: &str,
    missing: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let key = rule_gaps::table
        .filter(rule_gaps::rule_id.eq(rule_id))
        .filter(rule_gaps::district_code.eq(district_code))
        .filter(rule_gaps::missing.eq(missing));
    let updated = diesel::update(key)
        .set((
            rule_gaps::times.eq(rule_gaps::times + 1),
            rule_gaps::last_seen.eq(now),
            rule_gaps::rule_version.eq(rule_version),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(rule_gaps::table)
            .values(GapRow {
                rule_id: rule_id.to_owned(),
                district_code: district_code.to_owned(),
                missing: missing.to_owned(),
                rule_version,
                times: 1,
                first_seen: now,
                last_seen: now,
            })
            .execute(conn)?;
    }
    Ok(())
}

pub fn gaps(conn: &mut AnyConnection, districts: &[String]) -> QueryResult<Vec<GapRow>> {
    rule_gaps::table
        .filter(one_of(rule_gaps::district_code, districts))
        .order((rule_gaps::district_code, rule_gaps::rule_id))
        .select(GapRow::as_select())
        .load(conn)
}
