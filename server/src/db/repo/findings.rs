//! `findings`.

use std::marker::PhantomData;

use chrono::NaiveDateTime;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};
use jiuzhu_proto::finding::FindingState;

use crate::db::bulk;
use crate::db::keyset::Bound;
use crate::db::limit::FirstRow;
use crate::db::one_of::one_of;
use crate::db::schema::{findings, org_units};
use crate::db::AnyConnection;
use crate::scope::Scope;
use crate::{in_scope, keyset_bound};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = findings)]
pub struct FindingRow {
    pub id: String,
    pub kind: String,
    pub household_id: Option<String>,
    pub self_report_id: Option<String>,
    pub org_path: String,
    pub rule_id: Option<String>,
    pub rule_version: Option<i32>,
    pub source: String,
    pub source_id: Option<String>,
    pub inputs: String,
    pub computed: String,
    pub categories: String,
    pub state: String,
    pub reason: Option<String>,
    pub application_id: Option<String>,
    pub closed_by: Option<String>,
    pub closed_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl FindingRow {
    /// A new open finding of `kind` in `org_path`, from `source`, with its evidence; what it is
    /// about (a household, a self-report, the rule that fired) the caller sets.
    pub fn open(
        kind: &str,
        org_path: &str,
        source: jiuzhu_proto::finding::FindingSource,
        categories: &[&str],
        inputs: String,
        computed: String,
        now: NaiveDateTime,
    ) -> serde_json::Result<Self> {
        Ok(Self {
            id: uuid::Uuid::now_v7().to_string(),
            kind: kind.to_owned(),
            household_id: None,
            self_report_id: None,
            org_path: org_path.to_owned(),
            rule_id: None,
            rule_version: None,
            source: source.as_str().to_owned(),
            source_id: None,
            inputs,
            computed,
            categories: serde_json::to_string(categories)?,
            state: FindingState::Open.as_str().into(),
            reason: None,
            application_id: None,
            closed_by: None,
            closed_at: None,
            created_at: now,
            updated_at: now,
        })
    }
}

pub fn insert(conn: &mut AnyConnection, row: &FindingRow) -> QueryResult<usize> {
    insert_many(conn, std::slice::from_ref(row))
}

/// Inserts findings ([`bulk::insert_any`]).
pub fn insert_many(conn: &mut AnyConnection, rows: &[FindingRow]) -> QueryResult<usize> {
    bulk::insert_any(conn, rows, |c, chunk| {
        diesel::insert_into(findings::table)
            .values(chunk)
            .execute(c)
    })
}

impl bulk::SqliteRow for FindingRow {
    type Key = findings::table;
    const INSERT: &'static str = "INSERT INTO findings (id, kind, household_id, self_report_id, \
        org_path, rule_id, rule_version, source, source_id, inputs, computed, categories, state, \
        reason, application_id, closed_by, closed_at, created_at, updated_at) VALUES ";

    fn bind<'b>(&'b self, out: &mut bulk::Binds<'_, '_, 'b>) -> QueryResult<()> {
        out.value::<Text, _>(&self.id)?;
        out.value::<Text, _>(&self.kind)?;
        out.value::<Nullable<Text>, _>(&self.household_id)?;
        out.value::<Nullable<Text>, _>(&self.self_report_id)?;
        out.value::<Text, _>(&self.org_path)?;
        out.value::<Nullable<Text>, _>(&self.rule_id)?;
        out.value::<Nullable<Integer>, _>(&self.rule_version)?;
        out.value::<Text, _>(&self.source)?;
        out.value::<Nullable<Text>, _>(&self.source_id)?;
        out.value::<Text, _>(&self.inputs)?;
        out.value::<Text, _>(&self.computed)?;
        out.value::<Text, _>(&self.categories)?;
        out.value::<Text, _>(&self.state)?;
        out.value::<Nullable<Text>, _>(&self.reason)?;
        out.value::<Nullable<Text>, _>(&self.application_id)?;
        out.value::<Nullable<Text>, _>(&self.closed_by)?;
        out.value::<Nullable<Timestamp>, _>(&self.closed_at)?;
        out.value::<Timestamp, _>(&self.created_at)?;
        out.value::<Timestamp, _>(&self.updated_at)
    }
}

/// `state = 'open'` with the value in the SQL text. It matches the partial index
/// `findings_one_open`; with the value bound, SQLite reads the bound value to see whether the
/// index applies, and so plans a cached statement again at every execution.
fn is_open() -> diesel::dsl::Eq<findings::state, SqlLiteral<Text>> {
    findings::state.eq(diesel::dsl::sql::<Text>("'open'"))
}

pub fn open_of(
    conn: &mut AnyConnection,
    household_id: &str,
    kind: &str,
) -> QueryResult<Option<FindingRow>> {
    findings::table
        .filter(findings::household_id.eq(household_id))
        .filter(findings::kind.eq(kind))
        .filter(is_open())
        .select(FindingRow::as_select())
        .first_row(conn)
        .optional()
}

/// The open findings of these households.
pub fn open_of_many(
    conn: &mut AnyConnection,
    household_ids: &[String],
) -> QueryResult<Vec<FindingRow>> {
    findings::table
        .filter(one_of(findings::household_id, household_ids))
        .filter(findings::state.eq(FindingState::Open.as_str()))
        .select(FindingRow::as_select())
        .load(conn)
}

