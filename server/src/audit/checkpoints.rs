//! Signed checkpoints of the audit chain, outside the database: `DATA_DIR/audit-checkpoints.log`,
//! mode 0600, only ever appended to. One line per checkpoint:
//!
//! ```text
//! v1 <seq> <hash of record seq> <keyed_after> <unix microseconds> <HMAC-SHA256, hex>
//! ```
//!
//! The HMAC (under the checkpoint key derived from the audit key) covers the other fields, so a
//! line cannot be made or changed without the key. `jiuzhu audit verify` requires every signed
//! record to be in the log with the signed hash: the newest records cannot be deleted with the
//! head moved back, and the switch-over from plain SHA-256 cannot be moved.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use hmac::Mac;

use super::AuditKey;
use crate::db::repo::audit::Head;

pub const FILE_NAME: &str = "audit-checkpoints.log";

pub fn path(data_dir: &Path) -> PathBuf {
    data_dir.join(FILE_NAME)
}

/// A checkpoint whose signature holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    pub keyed_after: i64,
    /// When it was written, in microseconds since 1970 (UTC).
    pub at_micros: i64,
}

/// What the file holds.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub valid: Vec<Checkpoint>,
    /// Line numbers (from 1) whose signature does not hold or that cannot be read.
    pub bad_lines: Vec<usize>,
}

fn signature(key: &AuditKey, seq: i64, hash: &str, keyed_after: i64, at: i64) -> String {
    let mut mac = key.checkpoint_mac();
    mac.update(format!("v1|{seq}|{hash}|{keyed_after}|{at}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn verify_signature(
    key: &AuditKey,
    seq: i64,
    hash: &str,
    keyed_after: i64,
    at: i64,
    sig: &str,
) -> bool {
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    let mut mac = key.checkpoint_mac();
    mac.update(format!("v1|{seq}|{hash}|{keyed_after}|{at}").as_bytes());
    // Constant time.
    mac.verify_slice(&sig).is_ok()
}

/// Appends a signed line for the head (its `keyed_after` must be set), synced to disk.
pub fn append(path: &Path, key: &AuditKey, head: &Head) -> std::io::Result<()> {
    let keyed_after = head.keyed_after.unwrap_or(head.seq);
    let at = chrono::Utc::now().timestamp_micros();
    let sig = signature(key, head.seq, &head.hash, keyed_after, at);
    let line = format!("v1 {} {} {keyed_after} {at} {sig}\n", head.seq, head.hash);
    // With PostgreSQL and secrets from the environment nothing else may have made the data
    // folder yet.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    #[cfg(unix)]
    {
        // A file made by hand (or copied) with wider permissions is narrowed.
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    file.write_all(line.as_bytes())?;
    file.sync_data()
}

/// Reads and checks every line; a missing file is an empty one.
pub fn load(path: &Path, key: &AuditKey) -> std::io::Result<Loaded> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded::default()),
        Err(e) => return Err(e),
    };
    let mut out = Loaded::default();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match parse(&line, key) {
            Some(cp) => out.valid.push(cp),
            None => out.bad_lines.push(i + 1),
        }
    }
    Ok(out)
}

fn parse(line: &str, key: &AuditKey) -> Option<Checkpoint> {
    let parts: Vec<&str> = line.split(' ').collect();
    let ["v1", seq, hash, keyed_after, at, sig] = parts.as_slice() else {
        return None;
    };
    let cp = Checkpoint {
        seq: seq.parse().ok()?,
        hash: (*hash).to_owned(),
        keyed_after: keyed_after.parse().ok()?,
        at_micros: at.parse().ok()?,
    };
    verify_signature(key, cp.seq, &cp.hash, cp.keyed_after, cp.at_micros, sig).then_some(cp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_verify_only_under_their_key_and_unchanged() {
        let dir = std::env::temp_dir().join(format!("jiuzhu-cp-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = path(&dir);
        let key = AuditKey::new(&secrecy::SecretBox::new(Box::new([7u8; 32]))).unwrap();
        let other = AuditKey::new(&secrecy::SecretBox::new(Box::new([8u8; 32]))).unwrap();
        let head = Head {
            seq: 12,
            hash: "ab".repeat(32),
            keyed_after: Some(3),
        };
        append(&file, &key, &head).unwrap();
        append(&file, &other, &head).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        let first = text.lines().next().unwrap().to_owned();
        // The same line with the record number moved back.
        std::fs::write(
            &file,
            format!("{text}{}\n", first.replacen("v1 12 ", "v1 11 ", 1)),
        )
        .unwrap();
        let loaded = load(&file, &key).unwrap();
        assert_eq!(loaded.valid.len(), 1);
        assert_eq!(loaded.valid[0].seq, 12);
        assert_eq!(loaded.valid[0].keyed_after, 3);
        assert_eq!(loaded.bad_lines, vec![2, 3]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).ok();
    }
}
