//! `/findings`: what the rules and citizens raised, converted or dismissed by coordinators.

pub mod act;
pub mod list;
