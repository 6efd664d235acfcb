//! Domain types and rules that know nothing of HTTP or SQL.

pub mod account;
pub mod geo;
pub mod id_number;
pub mod org;
pub mod roles;
pub mod stored;
pub mod time;
