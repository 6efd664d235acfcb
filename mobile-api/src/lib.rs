//! The phone SDK: a typed client over the `jiuzhu-proto` wire types. The reference client of the
//! API; the server's end-to-end tests drive the server through it.

pub mod client;

pub use client::{Client, ClientError};
