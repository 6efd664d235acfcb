//! `/households`: the registry within the caller's subtree.

pub mod conflicts;
pub mod create;
pub mod evaluate;
pub mod get;
pub mod import;
pub mod list;
pub mod reveal;
pub mod update;
