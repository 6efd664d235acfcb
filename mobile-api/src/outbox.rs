//! The phone's outbox: visits (and, later, photos) saved on the device until the server has them.
//!
//! Items live in a local SQLite file (WAL, `synchronous=FULL`), so a queued visit survives the app
//! being killed or the phone restarting. Each item keeps its client UUID, which is also the id the
//! server stores it under: sending it twice (a response lost on a weak network) is answered as a
//! replay, so pushing is at-least-once on the wire and exactly-once on the server.
//!
//! [`Outbox::push`] sends what is due, oldest first. A network failure, a 5xx or a 429 is
//! retryable: the item waits with exponential backoff (and jitter) and the pass stops, since the
//! next item would fail the same way. Any other 4xx is permanent: the item moves to
//! `needs_attention` with the server's error code and is never retried on its own, nor dropped;
//! the worker fixes it (or asks for help) and calls [`Outbox::requeue`].
//!
//! A visit waits for its own photos: it is not due while a photo it names is still unsent, and a
//! refusal only because the server lacks one of its photos is a retry, not a dead end.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jiuzhu_proto::form::{CompiledForm, FormDefinition};
use jiuzhu_proto::visit::SubmitVisit;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::client::{Client, ClientError};

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Waiting to be sent (again).
    Queued,
    /// The server refused it for good; a person must look.
    NeedsAttention,
    /// The server has it.
    Sent,
}

impl ItemState {
    fn as_str(self) -> &'static str {
        match self {
            ItemState::Queued => "queued",
            ItemState::NeedsAttention => "needs_attention",
            ItemState::Sent => "sent",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "queued" => Some(ItemState::Queued),
            "needs_attention" => Some(ItemState::NeedsAttention),
            "sent" => Some(ItemState::Sent),
            _ => None,
        }
    }
}

/// A refusal only because a photo the visit names is not on the server (yet).
fn missing_photo(e: &ClientError) -> bool {
    match e {
        ClientError::Api { body, .. } => {
            !body.details.is_empty()
                && body
                    .details
                    .iter()
                    .all(|d| d.field.starts_with("photo_ids") && d.code == "unknown_photo")
        }
        _ => false,
    }
}

/// One outbox entry as a list shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OutboxItem {
    pub id: uuid::Uuid,
    pub kind: String,
    pub state: ItemState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The server's error code (permanent failures) or the last transient error.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// How long to wait between tries.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with "full jitter": a random wait up to `base * 2^attempts`, capped.
    /// A server's Retry-After, when it sent one, is a floor.
    pub fn delay(&self, attempts: u32, retry_after: Option<u64>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempts.min(20))
            .min(self.max);
        let jittered = ceiling.mul_f64(rand::random::<f64>().max(0.1));
        jittered.max(Duration::from_secs(retry_after.unwrap_or(0)))
    }
}

/// What one push pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PushReport {
    /// Stored by the server now.
    pub sent: u32,
    /// The server had them already (an earlier response was lost).
    pub replayed: u32,
    /// Failed for now; they wait for their next attempt.
    pub retry_later: u32,
    /// Refused for good; see [`Outbox::items`].
    pub needs_attention: u32,
    /// Not due yet (backing off).
    pub waiting: u32,
    /// The server wants a new log-in; nothing was counted against the items.
    pub unauthorized: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("outbox encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("the answers do not pass the form's checks ({} problems)", .0.len())]
    Invalid(Vec<jiuzhu_proto::error::FieldError>),
    #[error("the form does not match the visit: {0}")]
    WrongForm(String),
    #[error("an item with this id is already queued")]
    Duplicate,
    #[error("outbox file: {0}")]
    Io(std::io::Error),
}

pub type Result<T> = std::result::Result<T, OutboxError>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, seq);
";

/// The device's outbox.
pub struct Outbox {
    conn: Mutex<Connection>,
    /// Where queued photos are copied, so the gallery can drop them without loss.
    photo_dir: std::path::PathBuf,
}

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn from_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

struct Due {
    id: String,
    kind: String,
    body: String,
    attempts: u32,
}

