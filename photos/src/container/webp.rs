//! WebP: keep the image chunks (VP8, VP8L, ALPH, animation, ICC colour) and drop EXIF, XMP, unknown
//! chunks and anything past the RIFF size; the VP8X flags are updated to match.

use super::Stripped;
use crate::{Limits, PhotoError};

const KEPT: &[&[u8; 4]] = &[
    b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP",
];
const VP8X_FLAG_EXIF: u8 = 0x08;
const VP8X_FLAG_XMP: u8 = 0x04;

pub(crate) fn strip(data: &[u8], limits: &Limits) -> Result<Stripped, PhotoError> {
    let header = data.get(..12).ok_or(PhotoError::Truncated)?;
    let riff_len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let end = 8usize
        .checked_add(riff_len)
        .ok_or_else(|| PhotoError::corrupt("a RIFF size overflow"))?;
    let body = data.get(..end).ok_or(PhotoError::Truncated)?;
    let mut out = Vec::with_capacity(end);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    let mut pos = 12;
    let mut size = None;
    let mut exif = None;
    while pos < body.len() {
        let chunk_header = body.get(pos..pos + 8).ok_or(PhotoError::Truncated)?;
        let kind: [u8; 4] = [
            chunk_header[0],
            chunk_header[1],
            chunk_header[2],
            chunk_header[3],
        ];
        let len = u32::from_le_bytes([
            chunk_header[4],
            chunk_header[5],
            chunk_header[6],
            chunk_header[7],
        ]) as usize;
        let payload_start = pos + 8;
        let payload_end = payload_start
            .checked_add(len)
            .ok_or(PhotoError::Truncated)?;
        let padded_end = (payload_end + (len & 1)).min(body.len());
        let payload = body
            .get(payload_start..payload_end)
            .ok_or(PhotoError::Truncated)?;
        if size.is_none() {
            size = frame_size(&kind, payload)?;
            if let Some((width, height)) = size {
                limits.check_pixels(width, height)?;
            }
        }
        match &kind {
            b"EXIF" if exif.is_none() => {
                let skip = if payload.starts_with(b"Exif\0\0") {
                    6
                } else {
                    0
                };
                exif = Some(payload_start + skip..payload_end);
            }
            b"VP8X" => {
                let at = out.len() + 8;
                out.extend_from_slice(&body[pos..padded_end]);
                if let Some(flags) = out.get_mut(at) {
                    *flags &= !(VP8X_FLAG_EXIF | VP8X_FLAG_XMP);
                }
            }
            kind if KEPT.contains(&kind) => out.extend_from_slice(&body[pos..padded_end]),
            _ => {}
        }
        pos = padded_end;
    }
    let (width, height) = size.ok_or_else(|| PhotoError::corrupt("a WebP without an image"))?;
    let riff_size =
        u32::try_from(out.len() - 8).map_err(|_| PhotoError::corrupt("a WebP over 4 GiB"))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(Stripped::without_frame(out, width, height, exif))
}

/// The canvas size from the first chunk that states one (VP8X, VP8 or VP8L).
fn frame_size(kind: &[u8; 4], payload: &[u8]) -> Result<Option<(u32, u32)>, PhotoError> {
    let short = || PhotoError::corrupt("a short WebP header");
    let le24 = |b: &[u8]| u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
    Ok(match kind {
        b"VP8X" => {
            let p = payload.get(..10).ok_or_else(short)?;
            Some((le24(&p[4..7]) + 1, le24(&p[7..10]) + 1))
        }
        b"VP8 " => {
            let p = payload.get(..10).ok_or_else(short)?;
            if p[3..6] != [0x9D, 0x01, 0x2A] {
                return Err(PhotoError::corrupt("a VP8 frame without its start code"));
            }
            let width = u32::from(u16::from_le_bytes([p[6], p[7]]) & 0x3FFF);
            let height = u32::from(u16::from_le_bytes([p[8], p[9]]) & 0x3FFF);
            Some((width, height))
        }
        b"VP8L" => {
            let p = payload.get(..5).ok_or_else(short)?;
            if p[0] != 0x2F {
                return Err(PhotoError::corrupt("a VP8L frame without its signature"));
            }
            let bits = u32::from_le_bytes([p[1], p[2], p[3], p[4]]);
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        _ => None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap().to_le_bytes();
        let pad: &[u8] = if payload.len() % 2 == 1 { &[0] } else { &[] };
        [kind, &len[..], payload, pad].concat()
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body = chunks.concat();
        let size = u32::try_from(body.len() + 4).unwrap().to_le_bytes();
        [&b"RIFF"[..], &size, b"WEBP", &body].concat()
    }

    #[test]
    fn drops_exif_and_xmp_and_clears_their_flags() {
        let vp8x = |flags: u8| chunk(b"VP8X", &[flags, 0, 0, 0, 9, 0, 0, 4, 0, 0]);
        let vp8l = chunk(b"VP8L", &[0x2F, 9, 0, 1, 0, 0]);
        let input = riff(&[
            vp8x(0x0C),
            vp8l.clone(),
            chunk(b"EXIF", b"Exif\0\0MM\0\x2a"),
            chunk(b"XMP ", b"<x/>"),
        ]);
        let stripped = strip(&input, &Limits::default()).unwrap();
        assert_eq!(stripped.bytes, riff(&[vp8x(0), vp8l]));
        assert_eq!((stripped.width, stripped.height), (10, 5));
        assert_eq!(&input[stripped.exif.unwrap()], b"MM\0\x2a");
    }
}
