//! Personal numbers inside free text: resident ID numbers and mainland mobile numbers found
//! anywhere in a string (a note, an answer, a reason) are masked the way the registry masks them
//! ([`IdNumber::masked`](super::id_number::IdNumber::masked): first 6 and last 4 shown;
//! [`mask_phone`](super::id_number::mask_phone): first 3 and last 4), with whatever surrounds them
//! (labels, separators, a `+86` prefix) kept as written.
//!
//! What counts as a number (digits ASCII or full-width; a "run" is a maximal row of digits):
//! - an ID number: a run of 18 digits, or 17 and a final `X`, whose province code and birth month
//!   and day are possible (a mistyped check character is still someone's number, so the check
//!   character is not required); a run of 15 with the same checks (the pre-1999 form); or runs of
//!   6, 8 and 4 joined by single spaces or hyphens that make a valid number, check character too;
//! - a mobile number: a run of 11 digits starting `13`–`19`, or runs of 3, 4 and 4 so joined,
//!   alone or after `86`, `+86` or `0086` (joined or apart);
//! - after a label (`身份证`, `证件号`, `ID`, `电话`, `手机`, `tel`, `phone`…): any ID-length number
//!   (15 or 18 characters) is masked as an ID, and any phone-length one (7 to 12 digits, such as a
//!   landline `0519-86601234`) as a phone.
//!
//! A run that is part of a decimal number (`1.5`, `13912345678.25`) is never a number to mask, and
//! nothing else is touched: amounts, dates (`20260312`), 12-digit division codes and counts come
//! back unchanged.

use std::borrow::Cow;

use serde_json::Value;

use super::id_number::{check_char, is_province};

/// A maximal row of digits: chars `start..end`; `x` when an `X` follows it at `end`.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    x: bool,
}

impl Run {
    fn len(&self) -> usize {
        self.end - self.start
    }
}

fn digit(c: char) -> Option<u8> {
    match c {
        '0'..='9' => Some(c as u8 - b'0'),
        '０'..='９' => u8::try_from(u32::from(c) - u32::from('０')).ok(),
        _ => None,
    }
}

fn is_x(c: Option<&char>) -> bool {
    matches!(c, Some('X' | 'x' | 'Ｘ' | 'ｘ'))
}

fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '-' | '\u{3000}' | '\u{2010}' | '\u{2013}')
}

const ID_LABELS: &[&str] = &[
    "身份证",
    "身份证号",
    "身份证号码",
    "证件号",
    "证件号码",
    "身份号码",
    "id",
    "id no",
    "id no.",
    "idno",
    "id number",
    "id card",
];

const PHONE_LABELS: &[&str] = &[
    "电话",
    "电话号码",
    "手机",
    "手机号",
    "手机号码",
    "联系电话",
    "联系方式",
    "联系人电话",
    "tel",
    "tel.",
    "phone",
    "mobile",
    "mob",
];

/// The label just before char `start`, if any: `Some(true)` for an ID label, `Some(false)` for a
/// phone label.
fn label_before(chars: &[char], start: usize) -> Option<bool> {
    let mut end = start;
    while end > 0
        && matches!(
            chars[end - 1],
            ' ' | ':' | '：' | '=' | '\u{3000}' | '\t' | '(' | '（'
        )
    {
        end -= 1;
    }
    let from = end.saturating_sub(12);
    let before: String = chars[from..end]
        .iter()
        .flat_map(|c| c.to_lowercase())
        .collect();
    let ends_with = |labels: &[&str]| {
        labels.iter().any(|l| {
            before.strip_suffix(l).is_some_and(|rest| {
                // `paid` is not `id`: an ASCII label starts a word.
                !l.is_ascii()
                    || !rest
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_ascii_alphanumeric())
            })
        })
    };
    if ends_with(ID_LABELS) {
        Some(true)
    } else if ends_with(PHONE_LABELS) {
        Some(false)
    } else {
        None
    }
}

