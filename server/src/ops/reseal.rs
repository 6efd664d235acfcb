//! `jiuzhu keys reseal`: after a rotation (a new `data_key` under a new `data_key_id`, the old
//! key moved to `retired_data_keys`), re-encrypts every value still sealed under a retired key
//! with the current one, so the retired key can then be removed from the secrets.
//!
//! It runs online, on either backend, a page at a time: each page is read in primary-key order
//! after the last one (keyset paging), sealed afresh outside any transaction, and written in one
//! short transaction as compare-and-sets on the values read, so a row a request changed
//! meanwhile is left alone (a later pass picks it up if it still needs it). Rows leave the
//! selection once re-sealed, so a run that is killed, or stopped with `--batches`, resumes where
//! it was simply by running again; nothing is kept between runs. The last step counts what is
//! left under any other key than the current one.
//!
//! A member's phone number names no key of its own: it is sealed with the ID number, or later
//! under the then current key, so never under an older key than `id_key_id`, and the members
//! to re-seal are exactly those whose `id_key_id` is not current. Its key is found by trying
//! the row's key first, then the others (the AEAD refuses a wrong key).

use std::collections::BTreeMap;
use std::time::Instant;

use crate::crypto::{CryptoError, FieldCipher};
use crate::db::repo::sealed::{self, MemberSealed, VisitSealed};
use crate::db::{self, AnyConnection};

/// How far to go.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Stop after this many pages (to spread the work over quiet hours); all when `None`.
    pub batches: Option<u64>,
    /// Only count what is left under other keys; write nothing.
    pub check_only: bool,
}

/// A page done, for the progress line.
#[derive(Debug, Clone)]
pub struct Progress {
    pub table: &'static str,
    /// Values of this table re-sealed in this run.
    pub resealed: u64,
    /// Rows left alone because a request changed them between the read and the write.
    pub changed: u64,
    pub seconds: f64,
}

/// What a run did and what is left.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub current_key_id: String,
    pub resealed: BTreeMap<&'static str, u64>,
    pub changed: u64,
    /// (table, key id, rows) still under another key than the current one.
    pub remaining: Vec<(&'static str, String, i64)>,
    /// True when it stopped at the `batches` limit rather than running out of rows.
    pub stopped_early: bool,
}

impl Report {
    /// Nothing remains under a retired key: those keys may be removed from the secrets.
    pub fn done(&self) -> bool {
        self.remaining.is_empty()
    }
}

/// Why a value cannot be re-sealed. Names the row's id (a UUID) and its key id, never a value.
fn unreadable(table: &str, id: &str, key_id: &str, e: CryptoError) -> anyhow::Error {
    match e {
        CryptoError::UnknownKeyId(_) => anyhow::anyhow!(
            "{table} {id} is sealed under key {key_id:?}, which is not configured: add it to \
             retired_data_keys (JIUZHU_RETIRED_DATA_KEYS=id:hex) and run again / 未配置密钥 {key_id}"
        ),
        e => anyhow::anyhow!(
            "{table} {id} does not open under key {key_id:?} ({e}): the key given under that id \
             is not the one that sealed it / 密钥不符"
        ),
    }
}

