//! Entry points for the fuzz targets (`fuzz/` at the top of the repository) into a stage the public
//! API reaches only through a whole upload. Not part of the API; hidden from the documentation.

use crate::container;
use crate::render::jpeg_dc;
use crate::{Limits, MediaType, PhotoError};

/// What the hand-written 1/8 DC reader made of a JPEG.
#[derive(Debug, Clone)]
pub struct DcDecode {
    /// The stripped file it read (what jpeg-decoder must be compared on).
    pub stripped: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// 1 (gray) or 3 (RGB).
    pub channels: usize,
    /// The components upsampled and interleaved, before colour conversion.
    pub samples: Vec<u8>,
    /// The final pixels.
    pub pixels: Vec<u8>,
}

/// Runs an upload through the stages in front of the DC reader as the pipeline does (the container
/// walk with `limits`, the decode-size check) and then through the DC reader. `Ok(None)`: the reader
/// left the file to jpeg-decoder.
pub fn jpeg_dc(upload: &[u8], limits: &Limits) -> Result<Option<DcDecode>, PhotoError> {
    let stripped = container::strip(MediaType::Jpeg, upload, limits)?;
    let Some(frame) = &stripped.jpeg else {
        return Ok(None);
    };
    if frame.progressive || frame.decode_bytes(1) > limits.max_alloc {
        return Ok(None);
    }
    Ok(
        jpeg_dc::decode_eighth_with_samples(&stripped.bytes).map(|(samples, pixels)| DcDecode {
            width: pixels.width,
            height: pixels.height,
            channels: pixels.channels.count(),
            samples,
            pixels: pixels.data,
            stripped: stripped.bytes.clone(),
        }),
    )
}
