//! How a member's daily-living items and income sources are held in their text columns
//! (`members.daily_living`, `members.income`). Every reader and writer goes through here, so the
//! stored form can change in one place (with a migration for the rows already written).

use jiuzhu_proto::household::{DailyLiving, Income};

/// The stored text of the six daily-living items.
pub fn daily_living_text(d: &DailyLiving) -> String {
    // A struct of six booleans always serialises.
    serde_json::to_string(d).unwrap_or_default()
}

/// The daily-living items from their stored text; `None` if it is damaged.
pub fn daily_living(text: &str) -> Option<DailyLiving> {
    serde_json::from_str(text).ok()
}

/// The stored text of the income sources.
pub fn income_text(i: &Income) -> String {
    // A struct of seven integers always serialises.
    serde_json::to_string(i).unwrap_or_default()
}

/// The income sources from their stored text; `None` if it is damaged.
pub fn income(text: &str) -> Option<Income> {
    serde_json::from_str(text).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stored_texts_read_back() {
        let d = DailyLiving {
            eating: false,
            bathing: false,
            ..DailyLiving::default()
        };
        assert_eq!(daily_living(&daily_living_text(&d)), Some(d));
        let i = Income {
            wages_fen: 1_200_000,
            other_fen: -5,
            ..Income::default()
        };
        assert_eq!(income(&income_text(&i)), Some(i));
        assert_eq!(daily_living("{"), None);
        assert_eq!(income("[1,2"), None);
    }
}
