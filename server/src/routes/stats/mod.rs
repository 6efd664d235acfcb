//! `/stats`: where an org unit stands.

pub mod jobs;
pub mod overview;
