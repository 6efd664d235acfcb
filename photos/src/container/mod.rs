//! Format containers: one walk over the file that checks the declared size, finds the EXIF block and
//! writes a copy without metadata. The copy keeps the compressed image data byte for byte.

mod jpeg;
mod png;
mod webp;

use std::ops::Range;

pub(crate) use jpeg::JpegFrame;

use crate::{Limits, MediaType, PhotoError};

/// An upload rewritten without metadata, with what the walk found.
#[derive(Debug)]
pub(crate) struct Stripped {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// The TIFF structure of the EXIF block, as a range of the input.
    pub exif: Option<Range<usize>>,
    /// For JPEG, what the decoder needs to plan a scaled decode.
    pub jpeg: Option<JpegFrame>,
}

impl Stripped {
    /// A PNG or WebP result: no JPEG frame to plan a scaled decode with.
    fn without_frame(bytes: Vec<u8>, width: u32, height: u32, exif: Option<Range<usize>>) -> Self {
        Self {
            bytes,
            width,
            height,
            exif,
            jpeg: None,
        }
    }
}

pub(crate) fn strip(
    media: MediaType,
    data: &[u8],
    limits: &Limits,
) -> Result<Stripped, PhotoError> {
    match media {
        MediaType::Jpeg => jpeg::strip(data, limits),
        MediaType::Png => png::strip(data, limits),
        MediaType::Webp => webp::strip(data, limits),
    }
}
