//! `jiuzhu backup --out FILE`: one tar file (mode 0600) with a consistent snapshot of the
//! embedded SQLite database, taken online while the server runs and writes, the audit
//! checkpoints, the photo objects the snapshot's rows name (or, for an S3 store, their list)
//! and a manifest of it all. Secrets are never inside (see [`super::SECRETS_NOTE`]).
//!
//! Order matters. The checkpoints file is read before the snapshot, so every head it signs is
//! in the snapshot and `jiuzhu audit verify` passes on the restored folder. Photo objects are
//! read after it: a row is committed only once its objects are stored, objects are content
//! addressed and only unreferenced ones are ever deleted, so every key the snapshot names is
//! still there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use jiuzhu_photos::store::{ObjectKey, PhotoStore, Store, StoreConfig};

use super::{FileEntry, Manifest, PhotoList, CHECKPOINTS, DATABASE, FORMAT, MANIFEST, PHOTOS};
use crate::config::Settings;
use crate::db;
use crate::db::snapshot::{self, SnapshotError};

/// What a backup wrote, for the command's output.
#[derive(Debug)]
pub struct BackupReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub manifest: Manifest,
    pub seconds: f64,
}

/// Takes the backup of the database and photo store the settings name into `out`, replacing
/// it only once the new file is complete.
pub async fn run(settings: &Settings, out: &Path) -> anyhow::Result<BackupReport> {
    let started = Instant::now();
    let url = settings.database_url();
    let Some(db_file) = snapshot::sqlite_file(&url)? else {
        return Err(SnapshotError::Postgres.into());
    };
    anyhow::ensure!(
        db_file.exists(),
        "no database at {} / 找不到数据库文件",
        db_file.display()
    );
    let work = staging_dir(out)?;
    let result = write(settings, &url, out, &work).await;
    let _ = std::fs::remove_dir_all(&work);
    let manifest = result?;
    Ok(BackupReport {
        path: out.to_path_buf(),
        bytes: std::fs::metadata(out)?.len(),
        manifest,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A private folder beside `out` for the snapshot: on the same file system, so nothing is
/// copied twice, and removed afterwards.
fn staging_dir(out: &Path) -> anyhow::Result<PathBuf> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".into());
    let dir = parent.join(format!(".{name}.{}.partial", uuid::Uuid::now_v7().simple()));
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(&dir)?;
    Ok(dir)
}

async fn write(
    settings: &Settings,
    url: &str,
    out: &Path,
    work: &Path,
) -> anyhow::Result<Manifest> {
    // The checkpoints as they are before the snapshot, whole lines only (a line being appended
    // is left out).
    let checkpoints = match std::fs::read(crate::audit::checkpoints::path(&settings.data_dir)) {
        Ok(mut bytes) => {
            let whole = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            bytes.truncate(whole);
            Some(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let snap = work.join(DATABASE);
    let (created_at, census, keys, key_ids) = {
        let url = url.to_owned();
        let snap = snap.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            // A connection of its own: the server's pool is not shared with a command.
            let (_, pool) = db::connect(&url, 1)?;
            let mut conn = pool.get()?;
            let created_at = chrono::Utc::now();
            snapshot::sqlite_snapshot(&mut conn, &snap)?;
            drop(conn);
            let mut copy = snapshot::open_sqlite_file(&snap)?;
            super::ensure_sound(&mut copy, "the snapshot")?;
            let census = snapshot::census(&mut copy)?;
            let keys = snapshot::photo_objects(&mut copy)?;
            let key_ids = db::repo::sealed::key_ids(&mut copy)?;
            Ok((created_at, census, keys, key_ids))
        })
        .await??
    };
    let (db_sha, db_bytes) = super::hash_file(&snap)?;

    let tmp = work.join("backup.tar");
    let file = super::create_private(&tmp)?;
    let mut tar = tar::Builder::new(std::io::BufWriter::with_capacity(1 << 20, file));
    append_file(&mut tar, DATABASE, &snap)?;
    let audit_checkpoints = match checkpoints {
        Some(bytes) => {
            append_bytes(&mut tar, CHECKPOINTS, &bytes)?;
            Some(FileEntry {
                name: CHECKPOINTS.into(),
                bytes: bytes.len() as u64,
                sha256: super::hash_bytes(&bytes),
            })
        }
        None => None,
    };
    let photos = copy_photos(settings, &keys, &mut tar).await?;
    let manifest = Manifest {
        format: FORMAT,
        jiuzhu_version: env!("CARGO_PKG_VERSION").into(),
        created_at: created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        database: FileEntry {
            name: DATABASE.into(),
            bytes: db_bytes,
            sha256: db_sha,
        },
        census,
        data_key_ids: key_ids,
        audit_checkpoints,
        photos,
        secrets: super::SECRETS_NOTE.into(),
    };
    append_bytes(&mut tar, MANIFEST, &serde_json::to_vec_pretty(&manifest)?)?;
    let mut writer = tar.into_inner()?;
    writer.flush()?;
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, out)?;
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        // The rename is durable once the folder is.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(manifest)
}

fn header(len: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_size(len);
    header.set_mode(0o600);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    header.set_entry_type(tar::EntryType::Regular);
    header
}

fn append_bytes<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let mut h = header(bytes.len() as u64);
    tar.append_data(&mut h, name, bytes)?;
    Ok(())
}

fn append_file<W: Write>(tar: &mut tar::Builder<W>, name: &str, path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::open(path)?;
    let mut h = header(file.metadata()?.len());
    tar.append_data(&mut h, name, file)?;
    Ok(())
}

/// Reads every object the snapshot names from the store, checks it against the hash its key
/// names, and puts it in the tar (file system) or only lists it (S3).
async fn copy_photos<W: Write>(
    settings: &Settings,
    keys: &[String],
    tar: &mut tar::Builder<W>,
) -> anyhow::Result<PhotoList> {
    let config = settings
        .photos
        .store
        .clone()
        .unwrap_or_else(|| StoreConfig::Filesystem {
            root: settings.data_dir.join("photos"),
        });
    let included = matches!(config, StoreConfig::Filesystem { .. });
    let store = Store::open(&config).map_err(|e| anyhow::anyhow!("photo store: {e}"))?;
    let mut list = PhotoList {
        store: if included { "filesystem" } else { "s3" }.into(),
        included,
        objects: Vec::with_capacity(keys.len()),
        missing: Vec::new(),
    };
    for key in keys {
        let parsed = ObjectKey::parse(key).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
        let Some(bytes) = store
            .get(&parsed)
            .await
            .map_err(|e| anyhow::anyhow!("photo store: {e}"))?
        else {
            list.missing.push(key.clone());
            continue;
        };
        let sha256 = super::hash_bytes(&bytes);
        anyhow::ensure!(
            super::key_hash(key) == Some(sha256.as_str()),
            "photo object {key} does not hash to its name: the store is damaged / 照片文件已损坏"
        );
        if included {
            append_bytes(tar, &format!("{PHOTOS}{key}"), &bytes)?;
        }
        list.objects.push(FileEntry {
            name: key.clone(),
            bytes: bytes.len() as u64,
            sha256,
        });
    }
    Ok(list)
}
