//! The filesystem backend: one file per key under a root directory, written crash-safely (temporary
//! file, fsync, rename, fsync of the directory), so a reader or a restart never sees half an object.
//! Temporary files live in `ROOT/.tmp/`, so what a killed process left there is found without
//! walking the store ([`FsStore::sweep_temp`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{ObjectKey, PhotoStore};
use crate::PhotoError;

/// Where puts write before renaming into place: a key never starts with a dot, so this is no key.
const TEMP_DIR: &str = ".tmp";

#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// Uses `root`, creating it if needed.
    pub fn open(root: PathBuf) -> Result<Self, PhotoError> {
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    /// Removes temporary files not modified for `older_than` (a put cut off by a crash); returns
    /// how many.
    pub fn sweep_temp(&self, older_than: std::time::Duration) -> Result<usize, PhotoError> {
        let dir = self.root.join(TEMP_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let now = std::time::SystemTime::now();
        let mut removed = 0;
        for entry in entries.flatten() {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|m| now.duration_since(m).unwrap_or_default() >= older_than)
                .unwrap_or(false);
            if stale && std::fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn path(&self, key: &ObjectKey) -> PathBuf {
        // ObjectKey admits no absolute paths, `..` or backslashes, so this stays under the root.
        self.root.join(key.as_str())
    }

    fn put_blocking(root: &Path, path: &Path, bytes: &[u8]) -> Result<(), PhotoError> {
        if path.try_exists()? {
            return Ok(()); // Same key, same content.
        }
        let dir = path.parent().unwrap_or(root);
        std::fs::create_dir_all(dir)?;
        let temp_dir = root.join(TEMP_DIR);
        std::fs::create_dir_all(&temp_dir)?;
        let mut temp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&temp_dir)?;
        temp.write_all(bytes)?;
        temp.as_file().sync_all()?;
        temp.persist(path).map_err(|e| PhotoError::Io(e.error))?;
        // Make the rename, and any directories just created, durable.
        for d in dir.ancestors().take_while(|d| d.starts_with(root)) {
            std::fs::File::open(d)?.sync_all()?;
        }
        Ok(())
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PhotoError> + Send + 'static,
) -> Result<T, PhotoError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| PhotoError::Io(std::io::Error::other(format!("storage task failed: {e}"))))?
}

impl PhotoStore for FsStore {
    async fn put(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), PhotoError> {
        let (root, path) = (self.root.clone(), self.path(key));
        blocking(move || Self::put_blocking(&root, &path, &bytes)).await
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Bytes>, PhotoError> {
        let path = self.path(key);
        blocking(move || match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, PhotoError> {
        let path = self.path(key);
        blocking(move || Ok(path.try_exists()?)).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), PhotoError> {
        let path = self.path(key);
        blocking(move || match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        })
        .await
    }
}
