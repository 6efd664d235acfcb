//! `photos`, `uploads`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::one_of::one_of;
use crate::db::schema::{photos, uploads};
use crate::db::AnyConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub struct PhotoRow {
    pub id: String,
    pub owner_id: String,
    pub org_path: String,
    pub media_type: String,
    pub sha256: String,
    pub phash: i64,
    pub phash_b0: i32,
    pub phash_b1: i32,
    pub phash_b2: i32,
    pub phash_b3: i32,
    pub width: i32,
    pub height: i32,
    pub byte_size: i64,
    pub exif_lat: Option<f64>,
    pub exif_lon: Option<f64>,
    pub exif_taken_at: Option<NaiveDateTime>,
    pub exif_make: Option<String>,
    pub exif_model: Option<String>,
    pub original_key: String,
    pub display_key: String,
    pub thumb_key: String,
    pub visit_id: Option<String>,
    pub household_id: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, row: &PhotoRow) -> QueryResult<usize> {
    diesel::insert_into(photos::table).values(row).execute(conn)
}

pub fn find(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<PhotoRow>> {
    photos::table
        .find(id)
        .select(PhotoRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn find_many(conn: &mut AnyConnection, ids: &[String]) -> QueryResult<Vec<PhotoRow>> {
    photos::table
        .filter(one_of(photos::id, ids))
        .select(PhotoRow::as_select())
        .load(conn)
}

/// Attaches photos to a visit; they take the household's org path (and so its scope).
pub fn attach(
    conn: &mut AnyConnection,
    ids: &[String],
    visit_id: &str,
    household_id: &str,
    org_path: &str,
) -> QueryResult<usize> {
    diesel::update(photos::table.filter(one_of(photos::id, ids)))
        .set((
            photos::visit_id.eq(visit_id),
            photos::household_id.eq(household_id),
            photos::org_path.eq(org_path),
        ))
        .execute(conn)
}

/// Photos attached to visits of other households with the same bytes: (photo, org path).
pub fn same_bytes_elsewhere(
    conn: &mut AnyConnection,
    sha256: &str,
    household_id: &str,
) -> QueryResult<Vec<(String, String)>> {
    photos::table
        .filter(photos::sha256.eq(sha256))
        .filter(photos::household_id.is_not_null())
        .filter(photos::household_id.ne(household_id))
        .select((photos::id, photos::org_path))
        .load(conn)
}

/// Photos of other households' visits sharing a 16-bit band of the perceptual hash:
/// (photo, org path, hash). The caller computes the real distance.
// disallowed_methods: a constant limit still bound by diesel: to become limit_rows::<N>() (issue 20).
#[allow(clippy::disallowed_methods)]
pub fn near_hash_candidates(
    conn: &mut AnyConnection,
    bands: [i32; 4],
    household_id: &str,
) -> QueryResult<Vec<(String, String, i64)>> {
    photos::table
        .filter(
            photos::phash_b0
                .eq(bands[0])
                .or(photos::phash_b1.eq(bands[1]))
                .or(photos::phash_b2.eq(bands[2]))
                .or(photos::phash_b3.eq(bands[3])),
        )
        .filter(photos::household_id.is_not_null())
        .filter(photos::household_id.ne(household_id))
        .select((photos::id, photos::org_path, photos::phash))
        .limit(1000)
        .load(conn)
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    pub id: String,
    pub owner_id: String,
    pub photo_id: String,
    pub length: i64,
    pub sha256: String,
    pub committed: i64,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_upload(conn: &mut AnyConnection, row: &UploadRow) -> QueryResult<usize> {
    diesel::insert_into(uploads::table)
        .values(row)
        .execute(conn)
}

/// A live upload of this owner.
pub fn find_upload(
    conn: &mut AnyConnection,
    id: &str,
    owner: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<UploadRow>> {
    uploads::table
        .find(id)
        .filter(uploads::owner_id.eq(owner))
        .filter(uploads::expires_at.gt(now))
        .select(UploadRow::as_select())
        .first_row(conn)
        .optional()
}

/// Moves the committed offset from `from` to `to`; false when another request moved it first.
pub fn advance_upload(conn: &mut AnyConnection, id: &str, from: i64, to: i64) -> QueryResult<bool> {
    let n = diesel::update(uploads::table.find(id).filter(uploads::committed.eq(from)))
        .set(uploads::committed.eq(to))
        .execute(conn)?;
    Ok(n == 1)
}

/// Whether an upload row with this id exists (any owner, expired or not).
pub fn upload_exists(conn: &mut AnyConnection, id: &str) -> QueryResult<bool> {
    Ok(uploads::table
        .find(id)
        .select(uploads::id)
        .first_row::<String>(conn)
        .optional()?
        .is_some())
}

/// Whether any photo row names this object key (as its original, display copy or thumbnail).
/// No index serves it: the orphan sweep asks only about objects a crash may have left.
pub fn key_in_use(conn: &mut AnyConnection, key: &str) -> QueryResult<bool> {
    Ok(photos::table
        .filter(
            photos::original_key
                .eq(key)
                .or(photos::display_key.eq(key))
                .or(photos::thumb_key.eq(key)),
        )
        .select(photos::id)
        .first_row::<String>(conn)
        .optional()?
        .is_some())
}

pub fn delete_upload(conn: &mut AnyConnection, id: &str) -> QueryResult<usize> {
    diesel::delete(uploads::table.find(id)).execute(conn)
}

/// Removes expired uploads; returns their ids (their files go too).
pub fn expire_uploads(conn: &mut AnyConnection, now: NaiveDateTime) -> QueryResult<Vec<String>> {
    let ids: Vec<String> = uploads::table
        .filter(uploads::expires_at.le(now))
        .select(uploads::id)
        .load(conn)?;
    diesel::delete(uploads::table.filter(one_of(uploads::id, &ids))).execute(conn)?;
    Ok(ids)
}

/// Files these photos under a unit and a household (or none).
pub fn file_under(
    conn: &mut AnyConnection,
    ids: &[String],
    org_path: &str,
    household_id: Option<&str>,
) -> QueryResult<usize> {
    diesel::update(photos::table.filter(one_of(photos::id, ids)))
        .set((
            photos::org_path.eq(org_path),
            photos::household_id.eq(household_id),
        ))
        .execute(conn)
}
