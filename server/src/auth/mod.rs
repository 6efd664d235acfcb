//! Passwords, second factors, tokens, the `Caller` extractor, and the log-in limits.

pub mod caller;
pub mod device;
pub mod limits;
pub mod password;
pub mod second_factor;
pub mod session;
pub mod token;

pub use caller::Caller;
pub use password::PasswordHasher;
