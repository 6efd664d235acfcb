//! The resident ID number (公民身份号码, GB 11643-1999): parsed once at the boundary into a type
//! that is always the canonical 18-character form, plus masking for display.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A resident ID number known to be well formed: 18 characters, digits and an optional final
/// uppercase `X`, a real birth date, a known province and a matching check character.
///
/// There is deliberately no `Display` and no `Serialize`: the full number leaves this type only
/// through [`IdNumber::as_str`], so every place that shows or stores it is visible in the code.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IdNumber(String);

/// A parsed ID number and what is odd about it without making it invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub id: IdNumber,
    pub warnings: Vec<IdWarning>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gender {
    Male,
    Female,
}

/// Something to show the worker, who may still save the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdWarning {
    /// The region part is a province- or city-level code rather than a county's. A number keeps the
    /// code of its first registration for life, so codes since retired or merged are legitimate
    /// and cannot be rejected; without the full GB/T 2260 history this is the one shape we can
    /// call suspicious.
    UnknownRegion,
}

impl IdWarning {
    /// Stable code for API responses.
    pub fn code(&self) -> &'static str {
        match self {
            IdWarning::UnknownRegion => "unknown_region",
        }
    }
}

/// Why a string is not an ID number. The messages go into API responses and may be logged, so
/// they carry positions and reasons only, never any character of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdNumberError {
    #[error("an ID number has 18 characters (or 15 in the old form), this one has {length}")]
    WrongLength { length: usize },
    /// `position` is 1-based, counted in characters after surrounding whitespace is trimmed.
    #[error("character {position} of the ID number is not allowed there")]
    InvalidCharacter { position: usize },
    #[error("the ID number's check character does not match its other digits")]
    BadCheckCharacter,
    #[error("the birth date in the ID number is not a real date, or is before 1850")]
    ImpossibleBirthDate,
    #[error("the birth date in the ID number is in the future")]
    FutureBirthDate,
    #[error("the ID number's region code is not a province-level division")]
    InvalidRegion,
}

impl IdNumberError {
    /// Stable snake_case code clients can switch on.
    pub fn code(&self) -> &'static str {
        match self {
            IdNumberError::WrongLength { .. } => "wrong_length",
            IdNumberError::InvalidCharacter { .. } => "invalid_character",
            IdNumberError::BadCheckCharacter => "bad_check_character",
            IdNumberError::ImpossibleBirthDate => "impossible_birth_date",
            IdNumberError::FutureBirthDate => "future_birth_date",
            IdNumberError::InvalidRegion => "invalid_region",
        }
    }
}

/// GB 11643-1999 weights for the first 17 digits (2^(18-i) mod 11).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// The 34 province-level codes of GB/T 2260 (including Taiwan, Hong Kong and Macau).
/// GB/T 2260 province-level codes, plus 81/82/83: the residence permits of Hong Kong, Macao and
/// Taiwan residents (2018) carry numbers in the same format with region 810000/820000/830000.
const PROVINCES: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82", "83",
];

/// Regions whose numbers legitimately end in 0000 (the residence permits above).
const PERMIT_REGIONS: [&str; 3] = ["810000", "820000", "830000"];

/// No one alive was born earlier; an earlier year is a typo, not a record to keep.
const EARLIEST_BIRTH_YEAR: i32 = 1850;

impl IdNumber {
    /// Parses a number as typed or imported. Surrounding whitespace is trimmed and full-width
    /// digits, full-width X and lowercase x are normalised; anything else, including zero-width
    /// characters, inner spaces and hyphens, is rejected rather than dropped, because silently
    /// repairing input hides data-entry mistakes. 15-digit numbers from before 1999 are converted.
    pub fn parse(raw: &str) -> Result<Parsed, IdNumberError> {
        parse_as_of(raw, today_in_china())
    }