fn runs(chars: &[char]) -> Vec<Run> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if digit(chars[i]).is_none() {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && digit(chars[i]).is_some() {
            i += 1;
        }
        out.push(Run {
            start,
            end: i,
            x: is_x(chars.get(i)),
        });
    }
    out
}

/// A run that is the whole or the fraction part of a decimal number.
fn in_decimal(chars: &[char], r: Run) -> bool {
    let dot = |c: Option<&char>| matches!(c, Some('.' | '．'));
    let before = r.start >= 2 && dot(chars.get(r.start - 1)) && digit(chars[r.start - 2]).is_some();
    let after = dot(chars.get(r.end)) && chars.get(r.end + 1).and_then(|c| digit(*c)).is_some();
    before || after
}

/// Runs `i..i + lens.len()` when they have these lengths and each is joined to the next by one
/// separator: the char positions of their digits (and of a final `X` when `final_x`).
fn group(
    chars: &[char],
    runs: &[Run],
    i: usize,
    lens: &[usize],
    final_x: bool,
) -> Option<Vec<usize>> {
    let rs = runs.get(i..i + lens.len())?;
    let mut positions = Vec::new();
    for (k, (r, &len)) in rs.iter().zip(lens).enumerate() {
        let last = k + 1 == lens.len();
        if r.len() != len || in_decimal(chars, *r) {
            return None;
        }
        if !last {
            let next = rs[k + 1];
            if r.x || next.start != r.end + 1 || !is_separator(chars[r.end]) {
                return None;
            }
        } else if final_x != r.x {
            return None;
        }
        positions.extend(r.start..r.end);
    }
    if final_x {
        positions.push(rs.last()?.end);
    }
    Some(positions)
}

fn digits_at(chars: &[char], positions: &[usize]) -> Vec<u8> {
    positions
        .iter()
        .map(|&p| digit(chars[p]).unwrap_or(10))
        .collect()
}

fn is_mobile(d: &[u8]) -> bool {
    d.len() == 11 && d[0] == 1 && (3..=9).contains(&d[1])
}

/// An ID number's region and birth date could be real (the year is not checked: the 15-digit
/// form has two digits of it).
fn plausible_id(d: &[u8]) -> bool {
    let n = |r: std::ops::Range<usize>| {
        d.get(r)
            .map(|ds| ds.iter().fold(0u32, |a, &x| a * 10 + u32::from(x)))
    };
    let (month, day) = match d.len() {
        18 => (n(10..12), n(12..14)),
        15 => (n(8..10), n(10..12)),
        _ => return false,
    };
    let province: String = d.iter().take(2).map(|x| char::from(b'0' + x)).collect();
    is_province(&province)
        && month.is_some_and(|m| (1..=12).contains(&m))
        && day.is_some_and(|x| (1..=31).contains(&x))
}

fn valid_id18(d: &[u8]) -> bool {
    if d.len() != 18 || d[..17].iter().any(|&x| x > 9) {
        return false;
    }
    let first17: String = d[..17].iter().map(|x| char::from(b'0' + x)).collect();
    let expected = check_char(&first17);
    let last = if d[17] == 10 { b'X' } else { b'0' + d[17] };
    plausible_id(d) && expected == last
}

/// Which of a number's digits (by index into its positions) are hidden.
fn id_hidden(len: usize) -> std::ops::Range<usize> {
    if len == 15 {
        6..11
    } else {
        6..14
    }
}
const MOBILE_HIDDEN: std::ops::Range<usize> = 3..7;

/// A mobile number starting at run `i`: the runs it takes and the positions of its 11 digits.
fn mobile_at(chars: &[char], runs: &[Run], i: usize) -> Option<(usize, Vec<usize>)> {
    if let Some(p) = group(chars, runs, i, &[11], false) {
        if is_mobile(&digits_at(chars, &p)) {
            return Some((1, p));
        }
    }
    let p = group(chars, runs, i, &[3, 4, 4], false)?;
    is_mobile(&digits_at(chars, &p)).then_some((3, p))
}

