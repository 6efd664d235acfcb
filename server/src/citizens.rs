//! Citizens of the mini-program: registration by mobile number and password, the number
//! verified by a code sent through a pluggable SMS sender.
//!
//! A citizen's account is a `users` row with the role `citizen`, bound to the city. Its username
//! is derived from the keyed blind index of the number, so the number itself is stored nowhere
//! in clear; logging in with the number finds the account the same way.

use std::io::Write;

use chrono::{Duration, NaiveDateTime};
use jiuzhu_proto::auth::TokenPair;
use jiuzhu_proto::user::Role;
use jiuzhu_proto::ErrorCode;
use rand::Rng;

use crate::auth::session::TokenIssuer;
use crate::config::DiscoverySettings;
use crate::crypto::FieldCipher;
use crate::db::repo::self_reports::{self as repo, CodeRow};
use crate::db::repo::users::{self as users, NewUser, UserChanges};
use crate::db::AnyConnection;
use crate::domain::id_number::mask_phone;
use crate::error::{ApiError, ApiResult};

/// Wrong codes allowed before the code is spent.
const MAX_ATTEMPTS: i32 = 5;

/// A mainland mobile number: 11 digits, starting with 1 then 3–9. Spaces, dashes and a leading
/// `+86` are dropped.
pub fn parse_mobile(raw: &str) -> Option<String> {
    let digits: String = raw
        .trim()
        .trim_start_matches("+86")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    let ok = digits.len() == 11
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.starts_with('1')
        && matches!(digits.as_bytes()[1], b'3'..=b'9');
    ok.then_some(digits)
}

pub fn invalid_mobile(field: &str) -> ApiError {
    ApiError::invalid(
        field,
        "invalid_phone",
        "请填写11位手机号码",
        "an 11-digit mainland mobile number is needed",
    )
}

/// The username of the citizen with this (parsed) number.
pub fn username_for(cipher: &FieldCipher, mobile: &str) -> String {
    let index = cipher.blind_index("citizen.phone", mobile);
    format!("c_{}", hex::encode(&index.as_bytes()[..10]))
}

/// Sends verification codes. `log` notes that one was sent, without it (no gateway yet); `file`
/// spools messages for a gateway; `demo` (what `serve --demo` uses) logs them and keeps the latest code per number in
/// memory for the demo-only `GET /api/v1/demo/sms-code`, so a demo citizen can register.
pub enum SmsSender {
    Log,
    File(std::path::PathBuf),
    Demo(std::sync::Mutex<std::collections::HashMap<String, String>>),
}

impl SmsSender {
    pub fn from_settings(settings: &DiscoverySettings, data_dir: &std::path::Path) -> Self {
        match settings.sms_sender.as_str() {
            "file" => SmsSender::File(data_dir.join("sms-outbox.jsonl")),
            "demo" => SmsSender::Demo(Default::default()),
            _ => SmsSender::Log,
        }
    }

    /// The latest code sent to a number, when this is the demo's sender (`None` otherwise).
    pub fn demo_code(&self, mobile: &str) -> Option<String> {
        match self {
            SmsSender::Demo(codes) => codes.lock().ok()?.get(mobile).cloned(),
            _ => None,
        }
    }

    fn send(&self, mobile: &str, code: &str) -> ApiResult<()> {
        match self {
            SmsSender::Log => {
                // Codes reach a log only in the demo (`Demo`): a log is read by more people
                // than the phone's owner.
                let _ = code;
                tracing::info!(phone = %mask_phone(mobile), "SMS: a verification code was sent (no gateway configured; the code is not logged)");
                Ok(())
            }
            SmsSender::Demo(codes) => {
                tracing::info!(phone = %mask_phone(mobile), code, "demo SMS: verification code");
                if let Ok(mut codes) = codes.lock() {
                    codes.insert(mobile.to_owned(), code.to_owned());
                }
                Ok(())
            }
            SmsSender::File(path) => {
                let line = serde_json::json!({ "to": mobile, "code": code }).to_string();
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(ApiError::unavailable)?;
                writeln!(f, "{line}").map_err(ApiError::unavailable)?;
                f.sync_data().map_err(ApiError::unavailable)
            }
        }
    }
}

fn code_hash(cipher: &FieldCipher, user_id: &str, code: &str) -> String {
    hex::encode(
        cipher
            .blind_index("citizen.code", &format!("{user_id}:{code}"))
            .as_bytes(),
    )
}

/// What sending and checking verification codes needs: the cipher that derives usernames and code
/// hashes, how long a code lives, and the sender (`AppState::citizen_codes` lends one).
#[derive(Clone, Copy)]
pub struct Codes<'a> {
    pub cipher: &'a FieldCipher,
    pub ttl_secs: i64,
    pub sms: &'a SmsSender,
}

