//! Issuing token pairs: an access token and a refresh token in one family.

use chrono::{Duration, NaiveDateTime};

use crate::auth::token::{self, TokenKind};
use crate::db::repo::tokens::{self, NewToken};
use crate::db::AnyConnection;
use crate::error::ApiResult;
use crate::state::AppState;

pub struct IssuedPair {
    pub access_token: String,
    pub access_expires_at: NaiveDateTime,
    pub refresh_token: String,
    pub refresh_expires_at: NaiveDateTime,
}

/// Stores the hashes of a new access and refresh token for the user, in the given family.
pub fn issue_pair(
    conn: &mut AnyConnection,
    state: &AppState,
    user_id: &str,
    family_id: &str,
    device_id: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<IssuedPair> {
    let access_token = token::generate(TokenKind::Access);
    let refresh_token = token::generate(TokenKind::Refresh);
    let access_expires_at = now + Duration::seconds(state.settings.access_token_ttl_secs as i64);
    let refresh_expires_at = now + Duration::seconds(state.settings.refresh_token_ttl_secs as i64);
    for (kind, value, expires_at) in [
        (TokenKind::Access, &access_token, access_expires_at),
        (TokenKind::Refresh, &refresh_token, refresh_expires_at),
    ] {
        tokens::insert(
            conn,
            &NewToken {
                id: uuid::Uuid::now_v7().to_string(),
                token_hash: token::hash(&state.secrets.token_pepper, value),
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
    state: &AppState,
    user_id: &str,
    device_id: Option<&str>,
    now: NaiveDateTime,
) -> ApiResult<jiuzhu_proto::auth::TokenPair> {
    let family = uuid::Uuid::now_v7().to_string();
    let pair = issue_pair(conn, state, user_id, &family, device_id, now)?;
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
    })
}
