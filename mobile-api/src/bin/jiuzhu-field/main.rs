//! `jiuzhu-field`: what a grid worker's phone does, from a terminal.

mod storm;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use jiuzhu_mobile_api::Client;
use serde::{Deserialize, Serialize};

#[derive(Debug, Parser)]
#[command(
    name = "jiuzhu-field",
    version,
    about = "Jiuzhu field client (what a phone does)"
)]
struct Cli {
    /// Server base URL.
    #[arg(long, env = "JIUZHU_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Where the session (tokens) is kept.
    #[arg(long, env = "JIUZHU_FIELD_HOME", default_value = ".jiuzhu-field")]
    home: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in; the password is read from JIUZHU_PASSWORD or standard input.
    Login {
        username: String,
        #[arg(long, default_value = "jiuzhu-field")]
        device_id: String,
    },
    /// Show the logged-in account.
    Me,
    /// Simulate many phones syncing at once and report throughput, latency and errors.
    Storm(storm::StormArgs),
}

#[derive(Debug, Serialize, Deserialize)]
struct Session {
    access_token: String,
    refresh_token: String,
    device_id: String,
}

fn session_path(home: &std::path::Path) -> PathBuf {
    home.join("session.json")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut client = Client::new(&cli.server);
    match cli.command {
        Command::Login {
            username,
            device_id,
        } => {
            let password = match std::env::var("JIUZHU_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let pair = client.login(&username, &password, Some(&device_id)).await?;
            std::fs::create_dir_all(&cli.home)?;
            let session = Session {
                access_token: pair.access_token,
                refresh_token: pair.refresh_token,
                device_id,
            };
            std::fs::write(
                session_path(&cli.home),
                serde_json::to_vec_pretty(&session)?,
            )?;
            println!(
                "logged in as {} ({})",
                pair.user.username,
                pair.user.role.as_str()
            );
        }
        Command::Me => {
            let session: Session =
                serde_json::from_slice(&std::fs::read(session_path(&cli.home))?)?;
            let client = client.with_token(session.access_token);
            let me = client.me().await?;
            println!("{}", serde_json::to_string_pretty(&me)?);
        }
        Command::Storm(args) => storm::run(&cli.server, args).await?,
    }
    Ok(())
}
