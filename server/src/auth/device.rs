//! Device tokens ("device cookies", after OWASP's defence against online guessing): a successful
//! password log-in gives the client a token that names this user on this device. A later log-in
//! that presents it is counted, throttled and locked out per device, not per account, so an
//! anonymous attacker who fails five times against `admin` locks out untrusted clients only,
//! never an officer logging in from a device they used before. Attempts without a valid token
//! face the account-wide throttle and lockout as before; the per-IP limit applies to both.
//!
//! A token is `d1.<nonce>.<issued, unix seconds>.<mac>`: the MAC (HMAC-SHA-256, 128 bits kept) is
//! over the username, the nonce and the time, under a key derived from `Secrets.token_pepper`, so
//! it cannot be forged, edited, moved to another user or kept past [`MAX_AGE_DAYS`]. Nothing is
//! stored for a token until it is used: its lockout lives in `login_lockouts` under
//! [`DeviceToken::limit_key`], a key no username can take (usernames have no `:`).

use chrono::{Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

/// The cookie browsers carry the token in, sent back only to the log-in route.
pub const COOKIE: &str = "jiuzhu_device";
/// The path the cookie is scoped to.
pub const COOKIE_PATH: &str = "/api/v1/auth/login";
/// How long a device stays trusted without a new log-in (each log-in issues a fresh token).
pub const MAX_AGE_DAYS: i64 = 180;

/// Issues and checks device tokens.
pub struct DeviceSigner {
    key: [u8; 32],
}

/// A device token that checked out for the user who presented it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceToken {
    nonce: String,
}

impl DeviceToken {
    /// The key its attempts and lockout are counted under, in place of the username.
    pub fn limit_key(&self) -> String {
        format!("device:{}", self.nonce)
    }
}

impl DeviceSigner {
    /// The signer for these secrets: its key is derived from the token pepper, so no new secret
    /// is needed and old secrets files keep working.
    pub fn new(pepper: &SecretBox<[u8; 32]>) -> Self {
        let mut key = [0u8; 32];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper.expose_secret()) {
            mac.update(b"jiuzhu device token v1");
            key.copy_from_slice(&mac.finalize().into_bytes());
        }
        Self { key }
    }

    fn mac(&self, username: &str, nonce: &str, issued: i64) -> String {
        match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(username.as_bytes());
                mac.update(b"|");
                mac.update(nonce.as_bytes());
                mac.update(b"|");
                mac.update(issued.to_string().as_bytes());
                hex::encode(&mac.finalize().into_bytes()[..16])
            }
            Err(_) => String::new(),
        }
    }

    /// A new token for `username` (the folded name the log-in counts under).
    pub fn issue(&self, username: &str, now: NaiveDateTime) -> String {
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let issued = now.and_utc().timestamp();
        format!("d1.{nonce}.{issued}.{}", self.mac(username, &nonce, issued))
    }

    /// The device a token names, when it is genuine, was issued to `username`, and is neither
    /// expired nor from the future.
    pub fn verify(&self, username: &str, token: &str, now: NaiveDateTime) -> Option<DeviceToken> {
        if token.len() > 128 {
            return None;
        }
        let mut parts = token.split('.');
        let (Some("d1"), Some(nonce), Some(issued), Some(mac), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let issued: i64 = issued.parse().ok()?;
        let expected = self.mac(username, nonce, issued);
        let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), mac.as_bytes()).into();
        let age = now.and_utc().timestamp() - issued;
        let fresh = (-300..Duration::days(MAX_AGE_DAYS).num_seconds()).contains(&age);
        (same && !expected.is_empty() && fresh).then(|| DeviceToken {
            nonce: nonce.to_owned(),
        })
    }
}

/// The `Set-Cookie` value that hands a browser its device token: HttpOnly (no script reads it),
/// Secure, SameSite=Strict and scoped to the log-in route.
pub fn cookie(token: &str) -> actix_web::cookie::Cookie<'static> {
    actix_web::cookie::Cookie::build(COOKIE, token.to_owned())
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(true)
        .same_site(actix_web::cookie::SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::days(MAX_AGE_DAYS))
        .finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_780_000_000, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn tokens_hold_only_for_their_user_key_and_time() {
        let signer = DeviceSigner::new(&SecretBox::new(Box::new([7u8; 32])));
        let token = signer.issue("admin", now());
        let device = signer.verify("admin", &token, now()).unwrap();
        assert!(device.limit_key().starts_with("device:"));
        assert_eq!(
            signer.verify("admin", &token, now() + Duration::days(30)),
            Some(device)
        );
        // Another user, another key, edited, truncated, expired, or from the future.
        assert_eq!(signer.verify("coordinator", &token, now()), None);
        let other = DeviceSigner::new(&SecretBox::new(Box::new([8u8; 32])));
        assert_eq!(other.verify("admin", &token, now()), None);
        let issued = now().and_utc().timestamp();
        let edited = token.replace(&format!(".{issued}."), &format!(".{}.", issued + 1));
        assert_eq!(signer.verify("admin", &edited, now()), None);
        assert_eq!(
            signer.verify("admin", &token[..token.len() - 1], now()),
            None
        );
        assert_eq!(
            signer.verify("admin", &token, now() + Duration::days(MAX_AGE_DAYS + 1)),
            None
        );
        assert_eq!(
            signer.verify("admin", &token, now() - Duration::hours(1)),
            None
        );
        for junk in ["", "d1", "d1...", "d2.a.b.c", &"x".repeat(500)] {
            assert_eq!(signer.verify("admin", junk, now()), None);
        }
    }

    #[test]
    fn the_cookie_stays_with_the_login_route() {
        let c = cookie("d1.x");
        let text = c.to_string();
        for part in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/api/v1/auth/login",
        ] {
            assert!(text.contains(part), "{text}");
        }
    }
}
