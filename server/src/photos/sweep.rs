//! Photo files a crash left behind, removed at start-up (before the listener) and with the expired
//! uploads every ten minutes, once older than `photos.orphan_grace_secs`: request bodies spooled by
//! a process that died (`uploads/*.tmp`), partial uploads whose row is gone (`uploads/*.part`),
//! half-written objects (the filesystem store's `.tmp/`), and stored objects whose photo row was
//! never committed. For the last, [`PhotoService::process_and_store`] writes the keys it is about
//! to store to `uploads/<photo id>.pending` first, and `ingest` removes that note once the row is
//! committed; an old note names objects to delete unless some photo row uses them (objects are
//! shared by content).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use jiuzhu_photos::store::{ObjectKey, PhotoStore, Store, StoredPhoto};

use crate::database::Database;
use crate::db::repo::photos as repo;
use crate::error::{ApiError, ApiResult};

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub spooled: usize,
    pub parts: usize,
    pub objects: usize,
    pub temp: usize,
}

/// The note beside the spool that names the objects a photo is about to store.
pub fn note_path(spool: &Path, photo_id: &str) -> PathBuf {
    spool.join(format!("{photo_id}.pending"))
}

/// Writes (durably) the keys a photo's objects are about to be stored under.
pub fn write_note(spool: &Path, photo_id: &str, keys: &StoredPhoto) -> std::io::Result<()> {
    use std::io::Write;
    let text = [&keys.original, &keys.display, &keys.thumbnail]
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let mut file = std::fs::File::create(note_path(spool, photo_id))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

fn older_than(meta: &std::fs::Metadata, grace: Duration, now: SystemTime) -> bool {
    meta.modified()
        .map(|m| now.duration_since(m).unwrap_or_default() >= grace)
        .unwrap_or(false)
}

/// Removes what crashes left behind, older than `grace`.
pub async fn run(db: &Database, photos: &super::PhotoService, grace: Duration) -> ApiResult<Swept> {
    let spool = photos.spool.clone();
    let now = SystemTime::now();
    let mut swept = Swept::default();
    let mut notes = Vec::new();
    let mut parts = Vec::new();
    let entries = std::fs::read_dir(&spool).map_err(ApiError::internal)?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(meta) = entry.metadata() else {
            continue;
        };
        if !meta.is_file() || !older_than(&meta, grace, now) {
            continue;
        }
        if name.ends_with(".tmp") {
            if std::fs::remove_file(entry.path()).is_ok() {
                swept.spooled += 1;
            }
        } else if let Some(id) = name.strip_suffix(".part") {
            parts.push((id.to_owned(), entry.path()));
        } else if name.ends_with(".pending") {
            notes.push(entry.path());
        }
    }
    for (id, path) in parts {
        let exists = db
            .run(move |conn| Ok(repo::upload_exists(conn, &id)?))
            .await?;
        if !exists && std::fs::remove_file(&path).is_ok() {
            swept.parts += 1;
        }
    }
    for note in notes {
        let text = std::fs::read_to_string(&note).unwrap_or_default();
        for key in text.lines().filter_map(|k| ObjectKey::parse(k.trim()).ok()) {
            let k = key.as_str().to_owned();
            let used = db.run(move |conn| Ok(repo::key_in_use(conn, &k)?)).await?;
            if !used {
                photos
                    .store
                    .delete(&key)
                    .await
                    .map_err(super::photo_error)?;
                swept.objects += 1;
            }
        }
        let _ = std::fs::remove_file(&note);
    }
    if let Store::Filesystem(fs) = &photos.store {
        swept.temp = fs.sweep_temp(grace).map_err(super::photo_error)?;
    }
    if swept != Swept::default() {
        tracing::info!(
            spooled = swept.spooled,
            parts = swept.parts,
            objects = swept.objects,
            temp = swept.temp,
            "removed photo files left by a crash"
        );
    }
    Ok(swept)
}
