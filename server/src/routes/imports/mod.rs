//! `/imports/{source}`: department data (medical claims, disability, education, unemployment,
//! deaths), matched to members and run through the rules.

pub mod department;
