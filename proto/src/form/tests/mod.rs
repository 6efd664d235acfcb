//! Tests of the form engine: definitions, the expression language, validation, and properties.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod definition;
mod expressions;
mod home_visit;
mod properties;
mod wire;

use chrono::NaiveDate;
use serde_json::Value as Json;

use super::{
    Bound, Choice, CompiledForm, Field, FieldKind, FormDefinition, Label, ValidationOutcome,
};
use crate::error::FieldError;

pub(super) fn field(name: &str, kind: FieldKind) -> Field {
    Field::new(name, kind, Label::new(name, name))
}

/// Builder-style setters for test definitions.
pub(super) trait Build: Sized {
    fn required(self) -> Self;
    fn relevant(self, e: &str) -> Self;
    fn constraint(self, e: &str) -> Self;
    fn message(self, zh: &str, en: &str) -> Self;
    fn calc(self, e: &str) -> Self;
    fn min(self, b: Bound) -> Self;
    fn max(self, b: Bound) -> Self;
    fn pattern(self, p: &str) -> Self;
    fn choices(self, values: &[&str]) -> Self;
    fn fields(self, fields: Vec<Field>) -> Self;
}

impl Build for Field {
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn relevant(mut self, e: &str) -> Self {
        self.relevant = Some(e.into());
        self
    }
    fn constraint(mut self, e: &str) -> Self {
        self.constraint = Some(e.into());
        self
    }
    fn message(mut self, zh: &str, en: &str) -> Self {
        self.constraint_message = Some(Label::new(zh, en));
        self
    }
    fn calc(mut self, e: &str) -> Self {
        self.calculate = Some(e.into());
        self
    }
    fn min(mut self, b: Bound) -> Self {
        self.min = Some(b);
        self
    }
    fn max(mut self, b: Bound) -> Self {
        self.max = Some(b);
        self
    }
    fn pattern(mut self, p: &str) -> Self {
        self.pattern = Some(p.into());
        self
    }
    fn choices(mut self, values: &[&str]) -> Self {
        self.choices = values.iter().map(|v| Choice::new(*v, *v, *v)).collect();
        self
    }
    fn fields(mut self, fields: Vec<Field>) -> Self {
        self.fields = fields;
        self
    }
}

pub(super) fn calc(name: &str, e: &str) -> Field {
    field(name, FieldKind::Calculate).calc(e)
}

pub(super) fn form(fields: Vec<Field>) -> FormDefinition {
    FormDefinition {
        key: "test_form".into(),
        title: Label::new("测试", "Test"),
        version: 1,
        fields,
    }
}

/// Checks a definition that must be valid, showing the errors if it is not.
pub(super) fn compile(fields: Vec<Field>) -> CompiledForm {
    match form(fields).check() {
        Ok(c) => c,
        Err(errors) => panic!("form should check: {errors:#?}"),
    }
}

/// The errors of a definition that must be refused.
pub(super) fn refuse(fields: Vec<Field>) -> Vec<FieldError> {
    match form(fields).check() {
        Ok(_) => panic!("form should be refused"),
        Err(errors) => errors,
    }
}

pub(super) fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

pub(super) const TODAY: &str = "2025-06-15";

pub(super) fn validate(form: &CompiledForm, answers: Json) -> ValidationOutcome {
    form.validate_at(&answers, day(TODAY))
}

/// `(path, code)` of each error.
pub(super) fn codes(errors: &[FieldError]) -> Vec<(&str, &str)> {
    errors
        .iter()
        .map(|e| (e.field.as_str(), e.code.as_str()))
        .collect()
}
