//! PNG: keep the critical chunks and those that change how pixels look; drop text, time, EXIF, unknown
//! chunks and anything after IEND. An animated PNG becomes its default (first) image.

use super::Stripped;
use crate::{Limits, PhotoError};

const SIGNATURE_LEN: usize = 8;

/// Chunks that decoding or colour needs. Everything else (tEXt, zTXt, iTXt, eXIf, tIME, pHYs, APNG
/// frames, private chunks) is dropped.
const KEPT: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT",
    b"cICP",
];

pub(crate) fn strip(data: &[u8], limits: &Limits) -> Result<Stripped, PhotoError> {
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(data.get(..SIGNATURE_LEN).ok_or(PhotoError::Truncated)?);
    let mut pos = SIGNATURE_LEN;
    let mut size = None;
    let mut exif = None;
    loop {
        let header = data.get(pos..pos + 8).ok_or(PhotoError::Truncated)?;
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        if len > 0x7FFF_FFFF {
            return Err(PhotoError::corrupt("a PNG chunk length over 2^31"));
        }
        let kind: [u8; 4] = [header[4], header[5], header[6], header[7]];
        let data_start = pos + 8;
        let end = data_start + len as usize + 4;
        let chunk = data.get(pos..end).ok_or(PhotoError::Truncated)?;
        let body = &data[data_start..end - 4];
        if size.is_none() {
            if &kind != b"IHDR" || body.len() != 13 {
                return Err(PhotoError::corrupt("a PNG without IHDR first"));
            }
            let width = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            let height = u32::from_be_bytes([body[4], body[5], body[6], body[7]]);
            limits.check_pixels(width, height)?;
            size = Some((width, height));
        }
        if &kind == b"eXIf" && exif.is_none() {
            exif = Some(data_start..end - 4);
        }
        if KEPT.contains(&&kind) {
            out.extend_from_slice(chunk);
        }
        pos = end;
        if &kind == b"IEND" {
            break;
        }
    }
    let (width, height) = size.ok_or_else(|| PhotoError::corrupt("a PNG without IHDR"))?;
    Ok(Stripped::without_frame(out, width, height, exif))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn chunk(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let len = u32::try_from(body.len()).unwrap().to_be_bytes();
        // The CRC is not checked here: the decoder checks the chunks that are kept.
        [&len[..], kind, body, &[0, 0, 0, 0]].concat()
    }

    fn ihdr(width: u32, height: u32) -> Vec<u8> {
        let body = [
            &width.to_be_bytes()[..],
            &height.to_be_bytes(),
            &[8, 2, 0, 0, 0],
        ]
        .concat();
        chunk(b"IHDR", &body)
    }

    #[test]
    fn drops_text_time_and_exif_chunks() {
        let sig = b"\x89PNG\r\n\x1a\n".to_vec();
        let kept = [
            sig.clone(),
            ihdr(2, 2),
            chunk(b"IDAT", b"x"),
            chunk(b"IEND", b""),
        ]
        .concat();
        let input = [
            sig,
            ihdr(2, 2),
            chunk(b"tEXt", b"Author\0someone"),
            chunk(b"eXIf", b"MM\0\x2a"),
            chunk(b"tIME", b"1234567"),
            chunk(b"IDAT", b"x"),
            chunk(b"IEND", b""),
            b"PK\x03\x04".to_vec(),
        ]
        .concat();
        let stripped = strip(&input, &Limits::default()).unwrap();
        assert_eq!(stripped.bytes, kept);
        assert_eq!(&input[stripped.exif.unwrap()], b"MM\0\x2a");
    }

    #[test]
    fn refuses_a_huge_header_before_reading_further() {
        let input = [b"\x89PNG\r\n\x1a\n".to_vec(), ihdr(65535, 65535)].concat();
        assert!(matches!(
            strip(&input, &Limits::default()),
            Err(PhotoError::TooManyPixels { .. })
        ));
    }
}
