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
}
