//! `jiuzhu-field`: what a grid worker's phone does, from a terminal.
//!
//! State lives under `--home`: `session.json` (tokens), `store.sqlite` (what sync brought) and
//! `outbox.sqlite` (visits waiting for the server).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::{Duration, Utc};
use clap::{Parser, Subcommand};
use jiuzhu_mobile_api::outbox::ItemState;
use jiuzhu_mobile_api::{Client, Outbox, RetryPolicy, Store};
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::visit::{LocationFix, SubmitVisit};
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
    /// Where the session, the synced data and the outbox are kept.
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
    /// Fetch what changed: tasks, their households, their forms.
    Sync,
    /// List the tasks on this device.
    Tasks,
    /// Record a visit for a task: checked against the task's form here, then queued.
    Visit {
        #[arg(long)]
        task: uuid::Uuid,
        /// A JSON file with the answers.
        #[arg(long)]
        answers: PathBuf,
        /// Where the visit happened (WGS-84); the household's registered point when absent.
        #[arg(long, requires = "lon")]
        lat: Option<f64>,
        #[arg(long, requires = "lat")]
        lon: Option<f64>,
        #[arg(long, default_value_t = 10.0)]
        accuracy: f64,
        /// Minutes spent on site (the visit ends now).
        #[arg(long, default_value_t = 20)]
        minutes: i64,
        /// A photo to attach: `PATH`, or `FIELD=PATH` to also answer the form's photo field.
        #[arg(long)]
        photo: Vec<String>,
    },
    /// Show what waits to be sent, and what needs attention.
    Outbox,
    /// Send what is due.
    Push,
    /// Put an item that needed attention back in the queue.
    Requeue { id: uuid::Uuid },
}

#[derive(Debug, Serialize, Deserialize)]
struct Session {
    access_token: String,
    refresh_token: String,
    device_id: String,
    /// The device token of the last log-in, sent with the next one (kept when logging out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    device_token: Option<String>,
}

fn session_path(home: &Path) -> PathBuf {
    home.join("session.json")
}

fn load_session(home: &Path) -> anyhow::Result<Session> {
    let bytes = std::fs::read(session_path(home)).context("not logged in: run `login` first")?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// Writes the session (the tokens, which act for the worker) readable by its owner only, in a home
/// folder only its owner may enter: the outbox beside it holds households' answers and photos.
fn save_session(home: &Path, session: &Session) -> anyhow::Result<()> {
    let path = session_path(home);
    let tmp = path.with_extension("tmp");
    // A leftover of a crash keeps its old mode through an open: start afresh.
    let _ = std::fs::remove_file(&tmp);
    let mut file = private_file(&tmp)?;
    file.write_all(&serde_json::to_vec_pretty(session)?)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, path)?;
    Ok(())
}

#[cfg(unix)]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::create(path)
}

/// A client with the stored access token.
fn authed(server: &str, home: &Path) -> anyhow::Result<Client> {
    let session = load_session(home)?;
    Ok(Client::new(server).with_token(session.access_token))
}

/// Swaps the refresh token for a new pair after a 401 (access tokens live minutes, a day
/// offline outlasts them).
async fn refresh(client: &mut Client, home: &Path) -> anyhow::Result<()> {
    let session = load_session(home)?;
    let pair = client
        .refresh(&session.refresh_token, Some(&session.device_id))
        .await
        .context("the session has ended: log in again")?;
    save_session(
        home,
        &Session {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            device_id: session.device_id,
            device_token: session.device_token,
        },
    )
}

