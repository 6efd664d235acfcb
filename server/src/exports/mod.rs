//! Streaming exports of what is in scope (`GET /exports/{kind}`, `jiuzhu export`): CSV (UTF-8 with
//! a BOM, or GBK) or GeoJSON, read in keyset pages of [`PAGE_ROWS`] and handed on page by page, so
//! the result set is never held in memory whatever its size.
//!
//! Adding a kind is one file implementing [`ExportKind`] and one entry in [`KINDS`]; a kind named
//! in [`PLANNED`] answers `unknown_export_kind` until then. Personal numbers
//! leave only in the masked form the registry stored at write time: nothing here decrypts.

pub mod applications;
pub mod cli;
pub mod findings;
pub mod households;
pub mod visits;
mod write;

use bytes::Bytes;
use chrono::NaiveDate;
use diesel::QueryResult;
use jiuzhu_proto::household::AssistanceStatus;
use jiuzhu_proto::visit::ReviewState;
use jiuzhu_proto::ErrorCode;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::db::{self, AnyConnection, DbPool};
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

pub use write::{label_zh, Column, Encoding, Format, HeaderLanguage, RowWriter};

/// Rows per page: one query (two at a path boundary) and one chunk of the response. About
/// 0.5 MB of CSV for visits; with [`CHANNEL_CHUNKS`] chunks queued, a few MB per export at most.
pub const PAGE_ROWS: i64 = 2000;

/// Chunks a producer may run ahead of a slow client before it waits.
pub const CHANNEL_CHUNKS: usize = 4;

/// One kind of export: its columns, the filters it honours, and how to read a page of it.
pub trait ExportKind: Sync {
    /// The `{kind}` of the URL and the command line.
    fn name(&self) -> &'static str;
    fn columns(&self) -> &'static [Column];
    /// Names of the [`Filters`] this kind honours; any other filter given is refused.
    fn filters(&self) -> &'static [&'static str];
    /// Writes the next rows after `after` (at most `limit`) in (org_path, id) order, within
    /// `export.scope` and its filters; returns how many were written and the key of the last.
    fn page(
        &self,
        conn: &mut AnyConnection,
        export: &Export,
        after: Option<&Key>,
        limit: i64,
        out: &mut RowWriter,
    ) -> QueryResult<(i64, Option<Key>)>;
}

/// The kinds available now.
pub const KINDS: &[&dyn ExportKind] = &[
    &households::Households,
    &visits::Visits,
    &findings::Findings,
    &applications::Applications,
];

/// Kinds the API names but that are not built yet.
pub const PLANNED: &[&str] = &[];

pub fn kind(name: &str) -> ApiResult<&'static dyn ExportKind> {
    KINDS
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            let available: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
            let (zh, en) = if PLANNED.contains(&name) {
                (
                    "该导出类型尚未开放",
                    "this export kind is not available yet",
                )
            } else {
                ("没有该导出类型", "no such export kind")
            };
            ApiError::new(
                actix_web::http::StatusCode::NOT_FOUND,
                ErrorCode::UnknownExportKind,
                format!("{zh}（可用：{}）", available.join("、")),
                format!("{en} (available: {})", available.join(", ")),
            )
        })
}

pub use crate::db::keyset::{next_rows, Bound, Key};

/// What an export may be narrowed by; each kind says which it honours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub status: Option<AssistanceStatus>,
    pub tag: Option<String>,
    /// First day (Asia/Shanghai) on which a visit started.
    pub from: Option<NaiveDate>,
    /// Last day (Asia/Shanghai, inclusive).
    pub to: Option<NaiveDate>,
    pub flagged: Option<bool>,
    pub review_state: Option<ReviewState>,
}

impl Filters {
    fn given(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        for (name, set) in [
            ("status", self.status.is_some()),
            ("tag", self.tag.is_some()),
            ("from", self.from.is_some()),
            ("to", self.to.is_some()),
            ("flagged", self.flagged.is_some()),
            ("review_state", self.review_state.is_some()),
        ] {
            if set {
                names.push(name);
            }
        }
        names
    }

    /// `[from, to]` as Asia/Shanghai days, in UTC: `[from 00:00 +08, to+1 00:00 +08)`.
    pub fn utc_range(&self) -> (Option<chrono::NaiveDateTime>, Option<chrono::NaiveDateTime>) {
        let start = |d: NaiveDate| Some(crate::domain::time::start_of(d));
        (
            self.from.and_then(start),
            self.to.and_then(|d| d.succ_opt()).and_then(start),
        )
    }
}

/// The query string of `GET /exports/{kind}` (and the flags of `jiuzhu export`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `geojson` (points in WGS-84).
    #[param(inline)]
    pub format: Option<Format>,
    /// CSV only: `utf8` (default, with a BOM) or `gbk`.
    #[param(inline)]
    pub encoding: Option<Encoding>,
    /// CSV only: the header row's language, `zh` or `en`. Default: Chinese for GBK (Excel in a
    /// Chinese office), the English wire names for UTF-8.
    #[param(inline)]
    pub header: Option<HeaderLanguage>,
    /// Code of an org unit inside the caller's scope (street, community, grid) to export only
    /// its part; outside the scope it answers 404 like any unit the caller cannot see.
    pub org: Option<String>,
    /// households: assistance status.
    pub status: Option<AssistanceStatus>,
    /// households: a tag.
    pub tag: Option<String>,
    /// visits: first day (Asia/Shanghai) the visit started, `YYYY-MM-DD`.
    pub from: Option<NaiveDate>,
    /// visits: last day (Asia/Shanghai, inclusive).
    pub to: Option<NaiveDate>,
    /// visits: only flagged (true) or unflagged (false) visits.
    pub flagged: Option<bool>,
    /// visits: review state.
    pub review_state: Option<ReviewState>,
}

