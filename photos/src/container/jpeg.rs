//! JPEG: walk the marker segments once, keep what decoding needs and drop the rest.
//!
//! Kept: the frame (SOFn), tables (DQT, DHT, DAC, DRI), scans with their entropy-coded data copied byte
//! for byte, a JFIF APP0 without thumbnail, an ICC profile (APP2, colour only) and the Adobe APP14 (its
//! transform flag decides RGB vs YCbCr). Dropped: EXIF and XMP (APP1), MPF and FlashPix (APP2), every
//! other APPn, comments, and everything after the first EOI: MPF secondary images, depth maps, and the
//! ZIP of a JPEG+ZIP polyglot. The result decodes to exactly the same pixels as the upload.

use super::Stripped;
use crate::{Limits, PhotoError};

/// What the walk learnt about the frame, enough to plan the decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JpegFrame {
    pub width: u32,
    pub height: u32,
    pub progressive: bool,
    /// (horizontal, vertical) sampling factor of each component.
    pub sampling: Vec<(u8, u8)>,
}

impl JpegFrame {
    /// Bytes the decoder holds at `scale`/8 of full size: the per-component planes and the interleaved
    /// output, plus for progressive files the coefficients of the whole image at full size (2 bytes each),
    /// which must be kept until the last scan.
    pub(crate) fn decode_bytes(&self, scale: u32) -> u64 {
        let h_max = u64::from(self.sampling.iter().map(|s| s.0).max().unwrap_or(1).max(1));
        let v_max = u64::from(self.sampling.iter().map(|s| s.1).max().unwrap_or(1).max(1));
        let mcu_w = 8 * h_max;
        let mcu_h = 8 * v_max;
        let padded_w = u64::from(self.width).div_ceil(mcu_w) * mcu_w;
        let padded_h = u64::from(self.height).div_ceil(mcu_h) * mcu_h;
        let full_samples: u64 = self
            .sampling
            .iter()
            .map(|&(h, v)| padded_w * u64::from(h) / h_max * (padded_h * u64::from(v) / v_max))
            .sum();
        let scale = u64::from(scale);
        let scaled_samples = full_samples * scale * scale / 64;
        let out =
            u64::from(self.width).div_ceil(8) * scale * u64::from(self.height).div_ceil(8) * scale;
        let output = out * self.sampling.len() as u64;
        let coefficients = if self.progressive {
            full_samples * 2
        } else {
            0
        };
        scaled_samples + output + coefficients
    }
}

const SOI: u8 = 0xD8;
const EOI: u8 = 0xD9;
const SOS: u8 = 0xDA;
const DHT: u8 = 0xC4;
const JPG: u8 = 0xC8;
const DAC: u8 = 0xCC;
const DQT: u8 = 0xDB;
const DRI: u8 = 0xDD;
const APP0: u8 = 0xE0;
const APP1: u8 = 0xE1;
const APP2: u8 = 0xE2;
const APP14: u8 = 0xEE;