/// Runs the job on `conn` with `cipher` (current key plus the retired ones, whose ids are
/// `key_ids`), calling `progress` after each page.
pub fn run(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    key_ids: &[String],
    options: Options,
    progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<Report> {
    let current = cipher.current_key_id().to_owned();
    let mut report = Report {
        current_key_id: current.clone(),
        ..Report::default()
    };
    let started = Instant::now();
    let mut budget = options.batches;
    if !options.check_only {
        // A pass that lost compare-and-sets to requests goes again, a few times at most: what
        // is left after that is reported below.
        for _ in 0..3 {
            let changed_before = report.changed;
            let mut pass = Pass {
                conn: &mut *conn,
                cipher,
                key_ids,
                report: &mut report,
                budget: &mut budget,
                started,
                progress: &mut *progress,
            };
            pass.members()?;
            pass.visits()?;
            pass.prefixed(&SELF_REPORT_PHONES)?;
            pass.prefixed(&SECOND_FACTOR_SECRETS)?;
            if report.stopped_early || report.changed == changed_before {
                break;
            }
        }
    }
    report.remaining = remaining(conn, &current)?;
    if !options.check_only {
        audit(conn, &report)?;
    }
    Ok(report)
}

/// The audit record of a run that wrote: what it did and what is left, never a value. The
/// command line runs it under the process's audit key.
fn audit(conn: &mut AnyConnection, report: &Report) -> anyhow::Result<()> {
    let left: i64 = report.remaining.iter().map(|(_, _, n)| n).sum();
    crate::audit::record(
        conn,
        crate::audit::AuditEntry {
            actor_id: None,
            action: "keys.reseal",
            entity: "data_key",
            entity_id: &report.current_key_id,
            org_path: "/",
            detail: serde_json::json!({
                "resealed": report.resealed,
                "changed_meanwhile": report.changed,
                "left_under_other_keys": left,
                "stopped_early": report.stopped_early,
            }),
        },
    )
    .map_err(|e| anyhow::anyhow!("audit: {e}"))?;
    Ok(())
}

/// (table, key id, rows) under another key than `current`.
pub fn remaining(
    conn: &mut AnyConnection,
    current: &str,
) -> anyhow::Result<Vec<(&'static str, String, i64)>> {
    let mut left = sealed::key_counts(conn)?;
    left.extend(sealed::prefixed_key_counts(conn)?);
    left.retain(|(_, key, _)| key != current);
    Ok(left)
}

/// Runs a page's compare-and-sets in one transaction: (written, changed by a request
/// meanwhile).
fn write_page<R>(
    conn: &mut AnyConnection,
    rows: &[R],
    mut cas: impl FnMut(&mut AnyConnection, &R) -> diesel::QueryResult<bool>,
) -> anyhow::Result<(u64, u64)> {
    db::write_transaction(conn, |conn| -> anyhow::Result<(u64, u64)> {
        let (mut done, mut changed) = (0, 0);
        for row in rows {
            if cas(conn, row)? {
                done += 1;
            } else {
                changed += 1;
            }
        }
        Ok((done, changed))
    })
}

/// A column stored as `key_id:ciphertext`: the key is named inside each value.
struct Prefixed {
    table: &'static str,
    /// What a row is, for errors.
    row: &'static str,
    /// The associated data the column is sealed with.
    context: &'static str,
    page: sealed::PrefixedPage,
    write: fn(&mut AnyConnection, &str, &str, &str) -> diesel::QueryResult<bool>,
}

const SELF_REPORT_PHONES: Prefixed = Prefixed {
    table: "self_reports",
    row: "self-report",
    context: crate::self_reports::PHONE_CONTEXT,
    page: sealed::self_report_phones,
    write: sealed::reseal_self_report,
};

const SECOND_FACTOR_SECRETS: Prefixed = Prefixed {
    table: "users",
    row: "user",
    context: crate::auth::second_factor::SECRET_CONTEXT,
    page: sealed::second_factor_secrets,
    write: sealed::reseal_second_factor,
};

struct Pass<'a> {
    conn: &'a mut AnyConnection,
    cipher: &'a FieldCipher,
    key_ids: &'a [String],
    report: &'a mut Report,
    budget: &'a mut Option<u64>,
    started: Instant,
    progress: &'a mut dyn FnMut(&Progress),
}

