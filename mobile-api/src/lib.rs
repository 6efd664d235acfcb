//! The phone SDK: a typed client over the `jiuzhu-proto` wire types, the local store of what
//! sync brought, and the outbox that holds visits until the server has them. The reference client
//! of the API; the server's end-to-end tests drive the server through it.

pub mod client;
pub mod outbox;
pub mod store;

pub use client::{Client, ClientError};
pub use outbox::{Outbox, PushReport, RetryPolicy};
pub use store::Store;
