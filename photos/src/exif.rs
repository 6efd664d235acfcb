//! Reads what verification needs from an EXIF block (position, capture time, orientation, make and
//! model) before the block is thrown away. Every field is read on its own: a malformed field, or a
//! block kamadak-exif can only partly parse, loses that field and nothing else.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use kamadak_exif::{Exif, Field, In, Reader, Tag, Value};
use serde::{Deserialize, Serialize};

/// What the camera recorded. Every field is optional: a phone may record none of them, and a user can
/// edit all of them, so they are evidence to compare, never proof.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhotoMetadata {
    /// GPS position as recorded (WGS-84 on every GPS receiver; not converted to or from GCJ-02).
    pub position: Option<GpsPosition>,
    /// DateTimeOriginal (else DateTimeDigitized), with its offset when the camera wrote one.
    pub captured_at: Option<CaptureTime>,
    /// GPSDateStamp + GPSTimeStamp: UTC from the satellites, when the GPS had a fix. Independent of the
    /// camera's clock, so the stronger of the two times.
    pub gps_time: Option<DateTime<Utc>>,
    /// How the stored pixels must be turned to stand upright (already applied to the display copy and
    /// the thumbnail, not to the stripped original).
    pub orientation: Orientation,
    pub make: Option<String>,
    pub model: Option<String>,
}

/// A WGS-84 position in decimal degrees, north and east positive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpsPosition {
    pub latitude: f64,
    pub longitude: f64,
}

/// The camera clock's reading when the photo was taken.
///
/// Without an offset (most cameras and older phones write none) this is the wall-clock time wherever
/// the camera was: the server should read it as China Standard Time (UTC+8, [`CaptureTime::CHINA`])
/// and treat it as approximate, since camera clocks drift and are set by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureTime {
    pub local: NaiveDateTime,
    /// OffsetTimeOriginal (EXIF 2.31), e.g. +08:00; serialised as seconds east of UTC.
    #[serde(with = "offset_seconds")]
    pub offset: Option<FixedOffset>,
}

mod offset_seconds {
    use chrono::FixedOffset;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(offset: &Option<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        offset.map(|o| o.local_minus_utc()).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FixedOffset>, D::Error> {
        match Option::<i32>::deserialize(d)? {
            None => Ok(None),
            Some(secs) => FixedOffset::east_opt(secs)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("offset out of range")),
        }
    }
}

impl CaptureTime {
    /// UTC+8, the one time zone of mainland China.
    pub const CHINA: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
        Some(offset) => offset,
        None => unreachable!(),
    };

    /// The instant, using the recorded offset or else `assumed` (normally [`CaptureTime::CHINA`]).
    pub fn to_utc(&self, assumed: FixedOffset) -> DateTime<Utc> {
        let offset = self.offset.unwrap_or(assumed);
        match offset.from_local_datetime(&self.local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                t.with_timezone(&Utc)
            }
            // A fixed offset has no gaps; kept total for the type's sake.
            chrono::LocalResult::None => Utc.from_utc_datetime(&self.local),
        }
    }
}

/// EXIF orientation 1–8 (1 = upright). Anything else reads as 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orientation(u8);

impl Default for Orientation {
    fn default() -> Self {
        Self::UPRIGHT
    }
}

impl Orientation {
    pub const UPRIGHT: Self = Self(1);

