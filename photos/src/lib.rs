//! The photo pipeline of visit reports, as a library the server calls.
//!
//! - [`process_file_async`] (or the blocking [`process_file`]): sniff the type by magic bytes, refuse
//!   what is too large or not a photo, read EXIF (position, time, orientation, make, model), strip all
//!   metadata losslessly, make an upright 1600 px display copy and a 400 px thumbnail, and hash
//!   (SHA-256 of the upload, 64-bit dHash of the picture).
//! - [`store`]: where the bytes go: a content-addressed [`store::PhotoStore`] on the filesystem or an
//!   S3-compatible object store, chosen by [`store::StoreConfig`].
//!
//! Folders follow the pipeline: `sniff` → `container/` (one walk per format: checks, EXIF, strip) →
//! `exif` → `render/` (decode at scale, resize, orient, encode) → `phash`; `process` ties them.

mod container;
mod error;
pub mod exif;
#[doc(hidden)]
pub mod fuzzing;
mod limits;
mod phash;
mod process;
mod render;
mod sniff;
pub mod store;

pub use error::PhotoError;
pub use exif::{CaptureTime, GpsPosition, Orientation, PhotoMetadata};
pub use limits::Limits;
pub use phash::PerceptualHash;
pub use process::{
    inspect, process_bytes, process_file, process_file_async, process_file_async_holding,
    InspectedPhoto, ProcessedPhoto, Sha256Digest, DISPLAY_LONG_SIDE, THUMBNAIL_LONG_SIDE,
};
pub use render::Rendition;
pub use sniff::{sniff, MediaType};
