//! Storing households: grid assignment, sealing personal fields, the one-household-per-number
//! rule, versioned updates and the status history.

use chrono::{NaiveDate, NaiveDateTime};
use jiuzhu_proto::household::{AssistanceStatus, Relation};
use jiuzhu_proto::ErrorCode;

use crate::crypto::FieldCipher;
use crate::db::repo::households::{self as repo, ConflictRow, HouseholdRow, MemberRow, StatusRow};
use crate::db::repo::org_units;
use crate::db::AnyConnection;
use crate::domain::geo::GridKey;
use crate::domain::geo::{GridLookup, LatLon};
use crate::error::{ApiError, ApiResult};
use crate::registry::{ValidMember, ID_CONTEXT, ID_INDEX, PHONE_CONTEXT};
use crate::scope::Scope;

/// The grid a household belongs to.
#[derive(Debug, Clone)]
pub struct GridChoice {
    pub grid_id: String,
    pub org_path: String,
    pub overridden: bool,
}

fn unprocessable(code: ErrorCode, field: &str, detail_code: &str, zh: &str, en: &str) -> ApiError {
    let mut e = ApiError::validation(vec![jiuzhu_proto::error::FieldError {
        field: field.into(),
        code: detail_code.into(),
        message: format!("{zh} / {en}"),
    }]);
    e.code = code;
    e
}

/// Picks the grid: a named grid (an override) must be a grid in scope; otherwise the location's
/// grid, which must be in scope too.
pub fn choose_grid(
    conn: &mut AnyConnection,
    scope: &Scope,
    lookup: &GridLookup<GridKey>,
    location: Option<LatLon>,
    override_grid: Option<&str>,
) -> ApiResult<GridChoice> {
    if let Some(grid_id) = override_grid {
        let grid = org_units::find_in_scope(conn, scope, grid_id)?
            .filter(|g| g.kind == "grid")
            .ok_or_else(|| {
                unprocessable(
                    ErrorCode::ValidationFailed,
                    "grid_id",
                    "unknown_grid",
                    "网格不存在或不在权限范围内",
                    "no such grid in your area",
                )
            })?;
        return Ok(GridChoice {
            grid_id: grid.id,
            org_path: grid.path,
            overridden: true,
        });
    }
    let Some(point) = location else {
        return Err(unprocessable(
            ErrorCode::ValidationFailed,
            "location",
            "required",
            "需要位置或网格",
            "a location or a grid_id is required",
        ));
    };
    let entry = lookup.locate(point).ok_or_else(|| {
        unprocessable(
            ErrorCode::ValidationFailed,
            "location",
            "outside_all_grids",
            "该位置不在任何网格内",
            "the location is outside every grid; name the grid with grid_id",
        )
    })?;
    let grid = org_units::find_by_id(conn, &entry.key.id)?.ok_or_else(ApiError::not_found)?;
    if !scope.contains(&grid.path) {
        return Err(unprocessable(
            ErrorCode::ValidationFailed,
            "location",
            "outside_scope",
            "该位置不在您的辖区内",
            "the location is outside your area",
        ));
    }
    Ok(GridChoice {
        grid_id: grid.id,
        org_path: grid.path,
        overridden: false,
    })
}

