//! The photo pipeline and stores on real and hostile files. One test binary (shared build, parallel
//! tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bad_inputs;
mod formats;
mod real_photos;
mod store_contract;
mod store_fs;
mod store_s3;
mod support;
mod synthetic;
