//! `/standards`: dated assistance standards per district (public policy values).

pub mod list;
pub mod put;
