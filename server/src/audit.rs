//! The append-only, keyed hash chain of writes and sensitive reads. Each record's hash is an
//! HMAC-SHA256, under a key kept with the other secrets and never in the database, of its content
//! and the previous record's hash: whoever can write the database but lacks the key cannot edit,
//! insert, delete or reorder a record and recompute the chain. The head of the chain is signed,
//! under the same key, into a checkpoint file outside the database (`checkpoints`), so deleting
//! the newest records and moving the head back is caught too (`jiuzhu audit verify`).
//!
//! Databases from before the key keep their records: those are chained under plain SHA-256 up to
//! the switch-over point `audit_head.keyed_after` (set once, at the first keyed start, and signed
//! into every checkpoint), and keyed from there on.
//!
//! Writes by phones and citizens (a visit submitted, a photo stored, a registration, a log-out)
//! are many and concurrent; taking the head in each would serialise them all on PostgreSQL. They
//! are written to the journal (`audit_journal`) in the write's own transaction instead
//! ([`journal`]), and the server's sealer chains them into the log within a second
//! ([`seal_batch`], [`seal`]).
//! A record in the journal is not yet under the key: whoever can write the database could remove
//! it in that second. `jiuzhu audit verify` reports how many wait.
//!
//! A record names its actor, action, object, result, time and the request id the tracing
//! middleware gave the request (`request_id`). The key and the request id come from the audit
//! context ([`Context`]) that `AppState::db`, `tx` and `tx_grouped` enter for the work they run;
//! the command line installs its key for the process ([`install_process_key`]). Details never
//! hold personal data: ids and reasons, not ID numbers or names.

pub mod checkpoints;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use diesel::Connection;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::{Digest, Sha256};

use crate::config::AuditSettings;
use crate::db::repo::audit::{self as repo, NewAuditRow, NewJournalRow};
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};

pub use crate::db::repo::audit::{AuditFilter, AuditRow, Head};
pub use checkpoints::Checkpoint;

type HmacSha256 = Hmac<Sha256>;

/// What happened, to what, by whom.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    /// The org path of the entity, so audit reads can be scoped like everything else. `/` for
    /// what belongs to no unit (a failed log-in under an unknown name): no officer's scope.
    pub org_path: &'a str,
    pub detail: serde_json::Value,
}

/// Whether the action recorded succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// The keys derived from the audit key: one for the records' chain, one for the checkpoints.
pub struct AuditKey {
    records: HmacSha256,
    checkpoints: HmacSha256,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey([redacted])")
    }
}

impl AuditKey {
    pub fn new(master: &SecretBox<[u8; 32]>) -> ApiResult<Self> {
        let base =
            HmacSha256::new_from_slice(master.expose_secret()).map_err(ApiError::internal)?;
        let derive = |label: &[u8]| {
            let mut mac = base.clone();
            mac.update(label);
            HmacSha256::new_from_slice(&mac.finalize().into_bytes()).map_err(ApiError::internal)
        };
        Ok(Self {
            records: derive(b"jiuzhu audit records v1")?,
            checkpoints: derive(b"jiuzhu audit checkpoints v1")?,
        })
    }

    fn record_hash(&self, prev: &str, fields: &Fields<'_>) -> String {
        let mut mac = self.records.clone();
        fields.feed(prev, true, |bytes| mac.update(bytes));
        hex::encode(mac.finalize().into_bytes())
    }

    pub(crate) fn checkpoint_mac(&self) -> HmacSha256 {
        self.checkpoints.clone()
    }
}

