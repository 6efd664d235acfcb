//! Demo photos made in code: a JPEG with the EXIF block a phone camera writes (orientation,
//! capture time with its offset, GPS position), so the demo's visits go through the same photo
//! checks as real ones without the repository depending on files outside it.
//!
//! The EXIF block is written by hand: it is a dozen fixed tags in one TIFF structure, and the
//! crates that write EXIF either rewrite whole files or pull in more than this needs. The photo
//! pipeline's own reader (`jiuzhu_photos::exif`) reads it back in the tests below.

use chrono::NaiveDateTime;

/// What the camera "saw": where and when (local time in Asia/Shanghai).
#[derive(Debug, Clone, Copy)]
pub struct Shot {
    pub lat: f64,
    pub lon: f64,
    pub taken_local: NaiveDateTime,
    /// Picks the picture: different seeds look different to a perceptual hash.
    pub seed: u64,
}

/// A deterministic pseudo-random sequence (SplitMix64): the demo must be the same on every
/// machine and every version of the `rand` crate.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

const WIDTH: u16 = 640;
const HEIGHT: u16 = 480;

/// A 640×480 JPEG of coarse blocks of light and dark, with the shot's EXIF block.
pub fn jpeg(shot: &Shot) -> Result<Vec<u8>, jpeg_encoder::EncodingError> {
    let mut rng = SplitMix(shot.seed);
    // An 8×6 grid of blocks, each of its own brightness over the whole range: a perceptual
    // hash reads the coarse pattern of light and dark, so different seeds must differ there.
    let blocks: Vec<[u8; 3]> = (0..48)
        .map(|_| {
            let v = rng.next_u64();
            let grey = (v & 0xff) as u8;
            let tint = |shift: u32| grey.saturating_add(((v >> shift) & 0x1f) as u8);
            [tint(8), tint(16), tint(24)]
        })
        .collect();
    let (w, h) = (usize::from(WIDTH), usize::from(HEIGHT));
    let mut pixels = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            let block = blocks[(y * 6 / h) * 8 + x * 8 / w];
            // A little texture inside each block, so the encoder has something to do.
            let shade = (((x ^ y) & 7) as u8).wrapping_mul(3);
            pixels.extend(block.iter().map(|c| c.saturating_add(shade)));
        }
    }
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, 82);
    encoder.add_exif_metadata(&exif(shot))?;
    encoder.encode(&pixels, WIDTH, HEIGHT, jpeg_encoder::ColorType::Rgb)?;
    Ok(out)
}

// TIFF field types.
const ASCII: u16 = 2;
const SHORT: u16 = 3;
const LONG: u16 = 4;
const RATIONAL: u16 = 5;

struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    /// The value's bytes (little-endian); up to 4 inline, else stored after the directory.
    data: Vec<u8>,
}

fn ascii(tag: u16, text: &str) -> Entry {
    let mut data = text.as_bytes().to_vec();
    data.push(0);
    Entry {
        tag,
        kind: ASCII,
        count: data.len() as u32,
        data,
    }
}

fn short(tag: u16, v: u16) -> Entry {
    Entry {
        tag,
        kind: SHORT,
        count: 1,
        data: [v.to_le_bytes().as_slice(), &[0, 0]].concat(),
    }
}

fn long(tag: u16, v: u32) -> Entry {
    Entry {
        tag,
        kind: LONG,
        count: 1,
        data: v.to_le_bytes().to_vec(),
    }
}

/// Degrees as degrees, minutes and seconds (hundredths), as cameras write them.
fn dms(tag: u16, degrees: f64) -> Entry {
    let d = degrees.abs();
    let whole = d.trunc();
    let minutes = ((d - whole) * 60.0).trunc();
    let seconds = ((d - whole) * 60.0 - minutes) * 60.0;
    let mut data = Vec::with_capacity(24);
    for (num, den) in [
        (whole as u32, 1u32),
        (minutes as u32, 1),
        ((seconds * 100.0).round() as u32, 100),
    ] {
        data.extend(num.to_le_bytes());
        data.extend(den.to_le_bytes());
    }
    Entry {
        tag,
        kind: RATIONAL,
        count: 3,
        data,
    }
}

