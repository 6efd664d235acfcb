//! What one photo may cost. The defaults keep a phone photo in flight under 64 MB of memory: the
//! stripped upload (a 12 MP phone JPEG is 3–6 MB; the upload itself is freed before decoding) plus the
//! decode buffers (≤ 48 MiB: a 12 MP *progressive* JPEG needs 47 MiB, a baseline one 13 MiB at the
//! display scale) plus the small outputs. The theoretical worst case, a 20 MiB progressive file, is
//! 68 MiB.

use std::time::Duration;

/// Bounds applied to every photo before and during decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest upload in bytes (default 20 MiB). The server should stop streaming at this size too.
    pub max_bytes: u64,
    /// Largest width × height the header may declare (default 50 MP, enough for a 48 MP phone mode).
    /// Checked before any pixel buffer is allocated.
    pub max_pixels: u64,
    /// Largest decode allocation in bytes (default 48 MiB), passed to the `image` crate's `Limits` for
    /// PNG and WebP and checked against our own estimate for JPEG (scaled output plus, for progressive
    /// files, the coefficient buffers).
    pub max_alloc: u64,
    /// Most scans a progressive JPEG may have (default 100; cameras write about 10). Each scan is a pass
    /// over the whole image, so thousands of them are a denial of service.
    pub max_jpeg_scans: u32,
    /// Time budget for [`crate::process_file_async`]; the blocking functions ignore it.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 20 * 1024 * 1024,
            max_pixels: 50_000_000,
            max_alloc: 48 * 1024 * 1024,
            max_jpeg_scans: 100,
            timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    pub(crate) fn check_pixels(&self, width: u32, height: u32) -> Result<(), crate::PhotoError> {
        if width == 0 || height == 0 {
            return Err(crate::PhotoError::corrupt("zero width or height"));
        }
        if u64::from(width) * u64::from(height) > self.max_pixels {
            return Err(crate::PhotoError::TooManyPixels {
                width,
                height,
                limit: self.max_pixels,
            });
        }
        Ok(())
    }
}
