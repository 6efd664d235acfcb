//! Citizens' self-reports: routed by the point → grid lookup to a grid, where they become a
//! household to verify (registered provisionally), a `self_report` finding and a verify task for
//! the grid's worker. A report outside every grid goes to the city's unassigned queue as a
//! finding without a household: accepted, never lost.

use chrono::{Duration, NaiveDateTime};
use jiuzhu_proto::citizen::{CreateSelfReport, MySelfReport, SelfReportStatus};
use jiuzhu_proto::finding::FindingSource;
use jiuzhu_proto::household::AssistanceStatus;
use jiuzhu_proto::task::TaskKind;
use jiuzhu_proto::ErrorCode;

use crate::citizens::{invalid_mobile, parse_mobile};
use crate::crypto::FieldCipher;
use crate::db::repo::findings::{self as finding_repo, FindingRow};
use crate::db::repo::self_reports::{self as repo, SelfReportRow};
use crate::db::repo::{org_units, tasks as task_repo};
use crate::db::AnyConnection;
use crate::domain::geo::{GridKey, GridLookup};
use crate::domain::id_number::mask_phone;
use crate::error::{ApiError, ApiResult};
use crate::registry::validate::{check_free_text, check_location, check_text};
use crate::registry::write::{self, GridChoice};
use crate::registry::ValidHousehold;
use crate::rules::Engine;
use crate::tasks::{self, NewTask};

pub const PHONE_CONTEXT: &str = "self_report.phone";
const MAX_PHOTOS: usize = 9;
/// Calendar days until a verify task is due.
const VERIFY_DUE_DAYS: i64 = 3;

pub fn to_mine(row: &SelfReportRow) -> ApiResult<MySelfReport> {
    let bad = || ApiError::internal(anyhow::anyhow!("unreadable self-report"));
    Ok(MySelfReport {
        id: row.id.parse().map_err(|_| bad())?,
        status: SelfReportStatus::parse(&row.status).ok_or_else(bad)?,
        category_hint: row
            .category_hint
            .as_deref()
            .and_then(jiuzhu_proto::application::Category::parse),
        public_note: row.public_note.clone(),
        created_at: row.created_at.and_utc(),
    })
}

/// What routing a self-report needs: the cipher that seals the number, the grid lookup, the form
/// of the verify task it opens, and the rules that run on the household it registers.
#[derive(Clone, Copy)]
pub struct Intake<'a> {
    pub cipher: &'a FieldCipher,
    pub grids: &'a GridLookup<GridKey>,
    pub verify_form: &'a str,
    pub rules: Engine<'a>,
}