/// One export, checked and ready to run.
pub struct Export {
    pub kind: &'static dyn ExportKind,
    pub format: Format,
    pub encoding: Encoding,
    pub header: HeaderLanguage,
    pub scope: Scope,
    pub filters: Filters,
}

/// What a finished (or abandoned) export did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub rows: u64,
    pub bytes: u64,
    /// The receiver went away (the client disconnected) before the end.
    pub cancelled: bool,
}

fn refuse(zh: String, en: String) -> ApiError {
    ApiError::bad_request(ErrorCode::ValidationFailed, zh, en)
}

impl Export {
    /// Checks a request against its kind. The scope is the caller's; `org` in the query is
    /// applied by [`narrow`] (it needs the database).
    pub fn new(kind: &'static dyn ExportKind, q: &ExportQuery, scope: Scope) -> ApiResult<Self> {
        let format = q.format.unwrap_or_default();
        let encoding = q.encoding.unwrap_or_default();
        if format == Format::Geojson && encoding == Encoding::Gbk {
            return Err(refuse(
                "GeoJSON 只能用 UTF-8 编码".into(),
                "GeoJSON is always UTF-8; `encoding=gbk` is for CSV".into(),
            ));
        }
        let filters = Filters {
            status: q.status,
            tag: q
                .tag
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            from: q.from,
            to: q.to,
            flagged: q.flagged,
            review_state: q.review_state,
        };
        for name in filters.given() {
            if !kind.filters().contains(&name) {
                return Err(refuse(
                    format!(
                        "导出类型 {} 不支持筛选条件 {name}（支持：{}）",
                        kind.name(),
                        kind.filters().join("、")
                    ),
                    format!(
                        "the {} export has no filter `{name}` (it has: {})",
                        kind.name(),
                        kind.filters().join(", ")
                    ),
                ));
            }
        }
        if let (Some(from), Some(to)) = (filters.from, filters.to) {
            if from > to {
                return Err(refuse(
                    "起始日期晚于结束日期".into(),
                    "`from` is after `to`".into(),
                ));
            }
        }
        let header = q.header.unwrap_or(match encoding {
            Encoding::Gbk => HeaderLanguage::Zh,
            Encoding::Utf8 => HeaderLanguage::En,
        });
        Ok(Self {
            kind,
            format,
            encoding,
            header,
            scope,
            filters,
        })
    }

    pub fn content_type(&self) -> &'static str {
        match (self.format, self.encoding) {
            (Format::Geojson, _) => "application/geo+json",
            (Format::Csv, Encoding::Utf8) => "text/csv; charset=utf-8",
            (Format::Csv, Encoding::Gbk) => "text/csv; charset=gbk",
        }
    }

    /// `visits-20261128.csv`: the kind and the day (Asia/Shanghai).
    pub fn file_name(&self) -> String {
        let day = crate::domain::time::today().format("%Y%m%d");
        let ext = match self.format {
            Format::Csv => "csv",
            Format::Geojson => "geojson",
        };
        format!("{}-{day}.{ext}", self.kind.name())
    }

    /// Reads page after page, each on a connection taken from the pool for that page only (a
    /// slow client holds no connection, and on SQLite no read snapshot stays open to stall
    /// checkpoints), and hands each chunk to `send`; stops when `send` says the receiver is gone.
    /// Each page is consistent on its own; rows that exist throughout the export appear exactly
    /// once (keyset order), rows written meanwhile may or may not.
    pub fn produce(
        &self,
        pool: &DbPool,
        send: &mut dyn FnMut(Bytes) -> bool,
    ) -> ApiResult<Outcome> {
        let mut out = RowWriter::new(self.format, self.kind.columns());
        out.header(self.encoding, self.header);
        let mut after: Option<Key> = None;
        let mut outcome = Outcome::default();
        loop {
            let (n, last) = {
                let mut conn = pool.get()?;
                db::without_mmap(&mut conn, |conn| {
                    self.kind
                        .page(conn, self, after.as_ref(), PAGE_ROWS, &mut out)
                })?
            };
            outcome.rows += n as u64;
            let done = n < PAGE_ROWS || last.is_none();
            if done {
                out.footer();
            }
            let chunk = out.take(self.encoding);
            outcome.bytes += chunk.len() as u64;
            if !send(chunk) {
                outcome.cancelled = true;
                return Ok(outcome);
            }
            if done {
                return Ok(outcome);
            }
            after = last;
        }
    }
}

/// The caller's scope narrowed to the org unit with this code; 404 when the unit is outside the
/// scope or does not exist (the two answer alike).
pub fn narrow(conn: &mut AnyConnection, scope: &Scope, code: &str) -> ApiResult<Scope> {
    match crate::db::repo::org_units::find_by_code(conn, code.trim())? {
        Some(unit) if scope.contains(&unit.path) => Ok(Scope::subtree(&unit.path)),
        _ => Err(ApiError::not_found()),
    }
}

/// The grid's code: the last segment of an org path (`/320400/…/320402001001/`).
pub fn grid_code(org_path: &str) -> &str {
    org_path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}
