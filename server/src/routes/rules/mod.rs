//! `/rules`: the discovery rule table, versioned; and the gaps left by missing standards.

pub mod gaps;
pub mod list;
pub mod put;
