//! A second factor for log-ins: time-based one-time codes (TOTP, RFC 6238: HMAC-SHA-1, six
//! digits, 30-second steps), the kind every authenticator app reads from a QR code. MLPS level 3
//! asks administrators for two factors; the server requires one of admins when
//! `admin_second_factor` is on (the default with `--production`), and any office officer
//! (coordinator and above) may turn it on.
//!
//! The 160-bit secret is sealed at rest like an ID number ([`SECRET_CONTEXT`], re-sealed by
//! `jiuzhu keys reseal`). A code is accepted for the step before, at or after the server's (a
//! phone's clock may be 30 s off) and only once: the account keeps the last step spent, and a
//! code of that step or an earlier one is refused, by a compare-and-set, so one seen over a
//! shoulder cannot log in again on any instance.

use chrono::NaiveDateTime;
use jiuzhu_proto::user::Role;
use jiuzhu_proto::ErrorCode;
use totp_rs::{Algorithm, TOTP};

use crate::crypto::FieldCipher;
use crate::error::{ApiError, ApiResult};

/// The associated data the secret is sealed with.
pub const SECRET_CONTEXT: &str = "users.totp_secret";
/// The name authenticator apps show beside the account.
pub const ISSUER: &str = "Jiuzhu";
const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
/// Steps accepted either side of the server's.
const SKEW: i64 = 1;
const SECRET_BYTES: usize = 20;

/// What an officer's authenticator app needs to add the account.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// The sealed secret to store (`key_id:ciphertext`).
    pub stored: String,
    /// The secret in base32, for typing in by hand.
    pub secret: String,
    pub otpauth_uri: String,
    /// The URI as a QR code (SVG).
    pub qr_svg: String,
}

fn totp(secret: Vec<u8>, username: &str) -> ApiResult<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECS,
        secret,
        Some(ISSUER.to_owned()),
        username.to_owned(),
    )
    .map_err(|e| ApiError::internal(anyhow::anyhow!("second factor: {e}")))
}

/// A new secret for `username`, sealed, with its URI and QR code.
pub fn enrol(cipher: &FieldCipher, username: &str) -> ApiResult<Enrolment> {
    let secret: [u8; SECRET_BYTES] = rand::random();
    let sealed = cipher
        .encrypt(&hex::encode(secret), SECRET_CONTEXT)
        .map_err(ApiError::internal)?;
    let totp = totp(secret.to_vec(), username)?;
    let otpauth_uri = totp.get_url();
    let qr_svg = qrcode::QrCode::new(otpauth_uri.as_bytes())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("second factor QR code: {e}")))?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    Ok(Enrolment {
        stored: format!("{}:{}", sealed.key_id, sealed.ciphertext),
        secret: totp.get_secret_base32(),
        otpauth_uri,
        qr_svg,
    })
}

/// The time step of `now`.
fn step_of(now: NaiveDateTime) -> i64 {
    now.and_utc().timestamp().div_euclid(STEP_SECS as i64)
}

/// The step (within the skew of `now`'s) whose code `code` is, if any: the stored secret opened
/// and every candidate compared in constant time.
pub fn matching_step(
    cipher: &FieldCipher,
    stored: &str,
    code: &str,
    now: NaiveDateTime,
) -> ApiResult<Option<i64>> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let (key_id, ciphertext) = stored
        .split_once(':')
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("second factor names no key")))?;
    let secret = cipher
        .decrypt(key_id, ciphertext, SECRET_CONTEXT)
        .map_err(ApiError::internal)?;
    let secret = hex::decode(secret).map_err(ApiError::internal)?;
    let totp = totp(secret, "-")?;
    let now = step_of(now);
    let mut found = None;
    for step in now - SKEW..=now + SKEW {
        let Some(time) = u64::try_from(step)
            .ok()
            .and_then(|s| s.checked_mul(STEP_SECS))
        else {
            continue;
        };
        let expected = totp.generate(time);
        let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), code.as_bytes()).into();
        if same && found.is_none() {
            found = Some(step);
        }
    }
    Ok(found)
}

