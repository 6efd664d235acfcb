//! Wire types shared by the Jiuzhu server and the phone SDK: requests, responses and error codes.
//!
//! Nothing here knows about HTTP servers or databases, so the phone SDK can depend on it alone.

/// A snake_case wire enum with `ALL`, `as_str` and `parse`, for the database and the API alike.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

pub mod application;
pub mod audit;
pub mod auth;
pub mod citizen;
pub mod department;
pub mod error;
pub mod finding;
pub mod form;
pub mod geo;
pub mod household;
pub mod ids;
pub mod org;
pub mod page;
pub mod photo;
pub mod rule;
pub mod standard;
pub mod stats;
pub mod task;
pub mod user;
pub mod visit;
pub mod wire_time;

pub use error::{ErrorBody, ErrorCode};
pub use ids::{OrgUnitId, UserId};