/// A member row with its ID and phone numbers sealed and blind-indexed.
pub fn seal_member(
    cipher: &FieldCipher,
    household_id: &str,
    position: i32,
    m: &ValidMember,
    now: NaiveDateTime,
) -> ApiResult<MemberRow> {
    let sealed = cipher
        .encrypt(m.id.as_str(), ID_CONTEXT)
        .map_err(ApiError::internal)?;
    let (phone_cipher, phone_masked) = match &m.input.phone {
        Some(p) => (
            Some(
                cipher
                    .encrypt(p, PHONE_CONTEXT)
                    .map_err(ApiError::internal)?
                    .ciphertext,
            ),
            Some(crate::domain::id_number::mask_phone(p)),
        ),
        None => (None, None),
    };
    let i = &m.input;
    Ok(MemberRow {
        id: uuid::Uuid::now_v7().to_string(),
        household_id: household_id.to_owned(),
        position,
        name: i.name.clone(),
        relation: i.relation.as_str().to_owned(),
        id_cipher: sealed.ciphertext,
        id_key_id: sealed.key_id,
        id_blind: cipher.blind_index(ID_INDEX, m.id.as_str()).to_vec(),
        id_masked: m.id.masked(),
        birth_date: m.birth_date,
        gender: m.gender.as_str().to_owned(),
        health: i.health.as_str().to_owned(),
        disability_type: i.disability_type.map(|d| d.as_str().to_owned()),
        disability_level: i.disability_level.map(i32::from),
        daily_living: super::stored::daily_living_text(&i.daily_living),
        work_status: i.work_status.as_str().to_owned(),
        student_status: i.student_status.as_str().to_owned(),
        income: super::stored::income_text(&i.annual_income),
        annual_income_fen: i.annual_income.total().unwrap_or(i64::MAX),
        phone_cipher,
        phone_masked,
        created_at: now,
        updated_at: now,
    })
}

/// Serialises every writer of members' ID numbers for the rest of the transaction, so the
/// "already held by another household" check and the insert cannot interleave. SQLite's
/// `BEGIN IMMEDIATE` already holds the write lock; PostgreSQL under READ COMMITTED needs this.
pub fn lock_id_numbers(conn: &mut AnyConnection) -> ApiResult<()> {
    Ok(crate::db::locks::id_numbers(conn)?)
}

/// A number that another household already holds.
#[derive(Debug, Clone)]
pub struct Clash {
    /// Index into the members being written.
    pub member_index: usize,
    pub id_blind: Vec<u8>,
    pub id_masked: String,
    pub existing_household_id: String,
    pub existing_org_path: String,
}

/// Finds the members whose numbers are already in another household.
pub fn find_clashes(
    conn: &mut AnyConnection,
    rows: &[MemberRow],
    except: Option<&str>,
) -> ApiResult<Vec<Clash>> {
    lock_id_numbers(conn)?;
    let blinds: Vec<Vec<u8>> = rows.iter().map(|r| r.id_blind.clone()).collect();
    let holders = repo::holders_of(conn, &blinds, except)?;
    Ok(rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            holders
                .iter()
                .find(|(b, _, _)| *b == r.id_blind)
                .map(|(_, h, p)| Clash {
                    member_index: i,
                    id_blind: r.id_blind.clone(),
                    id_masked: r.id_masked.clone(),
                    existing_household_id: h.clone(),
                    existing_org_path: p.clone(),
                })
        })
        .collect())
}

/// Records clashes for the coordinators of both sides to see (call in its own transaction: the
/// write that found them is refused).
pub fn record_clashes(
    conn: &mut AnyConnection,
    clashes: &[Clash],
    attempted: &str,
    attempted_path: &str,
    actor: Option<&str>,
) -> ApiResult<()> {
    let now = crate::db::now();
    for c in clashes {
        // One row scoped to each side, so both coordinators see it.
        let mut paths = vec![c.existing_org_path.clone()];
        if attempted_path != c.existing_org_path {
            paths.push(attempted_path.to_owned());
        }
        for path in paths {
            repo::insert_conflict(
                conn,
                &ConflictRow {
                    id: uuid::Uuid::now_v7().to_string(),
                    id_blind: c.id_blind.clone(),
                    id_masked: c.id_masked.clone(),
                    existing_household_id: c.existing_household_id.clone(),
                    org_path: path,
                    attempted: attempted.to_owned(),
                    attempted_by: actor.map(str::to_owned),
                    resolved: false,
                    created_at: now,
                },
            )?;
        }
    }
    Ok(())
}

/// The 409 for clashes; names the other household only when the caller may see it.
pub fn clash_error(clashes: &[Clash], scope: &Scope, field_prefix: &str) -> ApiError {
    let details = clashes
        .iter()
        .map(|c| jiuzhu_proto::error::FieldError {
            field: format!("{field_prefix}[{}].id_number", c.member_index),
            code: "id_number_conflict".into(),
            message: if scope.contains(&c.existing_org_path) {
                format!("该身份证号已登记在户 {} / this ID number is already in household {}", c.existing_household_id, c.existing_household_id)
            } else {
                "该身份证号已登记在其他辖区的户中 / this ID number is already in a household outside your area".into()
            },
        })
        .collect();
    let mut e = ApiError::validation(details);
    e.code = ErrorCode::Conflict;
    e.status = actix_web::http::StatusCode::CONFLICT;
    e
}

