//! End-to-end tests: a real server on port 0, each test on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_surface;
mod audit;
mod auth;
mod authz;
mod backup;
mod demo_activity;
mod demo_households;
mod departments;
mod discovery;
mod exports;
mod household_import;
mod households;
mod jobs;
mod lockout;
mod migrations;
mod org_units;
mod photos;
mod rechecks;
mod reseal;
mod scope;
mod stats;
mod sync_full;
mod tasks;
mod users;
mod visits;
