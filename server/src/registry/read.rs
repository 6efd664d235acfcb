//! Households as the API shows them: personal numbers masked for every role.

use std::collections::HashMap;

use jiuzhu_proto::household::{
    AssistanceStatus, DisabilityType, Gender, Health, Household, HouseholdSummary, Location,
    Member, Relation, StatusPeriod, StudentStatus, WorkStatus,
};

use crate::db::repo::households::{self as repo, HouseholdRow, MemberView, StatusRow};
use crate::db::AnyConnection;
use crate::domain::free_text;
use crate::error::{ApiError, ApiResult};
use crate::registry::stored;
use crate::scope::Scope;

fn bad(what: &str) -> ApiError {
    ApiError::internal(anyhow::anyhow!("unreadable {what} in the database"))
}

fn uuid(s: &str) -> ApiResult<uuid::Uuid> {
    s.parse().map_err(|_| bad("id"))
}

pub fn member(row: MemberView) -> ApiResult<Member> {
    Ok(Member {
        id: uuid(&row.id)?,
        name: row.name,
        relation: Relation::parse(&row.relation).ok_or_else(|| bad("relation"))?,
        id_number_masked: row.id_masked,
        birth_date: row.birth_date,
        gender: Gender::parse(&row.gender).ok_or_else(|| bad("gender"))?,
        health: Health::parse(&row.health).ok_or_else(|| bad("health"))?,
        disability_type: row
            .disability_type
            .map(|d| DisabilityType::parse(&d).ok_or_else(|| bad("disability")))
            .transpose()?,
        disability_level: row.disability_level.map(|l| l as u8),
        daily_living: stored::daily_living(&row.daily_living).ok_or_else(|| bad("daily living"))?,
        work_status: WorkStatus::parse(&row.work_status).ok_or_else(|| bad("work status"))?,
        student_status: StudentStatus::parse(&row.student_status)
            .ok_or_else(|| bad("student status"))?,
        annual_income: stored::income(&row.income).ok_or_else(|| bad("income"))?,
        phone_masked: row.phone_masked,
    })
}

fn period(row: StatusRow) -> ApiResult<StatusPeriod> {
    Ok(StatusPeriod {
        status: AssistanceStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
        from: row.from_date,
        to: row.to_date,
        note: free_text::mask_text(&row.note).into_owned(),
    })
}

/// The whole household, if it is in scope.
pub fn household(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> ApiResult<Option<Household>> {
    Ok(households(conn, scope, &[id.to_owned()])?
        .into_iter()
        .next())
}

/// Households read together (a sync page's): four queries whatever their number. Returns those
/// of `ids` that exist and are in scope, in the order of `ids`, exactly as [`household`] would one
/// by one.
pub fn households(
    conn: &mut AnyConnection,
    scope: &Scope,
    ids: &[String],
) -> ApiResult<Vec<Household>> {
    /// Ids per query: far below either backend's limit on bound parameters.
    const CHUNK: usize = 1000;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let mut rows = repo::find_many_in_scope(conn, scope, chunk)?;
        if rows.is_empty() {
            continue;
        }
        let mut place: HashMap<&str, usize> = HashMap::with_capacity(chunk.len());
        for (i, id) in chunk.iter().enumerate() {
            place.entry(id.as_str()).or_insert(i);
        }
        rows.sort_by_key(|(row, _)| place.get(row.id.as_str()).copied());
        let found: Vec<String> = rows.iter().map(|(row, _)| row.id.clone()).collect();
        out.extend(assemble_all(
            rows,
            repo::member_views_of_many(conn, &found)?,
            repo::history_of_many(conn, &found)?,
            repo::tags_for(conn, &found)?,
        )?);
    }
    Ok(out)
}

/// Households in the order of `rows`, each with its members, status history and tags (each list
/// ordered as it should appear); entries of other households are ignored.
fn assemble_all(
    rows: Vec<(HouseholdRow, String)>,
    members: Vec<MemberView>,
    history: Vec<StatusRow>,
    tags: Vec<(String, String)>,
) -> ApiResult<Vec<Household>> {
    type Parts = (Vec<Member>, Vec<StatusPeriod>, Vec<String>);
    let mut parts: HashMap<String, Parts> = rows
        .iter()
        .map(|(row, _)| (row.id.clone(), Parts::default()))
        .collect();
    for m in members {
        if let Some(p) = parts.get_mut(&m.household_id) {
            p.0.push(member(m)?);
        }
    }
    for h in history {
        if let Some(p) = parts.get_mut(&h.household_id) {
            p.1.push(period(h)?);
        }
    }
    for (h, t) in tags {
        if let Some(p) = parts.get_mut(&h) {
            p.2.push(t);
        }
    }
    rows.into_iter()
        .map(|(row, code)| {
            let (members, history, tags) = parts.remove(&row.id).unwrap_or_default();
            assemble(row, code, members, history, tags)
        })
        .collect()
}

fn assemble(
    row: HouseholdRow,
    grid_code: String,
    members: Vec<Member>,
    status_history: Vec<StatusPeriod>,
    tags: Vec<String>,
) -> ApiResult<Household> {
    Ok(Household {
        id: uuid(&row.id)?,
        external_id: row.external_id,
        address: row.address,
        location: match (row.lat, row.lon) {
            (Some(lat), Some(lon)) => Some(Location {
                lat,
                lon,
                crs: None,
            }),
            _ => None,
        },
        grid_id: row.grid_id.parse().map_err(|_| bad("grid id"))?,
        grid_code,
        grid_overridden: row.grid_overridden,
        status: AssistanceStatus::parse(&row.status).ok_or_else(|| bad("status"))?,
        status_history,
        tags,
        notes: free_text::mask_text(&row.notes).into_owned(),
        head_member_id: row.head_member_id.map(|h| uuid(&h)).transpose()?,
        members,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
        warnings: Vec::new(),
    })
}

pub fn summaries(
    conn: &mut AnyConnection,
    rows: Vec<(HouseholdRow, String)>,
) -> ApiResult<Vec<HouseholdSummary>> {
    let ids: Vec<String> = rows.iter().map(|(r, _)| r.id.clone()).collect();
    let tags = repo::tags_for(conn, &ids)?;
    rows.into_iter()
        .map(|(r, code)| {
            Ok(HouseholdSummary {
                id: uuid(&r.id)?,
                tags: tags
                    .iter()
                    .filter(|(h, _)| *h == r.id)
                    .map(|(_, t)| t.clone())
                    .collect(),
                external_id: r.external_id,
                address: r.address,
                grid_id: r.grid_id.parse().map_err(|_| bad("grid id"))?,
                grid_code: code,
                status: AssistanceStatus::parse(&r.status).ok_or_else(|| bad("status"))?,
                head_name: r.head_name,
                member_count: i64::from(r.member_count),
                version: r.version,
            })
        })
        .collect()
}
