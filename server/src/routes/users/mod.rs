//! `/users`: accounts within the caller's subtree.

pub mod create;
pub mod list;
pub mod second_factor;
pub mod update;