/// The number starting at run `i`: how many runs it takes and which positions to hide.
fn number_at(chars: &[char], runs: &[Run], i: usize) -> Option<(usize, Vec<usize>)> {
    let r = runs[i];
    if in_decimal(chars, r) {
        return None;
    }
    let pick = |p: &[usize], hidden: std::ops::Range<usize>| -> Vec<usize> {
        p.get(hidden).map(<[usize]>::to_vec).unwrap_or_default()
    };
    let label = label_before(chars, r.start);
    let own: Vec<usize> = (r.start..r.end).collect();
    let d = digits_at(chars, &own);

    // A country code apart from the number: `+86 139 7321 1260`, `0086-13973211260`.
    if (d == [8, 6] || d == [0, 0, 8, 6]) && !r.x {
        if let Some((used, p)) = mobile_at(chars, runs, i + 1) {
            if runs[i + 1].start == r.end + 1 && is_separator(chars[r.end]) {
                return Some((used + 1, pick(&p, MOBILE_HIDDEN)));
            }
        }
    }
    // One run.
    let mut with_x = own.clone();
    if r.x {
        with_x.push(r.end);
    }
    let dx = digits_at(chars, &with_x);
    match (d.len(), r.x) {
        (18, false) | (17, true) if plausible_id(&dx) || label == Some(true) => {
            return Some((1, pick(&with_x, id_hidden(18))));
        }
        (15, false) if d.starts_with(&[0, 0, 8, 6]) && is_mobile(&d[4..]) => {
            return Some((1, pick(&own[4..], MOBILE_HIDDEN)));
        }
        (15, false) if plausible_id(&d) || label == Some(true) => {
            return Some((1, pick(&own, id_hidden(15))));
        }
        (13, false) if d.starts_with(&[8, 6]) && is_mobile(&d[2..]) => {
            return Some((1, pick(&own[2..], MOBILE_HIDDEN)));
        }
        _ => {}
    }
    if let Some((used, p)) = mobile_at(chars, runs, i) {
        return Some((used, pick(&p, MOBILE_HIDDEN)));
    }
    // Runs of 6, 8 and 4: a valid ID number written in groups.
    for final_x in [false, true] {
        let last = if final_x { 3 } else { 4 };
        if let Some(p) = group(chars, runs, i, &[6, 8, last], final_x) {
            if valid_id18(&digits_at(chars, &p)) || label == Some(true) {
                return Some((3, pick(&p, id_hidden(18))));
            }
        }
    }
    // After a phone label: any phone-length number, its runs joined by separators.
    if label == Some(false) {
        let mut used = 1;
        let mut p = own;
        while let Some(next) = runs.get(i + used) {
            let prev = runs[i + used - 1];
            if prev.x || next.start != prev.end + 1 || !is_separator(chars[prev.end]) {
                break;
            }
            p.extend(next.start..next.end);
            used += 1;
        }
        if (7..=12).contains(&p.len()) {
            let hidden = if p.len() >= 11 {
                3..p.len() - 4
            } else {
                0..p.len() - 2
            };
            return Some((used, pick(&p, hidden)));
        }
    }
    None
}

/// The text with every ID and mobile number in it masked; borrowed when there was none.
pub fn mask_text(s: &str) -> Cow<'_, str> {
    // Nothing shorter than 7 digits is ever masked.
    if s.chars().filter(|c| digit(*c).is_some()).take(7).count() < 7 {
        return Cow::Borrowed(s);
    }
    let chars: Vec<char> = s.chars().collect();
    let runs = runs(&chars);
    let mut hide = vec![false; chars.len()];
    let mut i = 0;
    while i < runs.len() {
        match number_at(&chars, &runs, i) {
            Some((used, positions)) => {
                for p in positions {
                    hide[p] = true;
                }
                i += used.max(1);
            }
            None => i += 1,
        }
    }
    if !hide.contains(&true) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        chars
            .iter()
            .zip(&hide)
            .map(|(&c, &h)| if h { '*' } else { c })
            .collect(),
    )
}

