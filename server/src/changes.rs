//! The change log behind per-worker sync, and its signed cursor.
//!
//! Every write that a phone must hear about appends a row naming the worker it concerns. Writers
//! bump the single `change_head` row first, inside their transaction, so sequence numbers are
//! committed in order on both backends and a reader holding cursor N has seen every row ≤ N.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox};
use sha2::Sha256;

use crate::db::repo::changes::{self as repo, ChangeInsert};
use crate::db::AnyConnection;
use crate::error::ApiResult;

pub use crate::db::repo::changes::ChangeRow;

pub const UPSERT: &str = "upsert";
pub const DELETE: &str = "delete";

/// Appends a change for a worker. Call inside the write transaction of the change itself.
pub fn record(
    conn: &mut AnyConnection,
    entity: &str,
    entity_id: &str,
    worker_id: Option<&str>,
    op: &str,
) -> ApiResult<i64> {
    record_many(
        conn,
        &[NewChange {
            entity,
            entity_id,
            worker_id,
            op,
        }],
    )
}

/// A change to append with [`record_many`].
#[derive(Debug, Clone, Copy)]
pub struct NewChange<'a> {
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub worker_id: Option<&'a str>,
    pub op: &'a str,
}

/// Appends changes in order, numbered as the same calls of [`record`] one after the other would
/// number them (the head moves once, by their count); returns the last sequence number, or the
/// head when there are none. Call inside the write transaction of the changes themselves.
pub fn record_many(conn: &mut AnyConnection, new: &[NewChange<'_>]) -> ApiResult<i64> {
    if new.is_empty() {
        return head(conn);
    }
    let count = i64::try_from(new.len()).unwrap_or(i64::MAX);
    let last = repo::bump_head(conn, count)?;
    let at = crate::db::now();
    let rows: Vec<ChangeInsert<'_>> = new
        .iter()
        .zip(last - count + 1..)
        .map(|(c, seq)| ChangeInsert {
            seq,
            entity: c.entity,
            entity_id: c.entity_id,
            worker_id: c.worker_id,
            op: c.op,
            at,
        })
        .collect();
    repo::insert_many(conn, &rows)?;
    Ok(last)
}

/// A household changed: tell every worker with an open task on it.
pub fn household_touched(conn: &mut AnyConnection, household_id: &str) -> ApiResult<()> {
    for w in crate::db::repo::tasks::workers_on_open_tasks(conn, household_id)? {
        record(conn, "household", household_id, Some(&w), UPSERT)?;
    }
    Ok(())
}

/// The newest sequence number.
pub fn head(conn: &mut AnyConnection) -> ApiResult<i64> {
    Ok(repo::head(conn)?)
}

/// A worker's changes after `after`, oldest first, at most `LIMIT` of them.
pub fn since<const LIMIT: u32>(
    conn: &mut AnyConnection,
    worker_id: &str,
    after: i64,
) -> ApiResult<Vec<ChangeRow>> {
    Ok(repo::since::<LIMIT>(conn, worker_id, after)?)
}

/// Signs and checks sync cursors: `v1.<seq>.<mac>`, the MAC over the user id and the sequence, so
/// a cursor cannot be edited, forged, or used by another worker.
pub struct CursorSigner {
    key: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the sync cursor is malformed or was altered")]
    Invalid,
}

impl CursorSigner {
    pub fn new(pepper: &SecretBox<[u8; 32]>) -> Self {
        let mut key = [0u8; 32];
        if let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(pepper.expose_secret()) {
            mac.update(b"jiuzhu sync cursor v1");
            key.copy_from_slice(&mac.finalize().into_bytes());
        }
        Self { key }
    }

    fn mac(&self, user_id: &str, seq: i64) -> String {
        match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(user_id.as_bytes());
                mac.update(b"|");
                mac.update(seq.to_string().as_bytes());
                hex::encode(&mac.finalize().into_bytes()[..16])
            }
            Err(_) => String::new(),
        }
    }

    pub fn sign(&self, user_id: &str, seq: i64) -> String {
        format!("v1.{seq}.{}", self.mac(user_id, seq))
    }

    pub fn verify(&self, user_id: &str, cursor: &str) -> Result<i64, CursorError> {
        let mut parts = cursor.split('.');
        let (Some("v1"), Some(seq), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CursorError::Invalid);
        };
        let seq: i64 = seq.parse().map_err(|_| CursorError::Invalid)?;
        let expected = self.mac(user_id, seq);
        let same: bool = subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), mac.as_bytes()).into();
        if seq < 0 || expected.is_empty() || !same {
            return Err(CursorError::Invalid);
        }
        Ok(seq)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn cursors_cannot_be_edited_or_moved() {
        let signer = CursorSigner::new(&SecretBox::new(Box::new([3u8; 32])));
        let c = signer.sign("alice", 41);
        assert_eq!(signer.verify("alice", &c), Ok(41));
        assert!(signer.verify("bob", &c).is_err());
        assert!(signer.verify("alice", &c.replace(".41.", ".42.")).is_err());
        assert!(signer.verify("alice", &c[..c.len() - 1]).is_err());
        assert!(signer.verify("alice", "v1.-1.00").is_err());
        assert!(signer.verify("alice", "").is_err());
    }
}
