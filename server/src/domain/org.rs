//! Org codes (docs/domain.md): GB/T 2260 six-digit city and district codes, then three digits each for
//! the street (001–399), the community (001–399) and the grid (001–999). A unit's parent code is
//! a prefix of its own, so the hierarchy can be checked from the codes alone.

use jiuzhu_proto::org::OrgKind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgCodeError {
    #[error("code `{code}` is not a valid {kind} code: {why}")]
    Invalid {
        code: String,
        kind: &'static str,
        why: &'static str,
    },
    #[error("cannot tell the level of code `{0}` from its length")]
    UnknownLength(String),
}

/// The kind a code's length and digits say it is.
pub fn kind_of(code: &str) -> Result<OrgKind, OrgCodeError> {
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(OrgCodeError::UnknownLength(code.to_owned()));
    }
    match code.len() {
        6 if code.ends_with("00") => Ok(OrgKind::City),
        6 => Ok(OrgKind::District),
        9 => Ok(OrgKind::Street),
        12 => Ok(OrgKind::Community),
        15 => Ok(OrgKind::Grid),
        _ => Err(OrgCodeError::UnknownLength(code.to_owned())),
    }
}

/// Checks that `code` is a well-formed code of `kind`.
pub fn validate(kind: OrgKind, code: &str) -> Result<(), OrgCodeError> {
    let invalid = |why| OrgCodeError::Invalid {
        code: code.to_owned(),
        kind: kind.as_str(),
        why,
    };
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("only digits are allowed"));
    }
    let expected_len = match kind {
        OrgKind::City | OrgKind::District => 6,
        OrgKind::Street => 9,
        OrgKind::Community => 12,
        OrgKind::Grid => 15,
    };
    if code.len() != expected_len {
        return Err(invalid("wrong length"));
    }
    let province = &code[0..2];
    if province == "00" {
        return Err(invalid("no province has code 00"));
    }
    match kind {
        OrgKind::City => {
            if !code.ends_with("00") || code.ends_with("0000") {
                return Err(invalid("a city code ends in 00 (but not 0000)"));
            }
        }
        OrgKind::District => {
            if code.ends_with("00") {
                return Err(invalid("a district code does not end in 00"));
            }
        }
        OrgKind::Street | OrgKind::Community => {
            let tail = three_digits(&code[code.len() - 3..]);
            if !(1..=399).contains(&tail) {
                return Err(invalid("the last three digits must be 001 to 399"));
            }
        }
        OrgKind::Grid => {
            if three_digits(&code[12..]) == 0 {
                return Err(invalid("the grid number must be 001 to 999"));
            }
        }
    }
    Ok(())
}

fn three_digits(s: &str) -> u32 {
    s.bytes().fold(0, |acc, b| acc * 10 + u32::from(b - b'0'))
}

/// The code of the unit's parent, as the codes define it.
pub fn parent_code(kind: OrgKind, code: &str) -> Option<String> {
    match kind {
        OrgKind::City => None,
        OrgKind::District => code.get(0..4).map(|p| format!("{p}00")),
        OrgKind::Street => code.get(0..6).map(str::to_owned),
        OrgKind::Community => code.get(0..9).map(str::to_owned),
        OrgKind::Grid => code.get(0..12).map(str::to_owned),
    }
}

/// The materialised path of a unit under a parent path.
pub fn child_path(parent_path: Option<&str>, code: &str) -> String {
    format!("{}{code}/", parent_path.unwrap_or("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_parents() {
        assert_eq!(kind_of("320400"), Ok(OrgKind::City));
        assert_eq!(kind_of("320402"), Ok(OrgKind::District));
        assert_eq!(kind_of("320402001"), Ok(OrgKind::Street));
        assert_eq!(kind_of("320402001001"), Ok(OrgKind::Community));
        assert_eq!(kind_of("320402001001001"), Ok(OrgKind::Grid));
        assert!(kind_of("3204").is_err());
        assert_eq!(
            parent_code(OrgKind::District, "320481").as_deref(),
            Some("320400")
        );
        assert_eq!(
            parent_code(OrgKind::Grid, "320402001001001").as_deref(),
            Some("320402001001")
        );
    }

    #[test]
    fn validation() {
        assert!(validate(OrgKind::City, "320400").is_ok());
        assert!(validate(OrgKind::City, "320000").is_err());
        assert!(validate(OrgKind::District, "320400").is_err());
        assert!(validate(OrgKind::Street, "320402000").is_err());
        assert!(validate(OrgKind::Street, "320402400").is_err());
        assert!(validate(OrgKind::Street, "320402101").is_ok());
        assert!(validate(OrgKind::Grid, "320402001001000").is_err());
        assert!(validate(OrgKind::Grid, "32040200100100a").is_err());
        assert!(validate(OrgKind::Community, "000402001001").is_err());
    }
}
