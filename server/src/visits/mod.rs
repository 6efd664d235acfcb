//! Visit reports: idempotent submission checked against the task's pinned form version, the
//! server's own verification of where and when, and review.
//!
//! A submission is one write transaction: the visit (answers sealed), the task moved to
//! `submitted` with its event, and the change that takes the task off the worker's phone. The
//! phone's UUID is the visit id; the same id with the same body is a replay and answers with what
//! was stored, the same id with another body is refused.

pub mod verify;

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use jiuzhu_proto::task::TaskState;
use jiuzhu_proto::visit::{
    LocationFix, ReviewDecision, ReviewState, SubmitVisit, Visit, VisitFlag,
};
use jiuzhu_proto::{ErrorCode, UserId};
use sha2::{Digest, Sha256};

use crate::changes::{self, UPSERT};
use crate::config::{PhotoSettings, VisitChecks};
use crate::crypto::FieldCipher;
use crate::database::Database;
use crate::db::repo::tasks as task_repo;
use crate::db::repo::visits::{self as repo, VisitRow};
use crate::db::{repo as repos, AnyConnection};
use crate::domain::free_text;
use crate::domain::geo::LatLon;
use crate::domain::geo::{GridKey, GridLookup};
use crate::error::{field_error, ApiError, ApiResult};
use crate::forms::FormCache;
use crate::scope::Scope;

pub use crate::answers::{open_answers, ANSWERS_CONTEXT};

const MAX_STAFF: usize = 10;
const MAX_PHOTOS: usize = 50;

