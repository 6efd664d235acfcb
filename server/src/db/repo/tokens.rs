//! `tokens`: hashes of access and refresh tokens, grouped in families that rotate together.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::limit::FirstRow;
use crate::db::repo::users::UserRow;
use crate::db::schema::{tokens, users};
use crate::db::sqltime::SqlTimestamp;
use crate::db::AnyConnection;
use crate::each_backend;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub id: String,
    pub token_hash: String,
    pub kind: String,
    pub user_id: String,
    pub family_id: String,
    pub device_id: Option<String>,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = tokens)]
pub struct NewToken {
    pub id: String,
    pub token_hash: String,
    pub kind: String,
    pub user_id: String,
    pub family_id: String,
    pub device_id: Option<String>,
    pub expires_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut AnyConnection, new: &NewToken) -> QueryResult<usize> {
    diesel::insert_into(tokens::table).values(new).execute(conn)
}

/// A live token of the given kind and the user it belongs to.
pub fn find_live(
    conn: &mut AnyConnection,
    hash: &str,
    kind: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<(TokenRow, UserRow)>> {
    // Every authenticated request runs this: on the concrete connection, so diesel does not
    // render its SQL text each time (see `crate::registry::wire::households`).
    each_backend!(conn, c => tokens::table
        .inner_join(users::table)
        .filter(tokens::token_hash.eq(hash))
        .filter(tokens::kind.eq(kind))
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::expires_at.gt(now))
        .select((TokenRow::as_select(), UserRow::as_select()))
        .first_row(c)
        .optional())
}

/// Any token with this hash, live or not (to detect reuse of a rotated refresh token).
pub fn find_any(conn: &mut AnyConnection, hash: &str) -> QueryResult<Option<TokenRow>> {
    tokens::table
        .filter(tokens::token_hash.eq(hash))
        .select(TokenRow::as_select())
        .first_row(conn)
        .optional()
}

/// Marks a refresh token used; returns false if someone else used it first.
pub fn mark_used(conn: &mut AnyConnection, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        tokens::table
            .find(id)
            .filter(tokens::used_at.is_null())
            .filter(tokens::revoked_at.is_null()),
    )
    .set(tokens::used_at.eq(Some(now)))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn revoke_family(
    conn: &mut AnyConnection,
    family_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        tokens::table
            .filter(tokens::family_id.eq(family_id))
            .filter(tokens::revoked_at.is_null()),
    )
    .set(tokens::revoked_at.eq(Some(now)))
    .execute(conn)
}

pub fn revoke_user(
    conn: &mut AnyConnection,
    user_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        tokens::table
            .filter(tokens::user_id.eq(user_id))
            .filter(tokens::revoked_at.is_null()),
    )
    .set(tokens::revoked_at.eq(Some(now)))
    .execute(conn)
}

/// Drops tokens that expired more than a day ago.
pub fn purge_expired(conn: &mut AnyConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(tokens::table.filter(tokens::expires_at.lt(before))).execute(conn)
}