/// The hashed content of a record.
struct Fields<'a> {
    seq: i64,
    at: NaiveDateTime,
    actor_id: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: &'a str,
    org_path: &'a str,
    detail: &'a str,
    result: &'a str,
    request_id: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn of(row: &'a AuditRow) -> Self {
        Self {
            seq: row.seq,
            at: row.at,
            actor_id: row.actor_id.as_deref(),
            action: &row.action,
            entity: &row.entity,
            entity_id: &row.entity_id,
            org_path: &row.org_path,
            detail: &row.detail,
            result: &row.result,
            request_id: row.request_id.as_deref(),
        }
    }

    /// A journaled record as it is chained, numbered `seq`.
    fn of_journal(row: &'a repo::JournalRow, seq: i64) -> Self {
        Self {
            seq,
            at: row.at,
            actor_id: row.actor_id.as_deref(),
            action: &row.action,
            entity: &row.entity,
            entity_id: &row.entity_id,
            org_path: &row.org_path,
            detail: &row.detail,
            result: &row.result,
            request_id: row.request_id.as_deref(),
        }
    }

    /// Length-prefixed parts, so no two different records hash the same by shifting text
    /// between fields. The legacy form (plain SHA-256) covered neither result nor request id.
    fn feed(&self, prev: &str, keyed: bool, mut update: impl FnMut(&[u8])) {
        let seq = self.seq.to_string();
        let at = self.at.and_utc().timestamp_micros().to_string();
        let mut parts = vec![
            prev,
            &seq,
            &at,
            self.actor_id.unwrap_or(""),
            self.action,
            self.entity,
            self.entity_id,
            self.org_path,
            self.detail,
        ];
        if keyed {
            parts.push(self.result);
            parts.push(self.request_id.unwrap_or(""));
        }
        for part in parts {
            update(&(part.len() as u64).to_be_bytes());
            update(part.as_bytes());
        }
    }

    /// How records were chained before the key (kept to verify those records).
    fn legacy_hash(&self, prev: &str) -> String {
        let mut h = Sha256::new();
        self.feed(prev, false, |bytes| h.update(bytes));
        hex::encode(h.finalize())
    }
}

/// Plain SHA-256 as versions before the key chained records: for tests that play an attacker
/// (or an old database) recomputing the chain without the key.
pub fn unkeyed_hash(prev: &str, row: &AuditRow) -> String {
    Fields::of(row).legacy_hash(prev)
}

/// The key, request id and caller the records written by one piece of blocking work carry.
#[derive(Debug, Clone)]
pub struct Context {
    key: Arc<AuditKey>,
    request_id: Option<String>,
    actor: Option<String>,
    device: Option<String>,
}

