//! `jiuzhu export <kind> --out FILE`: the same export as `GET /exports/{kind}`, over the whole
//! database (or one org unit's part of it), written to a file.

use std::io::Write;
use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Args;
use jiuzhu_proto::household::AssistanceStatus;
use jiuzhu_proto::visit::ReviewState;

use super::{kind, narrow, Encoding, Export, ExportQuery, Format, HeaderLanguage, Outcome};
use crate::config::Settings;
use crate::db;
use crate::scope::Scope;

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// `households`, `visits`, `findings` or `applications`.
    pub kind: String,
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// CSV only: `utf8` (with a BOM, for Excel) or `gbk`.
    #[arg(long, value_enum, default_value = "utf8")]
    pub encoding: Encoding,
    /// CSV only: the header row's language, `zh` or `en` (default: Chinese for GBK, English for UTF-8).
    #[arg(long, value_enum)]
    pub header: Option<HeaderLanguage>,
    /// Code of an org unit: only its part.
    #[arg(long)]
    pub org: Option<String>,
    /// households: assistance status.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<AssistanceStatus>,
    /// households: a tag.
    #[arg(long)]
    pub tag: Option<String>,
    /// visits: first day (Asia/Shanghai), YYYY-MM-DD.
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// visits: last day (Asia/Shanghai, inclusive).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// visits: only flagged (true) or unflagged (false).
    #[arg(long)]
    pub flagged: Option<bool>,
    /// visits: review state.
    #[arg(long, value_parser = parse_review_state)]
    pub review_state: Option<ReviewState>,
    /// Where to write; written beside it under a temporary name and renamed when complete.
    #[arg(long)]
    pub out: PathBuf,
}

fn parse_status(s: &str) -> Result<AssistanceStatus, String> {
    AssistanceStatus::parse(s).ok_or_else(|| format!("unknown status `{s}`"))
}

fn parse_review_state(s: &str) -> Result<ReviewState, String> {
    ReviewState::parse(s).ok_or_else(|| format!("unknown review state `{s}`"))
}

/// Runs the export (blocking); returns what it wrote.
// disallowed_methods: the whole tree: command line, demo or background work, not a request.
#[allow(clippy::disallowed_methods)]
pub fn run(settings: &Settings, args: &ExportArgs) -> anyhow::Result<Outcome> {
    let err = |e: crate::error::ApiError| anyhow::anyhow!("{}", e.body().message);
    let kind = kind(&args.kind).map_err(err)?;
    let query = ExportQuery {
        format: Some(args.format),
        encoding: Some(args.encoding),
        header: args.header,
        org: args.org.clone(),
        status: args.status,
        tag: args.tag.clone(),
        from: args.from,
        to: args.to,
        flagged: args.flagged,
        review_state: args.review_state,
    };
    let mut export = Export::new(kind, &query, Scope::everything()).map_err(err)?;
    let (_, pool) = db::connect(&settings.database_url(), 1)?;
    {
        let mut conn = pool.get()?;
        db::migrate(&mut conn)?;
        if let Some(code) = &args.org {
            export.scope = narrow(&mut conn, &export.scope, code)
                .map_err(|_| anyhow::anyhow!("no org unit with code {code}"))?;
        }
    }
    let mut partial = args.out.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", partial.display()))?;
    let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut failed: Option<std::io::Error> = None;
    let mut send = |chunk: bytes::Bytes| match writer.write_all(&chunk) {
        Ok(()) => true,
        Err(e) => {
            failed = Some(e);
            false
        }
    };
    let outcome = export.produce(&pool, &mut send).map_err(err);
    let result = outcome.and_then(|o| {
        if let Some(e) = failed.take() {
            anyhow::bail!("writing {}: {e}", partial.display());
        }
        let file = writer
            .into_inner()
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", partial.display()))?;
        file.sync_all()?;
        std::fs::rename(&partial, &args.out)?;
        Ok(o)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}
