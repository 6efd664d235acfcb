//! `/visits`: visit reports, their checks and their review.

pub mod get;
pub mod list;
pub mod review;
pub mod submit;