/// A status period row.
pub fn status_row(
    household_id: &str,
    status: AssistanceStatus,
    from: NaiveDate,
    note: &str,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> StatusRow {
    StatusRow {
        id: uuid::Uuid::now_v7().to_string(),
        household_id: household_id.to_owned(),
        status: status.as_str().to_owned(),
        from_date: from,
        to_date: None,
        note: note.to_owned(),
        recorded_by: actor.map(str::to_owned),
        recorded_at: now,
    }
}

/// Everything needed to insert one new household.
pub struct NewHousehold {
    pub row: HouseholdRow,
    pub members: Vec<MemberRow>,
    pub tags: Vec<String>,
    pub status: Option<StatusRow>,
}

/// Builds the rows of a new household (no database access: the import batches these).
#[allow(clippy::too_many_arguments)]
pub fn build(
    cipher: &FieldCipher,
    h: &crate::registry::ValidHousehold,
    grid: &GridChoice,
    actor: Option<&str>,
    now: NaiveDateTime,
    today: NaiveDate,
) -> ApiResult<NewHousehold> {
    let id = uuid::Uuid::now_v7().to_string();
    let members = h
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| seal_member(cipher, &id, i as i32, m, now))
        .collect::<ApiResult<Vec<_>>>()?;
    let head = h
        .members
        .iter()
        .position(|m| m.input.relation == Relation::Head);
    let row = HouseholdRow {
        id: id.clone(),
        external_id: h.external_id.clone(),
        address: h.address.clone(),
        lat: h.location.map(|p| p.lat()),
        lon: h.location.map(|p| p.lon()),
        grid_id: grid.grid_id.clone(),
        org_path: grid.org_path.clone(),
        grid_overridden: grid.overridden,
        status: h.status.as_str().to_owned(),
        notes: h.notes.clone(),
        head_member_id: head.map(|i| members[i].id.clone()),
        head_name: head.map(|i| members[i].name.clone()),
        member_count: members.len() as i32,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let status = (h.status != AssistanceStatus::None).then(|| {
        status_row(
            &id,
            h.status,
            h.status_since.unwrap_or(today),
            "",
            actor,
            now,
        )
    });
    Ok(NewHousehold {
        row,
        members,
        tags: h.tags.clone(),
        status,
    })
}

/// Inserts a batch of new households.
pub fn insert_all(conn: &mut AnyConnection, batch: &[NewHousehold]) -> ApiResult<()> {
    let rows: Vec<HouseholdRow> = batch.iter().map(|n| n.row.clone()).collect();
    repo::insert_households(conn, &rows)?;
    let members: Vec<MemberRow> = batch
        .iter()
        .flat_map(|n| n.members.iter().cloned())
        .collect();
    repo::insert_members(conn, &members)?;
    let tags: Vec<(String, String)> = batch
        .iter()
        .flat_map(|n| n.tags.iter().map(|t| (n.row.id.clone(), t.clone())))
        .collect();
    repo::insert_tag_rows(conn, &tags)?;
    let statuses: Vec<StatusRow> = batch.iter().filter_map(|n| n.status.clone()).collect();
    repo::insert_statuses(conn, &statuses)?;
    Ok(())
}

/// Records the clashes (in their own transaction, since the write that found them is refused) and
/// returns the 409 to answer with.
pub async fn refuse_clashes(
    db: &crate::database::Database,
    clashes: Vec<Clash>,
    scope: &Scope,
    field_prefix: &str,
    action: &'static str,
    attempted_path: String,
    actor: String,
) -> ApiError {
    let err = clash_error(&clashes, scope, field_prefix);
    let recorded = db
        .tx(move |conn| record_clashes(conn, &clashes, action, &attempted_path, Some(&actor)))
        .await;
    match recorded {
        Ok(()) => err,
        Err(e) => e,
    }
}
