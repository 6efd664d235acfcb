//! The household registry (一户一档): checking, sealing and storing households and their
//! members. One path for the API, the CSV import and the demo city.

pub mod read;
pub mod regrid;
pub mod stored;
pub mod validate;
pub mod wire;
pub mod write;

pub use validate::{ValidHousehold, ValidMember};

/// Associated data for sealed columns: a ciphertext cannot be moved to another column.
pub const ID_CONTEXT: &str = "members.id_number";
pub const PHONE_CONTEXT: &str = "members.phone";
/// Blind-index purposes.
pub const ID_INDEX: &str = "id_number";

/// Today in Asia/Shanghai (UTC+8, no daylight saving): the date a family and an officer write down.
pub fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}