/// New evidence for an open finding.
#[derive(Debug, Clone)]
pub struct Refresh {
    pub id: String,
    pub rule_version: Option<i32>,
    pub source: String,
    pub source_id: Option<String>,
    pub inputs: String,
    pub computed: String,
    pub updated_at: NaiveDateTime,
}

/// Names the refresh statement in diesel's cache.
struct RefreshStatement;

/// Refreshes open findings' evidence: SQLite re-runs one prepared UPDATE.
pub fn refresh_many(conn: &mut AnyConnection, rows: &[Refresh]) -> QueryResult<usize> {
    let mut n = 0;
    for r in rows {
        n += match conn {
            AnyConnection::Sqlite(c) => bulk::Fixed {
                row: r,
                write: |r, out| {
                    out.push_sql("UPDATE findings SET rule_version = ");
                    out.push_bind_param::<Nullable<Integer>, _>(&r.rule_version)?;
                    out.push_sql(", source = ");
                    out.push_bind_param::<Text, _>(&r.source)?;
                    out.push_sql(", source_id = ");
                    out.push_bind_param::<Nullable<Text>, _>(&r.source_id)?;
                    out.push_sql(", inputs = ");
                    out.push_bind_param::<Text, _>(&r.inputs)?;
                    out.push_sql(", computed = ");
                    out.push_bind_param::<Text, _>(&r.computed)?;
                    out.push_sql(", updated_at = ");
                    out.push_bind_param::<Timestamp, _>(&r.updated_at)?;
                    out.push_sql(" WHERE id = ");
                    out.push_bind_param::<Text, _>(&r.id)
                },
                key: PhantomData::<RefreshStatement>,
            }
            .execute(c)?,
            AnyConnection::Postgresql(c) => diesel::update(findings::table.find(&r.id))
                .set((
                    findings::rule_version.eq(r.rule_version),
                    findings::source.eq(&r.source),
                    findings::source_id.eq(&r.source_id),
                    findings::inputs.eq(&r.inputs),
                    findings::computed.eq(&r.computed),
                    findings::updated_at.eq(r.updated_at),
                ))
                .execute(c)?,
        };
    }
    Ok(n)
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<FindingRow>> {
    in_scope!(findings::table.find(id), findings::org_path, scope)
        .select(FindingRow::as_select())
        .first_row(conn)
        .optional()
}

/// Closes an open finding (converted or dismissed); 0 rows when it was no longer open.
pub fn close(
    conn: &mut AnyConnection,
    id: &str,
    state: &str,
    reason: Option<&str>,
    application_id: Option<&str>,
    actor: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(findings::table.find(id).filter(is_open()))
        .set((
            findings::state.eq(state),
            findings::reason.eq(reason),
            findings::application_id.eq(application_id),
            findings::closed_by.eq(Some(actor)),
            findings::closed_at.eq(Some(now)),
            findings::updated_at.eq(now),
        ))
        .execute(conn)
}

#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    pub household_id: Option<String>,
    pub kind: Option<String>,
    pub state: Option<String>,
    pub after: Option<String>,
    pub limit: i64,
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    f: &FindingFilter,
) -> QueryResult<Vec<FindingRow>> {
    let mut q = in_scope!(findings::table, findings::org_path, scope)
        .select(FindingRow::as_select())
        .order(findings::id.asc())
        .limit(f.limit)
        .into_boxed();
    if let Some(h) = &f.household_id {
        q = q.filter(findings::household_id.eq(h.clone()));
    }
    if let Some(k) = &f.kind {
        q = q.filter(findings::kind.eq(k.clone()));
    }
    if let Some(s) = &f.state {
        q = q.filter(findings::state.eq(s.clone()));
    }
    if let Some(after) = &f.after {
        q = q.filter(findings::id.gt(after.clone()));
    }
    q.load(conn)
}

/// A row of the findings export, with the unit's code and name.
pub type ExportRow = (
    (
        String,
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<i32>,
    ),
    (String, String, Option<String>, NaiveDateTime, NaiveDateTime),
    (Option<String>, Option<String>),
);

/// A page of the findings export in (org_path, id) order from `bound`.
// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn export_page(
    conn: &mut AnyConnection,
    scope: &Scope,
    bound: Bound<'_>,
    limit: i64,
) -> QueryResult<Vec<ExportRow>> {
    let q = in_scope!(
        findings::table.left_join(org_units::table.on(org_units::path.eq(findings::org_path))),
        findings::org_path,
        scope
    )
    .select((
        (
            findings::id,
            findings::org_path,
            findings::kind,
            findings::state,
            findings::source,
            findings::household_id,
            findings::rule_id,
            findings::rule_version,
        ),
        (
            findings::categories,
            findings::computed,
            findings::application_id,
            findings::created_at,
            findings::updated_at,
        ),
        (org_units::code.nullable(), org_units::name.nullable()),
    ))
    .order((findings::org_path.asc(), findings::id.asc()))
    .limit(limit)
    .into_boxed();
    keyset_bound!(q, bound, findings::org_path, findings::id).load(conn)
}

/// Open findings in scope by type: (type, count), by type.
pub fn count_open_by_kind(
    conn: &mut AnyConnection,
    scope: &Scope,
) -> QueryResult<Vec<(String, i64)>> {
    in_scope!(findings::table, findings::org_path, scope)
        .filter(findings::state.eq(FindingState::Open.as_str()))
        .group_by(findings::kind)
        .select((findings::kind, diesel::dsl::count_star()))
        .order(findings::kind)
        .load(conn)
}
