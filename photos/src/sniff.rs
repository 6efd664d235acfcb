//! Decides what a file is from its first bytes, never from its name or the client's Content-Type.

use crate::PhotoError;

/// A photo format the pipeline accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaType {
    Jpeg,
    Png,
    Webp,
}

impl MediaType {
    /// The MIME type to send with the stored original.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// ISO-BMFF major brands of HEIF files holding HEVC images (what iPhones write).
const HEIC_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
];

/// The type of `head` (the first bytes of the upload; 16 are enough).
///
/// SVG, HTML, ZIP, PDF, GIF, AVIF and anything else are [`PhotoError::UnsupportedType`]; a JPEG with a
/// ZIP appended (a polyglot) is a JPEG here, and its tail is dropped when the original is rewritten.
pub fn sniff(head: &[u8]) -> Result<MediaType, PhotoError> {
    if head.is_empty() {
        return Err(PhotoError::Empty);
    }
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(MediaType::Jpeg);
    }
    if head.starts_with(PNG_SIGNATURE) {
        return Ok(MediaType::Png);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Ok(MediaType::Webp);
    }
    if head.len() >= 12
        && &head[4..8] == b"ftyp"
        && HEIC_BRANDS.iter().any(|brand| &head[8..12] == *brand)
    {
        return Err(PhotoError::HeicUnsupported);
    }
    Err(PhotoError::UnsupportedType)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_three_formats_by_magic() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF").ok(),
            Some(MediaType::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").ok(),
            Some(MediaType::Png)
        );
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 ").ok(), Some(MediaType::Webp));
    }

    #[test]
    fn heic_is_its_own_refusal() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        assert!(matches!(sniff(heic), Err(PhotoError::HeicUnsupported)));
        let avif = b"\0\0\0\x1cftypavif\0\0\0\0avifmif1";
        assert!(matches!(sniff(avif), Err(PhotoError::UnsupportedType)));
    }

    #[test]
    fn everything_else_is_unsupported() {
        for head in [
            &b"<svg xmlns=\"http://www.w3.org/2000/svg\">"[..],
            b"<!DOCTYPE html><html>",
            b"PK\x03\x04\x14\0\0\0",
            b"%PDF-1.7",
            b"GIF89a",
            b"\xFF\xD8",
        ] {
            assert!(
                matches!(sniff(head), Err(PhotoError::UnsupportedType)),
                "{head:?}"
            );
        }
        assert!(matches!(sniff(b""), Err(PhotoError::Empty)));
    }
}
