//! The form definition as authors write it and the API stores it: plain data, checked by
//! [`FormDefinition::check`](super::FormDefinition::check) before anything uses it.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A versioned form: what a grid worker fills in on a visit.
///
/// Published versions are immutable; a change publishes a new version under the same key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FormDefinition {
    /// Stable key, `[a-z][a-z0-9_]*`, at most 64 characters.
    #[cfg_attr(feature = "openapi", schema(example = "home_visit"))]
    pub key: String,
    pub title: Label,
    /// 1, 2, 3… per key.
    pub version: u32,
    pub fields: Vec<Field>,
}

/// Text shown to people, in Chinese and English. At least one must be non-empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Label {
    #[serde(default)]
    pub zh: String,
    #[serde(default)]
    pub en: String,
}

impl Label {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// `中文 / English`, or whichever of the two is present.
    pub fn both(&self) -> String {
        match (self.zh.is_empty(), self.en.is_empty()) {
            (false, false) => format!("{} / {}", self.zh, self.en),
            (false, true) => self.zh.clone(),
            _ => self.en.clone(),
        }
    }

    pub(crate) fn is_blank(&self) -> bool {
        self.zh.trim().is_empty() && self.en.trim().is_empty()
    }
}

/// What kind of answer a field takes, and so how the answer looks in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// A JSON string. `min`/`max` bound its length in characters; `pattern` must match all of it.
    Text,
    /// A JSON integer (64-bit). `min`/`max` are integers.
    Integer,
    /// A JSON number. `min`/`max` are numbers.
    Decimal,
    /// `true` or `false`.
    Boolean,
    /// `"YYYY-MM-DD"`. `min`/`max` are dates.
    Date,
    /// One of the `choices` values, as a string.
    SelectOne,
    /// An array of distinct `choices` values. `min`/`max` bound how many are chosen.
    SelectMultiple,
    /// `{"lat": …, "lon": …, "accuracy": …}` in WGS-84; accuracy (metres) is optional.
    Geopoint,
    /// The UUID of a photo uploaded separately.
    Photo,
    /// A group answered once per instance (household members): an array of objects holding the
    /// answers to `fields`. `min`/`max` bound the number of instances.
    Repeat,
    /// Text shown to the worker; takes no answer.
    Note,
    /// A value computed from `calculate`; takes no answer and is returned in
    /// `ValidationOutcome::calculated`.
    Calculate,
}

impl FieldKind {
    pub const ALL: &'static [FieldKind] = &[
        Self::Text,
        Self::Integer,
        Self::Decimal,
        Self::Boolean,
        Self::Date,
        Self::SelectOne,
        Self::SelectMultiple,
        Self::Geopoint,
        Self::Photo,
        Self::Repeat,
        Self::Note,
        Self::Calculate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Integer => "integer",
            Self::Decimal => "decimal",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::SelectOne => "select_one",
            Self::SelectMultiple => "select_multiple",
            Self::Geopoint => "geopoint",
            Self::Photo => "photo",
            Self::Repeat => "repeat",
            Self::Note => "note",
            Self::Calculate => "calculate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// Whether the worker answers this field (notes, calculations and repeats are not answers
    /// themselves).
    pub fn takes_answer(self) -> bool {
        !matches!(self, Self::Repeat | Self::Note | Self::Calculate)
    }
}

/// A lower or upper bound; which variant fits depends on the field kind (see [`FieldKind`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bound {
    Integer(i64),
    Decimal(f64),
    Date(NaiveDate),
}

/// Written by hand: derived, an integer would match both the integer and the number of a
/// `oneOf`, which then fits neither. A number (integer or decimal) or a date.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Bound {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
        use utoipa::openapi::KnownFormat;
        OneOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Number)
                    .description(Some("A number: an integer for `integer` fields, any for `decimal`")),
            )
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
            )
            .description(Some(
                "A lower or upper bound; which variant fits depends on the field kind (see `FieldKind`).",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Bound {}

/// One choice of a `select_one` or `select_multiple` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// What the answer holds: `[A-Za-z0-9_.-]`, at most 64 characters, unique within the field.
    #[cfg_attr(feature = "openapi", schema(example = "grave_illness"))]
    pub value: String,
    pub label: Label,
}

impl Choice {
    pub fn new(value: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            label: Label::new(zh, en),
        }
    }
}

/// One question of a form, or a repeat group of questions.
///
/// Attributes that do not apply to the kind are refused by `check()` rather than ignored, so a
/// typo in a definition cannot silently switch a rule off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// `[a-z_][a-z0-9_]*`, at most 64 characters, unique among the fields of its level (the form's
    /// top level or one repeat group). This is the key of the answer.
    #[cfg_attr(feature = "openapi", schema(example = "annual_income"))]
    pub name: String,
    pub label: Label,
    pub kind: FieldKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<Label>,
    /// An answer is needed whenever the field is relevant.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// Value (integer, decimal, date), length (text), number chosen (select_multiple) or number
    /// of instances (repeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<Bound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<Bound>,
    /// A regular expression (Rust `regex` syntax) the whole text must match; implicitly
    /// anchored at both ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "[0-9]{11}"))]
    pub pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// When the field applies (skip logic). Absent: always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = "${disability_level} != 'none'"))]
    pub relevant: Option<String>,
    /// Must hold for a given answer; `.` is the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(example = ". >= 0 and . <= 120"))]
    pub constraint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint_message: Option<Label>,
    /// The value of a `calculate` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calculate: Option<String>,
    /// The fields of a repeat group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub fields: Vec<Field>,
}

impl Field {
    /// A field of the given kind with nothing else set; for building definitions in code.
    pub fn new(name: impl Into<String>, kind: FieldKind, label: Label) -> Self {
        Self {
            name: name.into(),
            label,
            kind,
            hint: None,
            required: false,
            min: None,
            max: None,
            pattern: None,
            choices: Vec::new(),
            relevant: None,
            constraint: None,
            constraint_message: None,
            calculate: None,
            fields: Vec::new(),
        }
    }
}
