//! `/applications`: filing, reading and moving assistance applications through the workflow.

pub mod create;
pub mod list;
pub mod transition;