    /// The canonical 18-character form. Everything that stores, hashes or shows the full number
    /// goes through here.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn birth_date(&self) -> NaiveDate {
        // Parsing proved the date; the fallback only keeps this function free of panics.
        birth_date_of(&self.0).unwrap_or_default()
    }

    pub fn gender(&self) -> Gender {
        // ASCII '0' is even, so a digit's byte has the digit's parity.
        match self.0.as_bytes().get(16) {
            Some(d) if d % 2 == 1 => Gender::Male,
            _ => Gender::Female,
        }
    }

    /// The county code of first registration (6 digits).
    pub fn region_code(&self) -> &str {
        self.0.get(..6).unwrap_or_default()
    }

    /// First 6 and last 4 characters, the rest `*`: enough for a worker to tell two people apart
    /// on a list without exposing the birth date.
    pub fn masked(&self) -> String {
        let head = self.0.get(..6).unwrap_or_default();
        let tail = self.0.get(14..).unwrap_or_default();
        format!("{head}********{tail}")
    }
}

impl std::fmt::Debug for IdNumber {
    /// Masked, so that a stray `{:?}` in a log line or a panic message cannot leak the number.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("IdNumber").field(&self.masked()).finish()
    }
}

/// A phone number for display: first 3 and last 4 shown for mobile-length numbers
/// (`138****5678`); shorter strings show only the last 2, and strings of 4 characters or fewer
/// are hidden entirely, since 2 of 4 characters would be half the value. Counted in characters,
/// so odd input cannot make it panic.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    let (head, tail) = match chars.len() {
        n if n >= 11 => (3, 4),
        n if n > 4 => (0, 2),
        _ => (0, 0),
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if i < head || i >= chars.len() - tail {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// China has had one time zone since 1949; "today" for a birth date is Beijing's today, not UTC's.
fn today_in_china() -> NaiveDate {
    super::time::today()
}

/// [`IdNumber::parse`] with "today" given, so the future-date rule can be tested.
fn parse_as_of(raw: &str, today: NaiveDate) -> Result<Parsed, IdNumberError> {
    let normalised = normalise(raw)?;
    let canonical = match normalised.len() {
        18 => {
            reject_misplaced_x(&normalised[..17])?;
            if check_char(&normalised[..17]) != normalised.as_bytes()[17] {
                return Err(IdNumberError::BadCheckCharacter);
            }
            normalised
        }
        15 => {
            reject_misplaced_x(&normalised)?;
            // Old numbers were issued to people born in the 1900s; the year had two digits.
            let body = format!("{}19{}", &normalised[..6], &normalised[6..]);
            let check = char::from(check_char(&body));
            format!("{body}{check}")
        }
        length => return Err(IdNumberError::WrongLength { length }),
    };

    let warnings = check_region(&canonical[..6])?;
    let birth = birth_date_of(&canonical).ok_or(IdNumberError::ImpossibleBirthDate)?;
    if birth.year() < EARLIEST_BIRTH_YEAR {
        return Err(IdNumberError::ImpossibleBirthDate);
    }
    if birth > today {
        return Err(IdNumberError::FutureBirthDate);
    }
    Ok(Parsed {
        id: IdNumber(canonical),
        warnings,
    })
}

/// Trims, maps full-width digits and X and lowercase x to ASCII, and refuses anything else. The
/// result is ASCII, so byte slicing on it is safe.
fn normalise(raw: &str) -> Result<String, IdNumberError> {
    let mut out = String::with_capacity(18);
    for (i, c) in raw.trim().chars().enumerate() {
        let ascii = match c {
            '0'..='9' | 'X' => c,
            'x' | 'Ｘ' | 'ｘ' => 'X',
            '０'..='９' => char::from(b'0' + (u32::from(c) - u32::from('０')) as u8),
            _ => return Err(IdNumberError::InvalidCharacter { position: i + 1 }),
        };
        out.push(ascii);
    }
    Ok(out)
}

/// `X` stands for the value 10 and is only meaningful as the final check character.
fn reject_misplaced_x(digits: &str) -> Result<(), IdNumberError> {
    match digits.bytes().position(|b| b == b'X') {
        Some(i) => Err(IdNumberError::InvalidCharacter { position: i + 1 }),
        None => Ok(()),
    }
}

/// The check character for 17 ASCII digits.
fn check_char(first17: &str) -> u8 {
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

fn check_region(region: &str) -> Result<Vec<IdWarning>, IdNumberError> {
    let province = region.get(..2).unwrap_or_default();
    if !PROVINCES.contains(&province) {
        return Err(IdNumberError::InvalidRegion);
    }
    let city = region.get(2..4).unwrap_or_default();
    let county = region.get(4..6).unwrap_or_default();
    if (city == "00" || county == "00") && !PERMIT_REGIONS.contains(&region) {
        Ok(vec![IdWarning::UnknownRegion])
    } else {
        Ok(Vec::new())
    }
}

/// The birth date in a canonical 18-character number, if it is a real calendar date.
fn birth_date_of(canonical: &str) -> Option<NaiveDate> {
    let year = canonical.get(6..10)?.parse().ok()?;
    let month = canonical.get(10..12)?.parse().ok()?;
    let day = canonical.get(12..14)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Independent, deliberately plain check-character computation: 2^(17-i) mod 11 weights.
    fn reference_check(first17: &str) -> char {
        let mut sum = 0u64;
        for (i, c) in first17.chars().enumerate() {
            let weight = 2u64.pow(17 - i as u32) % 11;
            sum += u64::from(c.to_digit(10).unwrap()) * weight;
        }
        ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'][(sum % 11) as usize]
    }

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", reference_check(first17))
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn fixed_today() -> NaiveDate {
        day(2025, 6, 1)
    }

    fn parse(raw: &str) -> Result<Parsed, IdNumberError> {
        parse_as_of(raw, fixed_today())
    }

    #[test]
    fn weights_table_matches_the_standard_formula() {
        for (i, w) in WEIGHTS.iter().enumerate() {
            assert_eq!(u64::from(*w), 2u64.pow(17 - i as u32) % 11);
        }
    }

    #[test]
    fn well_known_public_test_number_parses() {
        let parsed = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(parsed.id.as_str(), "11010519491231002X");
        assert_eq!(parsed.id.birth_date(), day(1949, 12, 31));
        assert_eq!(parsed.id.gender(), Gender::Female);
        assert_eq!(parsed.id.region_code(), "110105");
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn changzhou_numbers_parse_with_gender_and_mask() {
        let male = with_check("32040219800101001");
        let parsed = parse(&male).unwrap();
        assert_eq!(parsed.id.gender(), Gender::Male);
        assert_eq!(parsed.id.birth_date(), day(1980, 1, 1));
        assert_eq!(parsed.id.masked(), format!("320402********{}", &male[14..]));
        assert!(parsed.warnings.is_empty());

        let female = with_check("32041119950715002");
        assert_eq!(parse(&female).unwrap().id.gender(), Gender::Female);
    }

    #[test]
    fn debug_shows_only_the_masked_form() {
        let id = parse("11010519491231002X").unwrap().id;
        let debug = format!("{id:?}");
        assert_eq!(debug, "IdNumber(\"110105********002X\")");
        assert!(!debug.contains("19491231"));
        let parsed_debug = format!("{:?}", parse("11010519491231002X").unwrap());
        assert!(!parsed_debug.contains("19491231"));
    }

    #[test]
    fn fifteen_digit_numbers_convert() {
        let parsed = parse("110105491231002").unwrap();
        assert_eq!(parsed.id.as_str(), "11010519491231002X");
        assert_eq!(parsed.id.birth_date(), day(1949, 12, 31));

        let old = "320402800101001";
        let expected = with_check("32040219800101001");
        assert_eq!(parse(old).unwrap().id.as_str(), expected);
    }

    #[test]
    fn full_width_lowercase_and_surrounding_whitespace_are_normalised() {
        assert_eq!(
            parse("  11010519491231002x\n").unwrap().id.as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            parse("１１０１０５１９４９１２３１００２Ｘ")
                .unwrap()
                .id
                .as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            parse("\u{3000}11010519491231002ｘ\u{3000}")
                .unwrap()
                .id
                .as_str(),
            "11010519491231002X"
        );
    }

    #[test]
    fn wrong_lengths_are_rejected() {
        for raw in [
            "",
            "1101051949123100",
            "11010519491231002",
            "11010519491231002X1",
        ] {
            let err = parse(raw).unwrap_err();
            assert_eq!(err.code(), "wrong_length", "{raw}");
        }
        assert_eq!(
            parse("11010519491231002").unwrap_err(),
            IdNumberError::WrongLength { length: 17 }
        );
        assert_eq!(
            parse("110105194912310021X").unwrap_err(),
            IdNumberError::WrongLength { length: 19 }
        );
    }

    #[test]
    fn characters_that_are_not_digits_are_rejected_not_dropped() {
        let cases = [
            ("1101051949\u{200B}1231002X", 11), // zero-width space
            ("\u{FEFF}11010519491231002X", 1),  // byte-order mark
            ("110105 19491231002X", 7),
            ("110105-19491231-002X", 7),
            ("11010519491231002Y", 18),
            ("1101051949123100X2", 17), // X only as the check character
            ("11010549123100X", 15),    // never in the old form
        ];
        for (raw, position) in cases {
            assert_eq!(
                parse(raw).unwrap_err(),
                IdNumberError::InvalidCharacter { position },
                "{raw:?}"
            );
        }
        assert_eq!(
            parse("110105\u{200B}19491231002X").unwrap_err().code(),
            "invalid_character"
        );
    }

    #[test]
    fn bad_check_character_is_rejected() {
        assert_eq!(
            parse("110105194912310021").unwrap_err().code(),
            "bad_check_character"
        );
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for first17 in [
            "32040219990231001", // 31 February
            "32040219991301001", // month 13
            "32040219990100001", // day 00
            "32040218491231001", // before 1850
        ] {
            let err = parse(&with_check(first17)).unwrap_err();
            assert_eq!(err.code(), "impossible_birth_date", "{first17}");
        }
        assert_eq!(
            parse("320402990231001").unwrap_err().code(),
            "impossible_birth_date"
        );
    }

    #[test]
    fn future_birth_dates_are_rejected() {
        let tomorrow = with_check("32040220250602001");
        assert_eq!(
            parse(&tomorrow).unwrap_err(),
            IdNumberError::FutureBirthDate
        );
        let today = with_check("32040220250601001");
        assert!(parse(&today).is_ok());
        // And through the public entry point, with the real clock.
        let far_future = with_check("32040229991231001");
        assert_eq!(
            IdNumber::parse(&far_future).unwrap_err().code(),
            "future_birth_date"
        );
    }

    #[test]
    fn regions_outside_the_province_list_are_rejected() {
        for first17 in [
            "00000019800101001",
            "99040219800101001",
            "72010119800101001",
        ] {
            let err = parse(&with_check(first17)).unwrap_err();
            assert_eq!(err.code(), "invalid_region", "{first17}");
        }
    }

    #[test]
    fn city_or_county_level_codes_only_warn() {
        for first17 in [
            "32000019800101001",
            "32040019800101001",
            "32000119800101001",
        ] {
            let parsed = parse(&with_check(first17)).unwrap();
            assert_eq!(parsed.warnings, vec![IdWarning::UnknownRegion], "{first17}");
        }
        assert_eq!(IdWarning::UnknownRegion.code(), "unknown_region");
    }

    #[test]
    fn error_messages_contain_no_part_of_the_number() {
        let inputs = [
            "11010519491231002".to_string(),
            "110105194912310021X".to_string(),
            "110105\u{200B}19491231002X".to_string(),
            "110105194912310021".to_string(),
            with_check("32040219990231001"),
            with_check("32040229991231001"),
            with_check("00000019800101001"),
        ];
        let mut codes = std::collections::BTreeSet::new();
        for raw in &inputs {
            let err = parse(raw).unwrap_err();
            codes.insert(err.code());
            let message = err.to_string();
            assert!(!has_digit_run(&message, 6), "{message}");
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            for window in digits.as_bytes().windows(4) {
                let part = std::str::from_utf8(window).unwrap();
                assert!(!message.contains(part), "{message} contains {part}");
            }
        }
        assert_eq!(codes.len(), 6, "every error code exercised: {codes:?}");
    }

    fn has_digit_run(text: &str, n: usize) -> bool {
        let mut run = 0;
        for c in text.chars() {
            run = if c.is_ascii_digit() { run + 1 } else { 0 };
            if run >= n {
                return true;
            }
        }
        false
    }

    #[test]
    fn gender_serialises_lowercase() {
        assert_eq!(serde_json::to_string(&Gender::Male).unwrap(), "\"male\"");
        assert_eq!(
            serde_json::from_str::<Gender>("\"female\"").unwrap(),
            Gender::Female
        );
    }

    #[test]
    fn phones_are_masked() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("+8613812345678"), "+86*******5678");
        assert_eq!(mask_phone("88881234"), "******34");
        assert_eq!(mask_phone("12345"), "***45");
        assert_eq!(mask_phone("1234"), "****");
        assert_eq!(mask_phone(""), "");
        assert_eq!(mask_phone("电话号码一二三四五六七"), "电话号****四五六七");
    }

    /// A valid number from its parts, via the reference check character.
    fn assemble(province: &str, rest_of_region: u32, birth: NaiveDate, sequence: u32) -> String {
        with_check(&format!(
            "{province}{rest_of_region:04}{}{sequence:03}",
            birth.format("%Y%m%d")
        ))
    }

    fn valid_number() -> impl Strategy<Value = (String, NaiveDate, u32)> {
        let first = day(EARLIEST_BIRTH_YEAR, 1, 1);
        let span = (fixed_today() - first).num_days();
        (
            proptest::sample::select(PROVINCES.to_vec()),
            0u32..10_000,
            0..=span,
            0u32..1000,
        )
            .prop_map(move |(province, rest, offset, sequence)| {
                let birth = first + chrono::Duration::days(offset);
                (assemble(province, rest, birth, sequence), birth, sequence)
            })
    }

    proptest! {
        #[test]
        fn generated_valid_numbers_parse_and_round_trip((number, birth, sequence) in valid_number()) {
            let parsed = parse(&number).unwrap();
            prop_assert_eq!(parsed.id.as_str(), number.as_str());
            prop_assert_eq!(parsed.id.birth_date(), birth);
            let expected_gender = if sequence % 2 == 1 { Gender::Male } else { Gender::Female };
            prop_assert_eq!(parsed.id.gender(), expected_gender);
            prop_assert_eq!(parsed.id.region_code(), &number[..6]);
            let again = parse(parsed.id.as_str()).unwrap();
            prop_assert_eq!(again.id, parsed.id);
            let lowercase = parse(&number.to_lowercase()).unwrap();
            prop_assert_eq!(lowercase.id.as_str(), number.as_str());
        }

        #[test]
        fn any_single_character_change_is_rejected((number, _, _) in valid_number()) {
            let bytes = number.as_bytes();
            for position in 0..18 {
                let alternatives: &[u8] = if position == 17 { b"0123456789X" } else { b"0123456789" };
                for &replacement in alternatives {
                    if replacement == bytes[position] {
                        continue;
                    }
                    let mut changed = bytes.to_vec();
                    changed[position] = replacement;
                    let changed = String::from_utf8(changed).unwrap();
                    prop_assert!(parse(&changed).is_err(), "{} accepted", changed);
                }
            }
        }

        #[test]
        fn parse_never_panics(raw in any::<String>()) {
            let _ = IdNumber::parse(&raw);
        }

        #[test]
        fn parse_never_panics_on_near_misses(raw in "[0-9xX０-９ｘＸ \u{200B}-]{0,22}") {
            if let Ok(parsed) = parse(&raw) {
                prop_assert_eq!(parsed.id.as_str().len(), 18);
            }
        }

        #[test]
        fn mask_phone_never_panics_and_keeps_length(raw in any::<String>()) {
            prop_assert_eq!(mask_phone(&raw).chars().count(), raw.chars().count());
        }
    }
}