/// SHA-256 of the body as the server parsed it. `serde_json` maps are ordered by key, so two
/// spellings of one body (key order, whitespace) hash the same.
pub fn body_hash(visit: &SubmitVisit) -> ApiResult<String> {
    let bytes = serde_json::to_vec(visit).map_err(ApiError::internal)?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Checks what can be checked without the database; returns the fix in WGS-84.
pub fn check_shape(v: &SubmitVisit, now: DateTime<Utc>, limits: &VisitChecks) -> ApiResult<LatLon> {
    let mut errors = Vec::new();
    let skew = Duration::seconds(limits.clock_skew_secs);
    let oldest = now - Duration::days(limits.max_age_days);
    let point = crate::registry::validate::check_location(
        &mut errors,
        "location",
        &jiuzhu_proto::household::Location {
            lat: v.location.lat,
            lon: v.location.lon,
            crs: v.location.crs,
        },
    );
    if !v.location.accuracy_m.is_finite() || v.location.accuracy_m < 0.0 {
        errors.push(field_error(
            "location.accuracy_m",
            "out_of_range",
            "定位精度须为非负数",
            "accuracy must be a non-negative number of metres",
        ));
    }
    for (name, t) in [
        ("location.fix_time", v.location.fix_time),
        ("started_at", v.started_at),
        ("finished_at", v.finished_at),
    ] {
        if t > now + skew {
            errors.push(field_error(
                name,
                "in_future",
                "时间晚于当前时间",
                "the time is in the future",
            ));
        } else if t < oldest {
            errors.push(field_error(
                name,
                "too_old",
                "时间过早，超出可补报期限",
                "the time is older than a visit may be reported",
            ));
        }
    }
    if v.finished_at < v.started_at {
        errors.push(field_error(
            "finished_at",
            "before_start",
            "结束时间早于开始时间",
            "finished before it started",
        ));
    }
    if v.staff.len() > MAX_STAFF {
        errors.push(field_error(
            "staff",
            "too_many",
            "在场人员过多",
            "too many staff",
        ));
    }
    if v.staff.iter().collect::<BTreeSet<_>>().len() != v.staff.len() {
        errors.push(field_error(
            "staff",
            "duplicate",
            "在场人员重复",
            "staff listed twice",
        ));
    }
    if v.photo_ids.len() > MAX_PHOTOS {
        errors.push(field_error(
            "photo_ids",
            "too_many",
            "照片过多",
            "too many photos",
        ));
    }
    if v.form_key.is_empty() || v.form_key.len() > 64 {
        errors.push(field_error(
            "form_key",
            "invalid",
            "表单标识无效",
            "invalid form key",
        ));
    }
    match point {
        Some(p) if errors.is_empty() => Ok(p),
        _ => Err(ApiError::validation(errors)),
    }
}

fn not_open(zh: &'static str, en: &'static str) -> ApiError {
    ApiError::conflict(ErrorCode::TaskNotOpen, zh, en)
}

/// The answers checked against the form version the visit names, and sealed, before the write:
/// this needs only the request and the compiled form, so it runs on the request's own thread
/// instead of the one thread that writes every SQLite visit (`db::group_commit`). `submit` uses
/// the result only once the task is known to pin that version, so the order in which errors are
/// reported is the same as checking inside the transaction.
pub struct CheckedAnswers {
    /// `None`: the version does not exist. The field errors carry their `answers.` paths.
    outcome: Option<Result<crate::crypto::Sealed, Vec<jiuzhu_proto::error::FieldError>>>,
    /// The answers as sealed, kept so that the response to a new visit need not open them again.
    cleaned: Option<serde_json::Value>,
}

impl CheckedAnswers {
    /// `form` is the version `v` names (`None`: no such version).
    pub fn check(
        v: &SubmitVisit,
        form: Option<&jiuzhu_proto::form::CompiledForm>,
        cipher: &FieldCipher,
    ) -> ApiResult<Self> {
        let Some(form) = form else {
            return Ok(Self {
                outcome: None,
                cleaned: None,
            });
        };
        let day = crate::domain::time::date_of_instant(v.started_at);
        let outcome = form.validate_at(&v.answers, day);
        if !outcome.is_valid() {
            let errors = outcome
                .errors
                .into_iter()
                .map(|mut e| {
                    e.field = if e.field.is_empty() {
                        "answers".into()
                    } else {
                        format!("answers.{}", e.field)
                    };
                    e
                })
                .collect();
            return Ok(Self {
                outcome: Some(Err(errors)),
                cleaned: None,
            });
        }
        let answers = outcome.cleaned(&v.answers);
        let sealed = cipher
            .encrypt(
                &serde_json::to_string(&answers).map_err(ApiError::internal)?,
                ANSWERS_CONTEXT,
            )
            .map_err(ApiError::internal)?;
        Ok(Self {
            outcome: Some(Ok(sealed)),
            cleaned: Some(answers),
        })
    }

    /// The valid answers as they were sealed (`None` when they were not valid), taken out so
    /// that the write does not carry them.
    pub fn take_cleaned(&mut self) -> Option<serde_json::Value> {
        self.cleaned.take()
    }
}

/// What the submission needs from outside the transaction.
pub struct Context<'a> {
    pub worker: &'a str,
    pub scope: &'a Scope,
    pub grids: &'a crate::domain::geo::GridLookup<GridKey>,
    pub checks: &'a VisitChecks,
    pub photo_checks: &'a crate::config::PhotoSettings,
    pub now: NaiveDateTime,
}

/// The outcome of a submission.
pub enum Submission {
    Created(VisitRow),
    /// The same visit was stored before.
    Replay(VisitRow),
}

/// What receiving a phone's visit needs (`AppState::visit_desk` lends one): the database it
/// commits through, the compiled form versions, the cipher that seals the answers, the grid lookup
/// of the moment and the settings of the checks.
pub struct Desk<'a> {
    pub database: &'a Database,
    pub forms: &'a FormCache,
    pub cipher: &'a FieldCipher,
    pub grids: Arc<GridLookup<GridKey>>,
    pub checks: &'a VisitChecks,
    pub photo_checks: &'a PhotoSettings,
}