    /// The EXIF value, or upright for anything outside 1–8.
    pub fn from_exif(value: u32) -> Self {
        match u8::try_from(value) {
            Ok(v @ 1..=8) => Self(v),
            _ => Self::UPRIGHT,
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// Whether applying it swaps width and height (the 90° and 270° cases).
    pub fn swaps_axes(self) -> bool {
        self.0 >= 5
    }
}

/// Reads the metadata from a TIFF-structured EXIF block (what follows "Exif\0\0" in a JPEG APP1, or
/// a PNG eXIf / WebP EXIF chunk). Never fails: what cannot be read is left out.
pub fn read(tiff: &[u8]) -> PhotoMetadata {
    let Some(exif) = parse(tiff) else {
        return PhotoMetadata::default();
    };
    PhotoMetadata {
        position: position(&exif),
        captured_at: captured_at(&exif),
        gps_time: gps_time(&exif),
        orientation: field(&exif, Tag::Orientation)
            .and_then(|f| f.value.get_uint(0))
            .map(Orientation::from_exif)
            .unwrap_or_default(),
        make: field(&exif, Tag::Make).and_then(text),
        model: field(&exif, Tag::Model).and_then(text),
    }
}

fn parse(tiff: &[u8]) -> Option<Exif> {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    match reader.read_raw(tiff.to_vec()) {
        Ok(exif) => Some(exif),
        Err(error) => match error.distill_partial_result(|errors| {
            tracing::debug!(count = errors.len(), "EXIF fields skipped");
        }) {
            Ok(exif) => Some(exif),
            Err(error) => {
                tracing::debug!(%error, "EXIF block unreadable; ignored");
                None
            }
        },
    }
}

fn field(exif: &Exif, tag: Tag) -> Option<&Field> {
    exif.get_field(tag, In::PRIMARY)
}

/// The first ASCII string of a field: NULs and surrounding spaces trimmed, control characters
/// removed, at most 64 characters; empty reads as absent.
fn text(field: &Field) -> Option<String> {
    let Value::Ascii(ref strings) = field.value else {
        return None;
    };
    let raw = strings.first()?;
    let s: String = String::from_utf8_lossy(raw)
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn ascii(exif: &Exif, tag: Tag) -> Option<&str> {
    let Value::Ascii(ref strings) = field(exif, tag)?.value else {
        return None;
    };
    let raw = strings.first()?;
    std::str::from_utf8(raw)
        .ok()
        .map(|s| s.trim_matches(|c: char| c == '\0' || c.is_whitespace()))
}

/// Three rationals (degrees, minutes, seconds, or hours, minutes, seconds) as one number.
fn sexagesimal(exif: &Exif, tag: Tag) -> Option<f64> {
    let Value::Rational(ref parts) = field(exif, tag)?.value else {
        return None;
    };
    let [a, b, c] = parts.get(..3)? else {
        return None;
    };
    let value = a.to_f64() + b.to_f64() / 60.0 + c.to_f64() / 3600.0;
    value.is_finite().then_some(value)
}

fn position(exif: &Exif) -> Option<GpsPosition> {
    let latitude = sexagesimal(exif, Tag::GPSLatitude)?;
    let longitude = sexagesimal(exif, Tag::GPSLongitude)?;
    let latitude = match ascii(exif, Tag::GPSLatitudeRef)? {
        "N" => latitude,
        "S" => -latitude,
        _ => return None,
    };
    let longitude = match ascii(exif, Tag::GPSLongitudeRef)? {
        "E" => longitude,
        "W" => -longitude,
        _ => return None,
    };
    // 0,0 is what some phones write without a fix; it is no evidence of anything.
    let null_island = latitude == 0.0 && longitude == 0.0;
    ((-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude) && !null_island)
        .then_some(GpsPosition {
            latitude,
            longitude,
        })
}

fn captured_at(exif: &Exif) -> Option<CaptureTime> {
    [
        (Tag::DateTimeOriginal, Tag::OffsetTimeOriginal),
        (Tag::DateTimeDigitized, Tag::OffsetTimeDigitized),
    ]
    .into_iter()
    .find_map(|(time, offset)| {
        let local = NaiveDateTime::parse_from_str(ascii(exif, time)?, "%Y:%m:%d %H:%M:%S").ok()?;
        let offset = ascii(exif, offset).and_then(parse_offset);
        Some(CaptureTime { local, offset })
    })
}

/// "+08:00" or "-05:30".
fn parse_offset(s: &str) -> Option<FixedOffset> {
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':')?;
    let hours: i32 = hours.parse().ok()?;
    let minutes: i32 = minutes.parse().ok()?;
    if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
        return None;
    }
    FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60))
}

fn gps_time(exif: &Exif) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(ascii(exif, Tag::GPSDateStamp)?, "%Y:%m:%d").ok()?;
    // Milliseconds are as fine as any receiver writes, and rounding keeps 7.24 s from reading 7.2399….
    let millis = (sexagesimal(exif, Tag::GPSTimeStamp)? * 3_600_000.0).round();
    if !(0.0..86_400_000.0).contains(&millis) {
        return None;
    }
    let time = NaiveTime::MIN + chrono::Duration::milliseconds(millis as i64);
    Some(Utc.from_utc_datetime(&date.and_time(time)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn garbage_reads_as_nothing() {
        assert_eq!(read(b""), PhotoMetadata::default());
        assert_eq!(
            read(b"MM\0\x2a\0\0\0\x08\xFF\xFF"),
            PhotoMetadata::default()
        );
        assert_eq!(read(&[0x49; 300]), PhotoMetadata::default());
    }

    #[test]
    fn offsets_parse_strictly() {
        assert_eq!(parse_offset("+08:00"), FixedOffset::east_opt(8 * 3600));
        assert_eq!(
            parse_offset("-05:30"),
            FixedOffset::east_opt(-(5 * 3600 + 30 * 60))
        );
        for bad in ["08:00", "+8", "+24:00", "+08:60", "", "+"] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
    }

    #[test]
    fn naive_times_are_read_as_china_time() {
        let local =
            NaiveDateTime::parse_from_str("2024:05:01 09:30:00", "%Y:%m:%d %H:%M:%S").unwrap();
        let t = CaptureTime {
            local,
            offset: None,
        };
        assert_eq!(
            t.to_utc(CaptureTime::CHINA).to_rfc3339(),
            "2024-05-01T01:30:00+00:00"
        );
        let t = CaptureTime {
            local,
            offset: FixedOffset::east_opt(0),
        };
        assert_eq!(
            t.to_utc(CaptureTime::CHINA).to_rfc3339(),
            "2024-05-01T09:30:00+00:00"
        );
    }
}
