//! Issuing token pairs: an access token and a refresh token in one family.

use chrono::{Duration, NaiveDateTime};
use secrecy::SecretBox;

use crate::auth::token::{self, TokenKind};
use crate::db::repo::tokens::{self, NewToken};
use crate::db::AnyConnection;
use crate::error::ApiResult;

/// What issuing and checking tokens needs: the pepper their stored hashes are keyed with and the
/// lifetimes of a pair (`AppState::tokens` lends one).
#[derive(Clone, Copy)]
pub struct TokenIssuer<'a> {
    pub pepper: &'a SecretBox<[u8; 32]>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
}

impl TokenIssuer<'_> {
    /// The stored form of a token.
    pub fn hash(&self, token: &str) -> String {
        token::hash(self.pepper, token)
    }
}

pub struct IssuedPair {
    pub access_token: String,
    pub access_expires_at: NaiveDateTime,
    pub refresh_token: String,
    pub refresh_expires_at: NaiveDateTime,
}

/// Stores the hashes of a new access and refresh token for the user, in the given family.
pub fn issue_pair(
    conn: &mut AnyConnection,
    issuer: &TokenIssuer<'_>,
    user_id: &str,
    family_id: &str,
    device_id: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<IssuedPair> {
    let access_token = token::generate(TokenKind::Access);
    let refresh_token = token::generate(TokenKind::Refresh);
    let access_expires_at = now + Duration::seconds(issuer.access_ttl_secs as i64);
    let refresh_expires_at = now + Duration::seconds(issuer.refresh_ttl_secs as i64);
    for (kind, value, expires_at) in [
        (TokenKind::Access, &access_token, access_expires_at),
        (TokenKind::Refresh, &refresh_token, refresh_expires_at),
    ] {
        tokens::insert(
            conn,
            &NewToken {
                id: uuid::Uuid::now_v7().to_string(),
                token_hash: issuer.hash(value),
                kind: kind.as_str().to_owned(),
                user_id: user_id.to_owned(),
                family_id: family_id.to_owned(),
                device_id: device_id.map(str::to_owned),
                expires_at,
                created_at: now,
            },
        )?;
    }
    Ok(IssuedPair {
        access_token,
        access_expires_at,
        refresh_token,
        refresh_expires_at,
    })
}

/// Logs a user in: a new token family, its pair, and the user as the API shows them.
pub fn token_pair(
    conn: &mut AnyConnection,
    issuer: &TokenIssuer<'_>,
    user_id: &str,
    device_id: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<jiuzhu_proto::auth::TokenPair> {
    let family = uuid::Uuid::now_v7().to_string();
    let pair = issue_pair(conn, issuer, user_id, &family, device_id, now)?;
    let (row, code) = crate::db::repo::users::find_with_code(conn, user_id)?
        .ok_or_else(crate::error::ApiError::not_found)?;
    Ok(jiuzhu_proto::auth::TokenPair {
        access_token: pair.access_token,
        access_expires_at: pair.access_expires_at.and_utc(),
        refresh_token: pair.refresh_token,
        refresh_expires_at: pair.refresh_expires_at.and_utc(),
        token_type: "Bearer".into(),
        user: row.into_api(code)?,
        device_token: None,
        second_factor_enrolment_required: false,
    })
}
