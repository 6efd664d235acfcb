//! Asia/Shanghai, the one time zone the service shows: UTC+8 all year (China has kept no daylight
//! saving since 1991). Times are stored and sent in UTC; the dates a family, an officer and a
//! working-day limit count in, and the times in exports, are in this zone. Every conversion goes
//! through here.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// Seconds east of UTC.
pub const OFFSET_SECS: i32 = 8 * 3600;

/// The offset as chrono's time zone.
pub fn offset() -> FixedOffset {
    match FixedOffset::east_opt(OFFSET_SECS) {
        Some(offset) => offset,
        // Within chrono's ±24 h bound, so this arm is never taken.
        None => <Utc as chrono::Offset>::fix(&Utc),
    }
}

fn shift() -> Duration {
    Duration::seconds(i64::from(OFFSET_SECS))
}

/// Today in Asia/Shanghai: the date a family and an officer write down.
pub fn today() -> NaiveDate {
    local(Utc::now().naive_utc()).date()
}

/// The wall-clock time in Asia/Shanghai of a stored (UTC) time.
pub fn local(utc: NaiveDateTime) -> NaiveDateTime {
    utc + shift()
}

/// The UTC time of an Asia/Shanghai wall-clock time.
pub fn utc(local: NaiveDateTime) -> NaiveDateTime {
    local - shift()
}

/// The Asia/Shanghai date of a stored (UTC) time.
pub fn date_of(utc: NaiveDateTime) -> NaiveDate {
    local(utc).date()
}

/// The Asia/Shanghai date of a UTC instant.
pub fn date_of_instant(at: DateTime<Utc>) -> NaiveDate {
    date_of(at.naive_utc())
}

/// A stored (UTC) time as an instant in Asia/Shanghai (for RFC 3339 with `+08:00`).
pub fn zoned(utc: NaiveDateTime) -> DateTime<FixedOffset> {
    utc.and_utc().with_timezone(&offset())
}

/// The UTC instant at which an Asia/Shanghai date begins.
pub fn start_of(date: NaiveDate) -> NaiveDateTime {
    utc(date.and_time(chrono::NaiveTime::MIN))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_is_eight_hours_ahead_all_year() {
        let winter = NaiveDate::from_ymd_opt(2026, 1, 15)
            .unwrap()
            .and_hms_opt(16, 30, 0)
            .unwrap();
        let summer = NaiveDate::from_ymd_opt(2026, 7, 15)
            .unwrap()
            .and_hms_opt(16, 30, 0)
            .unwrap();
        for t in [winter, summer] {
            assert_eq!(date_of(t), t.date() + Duration::days(1));
            assert_eq!(utc(local(t)), t);
            assert_eq!(
                zoned(t).to_rfc3339(),
                format!("{}+08:00", local(t).format("%Y-%m-%dT%H:%M:%S"))
            );
        }
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(
            start_of(day),
            day.pred_opt().unwrap().and_hms_opt(16, 0, 0).unwrap()
        );
        assert_eq!(date_of(start_of(day)), day);
        assert_eq!(
            date_of(start_of(day) - Duration::seconds(1)),
            day.pred_opt().unwrap()
        );
    }
}
