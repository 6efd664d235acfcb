//! Wire types shared by the Jiuzhu server and the phone SDK: requests, responses and error codes.
//!
//! Nothing here knows about HTTP servers or databases, so the phone SDK can depend on it alone.

pub mod auth;
pub mod error;
pub mod form;
pub mod geo;
pub mod household;
pub mod ids;
pub mod org;
pub mod page;
pub mod task;
pub mod user;

pub use error::{ErrorBody, ErrorCode};
pub use ids::{OrgUnitId, UserId};