impl Pass<'_> {
    /// Takes one page from the budget; false when it is spent.
    fn take_page(&mut self) -> bool {
        match self.budget {
            Some(0) => {
                self.report.stopped_early = true;
                false
            }
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }

    fn done_page(&mut self, table: &'static str, resealed: u64, changed: u64) {
        let total = self.report.resealed.entry(table).or_default();
        *total += resealed;
        self.report.changed += changed;
        let p = Progress {
            table,
            resealed: *total,
            changed: self.report.changed,
            seconds: self.started.elapsed().as_secs_f64(),
        };
        (self.progress)(&p);
    }

    fn members(&mut self) -> anyhow::Result<()> {
        use crate::registry::{ID_CONTEXT, PHONE_CONTEXT};
        let current = self.cipher.current_key_id().to_owned();
        let mut after = String::new();
        loop {
            let page = sealed::members_to_reseal(self.conn, &current, &after)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            if !self.take_page() {
                return Ok(());
            }
            after = last.id.clone();
            let mut rows: Vec<(MemberSealed, String, Option<String>)> = Vec::new();
            for m in page {
                let id_number = self
                    .cipher
                    .decrypt(&m.id_key_id, &m.id_cipher, ID_CONTEXT)
                    .map_err(|e| unreadable("member", &m.id, &m.id_key_id, e))?;
                let id_cipher = self.cipher.encrypt(&id_number, ID_CONTEXT)?.ciphertext;
                let phone = match &m.phone_cipher {
                    Some(stored) => {
                        let plain = self.open_phone(&m, stored)?;
                        Some(self.cipher.encrypt(&plain, PHONE_CONTEXT)?.ciphertext)
                    }
                    None => None,
                };
                rows.push((m, id_cipher, phone));
            }
            let (done, changed) = write_page(self.conn, &rows, |conn, (old, id_cipher, phone)| {
                sealed::reseal_member(conn, old, &current, id_cipher, phone.as_deref())
            })?;
            self.done_page("members", done, changed);
        }
    }

    /// A member's phone number under the row's key, or failing that under any key configured.
    fn open_phone(&self, m: &MemberSealed, stored: &str) -> anyhow::Result<String> {
        use crate::registry::PHONE_CONTEXT;
        let first = self.cipher.decrypt(&m.id_key_id, stored, PHONE_CONTEXT);
        if let Ok(plain) = first {
            return Ok(plain);
        }
        for key in self.key_ids.iter().filter(|k| **k != m.id_key_id) {
            if let Ok(plain) = self.cipher.decrypt(key, stored, PHONE_CONTEXT) {
                return Ok(plain);
            }
        }
        Err(anyhow::anyhow!(
            "the phone number of member {} opens under none of the configured keys ({}): add the \
             key that sealed it to retired_data_keys / 手机号无法解密",
            m.id,
            self.key_ids.join(", ")
        ))
    }

    fn visits(&mut self) -> anyhow::Result<()> {
        use crate::answers::ANSWERS_CONTEXT;
        let current = self.cipher.current_key_id().to_owned();
        let mut after = String::new();
        loop {
            let page = sealed::visits_to_reseal(self.conn, &current, &after)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            if !self.take_page() {
                return Ok(());
            }
            after = last.id.clone();
            let mut rows: Vec<(VisitSealed, String)> = Vec::new();
            for v in page {
                let answers = self
                    .cipher
                    .decrypt(&v.answers_key_id, &v.answers_sealed, ANSWERS_CONTEXT)
                    .map_err(|e| unreadable("visit", &v.id, &v.answers_key_id, e))?;
                let sealed = self.cipher.encrypt(&answers, ANSWERS_CONTEXT)?.ciphertext;
                rows.push((v, sealed));
            }
            let (done, changed) = write_page(self.conn, &rows, |conn, (old, sealed)| {
                sealed::reseal_visit(conn, old, &current, sealed)
            })?;
            self.done_page("visits", done, changed);
        }
    }

    fn prefixed(&mut self, column: &Prefixed) -> anyhow::Result<()> {
        let current = self.cipher.current_key_id().to_owned();
        let mut after = String::new();
        loop {
            let page = (column.page)(self.conn, &after)?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            after = last.clone();
            let due: Vec<(String, String)> = page
                .into_iter()
                .filter(|(_, stored)| {
                    stored.split_once(':').map(|(k, _)| k) != Some(current.as_str())
                })
                .collect();
            if due.is_empty() {
                continue;
            }
            if !self.take_page() {
                return Ok(());
            }
            let mut rows = Vec::new();
            for (id, stored) in due {
                let (key_id, ciphertext) = stored.split_once(':').ok_or_else(|| {
                    anyhow::anyhow!("{} {id}: the stored value names no key", column.row)
                })?;
                let plain = self
                    .cipher
                    .decrypt(key_id, ciphertext, column.context)
                    .map_err(|e| unreadable(column.row, &id, key_id, e))?;
                let sealed = self.cipher.encrypt(&plain, column.context)?;
                let new = format!("{}:{}", sealed.key_id, sealed.ciphertext);
                rows.push((id, stored, new));
            }
            let (done, changed) = write_page(self.conn, &rows, |conn, (id, old, new)| {
                (column.write)(conn, id, old, new)
            })?;
            self.done_page(column.table, done, changed);
        }
    }
}