thread_local! {
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

static PROCESS_KEY: OnceLock<Arc<AuditKey>> = OnceLock::new();

/// The command line's key, for the records its commands write outside an `AppState`.
pub fn install_process_key(key: Arc<AuditKey>) {
    let _ = PROCESS_KEY.set(key);
}

impl Context {
    /// The context of the request served on this task (none outside one).
    pub fn new(key: Arc<AuditKey>) -> Self {
        Self {
            key,
            request_id: crate::telemetry::request_id(),
            actor: crate::telemetry::request_actor(),
            device: crate::telemetry::request_device(),
        }
    }

    /// Runs `work` with this context current on this thread (the previous one comes back after).
    pub fn enter<T>(self, work: impl FnOnce() -> T) -> T {
        let _current = self.install();
        work()
    }

    /// Makes this context current on this thread until the guard is dropped.
    pub fn install(self) -> ContextGuard {
        ContextGuard(CURRENT.with(|c| c.borrow_mut().replace(self)))
    }
}

/// Puts the previous context back when dropped.
pub struct ContextGuard(Option<Context>);

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

fn current() -> ApiResult<Context> {
    if let Some(ctx) = CURRENT.with(|c| c.borrow().clone()) {
        return Ok(ctx);
    }
    match PROCESS_KEY.get() {
        Some(key) => Ok(Context {
            key: key.clone(),
            request_id: None,
            actor: None,
            device: None,
        }),
        None => Err(ApiError::internal(anyhow::anyhow!(
            "an audit record was written outside an audit context (no key)"
        ))),
    }
}

/// Appends a successful action. Call inside the write transaction of the change it records.
pub fn record(conn: &mut AnyConnection, entry: AuditEntry<'_>) -> ApiResult<i64> {
    record_outcome(conn, entry, Outcome::Success)
}

/// Appends an action that was refused or failed (a wrong password), in its own transaction
/// when the caller has none, so it stays when the request answers an error.
pub fn record_outcome(
    conn: &mut AnyConnection,
    entry: AuditEntry<'_>,
    outcome: Outcome,
) -> ApiResult<i64> {
    let Context {
        key, request_id, ..
    } = current()?;
    let detail = entry.detail.to_string();
    conn.transaction::<_, ApiError, _>(|conn| {
        let head = repo::advance_head(conn)?;
        if head.keyed_after.is_none() {
            repo::set_keyed_after(conn, head.seq - 1)?;
        }
        let fields = Fields {
            seq: head.seq,
            at: crate::db::now(),
            actor_id: entry.actor_id,
            action: entry.action,
            entity: entry.entity,
            entity_id: entry.entity_id,
            org_path: entry.org_path,
            detail: &detail,
            result: outcome.as_str(),
            request_id: request_id.as_deref(),
        };
        let hash = append(conn, &key, &head.hash, &fields)?;
        repo::set_head_hash(conn, &hash)?;
        Ok(head.seq)
    })
}

/// Chains one record after the one whose hash is `prev`: stores it with its hash, which it
/// returns (the caller moves the head).
fn append(
    conn: &mut AnyConnection,
    key: &AuditKey,
    prev: &str,
    fields: &Fields<'_>,
) -> ApiResult<String> {
    let hash = key.record_hash(prev, fields);
    repo::insert(
        conn,
        &NewAuditRow {
            seq: fields.seq,
            at: fields.at,
            actor_id: fields.actor_id,
            action: fields.action,
            entity: fields.entity,
            entity_id: fields.entity_id,
            org_path: fields.org_path,
            detail: fields.detail,
            prev_hash: prev,
            hash: &hash,
            result: fields.result,
            request_id: fields.request_id,
        },
    )?;
    Ok(hash)
}

/// Records a write of the request's caller (a phone or a citizen) in the journal, inside the
/// write's transaction: it commits or rolls back with the write, and waits there for [`seal`].
/// The detail gains the device the caller's session was opened on, when the log-in named one
/// (unless the entry names a device itself).
pub fn journal(conn: &mut AnyConnection, entry: AuditEntry<'_>, outcome: Outcome) -> ApiResult<()> {
    let (request_id, actor, device) = match CURRENT.with(|c| c.borrow().clone()) {
        Some(cx) => (cx.request_id, cx.actor, cx.device),
        None => (
            crate::telemetry::request_id(),
            crate::telemetry::request_actor(),
            crate::telemetry::request_device(),
        ),
    };
    let mut detail = entry.detail;
    if let (Some(device), Some(map)) = (device, detail.as_object_mut()) {
        map.entry("device").or_insert(device.into());
    }
    let detail = detail.to_string();
    repo::journal(
        conn,
        &NewJournalRow {
            at: crate::db::now(),
            actor_id: entry.actor_id.or(actor.as_deref()),
            action: entry.action,
            entity: entry.entity,
            entity_id: entry.entity_id,
            org_path: entry.org_path,
            detail: &detail,
            result: outcome.as_str(),
            request_id: request_id.as_deref(),
        },
    )?;
    Ok(())
}

/// Whether any record waits in the journal (a read: the sealer's look before it writes).
pub fn journal_waiting(conn: &mut AnyConnection) -> ApiResult<bool> {
    Ok(repo::journal_waiting(conn)?)
}

/// The most records [`seal_batch`] chains at once (`repo::JOURNAL_BATCH`).
pub const SEAL_BATCH: usize = repo::JOURNAL_BATCH as usize;

/// Chains the oldest journaled records (up to [`SEAL_BATCH`]) into the log, inside the caller's
/// write transaction, and returns how many. The head's lock is taken before the journal is
/// read, so two sealers (two server instances) never chain one record twice. The running server
/// calls it through the grouped writes (on SQLite it then shares a commit with the phones'
/// writes of the moment instead of contending with them for the one writer).
pub fn seal_batch(conn: &mut AnyConnection, key: &AuditKey) -> ApiResult<usize> {
    let head = repo::lock_head(conn)?;
    if head.keyed_after.is_none() {
        repo::set_keyed_after(conn, head.seq)?;
    }
    let waiting = repo::journal_oldest(conn)?;
    let (mut seq, mut prev) = (head.seq, head.hash);
    for row in &waiting {
        seq += 1;
        prev = append(conn, key, &prev, &Fields::of_journal(row, seq))?;
        repo::journal_remove(conn, row.id)?;
    }
    if !waiting.is_empty() {
        repo::set_head(conn, seq, &prev)?;
    }
    Ok(waiting.len())
}

/// Chains everything waiting in the journal, a batch per transaction (at start, at shutdown),
/// and returns how many.
pub fn seal(conn: &mut AnyConnection, key: &AuditKey) -> ApiResult<usize> {
    let mut total = 0;
    while repo::journal_waiting(conn)? {
        let sealed = crate::db::write_transaction(conn, |conn| seal_batch(conn, key))?;
        total += sealed;
        if sealed == 0 {
            break;
        }
    }
    Ok(total)
}

/// A sensitive read by the request's caller: who looked at which object.
pub fn viewed(
    conn: &mut AnyConnection,
    entity: &str,
    entity_id: &str,
    org_path: &str,
) -> ApiResult<()> {
    let action = format!("{entity}.view");
    acted(
        conn,
        &action,
        entity,
        entity_id,
        org_path,
        serde_json::json!({}),
    )
}

/// A household read in full by the request's caller (`GET /households/{id}`); passes it on.
pub fn household_viewed(
    conn: &mut AnyConnection,
    scope: &crate::scope::Scope,
    household: jiuzhu_proto::household::Household,
) -> ApiResult<jiuzhu_proto::household::Household> {
    let id = household.id.to_string();
    let path = crate::db::repo::households::org_path_in_scope(conn, scope, &id)?
        .ok_or_else(ApiError::not_found)?;
    viewed(conn, "household", &id, &path)?;
    Ok(household)
}

/// A log-in, or a failed one, under `username`. A known account is named by its id (in its unit);
/// an unknown name is not kept at all (it may be a mistyped password or a person's number).
pub fn login(conn: &mut AnyConnection, username: &str, outcome: Outcome) -> ApiResult<()> {
    let user = crate::db::repo::users::find_by_username(conn, username)?;
    let (id, path) = match &user {
        Some(u) => (u.id.as_str(), u.org_path.as_str()),
        None => ("unknown", "/"),
    };
    record_outcome(
        conn,
        AuditEntry {
            // A failed attempt proves nobody: the account is its object, not its actor.
            actor_id: user
                .as_ref()
                .filter(|_| outcome == Outcome::Success)
                .map(|u| u.id.as_str()),
            action: "auth.login",
            entity: "user",
            entity_id: id,
            org_path: path,
            detail: serde_json::json!({}),
        },
        outcome,
    )?;
    Ok(())
}

/// An action by the request's caller on an object (the caller taken from the request).
pub fn acted(
    conn: &mut AnyConnection,
    action: &str,
    entity: &str,
    entity_id: &str,
    org_path: &str,
    detail: serde_json::Value,
) -> ApiResult<()> {
    let actor = current()?.actor;
    record(
        conn,
        AuditEntry {
            actor_id: actor.as_deref(),
            action,
            entity,
            entity_id,
            org_path,
            detail,
        },
    )?;
    Ok(())
}

/// An account changed by the request's caller: which of its name, role, unit, password and
/// state changed (never the values of the name or the password).
pub fn user_changed(
    conn: &mut AnyConnection,
    before: &crate::db::repo::users::UserRow,
    changes: &crate::db::repo::users::UserChanges,
) -> ApiResult<()> {
    let role = changes.role.as_deref().filter(|r| *r != before.role);
    let detail = serde_json::json!({
        "role": role.map(|r| serde_json::json!({ "from": before.role, "to": r })),
        "unit_changed": changes.org_unit_id.as_deref().is_some_and(|u| u != before.org_unit_id),
        "name_changed": changes.display_name.as_deref().is_some_and(|n| n != before.display_name),
        "password_changed": changes.password_hash.is_some(),
        "disabled": changes.disabled.filter(|d| *d != before.disabled),
    });
    let path = changes.org_path.as_deref().unwrap_or(&before.org_path);
    acted(conn, "user.update", "user", &before.id, path, detail)
}

/// Records in scope matching the filter, newest first (the audit search).
pub fn search(
    conn: &mut AnyConnection,
    scope: &crate::scope::Scope,
    filter: &AuditFilter,
) -> ApiResult<Vec<AuditRow>> {
    Ok(repo::search(conn, scope, filter)?)
}

/// Records about one entity, oldest first.
pub fn for_entity(
    conn: &mut AnyConnection,
    entity: &str,
    entity_id: &str,
) -> ApiResult<Vec<AuditRow>> {
    Ok(repo::for_entity(conn, entity, entity_id)?)
}

/// The outcome of walking the chain against the key and the checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Records that verified, from the first.
    pub rows: u64,
    /// The first record that is wrong, missing or out of place.
    pub first_broken: Option<i64>,
    /// What is wrong, in words (no content of the records).
    pub problem: Option<String>,
    /// The last record chained under plain SHA-256 (0 when all are keyed).
    pub keyed_after: i64,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
    /// Records written to the journal and not yet chained (the sealer of a running server
    /// chains them within seconds; a stopped server's at its next start).
    pub journaled: i64,
}