/// A visit from a phone, from start to end: its shape checked against the server's clock `now`,
/// the answers checked and sealed on this thread (off the one that commits SQLite's visits),
/// then stored, or recognised as stored before, in one grouped write. Returns the visit as the
/// API shows it and whether it was a replay. The route and the demo city both come here.
pub async fn receive(
    desk: &Desk<'_>,
    worker: String,
    scope: Scope,
    mut input: SubmitVisit,
    now: DateTime<Utc>,
) -> ApiResult<(Visit, bool)> {
    let at = check_shape(&input, now, desk.checks)?;
    let hash = body_hash(&input)?;
    let form = desk
        .forms
        .load(desk.database, &input.form_key, input.form_version)
        .await?;
    let mut answers = CheckedAnswers::check(&input, form.as_deref(), desk.cipher)?;
    let cleaned = answers.take_cleaned();
    // Sealed now: freed here rather than on the committing thread.
    drop(std::mem::take(&mut input.answers));
    let reader = scope.clone();
    // The committing closure owns what it reads (the pool runs it on another thread).
    let grids = desk.grids.clone();
    let checks = desk.checks.clone();
    let photo_checks = desk.photo_checks.clone();
    let (row, replay) = desk
        .database
        .tx_grouped(move |conn| {
            let cx = Context {
                worker: &worker,
                scope: &scope,
                grids: &grids,
                checks: &checks,
                photo_checks: &photo_checks,
                now: now.naive_utc(),
            };
            Ok(match submit(conn, &cx, &input, at, &hash, answers)? {
                Submission::Created(row) => (row, false),
                Submission::Replay(row) => (row, true),
            })
        })
        .await?;
    // A new visit's answers are the ones just checked; a replay's are what was stored then.
    let visit = match cleaned {
        Some(answers) if !replay => to_api_with(row, answers, &reader)?,
        _ => to_api(row, desk.cipher, &reader)?,
    };
    Ok((visit, replay))
}

