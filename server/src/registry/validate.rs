//! Turning what a client sent into values the registry can store, collecting every problem with
//! its field path at once.

use chrono::NaiveDate;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::household::{
    AssistanceStatus, CreateHousehold, Gender, Income, Location, MemberInput, Relation,
};

use crate::domain::geo::{self, LatLon};
use crate::domain::id_number::{self, IdNumber};

pub const MAX_NAME: usize = 100;
pub const MAX_ADDRESS: usize = 300;
pub const MAX_NOTES: usize = 4000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 32;
pub const MAX_MEMBERS: usize = 30;
/// 100 million yuan a year per source: beyond any plausible income, well inside i64.
pub const MAX_INCOME_FEN: i64 = 10_000_000_000;

/// A member whose ID number parsed and whose fields agree with it.
#[derive(Debug, Clone)]
pub struct ValidMember {
    pub input: MemberInput,
    pub id: IdNumber,
    pub birth_date: NaiveDate,
    pub gender: Gender,
}

/// A household ready to store (the grid is decided later, against the lookup and the scope).
#[derive(Debug, Clone)]
pub struct ValidHousehold {
    pub external_id: Option<String>,
    pub address: String,
    /// WGS-84.
    pub location: Option<LatLon>,
    pub grid_override: Option<String>,
    pub status: AssistanceStatus,
    pub status_since: Option<NaiveDate>,
    pub tags: Vec<String>,
    pub notes: String,
    pub members: Vec<ValidMember>,
    pub warnings: Vec<String>,
}

fn err(errors: &mut Vec<FieldError>, field: String, code: &str, message: impl Into<String>) {
    errors.push(FieldError {
        field,
        code: code.to_owned(),
        message: message.into(),
    });
}

/// [`check_text`] for free text (notes, reasons, descriptions): the same checks, and any ID or
/// mobile number in it masked (`domain::free_text`), since free text is stored unsealed: the
/// full number belongs in the sealed, structured fields.
pub fn check_free_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> String {
    let mut text = check_text(errors, field, value, max, required);
    crate::domain::free_text::mask_string(&mut text);
    text
}

/// Text that is stored exactly as given (emoji, 4-byte CJK and bidirectional marks included),
/// but not empty, not too long, and without control characters.
pub fn check_text(
    errors: &mut Vec<FieldError>,
    field: &str,
    value: &str,
    max: usize,
    required: bool,
) -> String {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        err(
            errors,
            field.to_owned(),
            "required",
            "不能为空 / must not be empty",
        );
    }
    if trimmed.chars().count() > max {
        err(
            errors,
            field.to_owned(),
            "too_long",
            format!("超过 {max} 个字符 / longer than {max} characters"),
        );
    }
    let multiline = max >= MAX_NOTES;
    if trimmed
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        err(
            errors,
            field.to_owned(),
            "control_character",
            "含控制字符 / contains control characters",
        );
    }
    trimmed.to_owned()
}

pub fn check_location(errors: &mut Vec<FieldError>, field: &str, loc: &Location) -> Option<LatLon> {
    match LatLon::new(loc.lat, loc.lon) {
        Ok(p) => {
            let crs = geo::Crs::from(loc.crs.unwrap_or(jiuzhu_proto::geo::Crs::Wgs84));
            Some(geo::to_wgs84(p, crs))
        }
        Err(e) => {
            err(
                errors,
                field.to_owned(),
                "invalid_coordinate",
                e.to_string(),
            );
            None
        }
    }
}

pub fn check_income(errors: &mut Vec<FieldError>, field: &str, income: &Income) {
    for (name, value) in income.parts() {
        if !(0..=MAX_INCOME_FEN).contains(&value) {
            err(
                errors,
                format!("{field}.{name}"),
                "out_of_range",
                format!("收入须在 0 到 {MAX_INCOME_FEN} 分之间 / income must be 0 to {MAX_INCOME_FEN} fen"),
            );
        }
    }
}

pub fn check_phone(errors: &mut Vec<FieldError>, field: &str, phone: &str) -> String {
    let p = phone.trim();
    let digits = p.strip_prefix('+').unwrap_or(p);
    if !(5..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        err(
            errors,
            field.to_owned(),
            "invalid_phone",
            "电话号码格式错误 / a phone number is 5 to 20 digits",
        );
    }
    p.to_owned()
}

fn check_disability(errors: &mut Vec<FieldError>, prefix: &str, kind: bool, level: Option<u8>) {
    match (kind, level) {
        (true, Some(1..=4)) | (false, None) => {}
        (_, Some(_)) if !matches!(level, Some(1..=4)) => err(
            errors,
            format!("{prefix}disability_level"),
            "out_of_range",
            "残疾等级为 1 到 4 / disability level is 1 to 4",
        ),
        _ => err(
            errors,
            format!("{prefix}disability_level"),
            "incomplete",
            "残疾类别与等级须同时填写 / disability type and level go together",
        ),
    }
}

