//! Working days (工作日): Chinese public holidays and adjusted working days from a configurable
//! calendar file (`fixtures/calendar/cn.toml` is built in), Monday to Friday otherwise.

use std::collections::HashSet;
use std::path::Path;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Deserialize;

/// The built-in calendar.
const BUILT_IN: &str = include_str!("../../fixtures/calendar/cn.toml");

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: HashSet<NaiveDate>,
    workdays: HashSet<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    workdays: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("cannot read the calendar file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the calendar file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("{0:?} is not a date or a range `YYYY-MM-DD..YYYY-MM-DD`")]
    Date(String),
}

/// `2026-02-15` or `2026-02-15..2026-02-23` (inclusive, at most a year long).
fn expand(entry: &str) -> Result<Vec<NaiveDate>, CalendarError> {
    let bad = || CalendarError::Date(entry.to_owned());
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| bad());
    match entry.split_once("..") {
        None => Ok(vec![parse(entry)?]),
        Some((a, b)) => {
            let (from, to) = (parse(a)?, parse(b)?);
            if to < from || (to - from).num_days() > 366 {
                return Err(bad());
            }
            Ok(from.iter_days().take_while(|d| *d <= to).collect())
        }
    }
}

impl Calendar {
    pub fn built_in() -> Result<Self, CalendarError> {
        Self::parse(BUILT_IN)
    }

    pub fn load(path: Option<&Path>) -> Result<Self, CalendarError> {
        match path {
            Some(p) => Self::parse(&std::fs::read_to_string(p)?),
            None => Self::built_in(),
        }
    }

    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let file: CalendarFile = toml::from_str(text)?;
        let mut cal = Calendar::default();
        for e in &file.holidays {
            cal.holidays.extend(expand(e)?);
        }
        for e in &file.workdays {
            cal.workdays.extend(expand(e)?);
        }
        Ok(cal)
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The `n`-th working day after `from` (`from` itself not counted): the last day of a limit
    /// of `n` working days that starts on `from`.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut d = from;
        let mut left = n;
        // A year of holidays cannot hold more than ~120 non-working days; this always ends.
        while left > 0 {
            d += Duration::days(1);
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days in `(from, to]`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to <= from {
            return 0;
        }
        from.iter_days()
            .skip(1)
            .take_while(|d| *d <= to)
            .filter(|d| self.is_working_day(*d))
            .count() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn holidays_skip_and_adjusted_weekends_count() -> Result<(), CalendarError> {
        let cal = Calendar::built_in()?;
        // An ordinary week: Friday + 1 working day is Monday.
        assert_eq!(cal.add_working_days(d("2026-11-27"), 1), d("2026-11-30"));
        // Spring Festival 2026: 15–23 February off, Saturday 14 and Saturday 28 worked.
        assert!(cal.is_working_day(d("2026-02-14")));
        assert!(!cal.is_working_day(d("2026-02-16")));
        assert!(cal.is_working_day(d("2026-02-28")));
        // From Friday 13 February, three working days: Sat 14, Tue 24, Wed 25.
        assert_eq!(cal.add_working_days(d("2026-02-13"), 3), d("2026-02-25"));
        // National Day: 1–7 October off, Saturday 10 worked.
        assert_eq!(cal.add_working_days(d("2026-09-30"), 1), d("2026-10-08"));
        assert_eq!(
            cal.working_days_between(d("2026-09-30"), d("2026-10-10")),
            3
        );
        Ok(())
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(Calendar::parse("holidays = [\"2026-13-01\"]").is_err());
        assert!(Calendar::parse("holidays = [\"2026-02-10..2026-02-01\"]").is_err());
        assert!(Calendar::parse("holiday = []").is_err());
    }
}