/// Stores a self-report and routes it. Sending the same id again returns the stored report.
pub fn create(
    conn: &mut AnyConnection,
    intake: &Intake<'_>,
    citizen_id: &str,
    citizen_path: &str,
    input: &CreateSelfReport,
    now: NaiveDateTime,
) -> ApiResult<SelfReportRow> {
    let mut errors = Vec::new();
    let description = check_free_text(&mut errors, "description", &input.description, 2000, true);
    let address = check_text(&mut errors, "address", &input.address, 200, false);
    let mut location = input.location;
    location.crs = Some(location.crs.unwrap_or(jiuzhu_proto::geo::Crs::Gcj02));
    let point = check_location(&mut errors, "location", &location);
    let mobile = parse_mobile(&input.contact_phone);
    if mobile.is_none() {
        errors.push(crate::error::field_error(
            "contact_phone",
            "invalid_phone",
            "请填写11位手机号码",
            "an 11-digit mainland mobile number is needed",
        ));
    }
    if input.photo_ids.len() > MAX_PHOTOS {
        errors.push(crate::error::field_error(
            "photo_ids",
            "too_many",
            "至多9张照片",
            "at most 9 photos",
        ));
    }
    let (Some(point), Some(mobile)) = (point, mobile) else {
        return Err(if errors.is_empty() {
            invalid_mobile("contact_phone")
        } else {
            ApiError::validation(errors)
        });
    };
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let id = input.id.unwrap_or_else(uuid::Uuid::now_v7).to_string();
    if let Some(existing) = repo::find(conn, &id)? {
        if existing.citizen_id == citizen_id {
            return Ok(existing);
        }
        return Err(ApiError::conflict(
            ErrorCode::IdempotencyConflict,
            "该编号已被使用",
            "this id is taken",
        ));
    }
    let photo_ids: Vec<String> = input.photo_ids.iter().map(|p| p.to_string()).collect();
    let owned = crate::db::repo::photos::find_many(conn, &photo_ids)?
        .into_iter()
        .filter(|p| p.owner_id == citizen_id)
        .count();
    if owned != photo_ids.len() {
        return Err(ApiError::invalid(
            "photo_ids",
            "unknown_photo",
            "照片须先由本人上传",
            "photos must be uploaded by you first",
        ));
    }

    let grid = intake.grids.locate(point).map(|entry| entry.key.id.clone());
    let grid = match grid {
        Some(grid_id) => org_units::find_by_id(conn, &grid_id)?,
        None => None,
    };
    let sealed = intake
        .cipher
        .encrypt(&mobile, PHONE_CONTEXT)
        .map_err(ApiError::internal)?;
    let mut row = SelfReportRow {
        id: id.clone(),
        citizen_id: citizen_id.to_owned(),
        org_path: grid
            .as_ref()
            .map_or_else(|| citizen_path.to_owned(), |g| g.path.clone()),
        grid_id: grid.as_ref().map(|g| g.id.clone()),
        household_id: None,
        description: description.clone(),
        category_hint: input.category_hint.map(|c| c.as_str().to_owned()),
        location_as_sent: serde_json::to_string(&input.location).map_err(ApiError::internal)?,
        lat: point.lat(),
        lon: point.lon(),
        phone_cipher: format!("{}:{}", sealed.key_id, sealed.ciphertext),
        phone_masked: mask_phone(&mobile),
        photo_ids: serde_json::to_string(&photo_ids).map_err(ApiError::internal)?,
        status: SelfReportStatus::Received.as_str().into(),
        public_note: "已收到，将转交网格员核实 / received: a grid worker will verify it".into(),
        finding_id: None,
        task_id: None,
        created_at: now,
        updated_at: now,
    };

    let mut task_id = None;
    if let Some(grid) = &grid {
        // A household to verify, registered provisionally in the grid.
        let household = ValidHousehold {
            external_id: None,
            address: if address.is_empty() {
                "居民自报地址（待核实）".into()
            } else {
                address
            },
            location: Some(point),
            grid_override: None,
            status: AssistanceStatus::None,
            status_since: None,
            tags: vec!["self_report".into()],
            notes:
                "由居民自报生成，待核实 / registered from a citizen's self-report, to be verified"
                    .into(),
            members: Vec::new(),
            warnings: Vec::new(),
        };
        let choice = GridChoice {
            grid_id: grid.id.clone(),
            org_path: grid.path.clone(),
            overridden: false,
        };
        let built = write::build(
            intake.cipher,
            &household,
            &choice,
            Some(citizen_id),
            now,
            crate::domain::time::today(),
        )?;
        write::insert_all(conn, std::slice::from_ref(&built))?;
        crate::registry::facts_changed(conn, &intake.rules, &[built.row.id.as_str()], now)?;
        row.household_id = Some(built.row.id.clone());
        let worker = task_repo::grid_workers(conn, &grid.path)?
            .into_iter()
            .next();
        let task = tasks::create(
            conn,
            NewTask {
                kind: TaskKind::Verify,
                household_id: &built.row.id,
                household_path: &grid.path,
                form_key: intake.verify_form,
                assignee: worker.as_deref(),
                due_date: crate::domain::time::today() + Duration::days(VERIFY_DUE_DAYS),
                priority: 1,
                note: "居民自报，请入户核实 / a citizen's self-report: visit and verify",
                actor: None,
            },
            now,
        )?;
        task_id = Some(task.id);
        row.status = SelfReportStatus::Verifying.as_str().into();
        row.public_note = "已转交网格员入户核实 / a grid worker will visit to verify".into();
    }
    repo::insert(conn, &row)?;
    if !photo_ids.is_empty() {
        crate::db::repo::photos::file_under(
            conn,
            &photo_ids,
            &row.org_path,
            row.household_id.as_deref(),
        )?;
    }
    let categories: Vec<&str> = input.category_hint.iter().map(|c| c.as_str()).collect();
    let finding = FindingRow {
        household_id: row.household_id.clone(),
        self_report_id: Some(id.clone()),
        source_id: Some(id.clone()),
        ..FindingRow::open(
            "self_report",
            &row.org_path,
            FindingSource::SelfReport,
            &categories,
            serde_json::json!({
                "category_hint": input.category_hint,
                "photos": photo_ids.len(),
                "in_grid": grid.is_some(),
            })
            .to_string(),
            "{}".into(),
            now,
        )
        .map_err(ApiError::internal)?
    };
    finding_repo::insert(conn, &finding)?;
    repo::link(
        conn,
        &id,
        Some(&finding.id),
        task_id.as_deref(),
        &row.status,
    )?;
    row.finding_id = Some(finding.id);
    row.task_id = task_id;
    crate::audit::journal(
        conn,
        crate::audit::AuditEntry {
            actor_id: Some(citizen_id),
            action: "self_report.create",
            entity: "self_report",
            entity_id: &row.id,
            org_path: &row.org_path,
            detail: serde_json::json!({
                "household_id": row.household_id,
                "task_id": row.task_id,
                "photos": photo_ids.len(),
            }),
        },
        crate::audit::Outcome::Success,
    )?;
    Ok(row)
}
