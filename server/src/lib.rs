//! Jiuzhu (救助): the server. See ARCHITECTURE.md for how the modules fit together.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod bench_seed;
pub mod changes;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod demo_households;
pub mod domain;
pub mod error;
pub mod forms;
pub mod grid_index;
pub mod imports;
pub mod openapi;
pub mod registry;
pub mod routes;
pub mod scope;
pub mod startup;
pub mod state;
pub mod tasks;
pub mod telemetry;