fn is_unauthorized(e: &jiuzhu_mobile_api::store::StoreError) -> bool {
    matches!(e, jiuzhu_mobile_api::store::StoreError::Client(c)
        if c.status() == Some(reqwest::StatusCode::UNAUTHORIZED))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let home = cli.home.as_path();
    // Every file under home (tokens, the synced households, the outbox's answers and photos) is the
    // worker's alone.
    private_dir(home).with_context(|| format!("cannot make {}", home.display()))?;
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
            let mut client = Client::new(&cli.server);
            client.set_device_token(load_session(home).ok().and_then(|s| s.device_token));
            let pair = client.login(&username, &password, Some(&device_id)).await?;
            save_session(
                home,
                &Session {
                    access_token: pair.access_token,
                    refresh_token: pair.refresh_token,
                    device_id,
                    device_token: pair.device_token,
                },
            )?;
            println!(
                "logged in as {} ({})",
                pair.user.username,
                pair.user.role.as_str()
            );
        }
        Command::Me => {
            let me = authed(&cli.server, home)?.me().await?;
            println!("{}", serde_json::to_string_pretty(&me)?);
        }
        Command::Sync => {
            let store = Store::open(&home.join("store.sqlite"))?;
            let mut client = authed(&cli.server, home)?;
            let report = match store.sync(&client).await {
                Err(e) if is_unauthorized(&e) => {
                    refresh(&mut client, home).await?;
                    store.sync(&client).await?
                }
                other => other?,
            };
            println!(
                "同步完成 / synced: {} tasks, {} households, {} forms, {} removed ({} pages)",
                report.tasks, report.households, report.forms, report.removed, report.pages
            );
        }
        Command::Tasks => {
            let store = Store::open(&home.join("store.sqlite"))?;
            for t in store.tasks()? {
                let address = store
                    .household(t.household_id)?
                    .map(|h| h.address)
                    .unwrap_or_default();
                println!(
                    "{}  {:<8} {:<9} due {}{}  {}",
                    t.id,
                    t.kind.as_str(),
                    t.state.as_str(),
                    t.due_date,
                    if t.overdue { " (overdue)" } else { "" },
                    address
                );
            }
        }
        Command::Visit {
            task,
            answers,
            lat,
            lon,
            accuracy,
            minutes,
            photo,
        } => {
            let store = Store::open(&home.join("store.sqlite"))?;
            let task = store
                .task(task)?
                .context("no such task on this device: run `sync`")?;
            let version = task
                .form_version
                .context("the task has no pinned form version")?;
            let form = store
                .form(&task.form_key, version)?
                .context("the task's form is not on this device: run `sync`")?;
            let (lat, lon) = match (lat, lon) {
                (Some(lat), Some(lon)) => (lat, lon),
                _ => {
                    let loc = store
                        .household(task.household_id)?
                        .and_then(|h| h.location)
                        .context("give --lat and --lon: the household has no registered point")?;
                    (loc.lat, loc.lon)
                }
            };
            let mut answers: serde_json::Value = serde_json::from_slice(&std::fs::read(&answers)?)
                .context("the answers file is not JSON")?;
            let outbox = Outbox::open(&home.join("outbox.sqlite"))?;
            // Checked before anything is queued, so a typo leaves nothing half-done.
            let photos: Vec<(Option<&str>, &Path)> = photo
                .iter()
                .map(|p| match p.split_once('=') {
                    Some((field, path)) => (Some(field), Path::new(path)),
                    None => (None, Path::new(p.as_str())),
                })
                .collect();
            for (_, path) in &photos {
                if !path.is_file() {
                    bail!("no such photo file: {}", path.display());
                }
            }
            let mut photo_ids = Vec::new();
            let now = Utc::now();
            let visit = SubmitVisit {
                id: uuid::Uuid::new_v4(),
                task_id: task.id,
                form_key: task.form_key.clone(),
                form_version: version,
                answers: answers.clone(),
                location: LocationFix {
                    lat,
                    lon,
                    accuracy_m: accuracy,
                    crs: Some(Crs::Wgs84),
                    fix_time: now - Duration::minutes(minutes / 2),
                    mock: false,
                },
                started_at: now - Duration::minutes(minutes),
                finished_at: now,
                photo_ids: Vec::new(),
                staff: Vec::new(),
                supersedes: None,
            };
            let mut visit = visit;
            // Validate first with placeholder ids, so bad answers queue no photos.
            for (field, _) in &photos {
                let id = uuid::Uuid::new_v4();
                if let (Some(field), Some(map)) = (field, visit.answers.as_object_mut()) {
                    map.insert((*field).to_owned(), id.to_string().into());
                }
            }
            let check = form
                .check()
                .map_err(|e| anyhow::anyhow!("{} form problems", e.len()))?;
            let outcome = check.validate(&visit.answers);
            if !outcome.is_valid() {
                for e in &outcome.errors {
                    eprintln!("{}: {}", e.field, e.message);
                }
                bail!(
                    "{} problems with the answers; nothing queued",
                    outcome.errors.len()
                );
            }
            for (field, path) in &photos {
                let id = outbox.queue_photo(path)?;
                if let (Some(field), Some(map)) = (field, answers.as_object_mut()) {
                    map.insert((*field).to_owned(), id.to_string().into());
                }
                photo_ids.push(id);
            }
            visit.answers = answers;
            visit.photo_ids = photo_ids;
            match outbox.queue_visit(&visit, &form) {
                Ok(()) => println!("已保存待发送 / queued visit {}", visit.id),
                Err(jiuzhu_mobile_api::outbox::OutboxError::Invalid(errors)) => {
                    for e in &errors {
                        eprintln!("{}: {}", e.field, e.message);
                    }
                    bail!("{} problems with the answers; nothing queued", errors.len());
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::Outbox => {
            let outbox = Outbox::open(&home.join("outbox.sqlite"))?;
            for item in outbox.items()? {
                println!(
                    "{}  {:<5} {:<15} tries {}{}",
                    item.id,
                    item.kind,
                    match item.state {
                        ItemState::Queued => "queued",
                        ItemState::NeedsAttention => "NEEDS ATTENTION",
                        ItemState::Sent => "sent",
                    },
                    item.attempts,
                    item.last_error
                        .map(|e| format!("  ({e})"))
                        .unwrap_or_default()
                );
            }
        }
        Command::Push => {
            let outbox = Outbox::open(&home.join("outbox.sqlite"))?;
            let mut client = authed(&cli.server, home)?;
            let policy = RetryPolicy::default();
            let mut report = outbox.push(&client, &policy).await?;
            if report.unauthorized {
                refresh(&mut client, home).await?;
                report = outbox.push(&client, &policy).await?;
            }
            println!(
                "sent {}, already there {}, retry later {}, waiting {}, needs attention {}",
                report.sent,
                report.replayed,
                report.retry_later,
                report.waiting,
                report.needs_attention
            );
            if report.needs_attention > 0 {
                std::process::exit(2);
            }
        }
        Command::Requeue { id } => {
            let outbox = Outbox::open(&home.join("outbox.sqlite"))?;
            if !outbox.requeue(id)? {
                bail!("{id} is not an item that needs attention");
            }
            println!("requeued {id}");
        }
    }
    Ok(())
}