/// Registers (or re-registers, while unverified) a citizen and sends a code.
pub fn register(
    conn: &mut AnyConnection,
    codes: &Codes<'_>,
    mobile: &str,
    password_hash: String,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let username = username_for(codes.cipher, mobile);
    let (user_id, user_path) = match users::find_by_username(conn, &username)? {
        Some(user) => {
            let verified = repo::code_of(conn, &user.id)?.is_some_and(|c| c.verified_at.is_some());
            if verified || user.role != Role::Citizen.as_str() {
                return Err(ApiError::conflict(
                    ErrorCode::DuplicateUsername,
                    "该手机号已注册，请直接登录",
                    "this number is registered already: log in",
                ));
            }
            users::update(
                conn,
                &user.id,
                &UserChanges {
                    password_hash: Some(password_hash),
                    updated_at: Some(now),
                    ..Default::default()
                },
            )?;
            (user.id, user.org_path)
        }
        None => {
            let (city_id, city_path) =
                crate::db::repo::org_units::first_city(conn)?.ok_or_else(|| {
                    ApiError::unavailable(anyhow::anyhow!("no city is set up for citizens"))
                })?;
            let id = uuid::Uuid::now_v7().to_string();
            users::insert(
                conn,
                &NewUser {
                    id: id.clone(),
                    username,
                    display_name: format!("市民 {}", mask_phone(mobile)),
                    role: Role::Citizen.as_str().into(),
                    org_unit_id: city_id,
                    org_path: city_path.clone(),
                    password_hash,
                    disabled: true,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            (id, city_path)
        }
    };
    citizen_acted(conn, "citizen.register", &user_id, &user_path)?;
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000));
    repo::put_code(
        conn,
        &CodeRow {
            user_id: user_id.clone(),
            code_hash: code_hash(codes.cipher, &user_id, &code),
            expires_at: now + Duration::seconds(codes.ttl_secs),
            attempts: 0,
            verified_at: None,
        },
    )?;
    codes.sms.send(mobile, &code)
}

fn wrong_code() -> ApiError {
    ApiError::bad_request(
        ErrorCode::VerificationFailed,
        "验证码错误或已过期",
        "the code is wrong or has expired",
    )
}

/// Checks a code; on success the account is enabled and logged in.
pub fn verify(
    conn: &mut AnyConnection,
    codes: &Codes<'_>,
    tokens: &TokenIssuer<'_>,
    mobile: &str,
    code: &str,
    now: NaiveDateTime,
) -> ApiResult<TokenPair> {
    let username = username_for(codes.cipher, mobile);
    let user = users::find_by_username(conn, &username)?
        .filter(|u| u.role == Role::Citizen.as_str())
        .ok_or_else(wrong_code)?;
    let row = repo::code_of(conn, &user.id)?.ok_or_else(wrong_code)?;
    if row.verified_at.is_some() || row.expires_at < now || row.attempts >= MAX_ATTEMPTS {
        return Err(wrong_code());
    }
    if row.code_hash != code_hash(codes.cipher, &user.id, code.trim()) {
        repo::count_attempt(conn, &user.id)?;
        return Err(wrong_code());
    }
    repo::mark_verified(conn, &user.id, now)?;
    users::update(
        conn,
        &user.id,
        &UserChanges {
            disabled: Some(false),
            updated_at: Some(now),
            ..Default::default()
        },
    )?;
    citizen_acted(conn, "citizen.verify", &user.id, &user.org_path)?;
    crate::auth::session::token_pair(conn, tokens, &user.id, None, now)
}

/// Audits a citizen's own step on their account (never the number: the account's id).
fn citizen_acted(conn: &mut AnyConnection, action: &str, id: &str, path: &str) -> ApiResult<()> {
    crate::audit::journal(
        conn,
        crate::audit::AuditEntry {
            actor_id: Some(id),
            action,
            entity: "user",
            entity_id: id,
            org_path: path,
            detail: serde_json::json!({}),
        },
        crate::audit::Outcome::Success,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobiles_are_recognised() {
        assert_eq!(
            parse_mobile("138 1234 5678").as_deref(),
            Some("13812345678")
        );
        assert_eq!(
            parse_mobile("+8613812345678").as_deref(),
            Some("13812345678")
        );
        assert_eq!(parse_mobile("12812345678"), None);
        assert_eq!(parse_mobile("1381234567"), None);
        assert_eq!(parse_mobile("１３８１２３４５６７８"), None);
        assert_eq!(parse_mobile("0519-8888888"), None);
    }
}
