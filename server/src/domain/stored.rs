//! How a member's daily-living items and income sources are held in their text columns
//! (`members.daily_living`, `members.income`). Every reader and writer goes through here, so the
//! stored form can change in one place (with a migration for the rows already written).
//!
//! Since migration 000011 both are compact, because they are written for every member and a
//! million-household import writes 2.5 million of each: daily living as six `1`/`0` characters
//! (manages alone or not) in the order of [`DailyLiving`]'s fields, `110111`; income as a JSON
//! array of the seven amounts in fen in the order of [`Income`]'s fields, `[1200000,0,0,0,0,0,0]`.
//! Together about 30 bytes a member instead of about 220 as JSON objects with field names.
//! The readers still take the JSON objects stored before 000011 (which converts them), so a row
//! the migration left alone reads as it did.

use std::fmt::Write;

use jiuzhu_proto::household::{DailyLiving, Income};

/// The stored text of the six daily-living items.
pub fn daily_living_text(d: &DailyLiving) -> String {
    d.items()
        .iter()
        .map(|ok| if *ok { '1' } else { '0' })
        .collect()
}

/// The daily-living items from their stored text; `None` if it is damaged.
pub fn daily_living(text: &str) -> Option<DailyLiving> {
    if text.starts_with('{') {
        return serde_json::from_str(text).ok();
    }
    let bytes = text.as_bytes();
    if bytes.len() != 6 {
        return None;
    }
    let mut items = [false; 6];
    for (item, b) in items.iter_mut().zip(bytes) {
        *item = match b {
            b'1' => true,
            b'0' => false,
            _ => return None,
        };
    }
    let [eating, dressing, getting_in_and_out_of_bed, toileting, walking_indoors, bathing] = items;
    Some(DailyLiving {
        eating,
        dressing,
        getting_in_and_out_of_bed,
        toileting,
        walking_indoors,
        bathing,
    })
}

/// The stored text of the income sources.
pub fn income_text(i: &Income) -> String {
    let mut s = String::with_capacity(24);
    s.push('[');
    for (n, (_, fen)) in i.parts().iter().enumerate() {
        if n > 0 {
            s.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(s, "{fen}");
    }
    s.push(']');
    s
}

/// The income sources from their stored text; `None` if it is damaged.
pub fn income(text: &str) -> Option<Income> {
    if text.starts_with('{') {
        return serde_json::from_str(text).ok();
    }
    let inner = text.strip_prefix('[')?.strip_suffix(']')?;
    let mut parts = [0i64; 7];
    let mut values = inner.split(',');
    for part in &mut parts {
        let v = values.next()?;
        // Only a plain integer: `str::parse` alone would also take a leading `+`.
        if v.starts_with('+') {
            return None;
        }
        *part = v.parse().ok()?;
    }
    if values.next().is_some() {
        return None;
    }
    let [wages_fen, farming_fen, business_fen, rent_fen, pension_fen, support_fen, other_fen] =
        parts;
    Some(Income {
        wages_fen,
        farming_fen,
        business_fen,
        rent_fen,
        pension_fen,
        support_fen,
        other_fen,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn every_daily_living() -> impl Iterator<Item = DailyLiving> {
        (0u8..64).map(|bits| DailyLiving {
            eating: bits & 1 != 0,
            dressing: bits & 2 != 0,
            getting_in_and_out_of_bed: bits & 4 != 0,
            toileting: bits & 8 != 0,
            walking_indoors: bits & 16 != 0,
            bathing: bits & 32 != 0,
        })
    }

    #[test]
    fn stored_texts_read_back() {
        for d in every_daily_living() {
            assert_eq!(daily_living(&daily_living_text(&d)), Some(d));
        }
        let d = DailyLiving {
            eating: false,
            bathing: false,
            ..DailyLiving::default()
        };
        assert_eq!(daily_living_text(&d), "011110");
        let i = Income {
            wages_fen: 1_200_000,
            farming_fen: i64::MAX,
            rent_fen: i64::MIN,
            other_fen: -5,
            ..Income::default()
        };
        assert_eq!(
            income_text(&i),
            format!("[1200000,{},0,{},0,0,-5]", i64::MAX, i64::MIN)
        );
        assert_eq!(income(&income_text(&i)), Some(i));
        assert_eq!(
            income(&income_text(&Income::default())),
            Some(Income::default())
        );
    }

    /// The JSON objects stored before migration 000011 still read as they did.
    #[test]
    fn json_objects_still_read() {
        for d in every_daily_living() {
            assert_eq!(daily_living(&serde_json::to_string(&d).unwrap()), Some(d));
        }
        let i = Income {
            pension_fen: 3_600_000,
            support_fen: 7,
            ..Income::default()
        };
        assert_eq!(income(&serde_json::to_string(&i).unwrap()), Some(i));
        assert_eq!(
            income(r#"{"support_fen":7}"#).map(|i| i.support_fen),
            Some(7)
        );
    }

    #[test]
    fn damaged_texts_are_refused() {
        for bad in ["", "{", "11011", "1101111", "11011x", "110 11", "[]"] {
            assert_eq!(daily_living(bad), None, "{bad:?}");
        }
        for bad in [
            "",
            "[1,2",
            "[1,2,3,4,5,6]",
            "[1,2,3,4,5,6,7,8]",
            "[1,2,3,4,5,6,+7]",
            "[1,2,3,4,5,6,7.5]",
            "[1, 2,3,4,5,6,7]",
            "[1,2,3,4,5,6,99999999999999999999]",
            "1,2,3,4,5,6,7",
            "110111",
        ] {
            assert_eq!(income(bad), None, "{bad:?}");
        }
    }
}