impl Verification {
    pub fn intact(&self) -> bool {
        self.first_broken.is_none() && self.problem.is_none()
    }
}

/// Recomputes every hash in order, in pages, and checks the records and the head against the
/// signed checkpoints: an edited, inserted, deleted or reordered record, a forged checkpoint, or
/// the newest records deleted with the head moved back, each names the first bad record.
pub fn verify(
    conn: &mut AnyConnection,
    key: &AuditKey,
    checkpoints: &checkpoints::Loaded,
) -> ApiResult<Verification> {
    let head = repo::head(conn)?;
    // Until the first keyed write, every record is a legacy one.
    let keyed_after = head.keyed_after.unwrap_or(head.seq);
    let mut out = Verification {
        rows: 0,
        first_broken: None,
        problem: None,
        keyed_after,
        checkpoints: checkpoints.valid.len(),
        journaled: repo::journal_count(conn)?,
    };
    let broken = |mut out: Verification, seq: i64, problem: String| {
        out.first_broken = Some(seq);
        out.problem = Some(problem);
        Ok(out)
    };
    if let Some(line) = checkpoints.bad_lines.first() {
        out.problem = Some(format!(
            "checkpoint file line {line} is not signed by the audit key"
        ));
    }
    if let Some(cp) = checkpoints
        .valid
        .iter()
        .find(|cp| cp.keyed_after != keyed_after)
    {
        let at = cp.keyed_after.min(keyed_after) + 1;
        return broken(
            out,
            at,
            format!(
                "the switch-over to the keyed chain was moved (signed: after record {}, database: after record {keyed_after})",
                cp.keyed_after
            ),
        );
    }
    let signed: std::collections::BTreeMap<i64, &str> = checkpoints
        .valid
        .iter()
        .map(|cp| (cp.seq, cp.hash.as_str()))
        .collect();
    let mismatched = checkpoints
        .valid
        .iter()
        .find(|cp| signed.get(&cp.seq).is_some_and(|h| *h != cp.hash.as_str()));
    if let Some(cp) = mismatched {
        out.problem = Some(format!("two checkpoints disagree on record {}", cp.seq));
    }
    let mut prev = "0".repeat(64);
    let mut expected_seq = 1;
    loop {
        let page = repo::page_from(conn, expected_seq)?;
        if page.is_empty() {
            break;
        }
        for row in page {
            if row.seq != expected_seq {
                return broken(
                    out,
                    expected_seq,
                    format!("record {expected_seq} is missing or out of place"),
                );
            }
            let fields = Fields::of(&row);
            let hash = if row.seq <= keyed_after {
                fields.legacy_hash(&prev)
            } else {
                key.record_hash(&prev, &fields)
            };
            if row.prev_hash != prev || hash != row.hash {
                return broken(
                    out,
                    row.seq,
                    format!("record {} does not match its hash or its link", row.seq),
                );
            }
            if signed.get(&row.seq).is_some_and(|h| *h != row.hash) {
                return broken(
                    out,
                    row.seq,
                    format!(
                        "records up to {} differ from the signed checkpoint of that record",
                        row.seq
                    ),
                );
            }
            prev = row.hash;
            expected_seq += 1;
            out.rows += 1;
        }
    }
    let last = expected_seq - 1;
    if let Some((&signed_seq, _)) = signed.iter().next_back() {
        if signed_seq > last {
            return broken(
                out,
                last + 1,
                format!(
                    "a checkpoint signed record {signed_seq}, but the log ends at record {last}: records were deleted"
                ),
            );
        }
    }
    if head.seq != last || head.hash != prev {
        return broken(
            out,
            last + 1,
            format!("the head names record {}, the log ends at {last}", head.seq),
        );
    }
    if checkpoints.valid.is_empty() && last > 0 {
        out.problem =
            Some("no signed checkpoint: the newest records cannot be shown complete".to_owned());
    }
    Ok(out)
}