/// Writes one directory at `at` (its offset in the TIFF) with values that do not fit inline
/// stored after it; returns its bytes.
fn directory(entries: &[Entry], at: usize) -> Vec<u8> {
    let table = 2 + entries.len() * 12 + 4;
    let mut head = Vec::with_capacity(table);
    let mut tail = Vec::new();
    head.extend((entries.len() as u16).to_le_bytes());
    for e in entries {
        head.extend(e.tag.to_le_bytes());
        head.extend(e.kind.to_le_bytes());
        head.extend(e.count.to_le_bytes());
        if e.data.len() <= 4 {
            let mut inline = e.data.clone();
            inline.resize(4, 0);
            head.extend(inline);
        } else {
            head.extend(((at + table + tail.len()) as u32).to_le_bytes());
            tail.extend(&e.data);
            if tail.len() % 2 == 1 {
                tail.push(0);
            }
        }
    }
    head.extend(0u32.to_le_bytes());
    head.extend(tail);
    head
}

/// The TIFF structure of the EXIF block (little-endian): IFD0 pointing to an Exif and a GPS
/// directory.
fn exif(shot: &Shot) -> Vec<u8> {
    let time = shot.taken_local.format("%Y:%m:%d %H:%M:%S").to_string();
    let exif_ifd = [
        ascii(0x9003, &time),    // DateTimeOriginal
        ascii(0x9011, "+08:00"), // OffsetTimeOriginal
    ];
    let gps_ifd = [
        ascii(0x0001, if shot.lat >= 0.0 { "N" } else { "S" }),
        dms(0x0002, shot.lat),
        ascii(0x0003, if shot.lon >= 0.0 { "E" } else { "W" }),
        dms(0x0004, shot.lon),
    ];
    // IFD0's size is fixed by its entries, so the offsets after it can be computed first.
    let ifd0_len = |entries: &[Entry]| directory(entries, 8).len();
    let placeholder = [
        ascii(0x010F, "Jiuzhu"),      // Make
        ascii(0x0110, "demo camera"), // Model
        short(0x0112, 1),             // Orientation: the pixels are upright
        long(0x8769, 0),              // ExifIFDPointer
        long(0x8825, 0),              // GPSInfoIFDPointer
    ];
    let exif_at = 8 + ifd0_len(&placeholder);
    let exif_bytes = directory(&exif_ifd, exif_at);
    let gps_at = exif_at + exif_bytes.len();
    let gps_bytes = directory(&gps_ifd, gps_at);
    let ifd0 = [
        ascii(0x010F, "Jiuzhu"),
        ascii(0x0110, "demo camera"),
        short(0x0112, 1),
        long(0x8769, exif_at as u32),
        long(0x8825, gps_at as u32),
    ];
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes());
    tiff.extend(directory(&ifd0, 8));
    tiff.extend(exif_bytes);
    tiff.extend(gps_bytes);
    tiff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(seed: u64) -> Shot {
        Shot {
            lat: 31.7812345,
            lon: 119.9876543,
            taken_local: chrono::NaiveDate::from_ymd_opt(2026, 10, 28)
                .and_then(|d| d.and_hms_opt(9, 41, 7))
                .unwrap_or_default(),
            seed,
        }
    }

    #[test]
    fn the_pipeline_reads_back_the_position_and_time() {
        let tiff = exif(&shot(1));
        let meta = jiuzhu_photos::exif::read(&tiff);
        let gps = meta.position.as_ref().map(|g| (g.latitude, g.longitude));
        let (lat, lon) = gps.unwrap_or_default();
        assert!((lat - 31.7812345).abs() < 1e-5, "{lat}");
        assert!((lon - 119.9876543).abs() < 1e-5, "{lon}");
        let taken = meta.captured_at.as_ref().map(|c| c.local.to_string());
        assert_eq!(taken.as_deref(), Some("2026-10-28 09:41:07"));
        assert_eq!(
            meta.captured_at
                .and_then(|c| c.offset)
                .map(|o| o.local_minus_utc()),
            Some(crate::domain::time::OFFSET_SECS)
        );
    }

    #[test]
    fn a_photo_is_a_jpeg_and_seeds_differ() {
        let a = jpeg(&shot(1)).unwrap_or_default();
        let b = jpeg(&shot(2)).unwrap_or_default();
        assert!(a.starts_with(&[0xFF, 0xD8]) && b.starts_with(&[0xFF, 0xD8]));
        assert_ne!(a, b);
        assert_eq!(a, jpeg(&shot(1)).unwrap_or_default(), "deterministic");
    }
}
