//! PNG and WebP uploads: EXIF read from their own containers, metadata chunks dropped, pixels kept.

use jiuzhu_photos::{process_bytes, Limits, MediaType};

use crate::support::{photo, png_chunk, synthetic_rgb};

/// The TIFF structure of DSCN0010.jpg's EXIF block (GPS position and time included).
fn nikon_exif() -> Vec<u8> {
    let jpeg = std::fs::read(photo("gps/DSCN0010.jpg")).unwrap();
    let at = jpeg.windows(6).position(|w| w == b"Exif\0\0").unwrap();
    let len = usize::from(u16::from_be_bytes([jpeg[at - 2], jpeg[at - 1]]));
    jpeg[at + 6..at - 2 + len].to_vec()
}

fn riff_chunk(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let pad: &[u8] = if payload.len() % 2 == 1 { &[0] } else { &[] };
    [
        kind,
        &(payload.len() as u32).to_le_bytes()[..],
        payload,
        pad,
    ]
    .concat()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn png_with_exif_and_text_chunks() {
    let (w, h) = (320u32, 200u32);
    let rgb = synthetic_rgb(w, h, 3);
    let mut plain = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut plain),
        &rgb,
        w,
        h,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    // Insert eXIf and tEXt right after IHDR (8-byte signature + 25-byte IHDR chunk).
    let extra = [
        png_chunk(b"eXIf", &nikon_exif()),
        png_chunk(b"tEXt", b"Comment\0home of someone"),
    ]
    .concat();
    let upload = [&plain[..33], &extra, &plain[33..]].concat();
    let p = process_bytes(upload, &Limits::default()).unwrap();
    assert_eq!(p.media_type, MediaType::Png);
    let pos = p.metadata.position.unwrap();
    assert!((pos.latitude - 43.467_448).abs() < 1e-5);
    assert_eq!(p.metadata.make.as_deref(), Some("NIKON"));
    assert!(!contains(&p.original, b"eXIf") && !contains(&p.original, b"tEXt"));
    assert_eq!(
        &p.original[..],
        &plain[..],
        "the stripped PNG is the PNG without the added chunks"
    );
    assert_eq!((p.display.width, p.display.height), (320, 200));
}

#[test]
fn webp_with_exif_and_xmp_chunks() {
    let (w, h) = (300u32, 240u32);
    let rgb = synthetic_rgb(w, h, 4);
    let mut simple = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::webp::WebPEncoder::new_lossless(&mut simple),
        &rgb,
        w,
        h,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    // Rewrap as the extended format: VP8X (EXIF and XMP flags set), the image, EXIF, XMP.
    let image_chunk = &simple[12..];
    let canvas = [&(w - 1).to_le_bytes()[..3], &(h - 1).to_le_bytes()[..3]].concat();
    let vp8x = riff_chunk(b"VP8X", &[&[0x0C, 0, 0, 0][..], &canvas].concat());
    let body = [
        &b"WEBP"[..],
        &vp8x,
        image_chunk,
        &riff_chunk(b"EXIF", &nikon_exif()),
        &riff_chunk(b"XMP ", b"<x:xmpmeta>GPS</x:xmpmeta>"),
    ]
    .concat();
    let upload = [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat();
    let p = process_bytes(upload, &Limits::default()).unwrap();
    assert_eq!(p.media_type, MediaType::Webp);
    assert!(p.metadata.position.is_some());
    assert!(!contains(&p.original, b"EXIF") && !contains(&p.original, b"XMP "));
    assert_eq!(
        p.original[20] & 0x0C,
        0,
        "VP8X flags still announce EXIF or XMP"
    );
    let decoded = image::load_from_memory(&p.original).unwrap().to_rgb8();
    assert_eq!(decoded.into_raw(), rgb, "lossless WebP pixels changed");
    assert_eq!((p.thumbnail.width, p.thumbnail.height), (300, 240));
}
