//! Photos of visits, and resumable uploads for weak networks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What was read from a photo's EXIF before it was stripped: evidence, not proof.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhotoExif {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The satellites' time when recorded, else the camera clock read as China Standard Time.
    pub taken_at: Option<DateTime<Utc>>,
    pub make: Option<String>,
    pub model: Option<String>,
}

/// A stored photo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Photo {
    pub id: uuid::Uuid,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub media_type: String,
    /// Upright size.
    pub width: u32,
    pub height: u32,
    pub byte_size: u64,
    /// SHA-256 of the bytes as uploaded, hex.
    pub sha256: String,
    pub exif: PhotoExif,
    /// The visit it is attached to, once one is.
    pub visit_id: Option<uuid::Uuid>,
    pub created_at: DateTime<Utc>,
}

/// `POST /api/v1/uploads`: start a resumable upload of one photo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    /// The photo's id (the phone's UUID), as `PUT /photos/{id}` would use.
    pub photo_id: uuid::Uuid,
    /// Total size in bytes.
    pub length: u64,
    /// SHA-256 of the whole file, hex: checked when the last byte arrives.
    pub sha256: String,
}

/// A resumable upload in progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upload {
    pub id: uuid::Uuid,
    pub photo_id: uuid::Uuid,
    pub length: u64,
    /// Bytes committed so far: continue with `PATCH` at this offset.
    pub offset: u64,
    pub expires_at: DateTime<Utc>,
}
