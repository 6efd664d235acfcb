//! Every photo under shared/data/photos: positions and times read, orientation applied, broken files
//! refused or accepted with their metadata ignored, never a panic.

use chrono::{NaiveDate, TimeZone, Utc};
use jiuzhu_photos::{CaptureTime, MediaType, PhotoError, Sha256Digest};

use crate::support::{
    assert_jpeg_has_no_metadata, correlation_outside_centre, decode_jpeg, flipped_vertically,
    mean_abs_diff, photo, photos_in, process,
};

/// Values read once with exiftool 12.57 (`exiftool -n`).
#[test]
fn gps_photos_give_position_time_make_and_model() {
    let cases = [
        (
            "gps/DSCN0010.jpg",
            43.467_448_333_333_3,
            11.885_126_666_663_9,
            (16, 28, 39),
            (14, 27, 7, 240),
        ),
        (
            "gps/DSCN0012.jpg",
            43.467_156_666_663_9,
            11.885_394_999_997_2,
            (16, 29, 49),
            (14, 28, 17, 240),
        ),
    ];
    for (file, lat, lon, (h, m, s), (gh, gm, gs, gms)) in cases {
        let p = process(&photo(file)).unwrap();
        let meta = &p.metadata;
        let pos = meta.position.unwrap();
        assert!((pos.latitude - lat).abs() < 1e-9, "{file}: {pos:?}");
        assert!((pos.longitude - lon).abs() < 1e-9, "{file}: {pos:?}");
        let captured = meta.captured_at.unwrap();
        assert_eq!(
            captured.local,
            NaiveDate::from_ymd_opt(2008, 10, 22)
                .unwrap()
                .and_hms_opt(h, m, s)
                .unwrap()
        );
        assert_eq!(
            captured.offset, None,
            "{file}: this camera writes no offset"
        );
        // Read as China time: 08:28 UTC. The GPS clock says the next day: the camera clock was wrong,
        // which is exactly what comparing the two times catches.
        assert_eq!(
            captured.to_utc(CaptureTime::CHINA).date_naive(),
            NaiveDate::from_ymd_opt(2008, 10, 22).unwrap()
        );
        let gps_time = Utc.with_ymd_and_hms(2008, 10, 23, gh, gm, gs).unwrap()
            + chrono::Duration::milliseconds(gms);
        assert_eq!(meta.gps_time, Some(gps_time), "{file}");
        assert_eq!(meta.make.as_deref(), Some("NIKON"));
        assert_eq!(meta.model.as_deref(), Some("COOLPIX P6000"));
        assert_eq!(meta.orientation.value(), 1);
        assert_eq!((p.width, p.height), (640, 480));
        assert_eq!(
            (p.display.width, p.display.height),
            (640, 480),
            "never scaled up"
        );
        assert_eq!((p.thumbnail.width, p.thumbnail.height), (400, 300));
        assert_eq!(p.media_type, MediaType::Jpeg);
        assert_eq!(
            p.sha256,
            Sha256Digest::of(&std::fs::read(photo(file)).unwrap())
        );
        for out in [&p.original[..], &p.display.jpeg, &p.thumbnail.jpeg] {
            assert_jpeg_has_no_metadata(out);
        }
    }
}

#[test]
fn the_phone_photo_keeps_its_pixels_and_loses_its_metadata() {
    let path = photo("mobile/jolla.jpg");
    let upload = std::fs::read(&path).unwrap();
    let p = process(&path).unwrap();
    let meta = &p.metadata;
    assert_eq!(meta.make.as_deref(), Some("Jolla"));
    assert_eq!(meta.position, None);
    assert_eq!(
        meta.captured_at.unwrap().local,
        NaiveDate::from_ymd_opt(2014, 9, 21)
            .unwrap()
            .and_hms_opt(16, 0, 56)
            .unwrap()
    );
    assert_eq!((p.width, p.height), (3264, 2448));
    assert_eq!((p.display.width, p.display.height), (1600, 1200));
    assert_eq!((p.thumbnail.width, p.thumbnail.height), (400, 300));
    assert!(p.original.len() < upload.len());
    assert_jpeg_has_no_metadata(&p.original);
    // Lossless: the stripped original decodes to exactly the upload's pixels.
    assert_eq!(decode_jpeg(&p.original), decode_jpeg(&upload));
    // The display copy looks like the photo (compared at thumbnail scale to the thumbnail).
    let (w, h, thumb) = decode_jpeg(&p.thumbnail.jpeg);
    assert_eq!((w, h), (400, 300));
    assert!(thumb.iter().map(|&v| u64::from(v)).sum::<u64>() > 0);
}

