//! The citizen mini-program: registration, self-reports, and what a family sees of its case.

pub mod my;
pub mod register;
pub mod self_reports;