/// Stores a visit, or recognises it as already stored. Runs inside a write transaction.
pub fn submit(
    conn: &mut AnyConnection,
    cx: &Context<'_>,
    v: &SubmitVisit,
    at: LatLon,
    hash: &str,
    answers: CheckedAnswers,
) -> ApiResult<Submission> {
    let id = v.id.to_string();
    let task_id = v.task_id.to_string();
    // Concurrent submissions of one visit, or of two visits for one task, take turns (SQLite's
    // single writer already does this).
    lock(conn, &id)?;
    lock(conn, &task_id)?;
    if let Some(existing) = repo::find(conn, &id)? {
        if existing.body_hash == hash && existing.worker_id == cx.worker {
            return Ok(Submission::Replay(existing));
        }
        return Err(ApiError::conflict(
            ErrorCode::IdempotencyConflict,
            "该走访编号已用于另一份内容不同的报告",
            "this visit id was already used for a different report",
        ));
    }
    let task = task_repo::find_in_scope(conn, cx.scope, &task_id)?;
    let task = match task {
        Some(t) if t.assignee_id.as_deref() == Some(cx.worker) => t,
        Some(t) if repo::task_was_workers(conn, &t.id, cx.worker)? => {
            return Err(not_open(
                "任务已改派给他人或已取消",
                "the task was reassigned or cancelled",
            ))
        }
        _ => return Err(ApiError::not_found()),
    };
    let superseded = match &v.supersedes {
        Some(old) => {
            let old = repo::find(conn, &old.to_string())?
                .filter(|o| o.task_id == task.id && o.worker_id == cx.worker)
                .ok_or_else(|| {
                    ApiError::validation(vec![field_error(
                        "supersedes",
                        "unknown_visit",
                        "被更正的走访不存在或不属于该任务",
                        "the visit to correct does not exist or belongs to another task",
                    )])
                })?;
            if repo::is_superseded(conn, &old.id)? {
                return Err(ApiError::conflict(
                    ErrorCode::Conflict,
                    "该走访已被更正过",
                    "that visit was already corrected",
                ));
            }
            Some(old)
        }
        None => None,
    };
    let allowed: &[TaskState] = if superseded.is_some() {
        &[
            TaskState::Assigned,
            TaskState::Accepted,
            TaskState::Submitted,
        ]
    } else {
        &TaskState::ON_PHONE
    };
    if !TaskState::parse(&task.state).is_some_and(|s| allowed.contains(&s)) {
        return Err(not_open(
            "任务已提交或已关闭；更正请注明被更正的走访",
            "the task is submitted or closed; a correction must name the visit it supersedes",
        ));
    }
    if Some(v.form_version) != task.form_version || v.form_key != task.form_key {
        return Err(ApiError::validation(vec![field_error(
            "form_version",
            "form_version_mismatch",
            "表单版本与任务指定的版本不符",
            "the form version is not the one the task pinned",
        )]));
    }
    let sealed = match answers.outcome {
        None => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "pinned form version missing"
            )))
        }
        Some(Err(errors)) => return Err(ApiError::validation(errors)),
        Some(Ok(sealed)) => sealed,
    };
    check_staff(conn, &v.staff)?;
    let photos = check_photos(conn, cx.worker, &v.photo_ids, superseded.as_ref())?;
    let (household, _) = repos::households::find_in_scope(conn, cx.scope, &task.household_id)?
        .ok_or_else(ApiError::not_found)?;
    let household_at = match (household.lat, household.lon) {
        (Some(lat), Some(lon)) => LatLon::new(lat, lon).ok(),
        _ => None,
    };
    let fix_grid = cx.grids.locate(at);
    let (day_start, day_end) = shanghai_day(v.started_at);
    let same_day: Vec<(String, LatLon)> =
        repo::spots_of_worker(conn, cx.worker, day_start, day_end)?
            .into_iter()
            .filter_map(|(h, lat, lon)| LatLon::new(lat, lon).ok().map(|p| (h, p)))
            .collect();
    let flags = verify::check(
        &verify::Evidence {
            at,
            accuracy_m: v.location.accuracy_m,
            mock: v.location.mock,
            fix_time: v.location.fix_time,
            started_at: v.started_at,
            finished_at: v.finished_at,
            household_at,
            household_grid: &household.grid_id,
            fix_grid: fix_grid.map(|g| (g.key.id.as_str(), g.code.as_str())),
            same_day: &same_day,
            household_id: &household.id,
        },
        cx.checks,
    );
    let mut flags = flags;
    flags.extend(crate::photos::checks::check(
        conn,
        &photos,
        &crate::photos::checks::Against {
            at,
            accuracy_m: v.location.accuracy_m,
            started_at: v.started_at,
            finished_at: v.finished_at,
            task_created_at: task.created_at.and_utc(),
            household_id: &household.id,
        },
        cx.photo_checks,
    )?);
    let row = VisitRow {
        id,
        task_id: task.id.clone(),
        household_id: household.id.clone(),
        org_path: household.org_path.clone(),
        worker_id: cx.worker.to_owned(),
        form_key: v.form_key.clone(),
        form_version: v.form_version,
        answers_key_id: sealed.key_id,
        answers_sealed: sealed.ciphertext,
        body_hash: hash.to_owned(),
        fix_as_sent: serde_json::to_string(&v.location).map_err(ApiError::internal)?,
        lat: at.lat(),
        lon: at.lon(),
        accuracy_m: v.location.accuracy_m,
        fix_time: v.location.fix_time.naive_utc(),
        mock_location: v.location.mock,
        started_at: v.started_at.naive_utc(),
        finished_at: v.finished_at.naive_utc(),
        photo_ids: serde_json::to_string(&v.photo_ids).map_err(ApiError::internal)?,
        staff: serde_json::to_string(&v.staff).map_err(ApiError::internal)?,
        supersedes: superseded.as_ref().map(|o| o.id.clone()),
        flag_count: flags.len() as i32,
        flags: serde_json::to_string(&flags).map_err(ApiError::internal)?,
        review_state: ReviewState::Pending.as_str().to_owned(),
        review_note: None,
        reviewed_by: None,
        reviewed_at: None,
        received_at: cx.now,
    };
    repo::insert(conn, &row)?;
    if !photos.is_empty() {
        let ids: Vec<String> = photos.iter().map(|p| p.id.clone()).collect();
        repos::photos::attach(conn, &ids, &row.id, &household.id, &household.org_path)?;
    }
    if let Some(old) = &superseded {
        // A corrected report replaces the one under review.
        repo::set_review(
            conn,
            &old.id,
            ReviewState::Superseded.as_str(),
            None,
            None,
            cx.now,
        )?;
    }
    if task.state != TaskState::Submitted.as_str() {
        let moved = task_repo::transition(
            conn,
            &task.id,
            &TaskState::ON_PHONE.map(TaskState::as_str),
            TaskState::Submitted.as_str(),
            None,
            None,
            cx.now,
        )?;
        if !moved {
            return Err(not_open(
                "任务状态已变化",
                "the task changed while the visit was being stored",
            ));
        }
        task_repo::record_event(
            conn,
            &task.id,
            Some(&task.state),
            TaskState::Submitted.as_str(),
            Some(cx.worker),
            "",
            cx.now,
        )?;
    }
    changes::record(conn, "task", &task.id, Some(cx.worker), UPSERT)?;
    crate::audit::journal(
        conn,
        crate::audit::AuditEntry {
            actor_id: Some(cx.worker),
            action: "visit.submit",
            entity: "visit",
            entity_id: &row.id,
            org_path: &row.org_path,
            detail: serde_json::json!({
                "task_id": task.id,
                "household_id": household.id,
                "photos": photos.len(),
                "flags": flags.len(),
                "supersedes": row.supersedes,
            }),
        },
        crate::audit::Outcome::Success,
    )?;
    Ok(Submission::Created(row))
}

