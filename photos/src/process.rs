//! The pipeline the server calls for each upload: sniff → hash → read EXIF → strip → decode at the
//! needed scale → upright renditions → perceptual hash.
//!
//! Everything here is blocking and CPU-bound. The server runs it through [`process_file_async`]
//! (the blocking pool, with [`Limits::timeout`]), never on an async worker.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::container::{self, Stripped};
use crate::exif::{self, PhotoMetadata};
use crate::phash::{self, PerceptualHash};
use crate::render::{self, decode, Rendition};
use crate::{sniff, Limits, MediaType, PhotoError};

/// Long side of the display copy, in pixels.
pub const DISPLAY_LONG_SIDE: u32 = 1600;
/// Long side of the thumbnail, in pixels.
pub const THUMBNAIL_LONG_SIDE: u32 = 400;

/// A SHA-256 digest, shown as lowercase hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha2::Sha256::digest(bytes).into())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Everything the server stores about one photo.
#[derive(Debug, Clone)]
pub struct ProcessedPhoto {
    pub media_type: MediaType,
    /// SHA-256 of the bytes as uploaded: the exact-duplicate key.
    pub sha256: Sha256Digest,
    /// Size of the upload in bytes.
    pub size: u64,
    /// Size of the picture as seen (after orientation).
    pub width: u32,
    pub height: u32,
    /// Read from EXIF before it was stripped.
    pub metadata: PhotoMetadata,
    /// The upload without any metadata, same format, image data untouched. Its pixels are as the
    /// sensor stored them: the EXIF orientation went with the rest of EXIF, so people should be
    /// shown `display` (upright), or a viewer must apply `metadata.orientation`.
    pub original: bytes::Bytes,
    /// Upright JPEG, long side ≤ [`DISPLAY_LONG_SIDE`].
    pub display: Rendition,
    /// Upright JPEG, long side ≤ [`THUMBNAIL_LONG_SIDE`].
    pub thumbnail: Rendition,
    pub perceptual_hash: PerceptualHash,
}

/// An upload that passed the checks that need no decoding: type, size, header dimensions, structure.
#[derive(Debug)]
pub struct InspectedPhoto {
    pub media_type: MediaType,
    pub sha256: Sha256Digest,
    pub size: u64,
    pub metadata: PhotoMetadata,
    stripped: Stripped,
}

impl InspectedPhoto {
    /// The upload without metadata.
    pub fn original(&self) -> &[u8] {
        &self.stripped.bytes
    }

