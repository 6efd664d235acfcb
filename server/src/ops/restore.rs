//! `jiuzhu restore --from FILE`: unpacks a backup into the data folder the settings name, after
//! checking it whole: the manifest, the database's SHA-256, `integrity_check`, every table's row
//! count, the migration level (not newer than this binary's), each photo against the hash its
//! key names, and, when the secrets are already in place, that they open the backup's sealed
//! values. Nothing is moved into place before every check has passed.

use std::path::{Path, PathBuf};

use jiuzhu_photos::store::{ObjectKey, StoreConfig};

use super::{Manifest, CHECKPOINTS, DATABASE, FORMAT, MANIFEST, PHOTOS};
use crate::config::Settings;
use crate::db::snapshot::{self, SnapshotError};

/// Files a data folder may hold before a restore without counting as in use: what the admin
/// puts there first.
const MAY_BE_PRESENT: &[&str] = &["secrets.toml", "jiuzhu.toml"];

/// What a restore did.
#[derive(Debug)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub database: PathBuf,
    pub photos_placed: usize,
    /// Key ids whose sample values the configured secrets opened; `None` when no secrets were
    /// in place to check.
    pub secrets_checked: Option<Vec<String>>,
}

/// Restores `from` into the settings' data folder (and SQLite file); `force` replaces what is
/// there. The server must not be running on that folder.
pub fn run(settings: &Settings, from: &Path, force: bool) -> anyhow::Result<RestoreReport> {
    let url = settings.database_url();
    let Some(db_file) = snapshot::sqlite_file(&url)? else {
        return Err(SnapshotError::Postgres.into());
    };
    let data_dir = &settings.data_dir;
    if !force {
        let in_use = in_use(data_dir)?;
        anyhow::ensure!(
            in_use.is_empty() && !db_file.exists(),
            "the data folder {} is not empty ({}); restore into an empty folder, or give --force \
             to replace its database / 数据目录非空，请使用空目录或加 --force",
            data_dir.display(),
            if in_use.is_empty() {
                db_file.display().to_string()
            } else {
                in_use.join(", ")
            }
        );
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(data_dir)?;
    let staging = data_dir.join(format!(".restore-{}", uuid::Uuid::now_v7().simple()));
    builder.create(&staging)?;
    let result = unpack(from, &staging)
        .and_then(|photos| check(settings, &staging, photos))
        .and_then(|(manifest, secrets_checked)| {
            let placed = place(settings, &staging, &db_file, &manifest)?;
            Ok(RestoreReport {
                manifest,
                database: db_file.clone(),
                photos_placed: placed,
                secrets_checked,
            })
        });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// What in `dir` a restore would replace.
fn in_use(dir: &Path) -> anyhow::Result<Vec<String>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if !MAY_BE_PRESENT.contains(&name.as_str()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Extracts the backup's entries into `staging`, refusing any name a backup does not write (so
/// no entry lands outside the folder); returns the photo keys found.
fn unpack(from: &Path, staging: &Path) -> anyhow::Result<Vec<String>> {
    let file = std::fs::File::open(from)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", from.display()))?;
    let mut archive = tar::Archive::new(std::io::BufReader::with_capacity(1 << 20, file));
    let mut photos = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        anyhow::ensure!(
            entry.header().entry_type() == tar::EntryType::Regular,
            "the backup holds {name}, which is not a plain file: not a jiuzhu backup / 不是有效的备份文件"
        );
        let target = if name == DATABASE || name == MANIFEST || name == CHECKPOINTS {
            staging.join(&name)
        } else if let Some(key) = name.strip_prefix(PHOTOS) {
            let key = ObjectKey::parse(key)
                .map_err(|_| anyhow::anyhow!("the backup holds an invalid photo name {name}"))?;
            photos.push(key.as_str().to_owned());
            let path = staging.join("photos").join(key.as_str());
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            path
        } else {
            anyhow::bail!("the backup holds an unexpected entry {name}: not a jiuzhu backup / 不是有效的备份文件");
        };
        let mut out = super::create_private(&target)
            .map_err(|e| anyhow::anyhow!("{name} twice in the backup, or {e}"))?;
        std::io::copy(&mut entry, &mut out)?;
        out.sync_all()?;
    }
    Ok(photos)
}

/// Checks the staged backup against its manifest (and the secrets, if in place).
fn check(
    settings: &Settings,
    staging: &Path,
    mut photos: Vec<String>,
) -> anyhow::Result<(Manifest, Option<Vec<String>>)> {
    let text = std::fs::read(staging.join(MANIFEST)).map_err(|_| {
        anyhow::anyhow!("the backup has no manifest: not a jiuzhu backup / 不是有效的备份文件")
    })?;
    let manifest: Manifest = serde_json::from_slice(&text)?;
    anyhow::ensure!(
        manifest.format <= FORMAT,
        "the backup's format {} is newer than this jiuzhu ({FORMAT}): restore it with the version that wrote it ({})",
        manifest.format,
        manifest.jiuzhu_version
    );
    let db = staging.join(DATABASE);
    let (sha, bytes) = super::hash_file(&db)?;
    anyhow::ensure!(
        sha == manifest.database.sha256 && bytes == manifest.database.bytes,
        "the database in the backup does not match its manifest: the file is damaged / 备份文件已损坏"
    );
    match &manifest.audit_checkpoints {
        Some(entry) => {
            let (sha, bytes) = super::hash_file(&staging.join(CHECKPOINTS))?;
            anyhow::ensure!(
                sha == entry.sha256 && bytes == entry.bytes,
                "the audit checkpoints in the backup do not match its manifest / 备份文件已损坏"
            );
        }
        None => anyhow::ensure!(
            !staging.join(CHECKPOINTS).exists(),
            "the backup holds audit checkpoints its manifest does not list"
        ),
    }
    if manifest.photos.included {
        let mut listed: Vec<String> = manifest
            .photos
            .objects
            .iter()
            .map(|o| o.name.clone())
            .collect();
        listed.sort();
        photos.sort();
        anyhow::ensure!(
            listed == photos,
            "the photos in the backup are not the ones its manifest lists ({} listed, {} present) / 备份照片不完整",
            listed.len(),
            photos.len()
        );
        for object in &manifest.photos.objects {
            let (sha, bytes) = super::hash_file(&staging.join("photos").join(&object.name))?;
            anyhow::ensure!(
                sha == object.sha256
                    && bytes == object.bytes
                    && super::key_hash(&object.name) == Some(sha.as_str()),
                "photo {} in the backup is damaged / 备份照片已损坏",
                object.name
            );
        }
    }
    let mut conn = snapshot::open_sqlite_file(&db)?;
    super::ensure_sound(&mut conn, "the database in the backup")?;
    let census = snapshot::census(&mut conn)?;
    anyhow::ensure!(
        census == manifest.census,
        "the database's tables or row counts differ from the manifest / 数据行数与清单不符"
    );
    let newest = snapshot::newest_sqlite_migration()?;
    anyhow::ensure!(
        census.migration <= newest,
        "the backup is at migration {}, newer than this jiuzhu knows ({newest}): restore it with {} or later",
        census.migration,
        manifest.jiuzhu_version
    );
    let secrets = check_secrets(settings, &mut conn)?;
    Ok((manifest, secrets))
}

/// When secrets are configured (given as settings or in DATA_DIR/secrets.toml), checks that
/// they open one sealed value of every key id in the backup. Without any, says nothing here:
/// the command's output tells the admin to put them in place before `serve`.
fn check_secrets(
    settings: &Settings,
    conn: &mut crate::db::AnyConnection,
) -> anyhow::Result<Option<Vec<String>>> {
    let configured = settings.data_key.is_some() || settings.data_dir.join("secrets.toml").exists();
    if !configured {
        return Ok(None);
    }
    let cipher = crate::config::Secrets::resolve(settings)?.field_cipher(&settings.data_key_id);
    let mut opened = Vec::new();
    for (table, key_id, sealed) in crate::db::repo::sealed::samples(conn)? {
        let context = if table == "members" {
            crate::registry::ID_CONTEXT
        } else {
            crate::answers::ANSWERS_CONTEXT
        };
        if let Err(e) = cipher.decrypt(&key_id, &sealed, context) {
            anyhow::bail!(
                "the configured secrets do not open the backup's {table} sealed under key {key_id} ({e}): \
                 put the secrets.toml kept with this backup in place / 密钥与备份不符"
            );
        }
        if !opened.contains(&key_id) {
            opened.push(key_id);
        }
    }
    Ok(Some(opened))
}

/// Moves the checked files into place: the database (its old `-wal` and `-shm` removed), the
/// photos into a file-system store, the audit checkpoints.
fn place(
    settings: &Settings,
    staging: &Path,
    db_file: &Path,
    manifest: &Manifest,
) -> anyhow::Result<usize> {
    if let Some(parent) = db_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = db_file.as_os_str().to_owned();
        side.push(suffix);
        match std::fs::remove_file(PathBuf::from(side)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    std::fs::rename(staging.join(DATABASE), db_file)?;
    let mut placed = 0;
    if manifest.photos.included {
        let config = settings
            .photos
            .store
            .clone()
            .unwrap_or_else(|| StoreConfig::Filesystem {
                root: settings.data_dir.join("photos"),
            });
        let StoreConfig::Filesystem { root } = config else {
            anyhow::bail!(
                "the backup's photos are files but the settings name an S3 store: copy {PHOTOS} \
                 from the backup into the bucket, or restore with the file-system store"
            );
        };
        for object in &manifest.photos.objects {
            let target = root.join(&object.name);
            if target.exists() {
                // Content addressed: the same key holds the same bytes.
                continue;
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::rename(staging.join("photos").join(&object.name), &target)?;
            placed += 1;
        }
    }
    let checkpoints = crate::audit::checkpoints::path(&settings.data_dir);
    if manifest.audit_checkpoints.is_some() {
        std::fs::rename(staging.join(CHECKPOINTS), &checkpoints)?;
    } else {
        // Checkpoints of the replaced database would not match the restored one.
        match std::fs::remove_file(&checkpoints) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(placed)
}
