//! The sealed columns of every table, read and rewritten by the re-seal job after a key
//! rotation (`jiuzhu keys reseal`): members' ID and phone numbers (`id_key_id` names the key of
//! both), visits' answers (`answers_key_id`), and self-reports' phone numbers (stored as
//! `key_id:ciphertext`), and accounts' second-factor secrets (stored the same way).
//!
//! Reads go in primary-key order after a given id (keyset paging), a page of [`PAGE`] rows at a
//! time; a rewrite is a compare-and-set on the values read, so a row a request changed in
//! between is left for the next pass rather than overwritten with stale data.

use diesel::prelude::*;

use crate::db::limit::LimitRowsDsl;
use crate::db::schema::{members, self_reports, users, visits};
use crate::db::AnyConnection;

/// Rows read per page.
pub const PAGE: u32 = 500;

/// A member's sealed numbers as stored.
#[derive(Debug, Clone, Queryable)]
pub struct MemberSealed {
    pub id: String,
    pub id_key_id: String,
    pub id_cipher: String,
    pub phone_cipher: Option<String>,
}

/// Members whose numbers are sealed under another key than `current`, after `after` in id order.
pub fn members_to_reseal(
    conn: &mut AnyConnection,
    current: &str,
    after: &str,
) -> QueryResult<Vec<MemberSealed>> {
    members::table
        .filter(members::id_key_id.ne(current))
        .filter(members::id.gt(after))
        .select((
            members::id,
            members::id_key_id,
            members::id_cipher,
            members::phone_cipher,
        ))
        .order(members::id.asc())
        .limit_rows::<PAGE>()
        .load(conn)
}

/// Writes a member's numbers sealed under `key_id`, if they are still `old`; false when the row
/// changed (or went) since it was read.
pub fn reseal_member(
    conn: &mut AnyConnection,
    old: &MemberSealed,
    key_id: &str,
    id_cipher: &str,
    phone_cipher: Option<&str>,
) -> QueryResult<bool> {
    let target = members::table
        .filter(members::id.eq(&old.id))
        .filter(members::id_key_id.eq(&old.id_key_id))
        .filter(members::id_cipher.eq(&old.id_cipher));
    let set = (
        members::id_key_id.eq(key_id),
        members::id_cipher.eq(id_cipher),
        members::phone_cipher.eq(phone_cipher),
    );
    let n = match &old.phone_cipher {
        Some(phone) => diesel::update(target.filter(members::phone_cipher.eq(phone)))
            .set(set)
            .execute(conn)?,
        None => diesel::update(target.filter(members::phone_cipher.is_null()))
            .set(set)
            .execute(conn)?,
    };
    Ok(n == 1)
}

/// A visit's sealed answers as stored.
#[derive(Debug, Clone, Queryable)]
pub struct VisitSealed {
    pub id: String,
    pub answers_key_id: String,
    pub answers_sealed: String,
}

/// Visits whose answers are sealed under another key than `current`, after `after` in id order.
pub fn visits_to_reseal(
    conn: &mut AnyConnection,
    current: &str,
    after: &str,
) -> QueryResult<Vec<VisitSealed>> {
    visits::table
        .filter(visits::answers_key_id.ne(current))
        .filter(visits::id.gt(after))
        .select((visits::id, visits::answers_key_id, visits::answers_sealed))
        .order(visits::id.asc())
        .limit_rows::<PAGE>()
        .load(conn)
}