/// Checks one member; `prefix` is its field path, e.g. `members[2].`.
pub fn member(
    errors: &mut Vec<FieldError>,
    warnings: &mut Vec<String>,
    prefix: &str,
    mut input: MemberInput,
) -> Option<ValidMember> {
    let before = errors.len();
    input.name = check_text(
        errors,
        &format!("{prefix}name"),
        &input.name,
        MAX_NAME,
        true,
    );
    let parsed = match IdNumber::parse(&input.id_number) {
        Ok(p) => Some(p),
        Err(e) => {
            err(
                errors,
                format!("{prefix}id_number"),
                e.code(),
                e.to_string(),
            );
            None
        }
    };
    // The raw number is not kept beyond this point.
    input.id_number = String::new();
    check_disability(
        errors,
        prefix,
        input.disability_type.is_some(),
        input.disability_level,
    );
    check_income(
        errors,
        &format!("{prefix}annual_income"),
        &input.annual_income,
    );
    if let Some(phone) = &input.phone {
        input.phone =
            Some(check_phone(errors, &format!("{prefix}phone"), phone)).filter(|p| !p.is_empty());
    }
    let parsed = parsed?;
    for w in &parsed.warnings {
        warnings.push(format!("{prefix}id_number: {}", w.code()));
    }
    let id = parsed.id;
    let birth_date = id.birth_date();
    let gender = match id.gender() {
        id_number::Gender::Male => Gender::Male,
        id_number::Gender::Female => Gender::Female,
    };
    if input.birth_date.is_some_and(|d| d != birth_date) {
        err(
            errors,
            format!("{prefix}birth_date"),
            "mismatch",
            "出生日期与身份证号不符 / the birth date differs from the ID number's",
        );
    }
    if input.gender.is_some_and(|g| g != gender) {
        err(
            errors,
            format!("{prefix}gender"),
            "mismatch",
            "性别与身份证号不符 / the gender differs from the ID number's",
        );
    }
    if errors.len() > before {
        return None;
    }
    Some(ValidMember {
        input,
        id,
        birth_date,
        gender,
    })
}

/// Tags: trimmed, deduplicated, sorted.
pub fn tags(errors: &mut Vec<FieldError>, tags: &[String]) -> Vec<String> {
    if tags.len() > MAX_TAGS {
        err(
            errors,
            "tags".into(),
            "too_many",
            format!("最多 {MAX_TAGS} 个标签 / at most {MAX_TAGS} tags"),
        );
    }
    let mut out: Vec<String> = tags
        .iter()
        .enumerate()
        .map(|(i, t)| check_text(errors, &format!("tags[{i}]"), t, MAX_TAG, true))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Checks a whole new household: members, one head, no number twice.
pub fn household(input: CreateHousehold) -> Result<ValidHousehold, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let address = check_text(&mut errors, "address", &input.address, MAX_ADDRESS, true);
    let notes = check_free_text(&mut errors, "notes", &input.notes, MAX_NOTES, false);
    let external_id = input
        .external_id
        .as_deref()
        .map(|e| check_text(&mut errors, "external_id", e, 64, true));
    let location = input
        .location
        .as_ref()
        .and_then(|l| check_location(&mut errors, "location", l));
    let tags = tags(&mut errors, &input.tags);
    if input.members.is_empty() {
        err(
            &mut errors,
            "members".into(),
            "required",
            "至少一名成员 / at least one member",
        );
    }
    if input.members.len() > MAX_MEMBERS {
        err(
            &mut errors,
            "members".into(),
            "too_many",
            format!("最多 {MAX_MEMBERS} 名成员 / at most {MAX_MEMBERS} members"),
        );
    }
    let heads = input
        .members
        .iter()
        .filter(|m| m.relation == Relation::Head)
        .count();
    if !input.members.is_empty() && heads != 1 {
        err(
            &mut errors,
            "members".into(),
            "one_head",
            "须有且仅有一名户主 / exactly one member must be the head",
        );
    }
    let members: Vec<(usize, ValidMember)> = input
        .members
        .into_iter()
        .enumerate()
        .filter_map(|(i, m)| {
            member(&mut errors, &mut warnings, &format!("members[{i}]."), m).map(|v| (i, v))
        })
        .collect();
    duplicates(&mut errors, "members", &members);
    let members = members.into_iter().map(|(_, m)| m).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidHousehold {
        external_id,
        address,
        location,
        grid_override: input.grid_id.map(|g| g.to_string()),
        status: input.status.unwrap_or(AssistanceStatus::None),
        status_since: input.status_since,
        tags,
        notes,
        members,
        warnings,
    })
}

/// The same number twice in one household is an error at the second one. Members come with their
/// index in the request, so the path names the right one even when earlier members were invalid.
pub fn duplicates(errors: &mut Vec<FieldError>, list: &str, members: &[(usize, ValidMember)]) {
    for (k, (i, m)) in members.iter().enumerate() {
        if members[..k].iter().any(|(_, o)| o.id == m.id) {
            err(
                errors,
                format!("{list}[{i}].id_number"),
                "duplicate_in_household",
                "同一户内身份证号重复 / the same ID number appears twice in this household",
            );
        }
    }
}