impl Outbox {
    /// Opens (creating if needed) the outbox file.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        let photo_dir = path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("outbox-photos");
        std::fs::create_dir_all(&photo_dir).map_err(OutboxError::Io)?;
        Ok(Self {
            conn: Mutex::new(conn),
            photo_dir,
        })
    }

    fn next_seq(conn: &Connection) -> Result<i64> {
        Ok(
            conn.query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox", [], |r| {
                r.get(0)
            })?,
        )
    }

    /// Copies a photo into the outbox (fsynced) and queues it under a new UUID, returned for the
    /// visit to name. Photos are sent before the visits queued after them.
    pub fn queue_photo(&self, source: &Path) -> Result<uuid::Uuid> {
        let id = uuid::Uuid::new_v4();
        let dest = self.photo_dir.join(id.to_string());
        std::fs::copy(source, &dest).map_err(OutboxError::Io)?;
        std::fs::File::open(&dest)
            .and_then(|f| f.sync_all())
            .map_err(OutboxError::Io)?;
        let conn = self.conn();
        let seq = Self::next_seq(&conn)?;
        conn.execute(
            "INSERT INTO outbox (id, kind, body, state, created_at, seq)
             VALUES (?1, 'photo', ?2, 'queued', ?3, ?4)",
            params![id.to_string(), dest.to_string_lossy(), now_ms(), seq],
        )?;
        Ok(id)
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (each statement is atomic),
        // so a poisoned lock is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks a visit against its form with the same engine the server uses, then queues it.
    /// Nothing is queued when the answers have problems: they come back, every one.
    pub fn queue_visit(&self, visit: &SubmitVisit, form: &FormDefinition) -> Result<()> {
        if form.key != visit.form_key || i64::from(form.version) != i64::from(visit.form_version) {
            return Err(OutboxError::WrongForm(format!(
                "{} v{} is not {} v{}",
                form.key, form.version, visit.form_key, visit.form_version
            )));
        }
        let compiled: CompiledForm = form.check().map_err(OutboxError::Invalid)?;
        let day = (visit.started_at + chrono::Duration::hours(8)).date_naive();
        let outcome = compiled.validate_at(&visit.answers, day);
        if !outcome.is_valid() {
            return Err(OutboxError::Invalid(outcome.errors));
        }
        let body = serde_json::to_string(visit)?;
        let conn = self.conn();
        let seq = Self::next_seq(&conn)?;
        let inserted = conn.execute(
            "INSERT INTO outbox (id, kind, body, state, created_at, seq)
             VALUES (?1, 'visit', ?2, 'queued', ?3, ?4) ON CONFLICT (id) DO NOTHING",
            params![visit.id.to_string(), body, now_ms(), seq],
        )?;
        if inserted == 0 {
            return Err(OutboxError::Duplicate);
        }
        Ok(())
    }

    /// Every item, oldest first.
    pub fn items(&self) -> Result<Vec<OutboxItem>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id, kind, state, attempts, next_attempt_at, last_error, created_at
             FROM outbox ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, u32>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, i64>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, kind, state, attempts, next, last_error, created) = row?;
            out.push(OutboxItem {
                id: id.parse().unwrap_or_default(),
                kind,
                state: ItemState::parse(&state).unwrap_or(ItemState::NeedsAttention),
                attempts,
                next_attempt_at: next.and_then(from_ms),
                last_error,
                created_at: from_ms(created).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// Puts an item that needed attention back in the queue, to be sent on the next push.
    pub fn requeue(&self, id: uuid::Uuid) -> Result<bool> {
        let n = self.conn().execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = NULL, attempts = 0
             WHERE id = ?1 AND state = 'needs_attention'",
            params![id.to_string()],
        )?;
        Ok(n == 1)
    }

    /// The queued items whose time has come, oldest first, and how many wait. A visit waits for
    /// its own photos: while any photo it names is still in the outbox unsent (backing off, or
    /// needing attention), sending the visit would only be refused for the missing photo.
    fn due(&self, now: i64) -> Result<(Vec<Due>, u32)> {
        let conn = self.conn();
        let unsent: std::collections::HashSet<String> = conn
            .prepare("SELECT id FROM outbox WHERE kind = 'photo' AND state != 'sent'")?
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<_, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT id, kind, body, attempts, next_attempt_at FROM outbox
             WHERE state = 'queued' ORDER BY seq",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                Due {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    body: r.get(2)?,
                    attempts: r.get(3)?,
                },
                r.get::<_, Option<i64>>(4)?,
            ))
        })?;
        let mut due = Vec::new();
        let mut waiting = 0;
        for row in rows {
            let (item, next) = row?;
            let photos_pending = item.kind == "visit"
                && serde_json::from_str::<SubmitVisit>(&item.body)
                    .is_ok_and(|v| v.photo_ids.iter().any(|p| unsent.contains(&p.to_string())));
            if next.is_some_and(|n| n > now) || photos_pending {
                waiting += 1;
            } else {
                due.push(item);
            }
        }
        Ok((due, waiting))
    }

    fn mark(&self, id: &str, state: ItemState, error: Option<&str>) -> Result<()> {
        let sent_at = (state == ItemState::Sent).then(now_ms);
        self.conn().execute(
            "UPDATE outbox SET state = ?2, last_error = ?3, sent_at = ?4, next_attempt_at = NULL
             WHERE id = ?1",
            params![id, state.as_str(), error, sent_at],
        )?;
        Ok(())
    }

    fn back_off(&self, item: &Due, policy: &RetryPolicy, error: &ClientError) -> Result<()> {
        let retry_after = match error {
            ClientError::Api { retry_after, .. } => *retry_after,
            _ => None,
        };
        let wait = policy.delay(item.attempts, retry_after);
        let next = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
        let reason = match error.code() {
            Some(code) => code.as_str().to_owned(),
            None => match error.status() {
                Some(status) => format!("http {}", status.as_u16()),
                None => "network".to_owned(),
            },
        };
        self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
             WHERE id = ?1",
            params![item.id, next, reason],
        )?;
        Ok(())
    }

    /// Sends every due item, oldest first, and records what happened to each. A visit that waited
    /// for its photos goes in the same push once they are sent: passes repeat until nothing new
    /// is due.
    pub async fn push(&self, client: &Client, policy: &RetryPolicy) -> Result<PushReport> {
        let mut report = PushReport::default();
        loop {
            let (due, waiting) = self.due(now_ms())?;
            report.waiting = waiting;
            if due.is_empty() || !self.pass(client, policy, due, &mut report).await? {
                return Ok(report);
            }
        }
    }

    /// One pass over `due`; `false` when it stopped early (network, overload, log-in needed).
    async fn pass(
        &self,
        client: &Client,
        policy: &RetryPolicy,
        due: Vec<Due>,
        report: &mut PushReport,
    ) -> Result<bool> {
        for item in due {
            let outcome = match item.kind.as_str() {
                "visit" => {
                    let visit: SubmitVisit = serde_json::from_str(&item.body)?;
                    client.submit_visit(&visit).await.map(|s| s.replay)
                }
                "photo" => match std::fs::read(&item.body) {
                    Ok(bytes) => match item.id.parse() {
                        Ok(id) => client.put_photo(id, bytes).await.map(|(_, replay)| replay),
                        Err(_) => {
                            self.mark(&item.id, ItemState::NeedsAttention, Some("bad id"))?;
                            report.needs_attention += 1;
                            continue;
                        }
                    },
                    Err(e) => {
                        let reason = format!("photo file unreadable: {e}");
                        self.mark(&item.id, ItemState::NeedsAttention, Some(&reason))?;
                        report.needs_attention += 1;
                        continue;
                    }
                },
                other => {
                    let reason = format!("unknown item kind {other}");
                    self.mark(&item.id, ItemState::NeedsAttention, Some(&reason))?;
                    report.needs_attention += 1;
                    continue;
                }
            };
            match outcome {
                Ok(replay) => {
                    self.mark(&item.id, ItemState::Sent, None)?;
                    if item.kind == "photo" {
                        // The server has it; the device copy can go.
                        let _ = std::fs::remove_file(&item.body);
                    }
                    if replay {
                        report.replayed += 1;
                    } else {
                        report.sent += 1;
                    }
                }
                Err(e) if e.status() == Some(reqwest::StatusCode::UNAUTHORIZED) => {
                    report.unauthorized = true;
                    return Ok(false);
                }
                // The server does not have a photo the visit names yet (sent by another device
                // or path, or not yet arrived): the visit waits for it, it is not wrong.
                Err(e) if missing_photo(&e) => {
                    self.back_off(&item, policy, &e)?;
                    report.retry_later += 1;
                }
                Err(e) if e.is_retryable() => {
                    self.back_off(&item, policy, &e)?;
                    report.retry_later += 1;
                    // The next item would meet the same network or the same overloaded server.
                    return Ok(false);
                }
                Err(e) => {
                    let code = e
                        .code()
                        .map(|c| c.as_str().to_owned())
                        .unwrap_or_else(|| e.to_string());
                    self.mark(&item.id, ItemState::NeedsAttention, Some(&code))?;
                    report.needs_attention += 1;
                }
            }
        }
        Ok(true)
    }

    /// The body of a queued item, for showing or fixing it.
    pub fn visit(&self, id: uuid::Uuid) -> Result<Option<SubmitVisit>> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM outbox WHERE id = ?1 AND kind = 'visit'",
                params![id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }
}
