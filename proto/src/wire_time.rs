//! Dates and times written to JSON exactly as chrono's `Serialize` writes them, but from a small
//! buffer instead of through `fmt` and `collect_str` one character at a time: a full sync writes
//! some 200 of them per answer, and chrono's path was ~3 % of the server's CPU for it. Values
//! outside the common range (years before 0 or after 9999, leap seconds) go to chrono itself.
//!
//! Use with `#[serde(serialize_with = "crate::wire_time::…")]`; reading is chrono's.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use serde::{Serialize, Serializer};

/// Writes `n` (< 100) as two digits.
fn two(out: &mut [u8], n: u32) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

/// `YYYY-MM-DD` into the first 10 bytes, for a year in 0..=9999.
fn ymd(out: &mut [u8], d: NaiveDate) {
    let year = d.year() as u32;
    two(&mut out[0..2], year / 100);
    two(&mut out[2..4], year % 100);
    out[4] = b'-';
    two(&mut out[5..7], d.month());
    out[7] = b'-';
    two(&mut out[8..10], d.day());
}

/// The bytes written are ASCII digits and punctuation, so always UTF-8.
fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).unwrap_or_default()
}

/// A `NaiveDate` as chrono writes it (`2026-11-29`).
pub fn date<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
    if !(0..=9999).contains(&d.year()) {
        return d.serialize(s);
    }
    let mut buf = [0u8; 10];
    ymd(&mut buf, *d);
    s.serialize_str(ascii(&buf))
}

/// An optional `NaiveDate` as chrono and serde write it (`null` when absent).
pub fn option_date<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&Date(*d)),
        None => s.serialize_none(),
    }
}

/// A `DateTime<Utc>` as chrono writes it: RFC 3339 with `Z`, and 0, 3, 6 or 9 digits of
/// fraction, the fewest that hold it (`2026-11-29T08:00:20.922223Z`).
pub fn datetime<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let naive = t.naive_utc();
    let nano = naive.nanosecond();
    if !(0..=9999).contains(&naive.year()) || nano >= 1_000_000_000 {
        return t.serialize(s);
    }
    let mut buf = [0u8; 30];
    ymd(&mut buf, naive.date());
    buf[10] = b'T';
    two(&mut buf[11..13], naive.hour());
    buf[13] = b':';
    two(&mut buf[14..16], naive.minute());
    buf[16] = b':';
    two(&mut buf[17..19], naive.second());
    let (digits, value) = if nano == 0 {
        (0, 0)
    } else if nano.is_multiple_of(1_000_000) {
        (3, nano / 1_000_000)
    } else if nano.is_multiple_of(1_000) {
        (6, nano / 1_000)
    } else {
        (9, nano)
    };
    let mut n = 19;
    if digits > 0 {
        buf[n] = b'.';
        let mut v = value;
        for i in (0..digits).rev() {
            buf[n + 1 + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        n += 1 + digits;
    }
    buf[n] = b'Z';
    s.serialize_str(ascii(&buf[..=n]))
}

/// A date serialised through [`date`].
struct Date(NaiveDate);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        date(&self.0, s)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::{Duration, TimeZone};
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Fast {
        #[serde(serialize_with = "date")]
        d: NaiveDate,
        #[serde(serialize_with = "option_date")]
        o: Option<NaiveDate>,
        #[serde(serialize_with = "datetime")]
        t: DateTime<Utc>,
    }

    #[derive(Serialize)]
    struct Chrono {
        d: NaiveDate,
        o: Option<NaiveDate>,
        t: DateTime<Utc>,
    }

    fn same(d: NaiveDate, o: Option<NaiveDate>, t: DateTime<Utc>) {
        let fast = serde_json::to_string(&Fast { d, o, t }).unwrap();
        let chrono = serde_json::to_string(&Chrono { d, o, t }).unwrap();
        assert_eq!(fast, chrono);
    }

    #[test]
    fn writes_what_chrono_writes() {
        let mut t = Utc.with_ymd_and_hms(2026, 11, 29, 8, 0, 20).unwrap();
        let mut d = NaiveDate::from_ymd_opt(1945, 3, 5).unwrap();
        // Whole seconds, milli-, micro- and nanoseconds, and every kind of date.
        for step in [
            Duration::zero(),
            Duration::milliseconds(1),
            Duration::milliseconds(120),
            Duration::microseconds(922_223),
            Duration::microseconds(1),
            Duration::nanoseconds(7),
            Duration::nanoseconds(123_456_789),
            Duration::seconds(86_399),
            Duration::days(400),
        ] {
            t += step;
            d += Duration::days(37);
            same(d, Some(d), t);
            same(d, None, t);
        }
        for (y, m, dd) in [(0, 1, 1), (7, 1, 2), (999, 12, 31), (9999, 12, 31)] {
            let d = NaiveDate::from_ymd_opt(y, m, dd).unwrap();
            same(d, Some(d), d.and_hms_opt(23, 59, 59).unwrap().and_utc());
        }
    }

    #[test]
    fn leaves_the_unusual_to_chrono() {
        for y in [-1, 10_000, -44] {
            let d = NaiveDate::from_ymd_opt(y, 3, 15).unwrap();
            same(
                d,
                Some(d),
                d.and_hms_nano_opt(1, 2, 3, 4).unwrap().and_utc(),
            );
        }
        // A leap second.
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
            .unwrap()
            .and_utc();
        same(leap.date_naive(), None, leap);
    }
}
