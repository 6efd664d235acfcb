//! Log-in rate limits and lockout, kept in the database so that every instance behind a load
//! balancer enforces the same ones. Checked before any password is hashed.

use chrono::{Duration, NaiveDateTime};

use crate::config::Settings;
use crate::db::repo::login::{self, Lockout};
use crate::db::AnyConnection;
use crate::error::{is_unique_violation, ApiError, ApiResult};
use jiuzhu_proto::ErrorCode;

const WINDOW_SECS: i64 = 60;

/// Refuses with 429 when this IP or this username has tried too often in the last minute, and
/// with 423-like `account_locked` while the username is locked.
pub fn check(
    conn: &mut AnyConnection,
    settings: &Settings,
    ip: &str,
    username: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let since = now - Duration::seconds(WINDOW_SECS);
    let retry_after = |oldest: Option<NaiveDateTime>| {
        oldest
            .map(|t| {
                (t + Duration::seconds(WINDOW_SECS) - now)
                    .num_seconds()
                    .max(1) as u64
            })
            .unwrap_or(WINDOW_SECS as u64)
    };
    let (by_ip, oldest) = login::attempts_by_ip(conn, ip, since)?;
    if by_ip >= i64::from(settings.login_limit_per_ip) {
        return Err(ApiError::rate_limited(retry_after(oldest)));
    }
    let (by_user, oldest) = login::attempts_by_username(conn, username, since)?;
    if by_user >= i64::from(settings.login_limit_per_account) {
        return Err(ApiError::rate_limited(retry_after(oldest)));
    }
    if let Some(lock) = login::lockout(conn, username)? {
        if let Some(until) = lock.locked_until {
            if until > now {
                let secs = (until - now).num_seconds().max(1) as u64;
                return Err(locked(secs));
            }
        }
    }
    Ok(())
}

fn locked(retry_after_secs: u64) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::LOCKED,
        ErrorCode::AccountLocked,
        "登录失败次数过多，账户已暂时锁定",
        "too many failed log-ins: the account is locked for a while",
    )
    .with_retry_after(retry_after_secs)
}

/// Records an attempt before hashing, so that concurrent attempts count against the limits.
pub fn record_attempt(
    conn: &mut AnyConnection,
    ip: &str,
    username: &str,
    now: NaiveDateTime,
) -> ApiResult<()> {
    login::record_attempt(conn, ip, username, false, now)?;
    Ok(())
}

/// Counts a failure against `key` (the username, or a trusted device's key) and audits it under
/// the account `username`; the threshold-th failure locks the key. Returns whether it is now
/// locked.
pub fn record_failure(
    conn: &mut AnyConnection,
    settings: &Settings,
    username: &str,
    key: &str,
    now: NaiveDateTime,
) -> ApiResult<bool> {
    crate::audit::login(conn, username, crate::audit::Outcome::Failure)?;
    let previous = login::lockout(conn, key)?;
    let failures = match &previous {
        // A lock that has run out starts the count again.
        Some(l) if l.locked_until.is_some_and(|u| u <= now) => 1,
        Some(l) => l.failures + 1,
        None => 1,
    };
    let lock_now = failures >= settings.lockout_threshold as i32;
    let row = Lockout {
        username: key.to_owned(),
        failures: if lock_now { 0 } else { failures },
        locked_until: lock_now.then(|| now + Duration::seconds(settings.lockout_secs as i64)),
        updated_at: now,
    };
    match login::save_lockout(conn, &row) {
        Ok(_) => {}
        // Another instance inserted the row first: update it instead.
        Err(e) if is_unique_violation(&e) => {
            login::save_lockout(conn, &row)?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(lock_now)
}

/// A log-in of the account `username` that succeeded (audited): clears the failures counted
/// against `key`.
pub fn record_success(conn: &mut AnyConnection, username: &str, key: &str) -> ApiResult<()> {
    crate::audit::login(conn, username, crate::audit::Outcome::Success)?;
    login::clear_lockout(conn, key)?;
    Ok(())
}

pub fn locked_error(settings: &Settings) -> ApiError {
    locked(settings.lockout_secs)
}
