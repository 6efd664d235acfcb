//! `users`: accounts, each bound to one org unit whose path is the account's scope.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use jiuzhu_proto::user::Role;

use crate::db::limit::FirstRow;
use crate::db::schema::{org_units, users};
use crate::db::sqltime::SqlTimestamp;
use crate::db::AnyConnection;
use crate::in_scope;
use crate::scope::Scope;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub org_unit_id: String,
    pub org_path: String,
    pub password_hash: String,
    pub disabled: bool,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = SqlTimestamp)]
    pub updated_at: NaiveDateTime,
    /// A second factor was confirmed with a code: log-ins need one.
    pub totp_enabled: bool,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub org_unit_id: String,
    pub org_path: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub org_unit_id: Option<String>,
    pub org_path: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

/// A user with the code of their org unit.
pub type UserWithCode = (UserRow, String);

pub fn insert(conn: &mut AnyConnection, new: &NewUser) -> QueryResult<usize> {
    diesel::insert_into(users::table).values(new).execute(conn)
}

pub fn update(conn: &mut AnyConnection, id: &str, changes: &UserChanges) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set(changes)
        .execute(conn)
}

/// By normalised username, without scope: for log-in.
pub fn find_by_username(conn: &mut AnyConnection, username: &str) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(UserRow::as_select())
        .first_row(conn)
        .optional()
}

pub fn find_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
) -> QueryResult<Option<UserWithCode>> {
    in_scope!(
        users::table
            .inner_join(org_units::table)
            .filter(users::id.eq(id)),
        users::org_path,
        scope
    )
    .select((UserRow::as_select(), org_units::code))
    .first_row(conn)
    .optional()
}

/// Filters for a list of accounts.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    /// Leave disabled accounts out.
    pub active_only: bool,
    /// Keyset: only accounts whose username sorts after this one.
    pub after_username: Option<String>,
    pub limit: i64,
}

// disallowed_methods: the row count is the request's page size, not a constant limit_rows::<N>() can write.
#[allow(clippy::disallowed_methods)]
pub fn list_in_scope(
    conn: &mut AnyConnection,
    scope: &Scope,
    filter: &UserFilter,
) -> QueryResult<Vec<UserWithCode>> {
    let mut query = in_scope!(
        users::table.inner_join(org_units::table),
        users::org_path,
        scope
    )
    .select((UserRow::as_select(), org_units::code))
    .order(users::username.asc())
    .limit(filter.limit)
    .into_boxed();
    if let Some(after) = &filter.after_username {
        query = query.filter(users::username.gt(after.clone()));
    }
    if let Some(role) = &filter.role {
        query = query.filter(users::role.eq(role.clone()));
    }
    if filter.active_only {
        query = query.filter(users::disabled.eq(false));
    }
    query.load(conn)
}

impl UserRow {
    /// The user as the API shows it.
    pub fn into_api(
        self,
        org_unit_code: String,
    ) -> crate::error::ApiResult<jiuzhu_proto::user::User> {
        use crate::error::ApiError;
        Ok(jiuzhu_proto::user::User {
            id: self.id.parse().map_err(ApiError::internal)?,
            username: self.username,
            display_name: self.display_name,
            role: jiuzhu_proto::user::Role::parse(&self.role)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown role in database")))?,
            org_unit_id: self.org_unit_id.parse().map_err(ApiError::internal)?,
            org_unit_code,
            disabled: self.disabled,
            second_factor: self.totp_enabled,
            created_at: self.created_at.and_utc(),
        })
    }
}

/// A user and their unit's code, by id, without scope (for the caller's own account).
pub fn find_with_code(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<UserWithCode>> {
    users::table
        .inner_join(org_units::table)
        .filter(users::id.eq(id))
        .select((UserRow::as_select(), org_units::code))
        .first_row(conn)
        .optional()
}

/// How many admins can still log in.
pub fn active_admins(conn: &mut AnyConnection) -> QueryResult<i64> {
    users::table
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled.eq(false))
        .count()
        .get_result(conn)
}

/// An account's second-factor secret as stored (`key_id:ciphertext`), when one was started.
pub fn second_factor_secret(conn: &mut AnyConnection, id: &str) -> QueryResult<Option<String>> {
    users::table
        .filter(users::id.eq(id))
        .select(users::totp_cipher)
        .first_row(conn)
        .optional()
        .map(Option::flatten)
}

/// Starts (or starts again) an enrolment with a new sealed secret, unless a second factor is
/// already confirmed. Whether it was stored.
pub fn start_second_factor(
    conn: &mut AnyConnection,
    id: &str,
    stored: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::totp_enabled.eq(false)),
    )
    .set((
        users::totp_cipher.eq(stored),
        users::totp_last_step.eq(None::<i64>),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Confirms the enrolment whose secret is still `stored`, spending the code's time `step`.
pub fn confirm_second_factor(
    conn: &mut AnyConnection,
    id: &str,
    stored: &str,
    step: i64,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::totp_enabled.eq(false))
            .filter(users::totp_cipher.eq(stored)),
    )
    .set((
        users::totp_enabled.eq(true),
        users::totp_last_step.eq(step),
        users::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Spends a code's time `step` for a log-in: true only for the first use of a step later than
/// the last one spent, so a code (or an older one) seen by someone else cannot log in again,
/// on any instance.
pub fn spend_second_factor_step(
    conn: &mut AnyConnection,
    id: &str,
    step: i64,
) -> QueryResult<bool> {
    let n = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::totp_enabled.eq(true))
            .filter(
                users::totp_last_step
                    .is_null()
                    .or(users::totp_last_step.lt(step)),
            ),
    )
    .set(users::totp_last_step.eq(step))
    .execute(conn)?;
    Ok(n == 1)
}

/// Removes an account's second factor (a lost phone): the next log-in needs the password only.
pub fn clear_second_factor(
    conn: &mut AnyConnection,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::totp_cipher.eq(None::<String>),
            users::totp_enabled.eq(false),
            users::totp_last_step.eq(None::<i64>),
            users::updated_at.eq(now),
        ))
        .execute(conn)
}
