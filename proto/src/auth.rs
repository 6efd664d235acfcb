//! Log-in, token refresh and the caller's own account.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::user::User;

/// `POST /api/v1/auth/login`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[cfg_attr(feature = "openapi", schema(example = "wang.gridworker"))]
    pub username: String,
    pub password: String,
    /// A stable id of the phone; the refresh token is bound to it.
    #[serde(default)]
    pub device_id: Option<String>,
    /// The device token an earlier log-in of this user on this device returned (browsers send it
    /// as the `jiuzhu_device` cookie instead). With it, failed log-ins count against this device
    /// only, so the account's lockout, which anyone can trigger, does not keep its owner out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// The six-digit code of the account's authenticator app, for an account with a second
    /// factor (without it such a log-in answers 401 `second_factor_required`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "492039"))]
    pub second_factor_code: Option<String>,
}

/// `POST /api/v1/auth/refresh`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
    /// Must be the device id the token was issued to, if it was issued to one.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// An access token (short-lived) and a refresh token (long-lived, single use).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    pub access_token: String,
    pub access_expires_at: DateTime<Utc>,
    pub refresh_token: String,
    pub refresh_expires_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(example = "Bearer"))]
    pub token_type: String,
    pub user: User,
    /// After a password log-in: the device token to send with this user's next log-ins from this
    /// device (also set as an HttpOnly cookie for browsers). Keep it like a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_token: Option<String>,
    /// True for an admin without a second factor while the server requires one: the session
    /// may only set one up (`POST /auth/second-factor`), read `/me` and log out; everything
    /// else answers 403 `second_factor_enrolment_required`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_factor_enrolment_required: bool,
}

/// `POST /api/v1/auth/second-factor`: what an authenticator app needs to add the account.
/// Shown once; the secret is kept sealed on the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecondFactorEnrolment {
    /// The secret in base32 (RFC 4648), for typing into the app by hand.
    pub secret: String,
    /// `otpauth://totp/…`: the URI the QR code holds.
    pub otpauth_uri: String,
    /// The URI as a QR code, an SVG document.
    pub qr_svg: String,
}

/// `POST /api/v1/auth/second-factor/confirm`: the first code the app shows, proving it holds the
/// secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConfirmSecondFactor {
    #[cfg_attr(feature = "openapi", schema(example = "492039"))]
    pub code: String,
}
