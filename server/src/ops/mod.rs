//! An office's maintenance commands: `jiuzhu backup` and `jiuzhu restore` (the embedded SQLite
//! database, its photos and audit checkpoints, in one tar file; secrets kept apart) and
//! `jiuzhu keys reseal` (every sealed value re-encrypted under the current data key, so a
//! retired key can be removed). How to run them: docs/operations.md.

pub mod backup;
pub mod cli;
pub mod reseal;
pub mod restore;

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The names inside a backup file.
pub const MANIFEST: &str = "manifest.json";
pub const DATABASE: &str = "jiuzhu.db";
pub const CHECKPOINTS: &str = "audit-checkpoints.log";
pub const PHOTOS: &str = "photos/";

/// Version of the backup file's layout, raised when a restore of an older one needs care.
pub const FORMAT: u32 = 1;

/// What a backup holds, written last into its tar file as `manifest.json`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The `jiuzhu` version that wrote it.
    pub jiuzhu_version: String,
    /// When the snapshot was taken (UTC, RFC 3339).
    pub created_at: String,
    pub database: FileEntry,
    /// The last migration applied and every table's number of rows, as of the snapshot.
    pub census: crate::db::snapshot::Census,
    /// Ids of the data keys the snapshot's sealed values name: the secrets a restore needs.
    pub data_key_ids: Vec<String>,
    /// The audit checkpoints file (absent when the server had not signed one yet).
    pub audit_checkpoints: Option<FileEntry>,
    pub photos: PhotoList,
    /// Said in the file as well as on the screen.
    pub secrets: String,
}

/// A file in the backup, with its size and SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The photo objects the snapshot's rows name.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PhotoList {
    /// `filesystem` or `s3`.
    pub store: String,
    /// True when the objects are inside the backup (`photos/<key>`); an S3 store's are only
    /// listed, as the bucket has its own versioning and replication.
    pub included: bool,
    pub objects: Vec<FileEntry>,
    /// Keys a row names that the store did not have when the backup was taken.
    pub missing: Vec<String>,
}

pub const SECRETS_NOTE: &str = "secrets are not in this backup: keep DATA_DIR/secrets.toml (or the \
JIUZHU_DATA_KEY, JIUZHU_TOKEN_PEPPER, JIUZHU_AUDIT_KEY and JIUZHU_RETIRED_DATA_KEYS values) apart, \
in another place; without the data key the ID numbers cannot be read / 备份不含密钥：请另行妥善保管 \
secrets.toml，缺少数据密钥将无法读取身份证号";

/// Fails unless the SQLite file on `conn` passes `integrity_check` and its foreign keys hold.
pub fn ensure_sound(conn: &mut crate::db::AnyConnection, what: &str) -> anyhow::Result<()> {
    let problems = crate::db::snapshot::integrity_problems(conn)?;
    anyhow::ensure!(
        problems.is_empty(),
        "{what} fails integrity_check: {}",
        problems.join("; ")
    );
    Ok(())
}

/// SHA-256 (hex) and length of everything `reader` gives.
pub fn hash_reader(mut reader: impl Read) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// SHA-256 (hex) and length of a file.
pub fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    hash_reader(std::fs::File::open(path)?)
}

/// SHA-256 (hex) of bytes.
pub fn hash_bytes(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content hash a photo object's key names (`kind/ab/<sha256>.ext`).
pub fn key_hash(key: &str) -> Option<&str> {
    let last = key.rsplit('/').next()?;
    let stem = last.split('.').next()?;
    (stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit())).then_some(stem)
}

/// Creates a file readable by its owner only (the backup holds names, addresses, health and
/// income); fails if it exists.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_hash_reads_the_content_hash() {
        let h = "ab".repeat(32);
        assert_eq!(key_hash(&format!("original/ab/{h}.jpg")), Some(h.as_str()));
        assert_eq!(key_hash("original/ab/short.jpg"), None);
        assert_eq!(
            key_hash(&format!("display/zz/{}.jpg", "zz".repeat(32))),
            None
        );
    }
}
