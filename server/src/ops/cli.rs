//! The command-line faces of `backup`, `restore` and `keys reseal`: arguments and what they
//! print.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::config::{Secrets, Settings};

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The backup file to write (a tar, mode 0600); replaced only once the new one is complete.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The backup file `jiuzhu backup` wrote.
    #[arg(long)]
    pub from: PathBuf,
    /// Replace the database (and checkpoints) of a data folder that is not empty. Stop the
    /// server on that folder first.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum KeysCommand {
    /// Re-encrypt every value still sealed under a retired data key with the current one, in
    /// pages, printing progress; safe to stop and run again. When it reports nothing left, the
    /// retired key can be removed from retired_data_keys.
    Reseal {
        /// Stop after this many pages of 500 rows (run again to go on).
        #[arg(long)]
        batches: Option<u64>,
        /// Only count the values left under other keys than the current one; exits non-zero
        /// when there are any.
        #[arg(long)]
        check: bool,
    },
}

pub async fn backup(settings: Settings, args: &BackupArgs) -> anyhow::Result<()> {
    let report = super::backup::run(&settings, &args.out).await?;
    let m = &report.manifest;
    let rows: i64 = m.census.tables.values().sum();
    println!(
        "备份完成 / backup written: {} ({} bytes, {:.1} s)",
        report.path.display(),
        report.bytes,
        report.seconds
    );
    println!(
        "  snapshot at {}: {} tables, {} rows, migration {}",
        m.created_at,
        m.census.tables.len(),
        rows,
        m.census.migration
    );
    println!(
        "  photos ({} store): {} objects {}{}",
        m.photos.store,
        m.photos.objects.len(),
        if m.photos.included {
            "included"
        } else {
            "listed (copy the bucket separately)"
        },
        if m.photos.missing.is_empty() {
            String::new()
        } else {
            format!(
                "; {} named by rows but missing from the store",
                m.photos.missing.len()
            )
        }
    );
    println!(
        "  data keys the backup needs: {}",
        if m.data_key_ids.is_empty() {
            "none yet".to_owned()
        } else {
            m.data_key_ids.join(", ")
        }
    );
    println!("  {}", super::SECRETS_NOTE);
    Ok(())
}

pub fn restore(settings: Settings, args: &RestoreArgs) -> anyhow::Result<()> {
    let report = super::restore::run(&settings, &args.from, args.force)?;
    let m = &report.manifest;
    println!(
        "恢复完成 / restored: the snapshot of {} (jiuzhu {}, migration {}) into {}",
        m.created_at,
        m.jiuzhu_version,
        m.census.migration,
        report.database.display()
    );
    println!(
        "  checked: SHA-256 of every file, integrity_check, {} tables' row counts; {} photos placed",
        m.census.tables.len(),
        report.photos_placed
    );
    match &report.secrets_checked {
        Some(keys) => println!(
            "  the configured secrets open the sealed values (keys {})",
            if keys.is_empty() {
                "none in use".to_owned()
            } else {
                keys.join(", ")
            }
        ),
        None => println!(
            "  注意 / NOTE: no secrets are in place. Before `jiuzhu serve`, copy the secrets.toml \
             kept with this backup into {} (mode 0600) or set JIUZHU_DATA_KEY and the others: \
             started without it the server generates new keys and cannot read the ID numbers \
             (keys needed: {}).",
            settings.data_dir.display(),
            m.data_key_ids.join(", ")
        ),
    }
    Ok(())
}

pub fn keys(settings: Settings, command: &KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::Reseal { batches, check } = command;
    // Resolving secrets where there are none would generate new ones, which open nothing.
    anyhow::ensure!(
        settings.data_key.is_some() || settings.data_dir.join("secrets.toml").exists(),
        "no secrets configured: give JIUZHU_DATA_KEY (and the others) or the data folder that \
         holds secrets.toml / 未找到密钥配置"
    );
    let secrets = Secrets::resolve(&settings)?;
    let cipher = secrets.field_cipher(&settings.data_key_id);
    let mut key_ids = vec![settings.data_key_id.clone()];
    key_ids.extend(secrets.retired_data_keys.iter().map(|(id, _)| id.clone()));
    let (_, pool) = crate::db::connect(&settings.database_url(), 1)?;
    let mut conn = pool.get()?;
    crate::db::migrate(&mut conn)?;
    let before = super::reseal::remaining(&mut conn, cipher.current_key_id())?;
    println!(
        "current data key: {}; retired keys configured: {}",
        cipher.current_key_id(),
        if key_ids.len() > 1 {
            key_ids[1..].join(", ")
        } else {
            "none".to_owned()
        }
    );
    for (table, key, n) in &before {
        println!("  {table}: {n} rows under {key}");
    }
    let options = super::reseal::Options {
        batches: *batches,
        check_only: *check,
    };
    // The run's audit record is chained under the audit key, and signed into the checkpoint file
    // after it, like the server's own records.
    let audit_key = std::sync::Arc::new(
        crate::audit::AuditKey::new(&secrets.audit_key).map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    crate::audit::install_process_key(audit_key.clone());
    let report = super::reseal::run(&mut conn, &cipher, &key_ids, options, &mut |p| {
        println!(
            "  {}: {} re-sealed, {} changed by requests meanwhile ({:.1} s)",
            p.table, p.resealed, p.changed, p.seconds
        );
    })?;
    if !*check {
        crate::audit::checkpoint_once(&mut conn, &audit_key, &settings.data_dir)
            .map_err(|e| anyhow::anyhow!("audit checkpoint: {e}"))?;
    }
    if report.done() {
        let retired = key_ids[1..].join(", ");
        println!(
            "完成 / done: every sealed value is under {}{}",
            report.current_key_id,
            if retired.is_empty() {
                String::new()
            } else {
                format!("; the retired keys ({retired}) may now be removed from retired_data_keys (keep a copy with the backups that still need them)")
            }
        );
        return Ok(());
    }
    for (table, key, n) in &report.remaining {
        println!("  left: {table}: {n} rows under {key}");
    }
    if report.stopped_early {
        println!(
            "stopped after {} pages: run again to go on",
            batches.unwrap_or(0)
        );
        return Ok(());
    }
    anyhow::bail!(
        "values remain under retired keys: keep those keys configured / 仍有数据使用旧密钥"
    )
}
