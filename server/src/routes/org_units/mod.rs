//! `/org-units`: the hierarchy within the caller's subtree.

pub mod create;
pub mod get;
pub mod import;
pub mod list;
