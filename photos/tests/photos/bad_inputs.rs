//! Generated hostile uploads: each is refused with its own error, or (the polyglot) accepted with the
//! hostile part gone, quickly and without allocating what the file claims.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use jiuzhu_photos::{
    process_file, process_file_async, process_file_async_holding, Limits, PhotoError,
};

use crate::support::{
    assert_jpeg_has_no_metadata, decode_jpeg, encode_jpeg, photo, png_chunk, synthetic_rgb,
};

fn write_temp(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn process_named(name: &str, bytes: &[u8]) -> Result<jiuzhu_photos::ProcessedPhoto, PhotoError> {
    let (_dir, path) = write_temp(name, bytes);
    process_file(&path, &Limits::default())
}

#[test]
fn empty_file() {
    assert!(matches!(
        process_named("empty.jpg", b""),
        Err(PhotoError::Empty)
    ));
}

#[test]
fn too_large_is_refused_before_reading() {
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let result = process_file(&photo("gps/DSCN0010.jpg"), &limits);
    assert!(
        matches!(
            result,
            Err(PhotoError::TooLarge {
                size: 161_713,
                limit: 1000
            })
        ),
        "{result:?}"
    );
}

#[test]
fn truncated_jpeg() {
    let whole = std::fs::read(photo("mobile/jolla.jpg")).unwrap();
    for cut in [whole.len() * 6 / 10, whole.len() - 2, 400] {
        let result = process_named("cut.jpg", &whole[..cut]);
        assert!(
            matches!(result, Err(PhotoError::Truncated)),
            "cut at {cut}: {result:?}"
        );
    }
}

#[test]
fn png_claiming_65535_square_is_refused_from_its_header() {
    let ihdr = [
        &65535u32.to_be_bytes()[..],
        &65535u32.to_be_bytes(),
        &[8, 6, 0, 0, 0],
    ]
    .concat();
    let png = [
        &b"\x89PNG\r\n\x1a\n"[..],
        &png_chunk(b"IHDR", &ihdr),
        &png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]),
        &png_chunk(b"IEND", b""),
    ]
    .concat();
    let started = Instant::now();
    let result = process_named("huge.png", &png);
    assert!(
        matches!(
            result,
            Err(PhotoError::TooManyPixels {
                width: 65535,
                height: 65535,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// 4000×4000 RGBA of zeros: about 60 KB compressed, 64 MB decoded, within the pixel limit but over the
/// allocation cap. Refused by the image crate's limits before the buffer exists.
#[test]
fn decompression_bomb() {
    let (w, h) = (4000u32, 4000u32);
    let mut png = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut png,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::NoFilter,
    );
    image::ImageEncoder::write_image(
        encoder,
        &vec![0u8; (w * h * 4) as usize],
        w,
        h,
        image::ExtendedColorType::Rgba8,
    )
    .unwrap();
    assert!(png.len() < 2_000_000, "not a bomb: {} bytes", png.len());
    let result = process_named("bomb.png", &png);
    assert!(
        matches!(result, Err(PhotoError::DecodeLimit(_))),
        "{result:?}"
    );
    // The same file is fine when the cap allows it: the refusal is the limit, not the file.
    let (_dir, path) = write_temp("bomb.png", &png);
    let generous = Limits {
        max_alloc: 128 << 20,
        ..Limits::default()
    };
    assert!(process_file(&path, &generous).is_ok());
}

#[test]
fn svg_html_zip_and_heic_named_jpg_are_refused() {
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let html = b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>";
    let zip = b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    for (what, bytes) in [("svg", &svg[..]), ("html", &html[..]), ("zip", &zip[..])] {
        let result = process_named("photo.jpg", bytes);
        assert!(
            matches!(result, Err(PhotoError::UnsupportedType)),
            "{what}: {result:?}"
        );
    }
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0";
    assert!(matches!(
        process_named("photo.jpg", heic),
        Err(PhotoError::HeicUnsupported)
    ));
}

/// A JPEG with a ZIP appended (unzip finds the archive through the end-of-central-directory record):
/// accepted as the JPEG it is, and the stored original ends at the JPEG's end marker.
#[test]
fn jpeg_zip_polyglot_is_stored_without_the_zip() {
    let jpeg = std::fs::read(photo("gps/DSCN0010.jpg")).unwrap();
    let zip = b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05\0\0\0evil\x2ePK\x01\x02PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let polyglot = [&jpeg[..], zip].concat();
    let p = process_named("photo.jpg", &polyglot).unwrap();
    assert!(p.original.ends_with(&[0xFF, 0xD9]));
    for signature in [b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"] {
        assert!(
            !p.original.windows(4).any(|w| w == signature),
            "ZIP records left in the original"
        );
    }
    assert_jpeg_has_no_metadata(&p.original);
    assert_eq!(decode_jpeg(&p.original), decode_jpeg(&jpeg));
    assert_ne!(
        p.sha256,
        jiuzhu_photos::Sha256Digest::of(&jpeg),
        "the hash is of the upload as sent"
    );
}

/// Thousands of scans would each be a pass over the image; the scan count is checked while walking
/// the segments, before decoding starts.
#[test]
fn progressive_jpeg_with_thousands_of_scans_is_refused_quickly() {
    let (w, h) = (512, 384);
    let progressive = encode_jpeg(w, h, &synthetic_rgb(w, h, 7), true);
    // A normal progressive file decodes.
    let p = process_named("p.jpg", &progressive).unwrap();
    assert_eq!((p.display.width, p.display.height), (512, 384));
    // Repeat its smallest scan (SOS header and data) 5,000 times before EOI.
    let mut starts: Vec<usize> = progressive
        .windows(2)
        .enumerate()
        .filter(|(_, m)| *m == [0xFF, 0xDA])
        .map(|(i, _)| i)
        .collect();
    let eoi = progressive.len() - 2;
    starts.push(eoi);
    let scan = starts
        .windows(2)
        .map(|s| &progressive[s[0]..s[1]])
        .min_by_key(|s| s.len())
        .unwrap();
    let mut hostile = progressive[..eoi].to_vec();
    for _ in 0..5000 {
        hostile.extend_from_slice(scan);
    }
    hostile.extend_from_slice(&[0xFF, 0xD9]);
    assert!(hostile.len() < 20 << 20, "{} bytes", hostile.len());
    let started = Instant::now();
    let result = process_named("scans.jpg", &hostile);
    assert!(
        matches!(result, Err(PhotoError::DecodeLimit(_))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn corrupt_structure_is_a_client_error() {
    let jpeg = std::fs::read(photo("gps/DSCN0010.jpg")).unwrap();
    // The frame header's length runs past the file.
    let mut broken = jpeg.clone();
    let sof = broken.windows(2).position(|m| m == [0xFF, 0xC0]).unwrap();
    broken[sof + 2] = 0xFF;
    let result = process_named("x.jpg", &broken[..sof + 40]);
    assert!(
        result.as_ref().is_err_and(|e| e.is_client_error()),
        "{result:?}"
    );
    // Random bytes after a JPEG signature.
    let mut noise = vec![0xFF, 0xD8, 0xFF];
    noise.extend((0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let result = process_named("noise.jpg", &noise);
    assert!(
        result.as_ref().is_err_and(|e| e.is_client_error()),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_async_wrapper_times_out_and_processes() {
    let ok = process_file_async(photo("gps/DSCN0012.jpg"), Limits::default())
        .await
        .unwrap();
    assert!(ok.metadata.position.is_some());
    let hurried = Limits {
        timeout: Duration::from_nanos(1),
        ..Limits::default()
    };
    let result = process_file_async(photo("mobile/jolla.jpg"), hurried).await;
    assert!(matches!(result, Err(PhotoError::Timeout(_))), "{result:?}");
}

#[tokio::test]
async fn a_timed_out_photo_keeps_its_permit_until_its_work_ends() {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
    let permit = permits.clone().acquire_owned().await.unwrap();
    let hurried = Limits {
        timeout: Duration::from_nanos(1),
        ..Limits::default()
    };
    let result = process_file_async_holding(photo("mobile/jolla.jpg"), hurried, permit).await;
    assert!(matches!(result, Err(PhotoError::Timeout(_))), "{result:?}");
    // The caller has its answer, but the decoder still runs: the place is not free yet.
    assert_eq!(permits.available_permits(), 0);
    // It comes back when the work ends.
    let back = tokio::time::timeout(Duration::from_secs(60), permits.acquire()).await;
    assert!(back.is_ok(), "the permit never came back");
}

/// Deterministic mutation fuzzing: random byte changes anywhere in a real JPEG (headers, tables,
/// EXIF, scan data) and a PNG. Every result is a photo or a client error, quickly, and no decoder
/// panics (a contained panic would show as the "could not read" refusal).
#[test]
fn mutated_files_never_panic_or_hang() {
    let jpeg = std::fs::read(photo("gps/DSCN0010.jpg")).unwrap();
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &synthetic_rgb(64, 48, 5),
        64,
        48,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let started = Instant::now();
    for (name, original) in [("jpeg", &jpeg), ("png", &png)] {
        for round in 0..100 {
            let mut mutant = original.clone();
            // Mostly the first 2 KB (headers, tables, EXIF), sometimes anywhere.
            let span = if round % 3 == 0 {
                mutant.len()
            } else {
                mutant.len().min(2048)
            };
            for _ in 0..1 + next() % 8 {
                let at = (next() as usize) % span;
                mutant[at] = next() as u8;
            }
            match jiuzhu_photos::process_bytes(mutant, &Limits::default()) {
                Ok(p) => assert!(p.thumbnail.width.max(p.thumbnail.height) <= 400),
                Err(e) => {
                    assert!(e.is_client_error(), "{name} mutant {round}: {e}");
                    assert!(
                        !e.to_string().contains("could not read"),
                        "{name} mutant {round}: a decoder panicked"
                    );
                }
            }
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
