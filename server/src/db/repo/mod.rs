//! One module per table: row types, insert and update forms, and the queries on them.

pub mod applications;
pub mod audit;
#[cfg(feature = "bench")]
pub mod bench;
pub mod changes;
pub mod departments;
pub mod findings;
pub mod households;
pub mod import_jobs;
pub mod jobs;
pub mod login;
pub mod org_units;
pub mod photos;
pub mod sealed;
pub mod self_reports;
pub mod standards;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod visits;
