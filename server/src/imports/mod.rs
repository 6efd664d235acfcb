//! Streaming and batch imports: boundaries, households, department data, XLSForms.

pub mod boundaries;
pub mod departments;
pub mod households;
pub mod tuning;
pub mod xlsform;