/// Walks `data` (which starts with SOI), checks the frame against `limits` and returns the stripped copy.
pub(crate) fn strip(data: &[u8], limits: &Limits) -> Result<Stripped, PhotoError> {
    if data.len() < 4 || data[0] != 0xFF || data[1] != SOI {
        return Err(PhotoError::corrupt("not a JPEG"));
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(&[0xFF, SOI]);
    let mut frame: Option<JpegFrame> = None;
    let mut exif = None;
    let mut scans = 0u32;
    let mut pos = 2;
    loop {
        // Markers may be preceded by fill bytes (0xFF); libjpeg also skips stray bytes between segments.
        while pos < data.len() && data[pos] != 0xFF {
            pos += 1;
        }
        while pos < data.len() && data[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = data.get(pos) else {
            return Err(PhotoError::Truncated);
        };
        pos += 1;
        match marker {
            EOI => {
                if frame.is_none() || scans == 0 {
                    return Err(PhotoError::corrupt("no image data before the end marker"));
                }
                out.extend_from_slice(&[0xFF, EOI]);
                break;
            }
            SOI => return Err(PhotoError::corrupt("a second start-of-image marker")),
            // Standalone markers (TEM, RSTn) outside a scan carry nothing.
            0x01 | 0xD0..=0xD7 => continue,
            // Reserved codes: in practice a damaged scan whose data happens to hold 0xFF.
            0x02..=0xBF => {
                return Err(PhotoError::Corrupt(format!(
                    "an invalid marker {marker:#04x}"
                )))
            }
            _ => {}
        }
        let len_bytes = data.get(pos..pos + 2).ok_or(PhotoError::Truncated)?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return Err(PhotoError::corrupt("a segment length below 2"));
        }
        let segment = data.get(pos - 2..pos + len).ok_or(PhotoError::Truncated)?;
        let payload = &segment[4..];
        pos += len;
        match marker {
            0xC0..=0xCF if marker != DHT && marker != JPG && marker != DAC => {
                if frame.is_some() {
                    return Err(PhotoError::corrupt("more than one frame header"));
                }
                let parsed = parse_frame(marker, payload)?;
                limits.check_pixels(parsed.width, parsed.height)?;
                frame = Some(parsed);
                out.extend_from_slice(segment);
            }
            DHT | DAC | DQT | DRI => out.extend_from_slice(segment),
            SOS => {
                if frame.is_none() {
                    return Err(PhotoError::corrupt("a scan before the frame header"));
                }
                scans += 1;
                if scans > limits.max_jpeg_scans {
                    return Err(PhotoError::DecodeLimit(format!(
                        "more than {} scans in a progressive JPEG",
                        limits.max_jpeg_scans
                    )));
                }
                out.extend_from_slice(segment);
                let end = entropy_coded_end(data, pos)?;
                out.extend_from_slice(&data[pos..end]);
                pos = end;
            }
            APP0 if is_plain_jfif(payload) => out.extend_from_slice(segment),
            // Only the first EXIF block counts, as in every reader; later ones are dropped unread.
            APP1 if payload.starts_with(b"Exif\0\0") && exif.is_none() => {
                let start = pos - len + 2 + 6;
                exif = Some(start..pos);
            }
            APP2 if payload.starts_with(b"ICC_PROFILE\0") => out.extend_from_slice(segment),
            APP14 if payload.starts_with(b"Adobe") => out.extend_from_slice(segment),
            // XMP, other APPn, COM, JPGn: metadata or vendor data, never needed to decode.
            _ => {}
        }
    }
    let frame = frame.ok_or_else(|| PhotoError::corrupt("no frame header"))?;
    Ok(Stripped {
        bytes: out,
        width: frame.width,
        height: frame.height,
        exif,
        jpeg: Some(frame),
    })
}

fn parse_frame(marker: u8, payload: &[u8]) -> Result<JpegFrame, PhotoError> {
    if payload.len() < 6 {
        return Err(PhotoError::corrupt("a short frame header"));
    }
    let height = u32::from(u16::from_be_bytes([payload[1], payload[2]]));
    let width = u32::from(u16::from_be_bytes([payload[3], payload[4]]));
    let count = usize::from(payload[5]);
    let components = payload
        .get(6..6 + 3 * count)
        .ok_or_else(|| PhotoError::corrupt("a short frame header"))?;
    let sampling = components
        .chunks_exact(3)
        .map(|c| (c[1] >> 4, c[1] & 0x0F))
        .collect::<Vec<_>>();
    if count == 0
        || sampling
            .iter()
            .any(|&(h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
    {
        return Err(PhotoError::corrupt(
            "invalid components in the frame header",
        ));
    }
    // A height of 0 means "defined later by DNL", which no camera writes and the decoder refuses.
    if width == 0 || height == 0 {
        return Err(PhotoError::corrupt("zero width or height"));
    }
    let progressive = matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE);
    Ok(JpegFrame {
        width,
        height,
        progressive,
        sampling,
    })
}

/// JFIF APP0 with no embedded thumbnail (the thumbnail could show what the photo looked like before
/// an edit, so a JFIF segment carrying one is dropped).
fn is_plain_jfif(payload: &[u8]) -> bool {
    payload.len() >= 14 && payload.starts_with(b"JFIF\0") && payload[12] == 0 && payload[13] == 0
}

/// Where the entropy-coded data starting at `start` ends: at the first marker that is neither a stuffed
/// 0xFF00 nor a restart marker.
fn entropy_coded_end(data: &[u8], start: usize) -> Result<usize, PhotoError> {
    let mut pos = start;
    loop {
        let at = memchr::memchr(0xFF, &data[pos..]).ok_or(PhotoError::Truncated)?;
        pos += at;
        match data.get(pos + 1) {
            None => return Err(PhotoError::Truncated),
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => pos += 1,
            Some(_) => return Ok(pos),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let len = u16::try_from(payload.len() + 2).unwrap().to_be_bytes();
        [&[0xFF, marker], &len[..], payload].concat()
    }

    fn tiny(extra: &[u8], tail: &[u8]) -> Vec<u8> {
        let sof = [8, 0, 16, 0, 16, 1, 1, 0x11, 0];
        let sos = [1, 1, 0, 0, 63, 0];
        [
            &[0xFF, SOI][..],
            extra,
            &segment(0xC0, &sof),
            &segment(SOS, &sos),
            &[0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56],
            &[0xFF, EOI],
            tail,
        ]
        .concat()
    }

    #[test]
    fn drops_metadata_and_trailing_data_but_keeps_the_scan() {
        let exif = segment(APP1, b"Exif\0\0MM\0\x2a\0\0\0\x08");
        let xmp = segment(APP1, b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>");
        let comment = segment(0xFE, b"secret");
        let input = tiny(&[exif, xmp, comment].concat(), b"PK\x03\x04zip");
        let stripped = strip(&input, &Limits::default()).unwrap();
        assert_eq!(stripped.bytes, tiny(&[], b""));
        assert_eq!(stripped.width, 16);
        let exif_range = stripped.exif.unwrap();
        assert_eq!(&input[exif_range], b"MM\0\x2a\0\0\0\x08");
    }

    #[test]
    fn refuses_a_file_that_stops_inside_a_scan() {
        let input = tiny(&[], b"");
        let cut = &input[..input.len() - 3];
        assert!(matches!(
            strip(cut, &Limits::default()),
            Err(PhotoError::Truncated)
        ));
    }

    #[test]
    fn estimates_progressive_memory_at_full_size() {
        let frame = JpegFrame {
            width: 4000,
            height: 3000,
            progressive: true,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
        };
        let baseline = JpegFrame {
            progressive: false,
            ..frame.clone()
        };
        // 12 MP at 4:2:0 is 18 M samples; coefficients take 2 bytes each.
        assert!(frame.decode_bytes(1) - baseline.decode_bytes(1) >= 36_000_000);
        assert!(baseline.decode_bytes(4) < 20_000_000);
    }
}