/// Masks a string in place.
pub fn mask_string(s: &mut String) {
    if let Cow::Owned(masked) = mask_text(s) {
        *s = masked;
    }
}

/// Masks, in place, the numbers in every string of a JSON value (object keys are left alone: they
/// are a form's field names).
pub fn mask_json(value: &mut Value) {
    match value {
        Value::String(s) => mask_string(s),
        Value::Array(items) => items.iter_mut().for_each(mask_json),
        Value::Object(map) => map.values_mut().for_each(mask_json),
        _ => {}
    }
}

/// [`mask_json`] over JSON text; text that is not JSON is masked as text.
pub fn mask_json_text(text: &str) -> String {
    match serde_json::from_str::<Value>(text) {
        Ok(mut v) => {
            mask_json(&mut v);
            v.to_string()
        }
        Err(_) => mask_text(text).into_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::domain::id_number::{mask_phone, IdNumber};

    fn m(s: &str) -> String {
        mask_text(s).into_owned()
    }

    #[test]
    fn the_issues_examples_are_masked() {
        assert_eq!(m("身份证 320402195808083016"), "身份证 320402********3016");
        assert_eq!(m("ID:320402195808083016;"), "ID:320402********3016;");
        assert_eq!(m("+8613973211260"), "+86139****1260");
        assert_eq!(m("电话 13973211260"), "电话 139****1260");
        assert_eq!(m("电话 139 7321 1260"), "电话 139 **** 1260");
        assert_eq!(m("tel 139-7321-1260，白天"), "tel 139-****-1260，白天");
        assert_eq!(m("0086 13973211260"), "0086 139****1260");
        assert_eq!(m("008613973211260"), "0086139****1260");
        assert_eq!(m("+86 139 7321 1260"), "+86 139 **** 1260");
        assert_eq!(m("8613973211260"), "86139****1260");
    }

    #[test]
    fn masks_as_the_registry_does() {
        let raw = "320402195808083016";
        let id = IdNumber::parse(raw).unwrap().id;
        assert_eq!(m(raw), id.masked());
        assert_eq!(m("11010519491231002X"), "110105********002X");
        assert_eq!(m("13812345678"), mask_phone("13812345678"));
        // The legacy 15-digit form, as the answers were always masked.
        assert_eq!(m("110105491231002"), "110105*****1002");
    }

    #[test]
    fn numbers_inside_sentences_and_in_odd_forms() {
        assert_eq!(
            m("户主王某（身份证号：32040219580808301x）说电话是13973211260。"),
            "户主王某（身份证号：320402********301x）说电话是139****1260。"
        );
        assert_eq!(m("证件 320402 19580808 3016"), "证件 320402 ******** 3016");
        assert_eq!(m("全角１３９７３２１１２６０"), "全角１３９****１２６０");
        assert_eq!(m("联系电话：0519-86601234"), "联系电话：051*-****1234");
        assert_eq!(m("tel: 86601234"), "tel: ******34");
        // After an ID label, even an impossible number is someone's.
        assert_eq!(m("身份证 999999999999999999"), "身份证 999999********9999");
        assert_eq!(m("a13973211260b"), "a139****1260b");
    }

    #[test]
    fn ordinary_numbers_are_left_alone() {
        for s in [
            "补助 1234567 元",
            "日期 20260312",
            "区划 320402001001",
            "人数 12，面积 85.5 平方米",
            "金额 13973211260.50",
            "0.13973211260",
            "订单 202603120000123456",
            "12345678901",
            "paid: 123456789012345",
            "2026-03-12 13:45",
            "320402 20260312 1234",
        ] {
            assert_eq!(m(s), s, "{s}");
            assert!(matches!(mask_text(s), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn json_strings_are_masked_at_any_depth() {
        let mut v = json!({
            "members": [{"id_number": "11010519491231002X", "phone": "13812345678", "age": 76}],
            "note": "身份证 320402195808083016",
            "amount": "1234567",
        });
        mask_json(&mut v);
        assert_eq!(v["members"][0]["id_number"], "110105********002X");
        assert_eq!(v["members"][0]["phone"], "138****5678");
        assert_eq!(v["members"][0]["age"], 76);
        assert_eq!(v["note"], "身份证 320402********3016");
        assert_eq!(v["amount"], "1234567");
        assert_eq!(
            mask_json_text(r#"{"a":"13973211260"}"#),
            r#"{"a":"139****1260"}"#
        );
    }

    /// A valid ID number from generated parts.
    fn id_number(province: usize, rest: u64, year: u32, month: u32, day: u32) -> String {
        let provinces = ["11", "32", "44", "65", "81"];
        let body = format!(
            "{}{:04}{year:04}{month:02}{day:02}{:03}",
            provinces[province % provinces.len()],
            rest % 10_000,
            rest % 1000
        );
        let c = char::from(check_char(&body));
        format!("{body}{c}")
    }

    fn mobile(second: u8, rest: u64) -> String {
        format!("1{second}{:09}", rest % 1_000_000_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_and_keeps_the_length(s in any::<String>()) {
            prop_assert_eq!(mask_text(&s).chars().count(), s.chars().count());
        }

        #[test]
        fn ids_and_mobiles_anywhere_are_hidden(
            before in "[\\PC&&[^0-9０-９.．]]{0,12}",
            after in "[\\PC&&[^0-9０-９.．Xx]]{0,12}",
            province in 0usize..5, rest in any::<u64>(),
            year in 1900u32..2020, month in 1u32..=12, day in 1u32..=28,
            second in 3u8..=9, phone_rest in any::<u64>(),
            sep in prop::sample::select(vec!["", " ", "-"]),
            prefix in prop::sample::select(vec!["", "+86", "86", "0086"]),
        ) {
            let id = id_number(province, rest, year, month, day);
            let text = format!("{before}{id}{after}");
            let hidden = format!("{}********{}", &id[..6], &id[14..]);
            prop_assert_eq!(m(&text), format!("{before}{hidden}{after}"));

            let phone = mobile(second, phone_rest);
            let written = format!("{}{sep}{}{sep}{}", &phone[..3], &phone[3..7], &phone[7..]);
            let hidden = format!("{}{sep}****{sep}{}", &phone[..3], &phone[7..]);
            let apart = if prefix.is_empty() { "" } else { sep };
            let text = format!("{before}{prefix}{apart}{written}{after}");
            prop_assert_eq!(m(&text), format!("{before}{prefix}{apart}{hidden}{after}"));
        }

        #[test]
        fn ordinary_numbers_pass_unchanged(
            amount in 0u64..10_000_000_000, cents in 0u32..100,
            year in 1950u32..2100, month in 1u32..=12, day in 1u32..=31,
            code in 100_000_000_000u64..999_999_999_999,
            count in 0u32..100_000,
            words in prop::sample::select(vec!["金额", "补助", "面积", "户数", "amount", "日期", "区划", "count"]),
        ) {
            for s in [
                format!("{words} {amount} 元"),
                format!("{words} {amount}.{cents:02}"),
                format!("{year:04}{month:02}{day:02}"),
                format!("{year:04}-{month:02}-{day:02} {words}"),
                format!("{words}：{code}"),
                format!("{count} 人，{amount} 元，{year}年{month}月{day}日"),
            ] {
                prop_assert_eq!(m(&s), s.clone());
            }
        }

        #[test]
        fn masking_is_idempotent(s in "[0-9 +\\-Xx身份证电话:]{0,40}") {
            let once = m(&s);
            prop_assert_eq!(m(&once), once.clone());
        }
    }
}
