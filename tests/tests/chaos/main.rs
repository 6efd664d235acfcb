//! Chaos tests (issue 21 §4–5): the real `jiuzhu` binary killed with SIGKILL while phones write
//! to it, a private PostgreSQL cluster stopped with `pg_ctl stop -m immediate`, and many phone
//! outboxes pushing through a TCP proxy that drops, delays, truncates and resets connections.
//!
//! Each run is deterministic in its choices given a seed: the seed is printed, and `CHAOS_SEED`
//! replays it. The default sizes are small enough for CI (`cargo test --workspace`); the long runs
//! are the same tests with larger numbers:
//!
//! ```text
//! cargo build -p jiuzhu-server
//! CHAOS_ROUNDS=100 cargo test -p jiuzhu-tests --test chaos crash -- --nocapture
//! CHAOS_NET_SECS=300 CHAOS_NET_VISITS=10 cargo test -p jiuzhu-tests --test chaos network -- --nocapture
//! ```
//!
//! The server binary is `JIUZHU_BIN`, else `target/debug/jiuzhu` beside this test (which
//! `cargo test --workspace` builds). The tests of this target run one at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod harness;
mod network;
mod proxy;