/// A transaction-scoped lock on a key (PostgreSQL; SQLite writers are serial anyway).
fn lock(conn: &mut AnyConnection, key: &str) -> ApiResult<()> {
    Ok(crate::db::locks::key(conn, key)?)
}

/// The Asia/Shanghai calendar day of `t`, as a UTC range.
fn shanghai_day(t: DateTime<Utc>) -> (NaiveDateTime, NaiveDateTime) {
    let start = crate::domain::time::start_of(crate::domain::time::date_of_instant(t));
    (start, start + Duration::days(1))
}

/// The visit's photos: each uploaded by this worker and not attached to another visit (a
/// correction may take over the photos of the visit it supersedes).
fn check_photos(
    conn: &mut AnyConnection,
    worker: &str,
    ids: &[uuid::Uuid],
    superseded: Option<&VisitRow>,
) -> ApiResult<Vec<crate::db::repo::photos::PhotoRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    let found = repos::photos::find_many(conn, &keys)?;
    let mut errors = Vec::new();
    let mut photos = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let usable = found.iter().find(|p| &p.id == key).filter(|p| {
            p.owner_id == worker
                && (p.visit_id.is_none()
                    || p.visit_id.as_deref() == superseded.map(|s| s.id.as_str()))
        });
        match usable {
            Some(p) => photos.push(p.clone()),
            None => errors.push(field_error(
                format!("photo_ids[{i}]"),
                "unknown_photo",
                "照片不存在、不属于你或已用于其他走访",
                "no such photo of yours, or it belongs to another visit",
            )),
        }
    }
    if errors.is_empty() {
        Ok(photos)
    } else {
        Err(ApiError::validation(errors))
    }
}

/// Every listed staff member must be an active staff account (not a citizen's).
fn check_staff(conn: &mut AnyConnection, staff: &[UserId]) -> ApiResult<()> {
    let mut errors = Vec::new();
    for (i, s) in staff.iter().enumerate() {
        let ok = task_repo::user_binding(conn, &s.to_string())?
            .is_some_and(|(role, _, disabled)| !disabled && role != "citizen");
        if !ok {
            errors.push(field_error(
                format!("staff[{i}]"),
                "unknown_user",
                "在场人员账号不存在、已停用或不是工作人员",
                "no such active staff account",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::validation(errors))
    }
}

/// The visit as `reader` sees it: answers opened, then ID and phone numbers masked; evidence
/// naming other photos only where the reader may open them.
pub fn to_api(row: VisitRow, cipher: &FieldCipher, reader: &Scope) -> ApiResult<Visit> {
    let answers = open_answers(&row, cipher)?;
    to_api_with(row, answers, reader)
}

/// The visit as the API shows it, with its answers already opened (`answers` are what
/// `row.answers_sealed` holds); ID and phone numbers are masked here.
pub fn to_api_with(
    row: VisitRow,
    mut answers: serde_json::Value,
    reader: &Scope,
) -> ApiResult<Visit> {
    let bad = |what: &str| ApiError::internal(anyhow::anyhow!("unreadable visit {what}"));
    free_text::mask_json(&mut answers);
    let location: LocationFix = serde_json::from_str(&row.fix_as_sent).map_err(|_| bad("fix"))?;
    let mut flags: Vec<VisitFlag> = serde_json::from_str(&row.flags).map_err(|_| bad("flags"))?;
    for f in &mut flags {
        crate::photos::checks::scope_evidence(f, reader);
    }
    Ok(Visit {
        id: row.id.parse().map_err(|_| bad("id"))?,
        task_id: row.task_id.parse().map_err(|_| bad("task"))?,
        household_id: row.household_id.parse().map_err(|_| bad("household"))?,
        worker_id: row.worker_id.parse().map_err(|_| bad("worker"))?,
        form_key: row.form_key,
        form_version: row.form_version,
        answers,
        location,
        lat: row.lat,
        lon: row.lon,
        started_at: row.started_at.and_utc(),
        finished_at: row.finished_at.and_utc(),
        photo_ids: serde_json::from_str(&row.photo_ids).map_err(|_| bad("photos"))?,
        staff: serde_json::from_str(&row.staff).map_err(|_| bad("staff"))?,
        supersedes: row
            .supersedes
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| bad("supersedes"))?,
        flags,
        review_state: ReviewState::parse(&row.review_state).ok_or_else(|| bad("review"))?,
        review_note: row
            .review_note
            .map(|n| free_text::mask_text(&n).into_owned()),
        reviewed_by: row
            .reviewed_by
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| bad("reviewer"))?,
        reviewed_at: row.reviewed_at.map(|t| t.and_utc()),
        received_at: row.received_at.and_utc(),
    })
}

