//! `jiuzhu-bench`: the load generators of the benchmarks in `bench/` (`storm.sh`,
//! `visit_storm.sh`). Many simulated phones, each with its own token from `jiuzhu bench-seed` (the
//! server's benchmark harness, built with its `bench` feature), sync or submit visits at once, and
//! the report gives throughput, latency percentiles and errors. Not part of the phone SDK: the
//! terminal phone a worker uses is `jiuzhu-field`.

mod storm;
mod visit_storm;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "jiuzhu-bench",
    version,
    about = "Jiuzhu load generator (many simulated phones at once)"
)]
struct Cli {
    /// Server base URL.
    #[arg(long, env = "JIUZHU_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Simulate many phones syncing (or, with --visits, submitting visits) at once and report
    /// throughput, latency and errors.
    Storm(storm::StormArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Storm(args) => storm::run(&cli.server, args).await,
    }
}
