//! Streaming and batch imports: boundaries now; households and department data later.

pub mod boundaries;
pub mod departments;
pub mod households;
pub mod xlsform;
