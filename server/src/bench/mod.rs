//! BENCHMARK HARNESS, not a production path: compiled only with the non-default `bench` feature
//! (`cargo build --release -p jiuzhu-server --features bench`, which the scripts in `bench/` do),
//! so the shipped `jiuzhu` binary has none of it. It fills databases for the benchmarks through
//! the server's own code, which needs the crate's private database access:
//!
//! - `jiuzhu bench-seed` (`storm`): grid workers, their tasks and access tokens for
//!   `jiuzhu-bench storm` (the sync storm, and with `--visit-form-fields` the visit storm);
//! - `jiuzhu bench-seed-visits` (`visits`): visit rows for the export benchmark.

pub mod storm;
pub mod visits;

use clap::Subcommand;

use crate::config::Settings;

/// The harness's commands, flattened into `jiuzhu`'s and hidden from its help.
#[derive(Debug, Clone, Subcommand)]
pub enum BenchCommand {
    /// Benchmark harness: seed storm workers, tasks and tokens (see `bench::storm`).
    #[command(hide = true)]
    BenchSeed(storm::BenchSeedArgs),
    /// Benchmark harness: seed visit rows for the export benchmark (see `bench::visits`).
    #[command(hide = true)]
    BenchSeedVisits(visits::BenchSeedVisitsArgs),
}

/// Runs one of the harness's commands on the database the settings name.
pub async fn run(settings: Settings, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::BenchSeed(args) => {
            let r = tokio::task::spawn_blocking(move || storm::run(settings, &args)).await??;
            println!(
                "bench-seed: demo loaded {}, {} grids, workers {} created / {} reused, {} tasks created, {:.1} s",
                r.demo_loaded, r.grids, r.workers_created, r.workers_reused, r.tasks_created, r.seconds
            );
        }
        BenchCommand::BenchSeedVisits(args) => {
            let r = tokio::task::spawn_blocking(move || visits::run(settings, &args)).await??;
            println!(
                "bench-seed-visits: {} households, {} tasks created, {} visits, {:.1} s",
                r.households, r.tasks_created, r.visits, r.seconds
            );
        }
    }
    Ok(())
}
