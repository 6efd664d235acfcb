//! Dates and timestamps read from SQLite's text by hand, for the rows a full sync reads by the
//! hundred. Diesel reads an SQLite `DATE` with chrono's format parser and a `TIMESTAMP` by trying
//! chrono's parser with up to 18 formats; that was ~5 % of a full sync's CPU. The text diesel
//! itself writes (`%F` and `%F %T%.f`) is read here directly; any other text falls back to
//! diesel's own reading, so the value is always the one diesel would have read. PostgreSQL's
//! binary values go straight to diesel.
//!
//! Use on a row field with `#[diesel(deserialize_as = SqlDate)]` / `SqlTimestamp`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::pg::Pg;
use diesel::sql_types::{Date, Timestamp};
use diesel::sqlite::Sqlite;
use diesel::Connection;

use crate::db::AnyConnection;

type Multi = <AnyConnection as Connection>::Backend;

/// A `DATE` column's value.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct SqlDate(pub NaiveDate);

/// A `TIMESTAMP` column's value.
#[derive(Debug, Clone, Copy, FromSqlRow)]
pub struct SqlTimestamp(pub NaiveDateTime);

impl From<SqlDate> for NaiveDate {
    fn from(d: SqlDate) -> Self {
        d.0
    }
}

impl From<SqlTimestamp> for NaiveDateTime {
    fn from(t: SqlTimestamp) -> Self {
        t.0
    }
}

/// `n` ASCII digits as a number.
fn digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
    })
}

/// `YYYY-MM-DD` with a four-digit year (what `%F` writes for years 0–9999).
fn date(b: &[u8]) -> Option<NaiveDate> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i32::try_from(digits(&b[0..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// `YYYY-MM-DD HH:MM:SS` with an optional `.` and 1–9 digits of fraction (what `%F %T%.f`
/// writes). Leap seconds (`:60`) are left to chrono.
fn timestamp(b: &[u8]) -> Option<NaiveDateTime> {
    if b.len() < 19 || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let day = date(&b[..10])?;
    let nano = match &b[19..] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            digits(frac)? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
        nano,
    )?;
    // `from_hms_nano_opt` takes 60 seconds as a leap second's; chrono's parser reads it otherwise.
    (digits(&b[17..19])? < 60).then(|| day.and_time(time))
}

impl FromSql<Date, Sqlite> for SqlDate {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(d) = date(value.read_text().as_bytes()) {
            return Ok(SqlDate(d));
        }
        <NaiveDate as FromSql<Date, Sqlite>>::from_sql(value).map(SqlDate)
    }
}

impl FromSql<Timestamp, Sqlite> for SqlTimestamp {
    fn from_sql(mut value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        if let Some(t) = timestamp(value.read_text().as_bytes()) {
            return Ok(SqlTimestamp(t));
        }
        <NaiveDateTime as FromSql<Timestamp, Sqlite>>::from_sql(value).map(SqlTimestamp)
    }
}

impl FromSql<Date, Pg> for SqlDate {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDate as FromSql<Date, Pg>>::from_sql(value).map(SqlDate)
    }
}

impl FromSql<Timestamp, Pg> for SqlTimestamp {
    fn from_sql(value: <Pg as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        <NaiveDateTime as FromSql<Timestamp, Pg>>::from_sql(value).map(SqlTimestamp)
    }
}

impl FromSql<Date, Multi> for SqlDate {
    fn from_sql(value: <Multi as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Date>()
    }
}

impl FromSql<Timestamp, Multi> for SqlTimestamp {
    fn from_sql(value: <Multi as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        value.from_sql::<Self, Timestamp>()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// What diesel's SQLite reading makes of a text: the first of its formats that parses.
    fn chrono_timestamp(text: &str) -> Option<NaiveDateTime> {
        ["%F %T%.f", "%F %T"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    }

    #[test]
    fn reads_what_chrono_reads() {
        for text in [
            "2026-11-29 08:00:20.922223",
            "2026-11-29 08:00:20",
            "2026-11-29 08:00:20.9",
            "2026-11-29 08:00:20.123456789",
            "0007-01-02 23:59:59.000001",
            "2024-02-29 00:00:00.5",
        ] {
            assert_eq!(timestamp(text.as_bytes()), chrono_timestamp(text), "{text}");
        }
        for text in ["2026-11-29", "0007-01-02", "2024-02-29", "1945-03-05"] {
            assert_eq!(
                date(text.as_bytes()),
                NaiveDate::parse_from_str(text, "%F").ok(),
                "{text}"
            );
        }
    }

    #[test]
    fn leaves_everything_else_to_chrono() {
        for text in [
            "2026-11-29T08:00:20",
            "2026-11-29 08:00:60",
            "2026-11-29 08:00:20.",
            "2026-11-29 08:00:20.1234567891",
            "2026-11-29 08:00:20Z",
            "2023-02-29 08:00:20",
            "+2026-11-29 08:00:20",
            "2026-11-29 8:00:20",
        ] {
            assert_eq!(timestamp(text.as_bytes()), None, "{text}");
        }
        for text in ["2026-1-29", "2023-02-29", "20261129", "2026-11-29 "] {
            assert_eq!(date(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn round_trips_what_diesel_writes() {
        let mut t = NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_hms_nano_opt(8, 0, 20, 0)
            .unwrap();
        for step in [1, 7, 1_000, 922_223_000, 123_456_789] {
            t += chrono::Duration::nanoseconds(step);
            let text = t.format("%F %T%.f").to_string();
            assert_eq!(timestamp(text.as_bytes()), Some(t), "{text}");
        }
    }
}