/// Writes a visit's answers sealed under `key_id`, if they are still `old`.
pub fn reseal_visit(
    conn: &mut AnyConnection,
    old: &VisitSealed,
    key_id: &str,
    sealed: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        visits::table
            .filter(visits::id.eq(&old.id))
            .filter(visits::answers_key_id.eq(&old.answers_key_id))
            .filter(visits::answers_sealed.eq(&old.answers_sealed)),
    )
    .set((
        visits::answers_key_id.eq(key_id),
        visits::answers_sealed.eq(sealed),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Self-reports after `after` in id order with their stored phone (`key_id:ciphertext`). The
/// key id is inside the value, so the caller picks the rows under another key; there are few
/// (one per citizen's report).
pub fn self_report_phones(
    conn: &mut AnyConnection,
    after: &str,
) -> QueryResult<Vec<(String, String)>> {
    self_reports::table
        .filter(self_reports::id.gt(after))
        .select((self_reports::id, self_reports::phone_cipher))
        .order(self_reports::id.asc())
        .limit_rows::<PAGE>()
        .load(conn)
}

/// Writes a self-report's phone as `stored`, if it is still `old`.
pub fn reseal_self_report(
    conn: &mut AnyConnection,
    id: &str,
    old: &str,
    stored: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        self_reports::table
            .filter(self_reports::id.eq(id))
            .filter(self_reports::phone_cipher.eq(old)),
    )
    .set(self_reports::phone_cipher.eq(stored))
    .execute(conn)?;
    Ok(n == 1)
}

/// Accounts after `after` in id order with their stored second-factor secret
/// (`key_id:ciphertext`); accounts without one are left out.
pub fn second_factor_secrets(
    conn: &mut AnyConnection,
    after: &str,
) -> QueryResult<Vec<(String, String)>> {
    users::table
        .filter(users::id.gt(after))
        .filter(users::totp_cipher.is_not_null())
        .select((users::id, users::totp_cipher.assume_not_null()))
        .order(users::id.asc())
        .limit_rows::<PAGE>()
        .load(conn)
}

/// Writes an account's second-factor secret as `stored`, if it is still `old`.
pub fn reseal_second_factor(
    conn: &mut AnyConnection,
    id: &str,
    old: &str,
    stored: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        users::table
            .filter(users::id.eq(id))
            .filter(users::totp_cipher.eq(old)),
    )
    .set(users::totp_cipher.eq(stored))
    .execute(conn)?;
    Ok(n == 1)
}

/// A page of a column that names its key inside each value (`key_id:ciphertext`).
pub type PrefixedPage = fn(&mut AnyConnection, &str) -> QueryResult<Vec<(String, String)>>;

/// The columns stored as `key_id:ciphertext`: (table, its pages).
const PREFIXED: [(&str, PrefixedPage); 2] = [
    ("self_reports", self_report_phones),
    ("users", second_factor_secrets),
];

/// Rows per key id of the columns that name their key: members (ID and phone numbers) and
/// visits (answers), for the job's plan and its final check.
pub fn key_counts(conn: &mut AnyConnection) -> QueryResult<Vec<(&'static str, String, i64)>> {
    let members: Vec<(String, i64)> = members::table
        .group_by(members::id_key_id)
        .select((members::id_key_id, diesel::dsl::count_star()))
        .load(conn)?;
    let visits: Vec<(String, i64)> = visits::table
        .group_by(visits::answers_key_id)
        .select((visits::answers_key_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(members
        .into_iter()
        .map(|(k, n)| ("members", k, n))
        .chain(visits.into_iter().map(|(k, n)| ("visits", k, n)))
        .collect())
}

/// Rows per key id of the columns that name their key inside each value (self-reports' phones,
/// accounts' second-factor secrets): (table, key id, rows), the key id empty for a value that
/// names none.
pub fn prefixed_key_counts(
    conn: &mut AnyConnection,
) -> QueryResult<Vec<(&'static str, String, i64)>> {
    let mut out = Vec::new();
    for (table, next_page) in PREFIXED {
        let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
        let mut after = String::new();
        loop {
            let page = next_page(conn, &after)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = last.clone();
            for (_, stored) in &page {
                let key = stored.split_once(':').map_or("", |(k, _)| k);
                *counts.entry(key.to_owned()).or_default() += 1;
            }
        }
        out.extend(counts.into_iter().map(|(k, n)| (table, k, n)));
    }
    Ok(out)
}

/// Every key id a sealed value names, in all four tables, sorted.
pub fn key_ids(conn: &mut AnyConnection) -> QueryResult<Vec<String>> {
    let ids: std::collections::BTreeSet<String> = key_counts(conn)?
        .into_iter()
        .chain(prefixed_key_counts(conn)?)
        .map(|(_, k, _)| k)
        .filter(|k| !k.is_empty())
        .collect();
    Ok(ids.into_iter().collect())
}

/// One stored value per key id and column, to check that the secrets given open them: the
/// column (`members.id_number`, `visits.answers`), the key id and the ciphertext.
pub fn samples(conn: &mut AnyConnection) -> QueryResult<Vec<(&'static str, String, String)>> {
    use crate::db::limit::FirstRow;
    let mut out = Vec::new();
    for (table, key_id, _) in key_counts(conn)? {
        let cipher: String = if table == "members" {
            members::table
                .filter(members::id_key_id.eq(&key_id))
                .select(members::id_cipher)
                .first_row(conn)?
        } else {
            visits::table
                .filter(visits::answers_key_id.eq(&key_id))
                .select(visits::answers_sealed)
                .first_row(conn)?
        };
        out.push((table, key_id, cipher));
    }
    Ok(out)
}