/// A reviewer's decision, and what follows from it: an accepted visit is what the rules read, so
/// they run on its household at once. Runs inside a write transaction.
#[allow(clippy::too_many_arguments)]
pub fn decide(
    conn: &mut AnyConnection,
    rules: &crate::rules::Engine<'_>,
    scope: &Scope,
    id: &str,
    decision: ReviewDecision,
    note: &str,
    reviewer: &str,
    now: NaiveDateTime,
) -> ApiResult<VisitRow> {
    let row = review(conn, scope, id, decision, note, reviewer, now)?;
    if decision == ReviewDecision::Approved {
        crate::rules::evaluate::household(
            conn,
            rules,
            &row.household_id,
            crate::rules::evaluate::Trigger::Visit(&row.id),
            &Default::default(),
            now,
        )?;
    }
    Ok(row)
}

/// A reviewer's decision. `has_issues` sends the task back to its worker; the other two close it.
pub fn review(
    conn: &mut AnyConnection,
    scope: &Scope,
    id: &str,
    decision: ReviewDecision,
    note: &str,
    reviewer: &str,
    now: NaiveDateTime,
) -> ApiResult<VisitRow> {
    let visit = repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)?;
    if visit.review_state != ReviewState::Pending.as_str() || repo::is_superseded(conn, &visit.id)?
    {
        return Err(ApiError::conflict(
            ErrorCode::Conflict,
            "该走访已审核或已被更正",
            "this visit was already reviewed or corrected",
        ));
    }
    let state = ReviewState::from(decision);
    // Stored masked: a note is plain text at rest (see `domain::free_text`).
    let note = free_text::mask_text(note);
    let note = Some(note.as_ref()).filter(|n| !n.is_empty());
    repo::set_review(conn, &visit.id, state.as_str(), note, Some(reviewer), now)?;
    crate::audit::record(
        conn,
        crate::audit::AuditEntry {
            actor_id: Some(reviewer),
            action: "visit.review",
            entity: "visit",
            entity_id: &visit.id,
            org_path: &visit.org_path,
            detail: serde_json::json!({ "decision": state.as_str() }),
        },
    )?;
    let task = task_repo::find(conn, &visit.task_id)?.ok_or_else(ApiError::not_found)?;
    if task.state == TaskState::Submitted.as_str() {
        let to = match decision {
            ReviewDecision::HasIssues => TaskState::Accepted,
            ReviewDecision::Approved | ReviewDecision::Rejected => TaskState::Reviewed,
        }
        .as_str();
        let submitted = TaskState::Submitted.as_str();
        task_repo::transition(conn, &task.id, &[submitted], to, None, None, now)?;
        task_repo::record_event(
            conn,
            &task.id,
            Some(submitted),
            to,
            Some(reviewer),
            note.unwrap_or_default(),
            now,
        )?;
        if let Some(worker) = task.assignee_id.as_deref() {
            changes::record(conn, "task", &task.id, Some(worker), UPSERT)?;
        }
    }
    repo::find(conn, &visit.id)?.ok_or_else(ApiError::not_found)
}