    /// Size as seen, after orientation.
    pub fn upright_size(&self) -> (u32, u32) {
        let (w, h) = (self.stripped.width, self.stripped.height);
        if self.metadata.orientation.swaps_axes() {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// Decodes once, at the scale the largest of `long_sides` needs, and makes one upright JPEG per
    /// entry (largest first), plus the perceptual hash of the smallest.
    pub fn render(
        &self,
        long_sides: &[u32],
        limits: &Limits,
    ) -> Result<(Vec<Rendition>, PerceptualHash), PhotoError> {
        let mut sides = long_sides.to_vec();
        sides.sort_unstable_by(|a, b| b.cmp(a));
        let largest = sides.first().copied().unwrap_or(THUMBNAIL_LONG_SIDE);
        contain_panics(|| {
            let decoded = decode::decode(self.media_type, &self.stripped, largest, limits)?;
            let (renditions, smallest) =
                render::renditions(decoded, self.metadata.orientation, &sides)?;
            Ok((renditions, phash::dhash(&smallest)))
        })
    }
}

/// Checks and strips an upload without decoding its pixels. Takes the bytes by value so they are freed
/// before decoding, which works from the stripped copy.
pub fn inspect(upload: Vec<u8>, limits: &Limits) -> Result<InspectedPhoto, PhotoError> {
    let size = upload.len() as u64;
    if size > limits.max_bytes {
        return Err(PhotoError::TooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    let media_type = sniff::sniff(&upload)?;
    contain_panics(|| {
        let stripped = container::strip(media_type, &upload, limits)?;
        let metadata = stripped
            .exif
            .clone()
            .and_then(|r| upload.get(r))
            .map(exif::read)
            .unwrap_or_default();
        let sha256 = Sha256Digest::of(&upload);
        Ok(InspectedPhoto {
            media_type,
            sha256,
            size,
            metadata,
            stripped,
        })
    })
}

/// The whole pipeline on bytes in memory.
pub fn process_bytes(upload: Vec<u8>, limits: &Limits) -> Result<ProcessedPhoto, PhotoError> {
    let inspected = inspect(upload, limits)?;
    let (renditions, perceptual_hash) =
        inspected.render(&[DISPLAY_LONG_SIDE, THUMBNAIL_LONG_SIDE], limits)?;
    let mut renditions = renditions.into_iter();
    let (Some(display), Some(thumbnail)) = (renditions.next(), renditions.next()) else {
        return Err(PhotoError::Io(std::io::Error::other(
            "rendering returned too few copies",
        )));
    };
    let (width, height) = inspected.upright_size();
    Ok(ProcessedPhoto {
        media_type: inspected.media_type,
        sha256: inspected.sha256,
        size: inspected.size,
        width,
        height,
        metadata: inspected.metadata,
        original: inspected.stripped.bytes.into(),
        display,
        thumbnail,
        perceptual_hash,
    })
}

/// The whole pipeline on an upload the server has streamed to `path`. Refuses an oversized file
/// before reading it. Blocking: see [`process_file_async`].
pub fn process_file(path: &Path, limits: &Limits) -> Result<ProcessedPhoto, PhotoError> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size == 0 {
        return Err(PhotoError::Empty);
    }
    if size > limits.max_bytes {
        return Err(PhotoError::TooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    let mut upload = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // One byte more than the limit, in case the file grew since `metadata`.
    file.take(limits.max_bytes + 1).read_to_end(&mut upload)?;
    process_bytes(upload, limits)
}

/// [`process_file`] on tokio's blocking pool, within [`Limits::timeout`], keeping the caller's
/// tracing span.
///
/// On timeout the caller gets [`PhotoError::Timeout`] at once, but the blocking thread cannot be
/// stopped and finishes its (bounded) work in the background: the limits, not the timeout, are what
/// bound the cost of a hostile file. The server should also cap how many photos are in flight (a
/// semaphore sized to the cores): give its permit to [`process_file_async_holding`], so that a
/// photo that timed out keeps its place until its thread is really done.
pub async fn process_file_async(
    path: PathBuf,
    limits: Limits,
) -> Result<ProcessedPhoto, PhotoError> {
    process_file_async_holding(path, limits, ()).await
}

/// [`process_file_async`], with `hold` (a semaphore permit, say) dropped only when the blocking
/// work ends, even when the caller stopped waiting for it at the timeout.
pub async fn process_file_async_holding<H: Send + 'static>(
    path: PathBuf,
    limits: Limits,
    hold: H,
) -> Result<ProcessedPhoto, PhotoError> {
    let timeout = limits.timeout;
    let span = tracing::Span::current();
    let task = tokio::task::spawn_blocking(move || {
        let _hold = hold;
        span.in_scope(|| process_file(&path, &limits))
    });
    match tokio::time::timeout(timeout, task).await {
        Err(_) => Err(PhotoError::Timeout(timeout)),
        Ok(Err(join)) => Err(PhotoError::Io(std::io::Error::other(format!(
            "photo task failed: {join}"
        )))),
        Ok(Ok(result)) => result,
    }
}

/// Decoders are large and parse hostile input; a panic in one must become a refusal of that photo,
/// not a crashed worker thread.
fn contain_panics<T>(f: impl FnOnce() -> Result<T, PhotoError>) -> Result<T, PhotoError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(_) => {
            tracing::error!("photo decoder panicked; the photo is refused as corrupt");
            Err(PhotoError::corrupt("the decoder could not read this file"))
        }
    }
}
