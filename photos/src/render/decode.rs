//! Decodes a stripped upload into 8-bit pixels no larger than needed. JPEG is decoded straight to 1/2,
//! 1/4 or 1/8 of its size in the DCT domain (shrink-on-load), so a 12 MP photo is never fully decoded to
//! make a 1600 px copy; at 1/8 (the thumbnail of a large photo) a baseline JPEG goes through our own
//! DC-only reader ([`super::jpeg_dc`]), which falls back to jpeg-decoder for anything else. PNG and
//! WebP have no such trick and are decoded whole under the `image` crate's allocation limit.

use std::io::Cursor;

use crate::container::{JpegFrame, Stripped};
use crate::render::pixels::{Channels, Pixels};
use crate::{Limits, MediaType, PhotoError};

/// Decodes `stripped` to at least `long_side` pixels on its long side where the file is that large.
pub(crate) fn decode(
    media: MediaType,
    stripped: &Stripped,
    long_side: u32,
    limits: &Limits,
) -> Result<Pixels, PhotoError> {
    match (&stripped.jpeg, media) {
        (Some(frame), MediaType::Jpeg) => decode_jpeg(&stripped.bytes, frame, long_side, limits),
        (_, MediaType::Png) => decode_with_image(&stripped.bytes, image::ImageFormat::Png, limits),
        (_, MediaType::Webp) => {
            decode_with_image(&stripped.bytes, image::ImageFormat::WebP, limits)
        }
        (None, MediaType::Jpeg) => Err(PhotoError::corrupt("no frame header")),
    }
}

/// The scale (in eighths) jpeg-decoder will pick for `long_side`: the smallest of 1, 2, 4 or 8 whose
/// output still reaches it.
fn jpeg_scale(frame: &JpegFrame, long_side: u32) -> u32 {
    let long = frame.width.max(frame.height);
    [1, 2, 4]
        .into_iter()
        .find(|&s| (long * s).div_ceil(8) >= long_side)
        .unwrap_or(8)
}

fn decode_jpeg(
    bytes: &[u8],
    frame: &JpegFrame,
    long_side: u32,
    limits: &Limits,
) -> Result<Pixels, PhotoError> {
    let scale = jpeg_scale(frame, long_side);
    let needed = frame.decode_bytes(scale);
    if needed > limits.max_alloc {
        return Err(PhotoError::DecodeLimit(format!(
            "decoding needs about {} MiB, more than the limit of {} MiB",
            needed >> 20,
            limits.max_alloc >> 20
        )));
    }
    if scale == 1 && !frame.progressive {
        if let Some(pixels) = super::jpeg_dc::decode_eighth(bytes) {
            return Ok(pixels);
        }
    }
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    let request = u16::try_from(long_side).unwrap_or(u16::MAX);
    let (width, height) = decoder.scale(request, request).map_err(jpeg_error)?;
    let data = decoder.decode().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| PhotoError::corrupt("no frame header"))?;
    let (width, height) = (u32::from(width), u32::from(height));
    let pixels = match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => Pixels::new(width, height, Channels::Gray, data),
        jpeg_decoder::PixelFormat::RGB24 => Pixels::new(width, height, Channels::Rgb, data),
        jpeg_decoder::PixelFormat::CMYK32 => {
            Pixels::new(width, height, Channels::Rgb, cmyk_to_rgb(&data))
        }
        jpeg_decoder::PixelFormat::L16 => return Err(PhotoError::UnsupportedType),
    };
    pixels.ok_or_else(|| {
        PhotoError::corrupt("the decoder returned fewer pixels than the frame declares")
    })
}

/// Adobe CMYK as jpeg-decoder returns it (inverted by the Adobe transform already) to RGB.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() / 4 * 3);
    for p in cmyk.chunks_exact(4) {
        let k = u16::from(p[3]);
        for &c in &p[..3] {
            // (255 - c)(255 - k)/255 with c, k as ink amounts.
            let v = (255 - u16::from(c)) * (255 - k) / 255;
            rgb.push(u8::try_from(v).unwrap_or(u8::MAX));
        }
    }
    rgb
}

fn jpeg_error(error: jpeg_decoder::Error) -> PhotoError {
    match error {
        jpeg_decoder::Error::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated
        }
        jpeg_decoder::Error::Unsupported(_) => PhotoError::UnsupportedType,
        other => PhotoError::Corrupt(other.to_string()),
    }
}

fn decode_with_image(
    bytes: &[u8],
    format: image::ImageFormat,
    limits: &Limits,
) -> Result<Pixels, PhotoError> {
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let decoded = reader.decode().map_err(image_error)?;
    let (width, height) = (decoded.width(), decoded.height());
    let pixels = match decoded {
        image::DynamicImage::ImageLuma8(gray) => {
            Pixels::new(width, height, Channels::Gray, gray.into_raw())
        }
        image::DynamicImage::ImageRgb8(rgb) => {
            Pixels::new(width, height, Channels::Rgb, rgb.into_raw())
        }
        image::DynamicImage::ImageRgba8(rgba) => {
            Pixels::new(width, height, Channels::Rgba, rgba.into_raw())
        }
        other => Pixels::new(width, height, Channels::Rgba, other.into_rgba8().into_raw()),
    };
    pixels.ok_or_else(|| {
        PhotoError::corrupt("the decoder returned fewer pixels than the header declares")
    })
}

fn image_error(error: image::ImageError) -> PhotoError {
    match error {
        image::ImageError::Limits(e) => PhotoError::DecodeLimit(e.to_string()),
        image::ImageError::Unsupported(_) => PhotoError::UnsupportedType,
        image::ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated
        }
        other => PhotoError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_smallest_scale_that_still_reaches_the_target() {
        let frame = |width, height| JpegFrame {
            width,
            height,
            progressive: false,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
        };
        assert_eq!(jpeg_scale(&frame(3264, 2448), 400), 1);
        assert_eq!(jpeg_scale(&frame(3264, 2448), 1600), 4);
        assert_eq!(jpeg_scale(&frame(4000, 3000), 1600), 4);
        assert_eq!(jpeg_scale(&frame(2448, 3264), 1600), 4);
        assert_eq!(jpeg_scale(&frame(1600, 1200), 1600), 8);
        assert_eq!(jpeg_scale(&frame(640, 480), 1600), 8);
    }
}