/// The audit chain's keeper in a running server: the key, and the checkpoint file it signs the
/// head into at start, every `checkpoint_every_records` records or `checkpoint_every_secs`, and
/// at shutdown.
pub struct Auditor {
    key: Arc<AuditKey>,
    path: PathBuf,
    every_records: i64,
    every: Duration,
    /// The last checkpoint written by this process: its record number and when.
    last: Mutex<Option<(i64, Instant)>>,
}

impl Auditor {
    pub fn new(
        audit_key: &SecretBox<[u8; 32]>,
        data_dir: &Path,
        settings: &AuditSettings,
    ) -> ApiResult<Self> {
        Ok(Self {
            key: Arc::new(AuditKey::new(audit_key)?),
            path: checkpoints::path(data_dir),
            every_records: settings.checkpoint_every_records.max(1),
            every: Duration::from_secs(settings.checkpoint_every_secs.max(1)),
            last: Mutex::new(None),
        })
    }

    pub fn key(&self) -> &Arc<AuditKey> {
        &self.key
    }

    /// The checkpoint file.
    pub fn checkpoint_path(&self) -> &Path {
        &self.path
    }

    /// The context for work run now on behalf of the current request (or none).
    pub fn context(&self) -> Context {
        Context::new(self.key.clone())
    }

