//! Masking personal numbers inside stored answers before they are shown.
//!
//! Answers are free-form JSON shaped by the form, so the server cannot know every field that holds
//! an ID or phone number. It masks by shape instead: any string that looks like a resident ID
//! number (18 characters, 17 digits and a check character, or the 15-digit legacy form) or a
//! mainland mobile number (11 digits starting with 1) is masked wherever it appears, in the same
//! way as the registry masks them.

use serde_json::Value;

use crate::domain::id_number::mask_phone;

fn looks_like_id_number(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        18 => {
            b[..17].iter().all(u8::is_ascii_digit)
                && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
        }
        15 => b.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

fn looks_like_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11 && b[0] == b'1' && b.iter().all(u8::is_ascii_digit)
}

fn mask_id(s: &str) -> String {
    let head = s.get(..6).unwrap_or_default();
    let tail = s.get(s.len().saturating_sub(4)..).unwrap_or_default();
    format!("{head}{}{tail}", "*".repeat(s.len().saturating_sub(10)))
}

/// Masks, in place, every ID-number-like and mobile-number-like string.
pub fn mask_answers(value: &mut Value) {
    match value {
        Value::String(s) => {
            let t = s.trim();
            if looks_like_id_number(t) {
                *s = mask_id(t);
            } else if looks_like_mobile(t) {
                *s = mask_phone(t);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_answers),
        Value::Object(map) => map.values_mut().for_each(mask_answers),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn id_and_mobile_numbers_are_masked_anywhere() {
        let mut v = json!({
            "members": [{"id_number": "11010519491231002X", "phone": "13812345678", "age": 76}],
            "legacy": "110105491231002",
            "note": "门牌号 12 号",
            "amount": "1234567",
        });
        mask_answers(&mut v);
        assert_eq!(v["members"][0]["id_number"], "110105********002X");
        assert_eq!(v["members"][0]["phone"], "138****5678");
        assert_eq!(v["members"][0]["age"], 76);
        assert_eq!(v["legacy"], "110105*****1002");
        assert_eq!(v["note"], "门牌号 12 号");
        assert_eq!(v["amount"], "1234567");
    }
}
