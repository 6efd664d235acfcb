//! Writes the photo seeds of the committed corpus from the real photos in `../shared/data/photos`:
//! each photo shrunk to a small baseline JPEG that keeps its camera's EXIF block, in the layouts the
//! DC reader handles, plus PNG and WebP copies and the EXIF blocks alone. Real camera files are
//! megabytes; the fuzzer needs their structure, not their pixels.
//!
//! `cargo run -p jiuzhu-fuzz-targets --example seed_corpus -- ../shared/data/photos fuzz/corpus`

use std::path::PathBuf;

use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (photos, corpus) = match &args[..] {
        [_, photos, corpus] => (PathBuf::from(photos), PathBuf::from(corpus)),
        _ => return Err("usage: seed_corpus PHOTOS_DIR CORPUS_DIR".into()),
    };
    let mut files = Vec::new();
    for folder in std::fs::read_dir(&photos)? {
        for file in std::fs::read_dir(folder?.path())? {
            files.push(file?.path());
        }
    }
    files.sort();
    for dir in ["photo_intake", "jpeg_dc", "exif"] {
        std::fs::create_dir_all(corpus.join(dir))?;
    }
    for (i, path) in files.iter().enumerate() {
        let upload = std::fs::read(path)?;
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let exif = app1_exif(&upload);
        if let Some(segment) = &exif {
            // The TIFF structure after "Exif\0\0", as `exif::read` gets it.
            std::fs::write(
                corpus.join("exif").join(format!("{stem}.tiff")),
                &segment[10..],
            )?;
        }
        let Some((width, height, pixels)) = decode_small(&upload) else {
            // A file that does not decode: its first 16 KiB, damage and all.
            let head = &upload[..upload.len().min(16 * 1024)];
            std::fs::write(
                corpus.join("photo_intake").join(format!("{stem}-head.jpg")),
                head,
            )?;
            continue;
        };
        let sampling = [
            SamplingFactor::F_2_2,
            SamplingFactor::F_1_1,
            SamplingFactor::F_2_1,
        ][i % 3];
        let small = encode(width, height, &pixels, sampling, (i % 3) as u16 * 2)?;
        let with_exif = splice_exif(&small, exif.as_deref());
        std::fs::write(
            corpus.join("photo_intake").join(format!("{stem}.jpg")),
            &with_exif,
        )?;
        std::fs::write(
            corpus.join("jpeg_dc").join(format!("{stem}.jpg")),
            &with_exif,
        )?;
        if i % 4 == 0 {
            let gray: Vec<u8> = pixels.chunks_exact(3).map(|p| p[1]).collect();
            let mut out = Vec::new();
            Encoder::new(&mut out, 80).encode(
                &gray,
                width as u16,
                height as u16,
                ColorType::Luma,
            )?;
            std::fs::write(
                corpus.join("jpeg_dc").join(format!("{stem}-gray.jpg")),
                &out,
            )?;
        }
        if i % 5 == 0 {
            let image = image::RgbImage::from_raw(width, height, pixels.clone()).ok_or("size")?;
            image.save_with_format(
                corpus.join("photo_intake").join(format!("{stem}.png")),
                image::ImageFormat::Png,
            )?;
            image.save_with_format(
                corpus.join("photo_intake").join(format!("{stem}.webp")),
                image::ImageFormat::WebP,
            )?;
        }
    }
    Ok(())
}

/// The APP1 segment holding EXIF (marker and length included), if the file has one.
fn app1_exif(jpeg: &[u8]) -> Option<Vec<u8>> {
    let mut at = 2;
    while at + 4 <= jpeg.len() && jpeg[at] == 0xFF {
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let segment = jpeg.get(at..at + 2 + len)?;
        if marker == 0xE1 && segment.get(4..10) == Some(b"Exif\0\0") {
            return Some(segment.to_vec());
        }
        if marker == 0xDA {
            return None;
        }
        at += 2 + len;
    }
    None
}

/// The photo at 1/8 scale, then halved until its long side is at most 96 pixels, as RGB.
fn decode_small(jpeg: &[u8]) -> Option<(u32, u32, Vec<u8>)> {
    let mut decoder = jpeg_decoder::Decoder::new(jpeg);
    decoder.read_info().ok()?;
    let info = decoder.info()?;
    decoder
        .scale(info.width.div_ceil(8), info.height.div_ceil(8))
        .ok()?;
    let data = decoder.decode().ok()?;
    let info = decoder.info()?;
    let (mut w, mut h) = (u32::from(info.width), u32::from(info.height));
    let mut rgb: Vec<u8> = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data,
        jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|&g| [g, g, g]).collect(),
        _ => return None,
    };
    while w.max(h) > 96 && w >= 32 && h >= 32 {
        let (nw, nh) = (w / 2, h / 2);
        let mut out = Vec::with_capacity((nw * nh * 3) as usize);
        for y in 0..nh {
            for x in 0..nw {
                for c in 0..3 {
                    let at = |xx: u32, yy: u32| u32::from(rgb[((yy * w + xx) * 3 + c) as usize]);
                    let sum = at(2 * x, 2 * y)
                        + at(2 * x + 1, 2 * y)
                        + at(2 * x, 2 * y + 1)
                        + at(2 * x + 1, 2 * y + 1);
                    out.push((sum / 4) as u8);
                }
            }
        }
        (w, h, rgb) = (nw, nh, out);
    }
    Some((w, h, rgb))
}

fn encode(
    width: u32,
    height: u32,
    rgb: &[u8],
    sampling: SamplingFactor,
    restart: u16,
) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 80);
    encoder.set_sampling_factor(sampling);
    encoder.set_restart_interval(restart);
    encoder.encode(rgb, width as u16, height as u16, ColorType::Rgb)?;
    Ok(out)
}

/// `jpeg` with the camera's APP1 segment put back right after SOI (jpeg-encoder writes a JFIF APP0
/// first; a camera file has APP1 there).
fn splice_exif(jpeg: &[u8], app1: Option<&[u8]>) -> Vec<u8> {
    let Some(app1) = app1 else {
        return jpeg.to_vec();
    };
    let mut out = Vec::with_capacity(jpeg.len() + app1.len());
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}