/// The thumbnails of orientations 2–8 match the thumbnail of orientation 1 pixel by pixel (correlated
/// outside the centre, where each photo prints its own number) and not the reference turned upside
/// down; 3–8 match 2 (encoded alike) to within JPEG noise.
#[test]
fn orientation_photos_come_out_upright() {
    for shape in ["landscape", "portrait"] {
        let upright = process(&photo(&format!("orientation/{shape}_1.jpg"))).unwrap();
        let (w1, h1, reference) = decode_jpeg(&upright.thumbnail.jpeg);
        assert_eq!(w1 > h1, shape == "landscape", "{shape}_1 is {w1}×{h1}");
        let mut second: Option<Vec<u8>> = None;
        for n in 2..=8 {
            let p = process(&photo(&format!("orientation/{shape}_{n}.jpg"))).unwrap();
            assert_eq!(p.metadata.orientation.value(), n, "{shape}_{n}");
            assert_eq!(
                (p.width, p.height),
                (upright.width, upright.height),
                "{shape}_{n}"
            );
            let (w, h, pixels) = decode_jpeg(&p.thumbnail.jpeg);
            assert_eq!((w, h), (w1, h1), "{shape}_{n}");
            let right = correlation_outside_centre(w, h, &pixels, &reference);
            let wrong =
                correlation_outside_centre(w, h, &pixels, &flipped_vertically(w, &reference, h));
            assert!(
                right > 0.98 && wrong < 0.6,
                "{shape}_{n}: correlation {right:.3} upright, {wrong:.3} flipped"
            );
            let (dw, dh, display) = decode_jpeg(&p.display.jpeg);
            assert_eq!((dw, dh), (upright.display.width, upright.display.height));
            let display_right =
                correlation_outside_centre(dw, dh, &display, &decode_jpeg(&upright.display.jpeg).2);
            assert!(
                display_right > 0.98,
                "{shape}_{n} display: correlation {display_right:.3}"
            );
            match &second {
                None => second = Some(pixels),
                Some(two) => {
                    let diff = mean_abs_diff(&pixels, two);
                    assert!(
                        diff < 6.0,
                        "{shape}_{n} differs from {shape}_2 by {diff:.1} per sample"
                    );
                }
            }
            assert!(
                p.perceptual_hash.distance(upright.perceptual_hash) <= 6,
                "{shape}_{n} phash"
            );
        }
        // The check has teeth: the stored pixels of orientation 3 (upside down) are far from upright.
        let (_, _, raw3) =
            decode_jpeg(&std::fs::read(photo(&format!("orientation/{shape}_3.jpg"))).unwrap());
        let (_, _, raw1) =
            decode_jpeg(&std::fs::read(photo(&format!("orientation/{shape}_1.jpg"))).unwrap());
        assert!(
            mean_abs_diff(&raw3, &raw1) > 20.0,
            "{shape}: _3 is not visibly turned"
        );
    }
}

/// Corrupt files are refused with a client error or decoded as far as they go; quirky EXIF is
/// ignored field by field. Nothing panics, nothing hangs.
#[test]
fn invalid_and_quirky_photos_never_panic() {
    let started = std::time::Instant::now();
    for path in photos_in("invalid")
        .into_iter()
        .chain(photos_in("exif-quirks"))
    {
        let name = path.display().to_string();
        match process(&path) {
            Ok(p) => {
                assert_jpeg_has_no_metadata(&p.original);
                assert_jpeg_has_no_metadata(&p.display.jpeg);
                assert!(p.thumbnail.width.max(p.thumbnail.height) <= 400);
            }
            Err(e) => {
                assert!(
                    e.is_client_error(),
                    "{name}: {e} is not the upload's fault?"
                );
                assert!(
                    matches!(
                        e,
                        PhotoError::Corrupt(_)
                            | PhotoError::Truncated
                            | PhotoError::UnsupportedType
                    ),
                    "{name}: {e}"
                );
            }
        }
    }
    for path in photos_in("exif-quirks") {
        assert!(
            process(&path).is_ok(),
            "{}: a valid image with bad EXIF must be accepted",
            path.display()
        );
    }
    // corrupted.jpg has 0xFF 0x9F inside its scan data: refused as corrupt. The image0*.jpg files have
    // malformed XMP packets (which crashed XMP parsers) around intact image data: the XMP is dropped
    // unread and the photo accepted, as libjpeg and vips accept it.
    let corrupted = process(&photo("invalid/corrupted.jpg"));
    assert!(
        matches!(corrupted, Err(PhotoError::Corrupt(_))),
        "{corrupted:?}"
    );
    for path in photos_in("invalid")
        .into_iter()
        .filter(|p| !p.ends_with("corrupted.jpg"))
    {
        assert!(process(&path).is_ok(), "{}", path.display());
    }
    // Generous for a debug build on a busy CI machine; a hang would be far longer.
    assert!(
        started.elapsed().as_secs() < 180,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn the_same_photo_resized_is_near_in_perceptual_hash_and_others_are_far() {
    let a = process(&photo("gps/DSCN0010.jpg")).unwrap();
    let b = process(&photo("gps/DSCN0012.jpg")).unwrap();
    let jolla = process(&photo("mobile/jolla.jpg")).unwrap();
    // Re-upload the display copy of jolla (re-encoded, 1600 px): near-identical.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.jpg");
    std::fs::write(&copy, &jolla.display.jpeg).unwrap();
    let jolla_again = process(&copy).unwrap();
    assert_ne!(jolla_again.sha256, jolla.sha256);
    assert!(jolla_again.perceptual_hash.distance(jolla.perceptual_hash) <= 4);
    assert!(jolla.perceptual_hash.distance(a.perceptual_hash) > 12);
    // Two shots of the same place a minute apart are related but not the same photo.
    assert!(a.perceptual_hash.distance(b.perceptual_hash) > 0);
}
