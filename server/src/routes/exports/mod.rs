//! `/exports`: streaming CSV and GeoJSON of what is in the caller's scope.

pub mod get;
