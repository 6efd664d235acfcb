//! The one error type of the pipeline. Variants are stable: the server maps each to an HTTP status and a
//! wire code (see [`PhotoError::code`]); the message never carries file paths or photo content.

use std::io;

/// Why a photo was refused, or could not be processed or stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhotoError {
    /// The upload has no bytes.
    #[error("the photo is empty")]
    Empty,
    /// The upload is larger than [`crate::Limits::max_bytes`].
    #[error("the photo is {size} bytes, more than the limit of {limit}")]
    TooLarge { size: u64, limit: u64 },
    /// Not JPEG, PNG or WebP by its first bytes (SVG, HTML, ZIP, PDF, GIF, …).
    #[error("unsupported file type: only JPEG, PNG and WebP photos are accepted")]
    UnsupportedType,
    /// HEIC/HEIF (iPhone "High Efficiency"): recognised, but no decoder is built in.
    #[error("HEIC photos are not supported: set the camera to \"Most Compatible\" (JPEG)")]
    HeicUnsupported,
    /// The file ends before the image does.
    #[error("the photo is truncated")]
    Truncated,
    /// The file is damaged or not what its header says.
    #[error("the photo is corrupt: {0}")]
    Corrupt(String),
    /// The header declares more pixels than [`crate::Limits::max_pixels`] (refused before decoding).
    #[error("the photo is {width}×{height} pixels, more than the limit of {limit} pixels")]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    /// Decoding would need more memory or work than allowed: a decompression bomb, an allocation over
    /// [`crate::Limits::max_alloc`], or a progressive JPEG with too many scans.
    #[error("the photo needs too much memory or work to decode: {0}")]
    DecodeLimit(String),
    /// The caller's time budget for decoding ran out (see [`crate::process_file_async`]).
    #[error("decoding the photo took longer than {0:?}")]
    Timeout(std::time::Duration),
    /// The storage backend failed (filesystem or object store).
    #[error("photo storage failed: {0}")]
    Storage(String),
    /// Reading the upload or writing a file failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

impl PhotoError {
    /// A stable snake_case code for the wire and for metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedType => "unsupported_type",
            Self::HeicUnsupported => "heic_unsupported",
            Self::Truncated => "truncated",
            Self::Corrupt(_) => "corrupt",
            Self::TooManyPixels { .. } => "too_many_pixels",
            Self::DecodeLimit(_) => "decode_limit",
            Self::Timeout(_) => "timeout",
            Self::Storage(_) => "storage",
            Self::Io(_) => "io",
        }
    }

    /// Whether the fault is the upload's (a 4xx) rather than the server's (a 5xx). A timeout counts
    /// as the server's: the limits already bound what one file can cost, so running out of time
    /// means the server is busy (answer 503 with Retry-After).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::Storage(_) | Self::Io(_) | Self::Timeout(_))
    }

    /// The HTTP status the server should answer with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Empty => 400,
            Self::TooLarge { .. } => 413,
            Self::UnsupportedType | Self::HeicUnsupported => 415,
            Self::Truncated
            | Self::Corrupt(_)
            | Self::TooManyPixels { .. }
            | Self::DecodeLimit(_) => 422,
            Self::Timeout(_) | Self::Storage(_) => 503,
            Self::Io(_) => 500,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        Self::Corrupt(what.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_statuses_are_stable() {
        let cases = [
            (PhotoError::Empty, "empty", 400),
            (PhotoError::TooLarge { size: 2, limit: 1 }, "too_large", 413),
            (PhotoError::UnsupportedType, "unsupported_type", 415),
            (PhotoError::HeicUnsupported, "heic_unsupported", 415),
            (PhotoError::Truncated, "truncated", 422),
            (PhotoError::corrupt("x"), "corrupt", 422),
            (
                PhotoError::TooManyPixels {
                    width: 1,
                    height: 1,
                    limit: 0,
                },
                "too_many_pixels",
                422,
            ),
            (PhotoError::DecodeLimit("x".into()), "decode_limit", 422),
            (
                PhotoError::Timeout(std::time::Duration::from_secs(1)),
                "timeout",
                503,
            ),
            (PhotoError::Storage("x".into()), "storage", 503),
            (PhotoError::Io(io::Error::other("x")), "io", 500),
        ];
        for (error, code, status) in cases {
            assert_eq!((error.code(), error.http_status()), (code, status));
            assert_eq!(error.is_client_error(), status < 500, "{code}");
        }
    }
}
