//! Makes the upright JPEG renditions (display copy, thumbnail) from a decoded photo.

pub(crate) mod decode;
pub(crate) mod jpeg_dc;
pub(crate) mod pixels;

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use crate::exif::Orientation;
use crate::PhotoError;
use pixels::{Channels, Pixels};

/// One derived JPEG, upright, carrying no metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    pub jpeg: bytes::Bytes,
    pub width: u32,
    pub height: u32,
}

/// JPEG quality of the renditions: enough for a reviewer to read a document on a table in the display
/// copy, and small over 4G.
const QUALITY: u8 = 82;

/// The renditions at `long_sides` (largest first), each resized from the previous one, and the upright
/// pixels of the last (smallest), for the perceptual hash.
pub(crate) fn renditions(
    decoded: Pixels,
    orientation: Orientation,
    long_sides: &[u32],
) -> Result<(Vec<Rendition>, Pixels), PhotoError> {
    let mut resizer = Resizer::new();
    let mut current = decoded;
    let mut upright = false;
    let mut out = Vec::with_capacity(long_sides.len());
    for &long_side in long_sides {
        current = resize(&mut resizer, current, long_side)?.flatten();
        if !upright {
            // Turning the smaller image is cheaper, and resizing commutes with it.
            current = current.oriented(orientation);
            upright = true;
        }
        out.push(Rendition {
            jpeg: encode(&current)?.into(),
            width: current.width,
            height: current.height,
        });
    }
    Ok((out, current))
}

/// `pixels` scaled down so its long side is at most `long_side` (never scaled up).
fn resize(resizer: &mut Resizer, pixels: Pixels, long_side: u32) -> Result<Pixels, PhotoError> {
    let (w, h) = (pixels.width, pixels.height);
    let long = w.max(h);
    if long <= long_side {
        return Ok(pixels);
    }
    let scale = f64::from(long_side) / f64::from(long);
    let fit = |v: u32| -> u32 {
        // In range: v ≤ u32::MAX and scale < 1.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let scaled = (f64::from(v) * scale).round() as u32;
        scaled.clamp(1, long_side)
    };
    let (dw, dh) = if w >= h {
        (long_side, fit(h))
    } else {
        (fit(w), long_side)
    };
    let pixel_type = match pixels.channels {
        Channels::Gray => PixelType::U8,
        Channels::Rgb => PixelType::U8x3,
        Channels::Rgba => PixelType::U8x4,
    };
    let src = ImageRef::new(w, h, &pixels.data, pixel_type).map_err(internal)?;
    let mut dst = Image::new(dw, dh, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    resizer.resize(&src, &mut dst, &options).map_err(internal)?;
    Pixels::new(dw, dh, pixels.channels, dst.into_vec())
        .ok_or_else(|| internal("resize output size"))
}

fn encode(pixels: &Pixels) -> Result<Vec<u8>, PhotoError> {
    let width = u16::try_from(pixels.width).map_err(internal)?;
    let height = u16::try_from(pixels.height).map_err(internal)?;
    let color = match pixels.channels {
        Channels::Gray => jpeg_encoder::ColorType::Luma,
        Channels::Rgb => jpeg_encoder::ColorType::Rgb,
        Channels::Rgba => jpeg_encoder::ColorType::Rgba,
    };
    let mut out = Vec::with_capacity(pixels.data.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, QUALITY);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder
        .encode(&pixels.data, width, height, color)
        .map_err(internal)?;
    Ok(out)
}

/// A failure of our own code or a library on valid input: the server's fault, not the upload's.
fn internal(error: impl std::fmt::Display) -> PhotoError {
    PhotoError::Io(std::io::Error::other(format!("rendering failed: {error}")))
}