    /// At start: marks where an upgraded database's legacy records end, chains what the last
    /// run left in the journal, and signs the head.
    pub fn start(&self, conn: &mut AnyConnection) -> ApiResult<()> {
        crate::db::write_transaction(conn, |conn| {
            let head = repo::head(conn)?;
            if head.keyed_after.is_none() {
                repo::set_keyed_after(conn, head.seq)?;
            }
            Ok::<_, ApiError>(())
        })?;
        seal(conn, &self.key)?;
        self.checkpoint(conn, true)?;
        Ok(())
    }

    /// At shutdown: chains what waits in the journal and signs the head.
    pub fn finish(&self, conn: &mut AnyConnection) -> ApiResult<()> {
        seal(conn, &self.key)?;
        self.checkpoint(conn, true)?;
        Ok(())
    }

    /// Signs the head into the checkpoint file when it moved since this process last did and a
    /// threshold is reached (or `force`). Returns the record signed.
    pub fn checkpoint(&self, conn: &mut AnyConnection, force: bool) -> ApiResult<Option<i64>> {
        let head = repo::head(conn)?;
        let mut last = match self.last.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let due = match *last {
            None => true,
            Some((seq, _)) if seq == head.seq => false,
            Some((seq, when)) => {
                force || head.seq - seq >= self.every_records || when.elapsed() >= self.every
            }
        };
        if !due {
            return Ok(None);
        }
        checkpoints::append(&self.path, &self.key, &head).map_err(ApiError::internal)?;
        *last = Some((head.seq, Instant::now()));
        Ok(Some(head.seq))
    }

    /// Verifies the chain against the key and this server's checkpoint file.
    pub fn verify(&self, conn: &mut AnyConnection) -> ApiResult<Verification> {
        let loaded = checkpoints::load(&self.path, &self.key).map_err(ApiError::internal)?;
        verify(conn, &self.key, &loaded)
    }
}

/// Signs the head now, for the command line after a command that wrote records.
pub fn checkpoint_once(conn: &mut AnyConnection, key: &AuditKey, data_dir: &Path) -> ApiResult<()> {
    let head = repo::head(conn)?;
    checkpoints::append(&checkpoints::path(data_dir), key, &head).map_err(ApiError::internal)
}