/// Whether a session of this account may do nothing but enrol: an admin without a second
/// factor while the server requires one.
pub fn enrolment_pending(required_for_admins: bool, role: Role, enabled: bool) -> bool {
    required_for_admins && role == Role::Admin && !enabled
}

/// 401 `second_factor_required`: the password was right; the account needs its code too.
pub fn required() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::UNAUTHORIZED,
        ErrorCode::SecondFactorRequired,
        "请输入身份验证器上的动态验证码",
        "enter the code your authenticator app shows",
    )
}

/// A wrong or spent code: 401 at log-in, 422 when confirming an enrolment.
pub fn invalid(status: actix_web::http::StatusCode) -> ApiError {
    ApiError::new(
        status,
        ErrorCode::SecondFactorInvalid,
        "动态验证码错误或已使用",
        "the code is wrong or was already used",
    )
}

/// 403 `second_factor_enrolment_required`: this admin must set up a second factor first.
pub fn enrolment_required() -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::FORBIDDEN,
        ErrorCode::SecondFactorEnrolmentRequired,
        "管理员须先开启两步验证",
        "administrators must set up two-step verification first",
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use secrecy::SecretBox;

    fn cipher() -> FieldCipher {
        FieldCipher::new(
            &SecretBox::new(Box::new([7u8; 32])),
            &SecretBox::new(Box::new([9u8; 32])),
            "k1",
        )
    }

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(secs, 0)
            .map(|t| t.naive_utc())
            .unwrap_or_default()
    }

    fn sealed(cipher: &FieldCipher, secret: &[u8]) -> String {
        let s = cipher
            .encrypt(&hex::encode(secret), SECRET_CONTEXT)
            .unwrap();
        format!("{}:{}", s.key_id, s.ciphertext)
    }

    /// RFC 6238 appendix B (SHA-1 secret "12345678901234567890"), the last six digits of each
    /// eight-digit value.
    #[test]
    fn rfc_6238_vectors() {
        let cipher = cipher();
        let stored = sealed(&cipher, b"12345678901234567890");
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let step = time / 30;
            assert_eq!(
                matching_step(&cipher, &stored, code, at(time)).unwrap(),
                Some(step),
                "{time}"
            );
            // A step late or early still matches (a phone's clock); two steps do not.
            assert_eq!(
                matching_step(&cipher, &stored, code, at(time + 30)).unwrap(),
                Some(step)
            );
            assert_eq!(
                matching_step(&cipher, &stored, code, at(time - 30)).unwrap(),
                Some(step)
            );
            assert_eq!(
                matching_step(&cipher, &stored, code, at(time + 61)).unwrap(),
                None
            );
        }
    }

    #[test]
    fn malformed_codes_never_match() {
        let cipher = cipher();
        let stored = sealed(&cipher, b"12345678901234567890");
        for code in ["", "28708", "2870822", "28708a", "２８７０８２", "-87082"] {
            assert_eq!(matching_step(&cipher, &stored, code, at(59)).unwrap(), None);
        }
    }

    #[test]
    fn enrolment_seals_the_secret_it_shows() {
        let cipher = cipher();
        let e = enrol(&cipher, "admin").unwrap();
        assert!(e.otpauth_uri.starts_with("otpauth://totp/Jiuzhu:admin?"));
        assert!(e.otpauth_uri.contains(&format!("secret={}", e.secret)));
        assert!(e.qr_svg.contains("<svg"));
        assert!(!e.stored.contains(&e.secret));
        // The code an app computes from the shown secret matches the stored one.
        let shown = totp_rs::Secret::Encoded(e.secret.clone())
            .to_bytes()
            .unwrap();
        let app = TOTP::new_unchecked(Algorithm::SHA1, 6, 0, 30, shown, None, String::new());
        let code = app.generate(1_800_000_000);
        assert_eq!(
            matching_step(&cipher, &e.stored, &code, at(1_800_000_000)).unwrap(),
            Some(60_000_000)
        );
    }
}
