//! Paths to the shared test photos, generators of synthetic ones, and checks on outputs.

use std::path::PathBuf;

use jiuzhu_photos::{Limits, PhotoError, ProcessedPhoto};

pub use crate::synthetic::synthetic_rgb;

/// `shared/data/photos`, which CI lays beside the checkout.
pub fn shared_photos() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/photos");
    assert!(
        dir.is_dir(),
        "test photos missing: {} (shared/ must sit beside the checkout)",
        dir.display()
    );
    dir
}

pub fn photo(relative: &str) -> PathBuf {
    shared_photos().join(relative)
}

pub fn photos_in(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(shared_photos().join(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no photos in {folder}");
    files
}

pub fn process(path: &std::path::Path) -> Result<ProcessedPhoto, PhotoError> {
    jiuzhu_photos::process_file(path, &Limits::default())
}

/// Decodes a JPEG fully (test side, no scaling) to RGB or gray bytes.
pub fn decode_jpeg(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    let pixels = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    (u32::from(info.width), u32::from(info.height), pixels)
}

pub fn encode_jpeg(width: u32, height: u32, rgb: &[u8], progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 90);
    encoder.set_progressive(progressive);
    encoder
        .encode(
            rgb,
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    out
}

/// Asserts a JPEG carries no EXIF, XMP, comment or vendor segment, and that kamadak-exif finds no
/// EXIF in it either.
pub fn assert_jpeg_has_no_metadata(bytes: &[u8]) {
    let mut pos = 2;
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    while pos + 4 <= bytes.len() {
        assert_eq!(bytes[pos], 0xFF, "marker expected at {pos}");
        let marker = bytes[pos + 1];
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
        let payload = &bytes[pos + 4..pos + 2 + len];
        match marker {
            0xE0 => assert!(payload.starts_with(b"JFIF\0"), "APP0 that is not JFIF"),
            0xE2 => assert!(
                payload.starts_with(b"ICC_PROFILE\0"),
                "APP2 that is not ICC"
            ),
            0xEE => assert!(payload.starts_with(b"Adobe"), "APP14 that is not Adobe"),
            0xE1 | 0xE3..=0xED | 0xEF | 0xFE => panic!("metadata segment {marker:#x} left in"),
            _ => {}
        }
        pos += 2 + len;
    }
    let exif = kamadak_exif::Reader::new().read_from_container(&mut std::io::Cursor::new(bytes));
    assert!(exif.is_err(), "EXIF found in a stripped JPEG");
    for needle in [&b"Exif\0\0"[..], b"http://ns.adobe.com/xap"] {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle),
            "{:?} found",
            String::from_utf8_lossy(needle)
        );
    }
}

/// Mean absolute difference per sample between two equally sized buffers.
pub fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.len() as f64
}

/// Pearson correlation of the samples outside the central box (x 35–65 %, y 30–70 %), where the
/// orientation test photos print their number. Insensitive to a brightness or contrast change (the
/// `_1` photos are encoded without the ICC profile the others carry, and are brighter).
pub fn correlation_outside_centre(width: u32, height: u32, a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let n = a.len() / (width * height) as usize;
    let mut pairs = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (
                f64::from(x) / f64::from(width),
                f64::from(y) / f64::from(height),
            );
            if (0.35..0.65).contains(&fx) && (0.3..0.7).contains(&fy) {
                continue;
            }
            let i = (y * width + x) as usize * n;
            pairs.extend((i..i + n).map(|k| (f64::from(a[k]), f64::from(b[k]))));
        }
    }
    let count = pairs.len() as f64;
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / count,
        pairs.iter().map(|p| p.1).sum::<f64>() / count,
    );
    let cov: f64 = pairs.iter().map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = pairs.iter().map(|(x, _)| (x - ma).powi(2)).sum();
    let vb: f64 = pairs.iter().map(|(_, y)| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// The same pixels upside down (rows reversed).
pub fn flipped_vertically(width: u32, pixels: &[u8], height: u32) -> Vec<u8> {
    let row = pixels.len() / height as usize;
    let _ = width;
    pixels.chunks_exact(row).rev().flatten().copied().collect()
}

/// A PNG chunk with its CRC.
pub fn png_chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(body);
    [
        &(body.len() as u32).to_be_bytes()[..],
        kind,
        body,
        &crc.finalize().to_be_bytes(),
    ]
    .concat()
}
