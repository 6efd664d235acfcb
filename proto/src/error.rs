//! The error envelope every endpoint answers with, and the stable codes clients switch on.

use serde::{Deserialize, Serialize};

/// Stable, snake_case error codes. New codes may be added; clients must treat unknown codes as
/// the HTTP status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    BadRequest,
    InvalidJson,
    UnknownField,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
    InvalidCoordinate,
    InvalidCrs,
    InvalidGeometry,
    InvalidOrgCode,
    WrongParentKind,
    ParentNotFound,
    DuplicateCode,
    DuplicateUsername,
    InvalidPassword,
    InvalidUsername,
    RoleNotAllowed,
    Unauthorized,
    InvalidCredentials,
    TokenExpired,
    TokenReused,
    DeviceMismatch,
    AccountLocked,
    AccountDisabled,
    RateLimited,
    Busy,
    Forbidden,
    NotFound,
    Conflict,
    /// The same client id was sent before with a different body.
    IdempotencyConflict,
    /// The task was cancelled, closed, or given to someone else.
    TaskNotOpen,
    /// A photo that cannot be read safely: corrupt, truncated, too many pixels, a decoding bomb.
    InvalidPhoto,
    /// The uploaded bytes do not match the checksum declared for them.
    ChecksumMismatch,
    /// A resumable upload was continued at an offset other than the committed one.
    OffsetMismatch,
    /// The body arrived too slowly.
    RequestTimeout,
    /// The application is not in a state that allows this step (or another step won the race).
    InvalidTransition,
    /// A wrong or expired verification code.
    VerificationFailed,
    /// `GET /exports/{kind}` for a kind that does not exist or is not available yet.
    UnknownExportKind,
    /// The path exists but does not take this method (the `Allow` header lists the ones it does).
    MethodNotAllowed,
    /// The password was right; the account needs a code from its authenticator app too.
    SecondFactorRequired,
    /// A second-factor code that is wrong or was already used.
    SecondFactorInvalid,
    /// An administrator must set up a second factor before anything else.
    SecondFactorEnrolmentRequired,
    /// The account already has a second factor.
    SecondFactorEnabled,
    /// A code was sent to confirm an enrolment that was never started.
    SecondFactorNotStarted,
    Internal,
    Unavailable,
    /// A code this client version does not know yet.
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::InvalidJson => "invalid_json",
            Self::UnknownField => "unknown_field",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::ValidationFailed => "validation_failed",
            Self::InvalidCoordinate => "invalid_coordinate",
            Self::InvalidCrs => "invalid_crs",
            Self::InvalidGeometry => "invalid_geometry",
            Self::InvalidOrgCode => "invalid_org_code",
            Self::WrongParentKind => "wrong_parent_kind",
            Self::ParentNotFound => "parent_not_found",
            Self::DuplicateCode => "duplicate_code",
            Self::DuplicateUsername => "duplicate_username",
            Self::InvalidPassword => "invalid_password",
            Self::InvalidUsername => "invalid_username",
            Self::RoleNotAllowed => "role_not_allowed",
            Self::Unauthorized => "unauthorized",
            Self::InvalidCredentials => "invalid_credentials",
            Self::TokenExpired => "token_expired",
            Self::TokenReused => "token_reused",
            Self::DeviceMismatch => "device_mismatch",
            Self::AccountLocked => "account_locked",
            Self::AccountDisabled => "account_disabled",
            Self::RateLimited => "rate_limited",
            Self::Busy => "busy",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::TaskNotOpen => "task_not_open",
            Self::InvalidPhoto => "invalid_photo",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::OffsetMismatch => "offset_mismatch",
            Self::RequestTimeout => "request_timeout",
            Self::InvalidTransition => "invalid_transition",
            Self::VerificationFailed => "verification_failed",
            Self::UnknownExportKind => "unknown_export_kind",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::SecondFactorRequired => "second_factor_required",
            Self::SecondFactorInvalid => "second_factor_invalid",
            Self::SecondFactorEnrolmentRequired => "second_factor_enrolment_required",
            Self::SecondFactorEnabled => "second_factor_enabled",
            Self::SecondFactorNotStarted => "second_factor_not_started",
            Self::Internal => "internal",
            Self::Unavailable => "unavailable",
            Self::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorCode,
    /// Chinese first, then English: `中文说明 / English text`.
    #[cfg_attr(feature = "openapi", schema(example = "未找到 / not found"))]
    pub message: String,
    /// Field-level problems, when the request had several.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

/// One problem with one field of a request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// Path of the field, e.g. `members[2].id_number`.
    pub field: String,
    pub code: String,
    pub message: String,
}
