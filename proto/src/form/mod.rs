//! The form engine: form definitions, their check, and validation of answer sets.
//!
//! One implementation for the server and the phone SDK, so a visit that passes on the phone
//! passes on the server. [`FormDefinition::check`] turns a definition into a [`CompiledForm`] (or
//! every problem with it at once); [`CompiledForm::validate`] checks an answer set and computes
//! the calculated fields. The expression language is documented in [`expr`].
//!
//! Answers are a JSON object keyed by field name: repeats are arrays of objects, dates
//! `"YYYY-MM-DD"`, select_multiple an array of choice values, geopoint `{lat, lon, accuracy?}`,
//! photo a UUID string. Answers given for fields that are not relevant are dropped, as ODK does
//! (a worker who changes an earlier answer should not be blocked by what a hidden question still
//! holds), and listed in [`ValidationOutcome::dropped`] so the server stores the cleaned set.

mod check;
mod date;
mod definition;
mod eval;
pub mod expr;
mod import;
#[cfg(feature = "synthetic")]
pub mod synthetic;
mod validate;

#[cfg(test)]
mod tests;

pub use check::CompiledForm;
pub use definition::{Bound, Choice, Field, FieldKind, FormDefinition, Label};
pub use expr::{check_syntax, ParseError};
pub use import::{ImportNotice, ImportedForm};
pub use validate::ValidationOutcome;

/// At most this many fields in a form, counting those inside repeats.
pub const MAX_FIELDS: usize = 2_000;
/// Repeats nest at most this deep (a repeat in a repeat in a repeat).
pub const MAX_REPEAT_DEPTH: usize = 3;
/// At most this many choices per field.
pub const MAX_CHOICES: usize = 1_000;
/// At most this many bytes in a `pattern`.
pub const MAX_PATTERN_BYTES: usize = 1_024;
/// At most this many instances in one repeat answer (a form's own `max` may be lower).
pub const MAX_INSTANCES: usize = 1_000;
/// At most this many repeat instances in one answer set, all repeats together.
pub const MAX_TOTAL_INSTANCES: usize = 10_000;
/// At most this many answers (fields × instances) are checked in one answer set, so the work
/// of validating is bounded whatever the form and the answers.
pub const MAX_ANSWER_CELLS: usize = 200_000;
/// At most this many errors are reported; past that, one `too_many_errors` closes the list.
pub const MAX_ERRORS: usize = 1_000;
/// Names, keys and choice values are at most this long.
pub const MAX_NAME_LEN: usize = 64;

/// The `code` of each [`FieldError`](crate::error::FieldError) the engine reports; clients
/// switch on these.
pub mod code {
    // Problems with a definition (`check`).
    pub const INVALID_KEY: &str = "invalid_key";
    pub const INVALID_VERSION: &str = "invalid_version";
    pub const MISSING_LABEL: &str = "missing_label";
    pub const NO_FIELDS: &str = "no_fields";
    pub const TOO_MANY_FIELDS: &str = "too_many_fields";
    pub const TOO_DEEP: &str = "too_deep";
    pub const INVALID_NAME: &str = "invalid_name";
    pub const DUPLICATE_NAME: &str = "duplicate_name";
    pub const NOT_APPLICABLE: &str = "not_applicable";
    pub const MISSING_CHOICES: &str = "missing_choices";
    pub const TOO_MANY_CHOICES: &str = "too_many_choices";
    pub const INVALID_CHOICE_VALUE: &str = "invalid_choice_value";
    pub const DUPLICATE_CHOICE: &str = "duplicate_choice";
    pub const INVALID_BOUND: &str = "invalid_bound";
    pub const INVALID_PATTERN: &str = "invalid_pattern";
    pub const MISSING_CALCULATE: &str = "missing_calculate";
    pub const EMPTY_REPEAT: &str = "empty_repeat";
    pub const EXPRESSION_TOO_LONG: &str = "expression_too_long";
    pub const EXPRESSION_TOO_DEEP: &str = "expression_too_deep";
    pub const SYNTAX_ERROR: &str = "syntax_error";
    pub const UNKNOWN_FIELD: &str = "unknown_field";
    pub const UNKNOWN_CHOICE: &str = "unknown_choice";
    pub const TYPE_MISMATCH: &str = "type_mismatch";
    pub const CYCLE: &str = "cycle";

    // Problems with an answer set (`validate`).
    pub const NOT_AN_OBJECT: &str = "not_an_object";
    pub const NOT_AN_INPUT: &str = "not_an_input";
    pub const REQUIRED: &str = "required";
    pub const WRONG_TYPE: &str = "wrong_type";
    pub const INVALID_DATE: &str = "invalid_date";
    pub const INVALID_GEOPOINT: &str = "invalid_geopoint";
    pub const INVALID_PHOTO: &str = "invalid_photo";
    pub const NOT_A_CHOICE: &str = "not_a_choice";
    pub const BELOW_MIN: &str = "below_min";
    pub const ABOVE_MAX: &str = "above_max";
    pub const PATTERN_MISMATCH: &str = "pattern_mismatch";
    pub const CONSTRAINT_FAILED: &str = "constraint_failed";
    pub const TOO_MANY_INSTANCES: &str = "too_many_instances";
    pub const DIVISION_BY_ZERO: &str = "division_by_zero";
    pub const OVERFLOW: &str = "overflow";
    pub const NOT_FINITE: &str = "not_finite";
    pub const EVALUATION_TOO_COSTLY: &str = "evaluation_too_costly";
    pub const EVALUATION_ERROR: &str = "evaluation_error";

    // Either.
    pub const TOO_MANY_ERRORS: &str = "too_many_errors";
}

use crate::error::FieldError;

fn field_error(field: impl Into<String>, code: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.to_owned(),
        message: message.into(),
    }
}

/// The closing entry of a list cut at [`MAX_ERRORS`].
fn too_many_errors(more: usize) -> FieldError {
    field_error(
        "",
        code::TOO_MANY_ERRORS,
        format!("错误过多 / {more} more errors not shown"),
    )
}
