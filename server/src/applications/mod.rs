//! Assistance applications: filing (on a family's behalf, or from a finding), the workflow's
//! steps with their checks, deadlines and timeline, and how staff and families see them.

pub mod workflow;

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, Months, NaiveDateTime};
use jiuzhu_proto::application::{
    Action, Application, ApplicationCategory, ApplicationState, Category, CategoryStatus,
    DataCheck, Department, MyApplication, MyCategory, PublicStep, TimelineEntry, Transition,
};
use jiuzhu_proto::user::Role;
use jiuzhu_proto::visit::ReviewState;
use jiuzhu_proto::ErrorCode;

use crate::audit::{self, AuditEntry};
use crate::auth::Caller;
use crate::calendar::Calendar;
use crate::db::repo::applications::{self as repo, ApplicationRow, CategoryRow, EventRow};
use crate::db::repo::households::HouseholdRow;
use crate::db::repo::{standards as standard_repo, visits as visit_repo};
use crate::db::{self, AnyConnection};
use crate::error::{ApiError, ApiResult};
use crate::rules::facts::district_code;
use crate::scope::Scope;
use workflow::{Facts, Limits, Refusal};

/// Who takes a step.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub role: Role,
}

impl Actor {
    /// The caller as the author of a workflow step.
    pub fn of(caller: &Caller) -> Self {
        Self {
            id: caller.user_id.to_string(),
            role: caller.role,
        }
    }
}

fn utc(t: NaiveDateTime) -> chrono::DateTime<chrono::Utc> {
    t.and_utc()
}

use crate::domain::time::date_of as china_date;

fn state_of(s: &str) -> ApiResult<ApplicationState> {
    ApplicationState::parse(s)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("unknown application state")))
}

/// Files an application: submitted, each category routed to its department, the first line
/// of the timeline written and audited.
pub fn create(
    conn: &mut AnyConnection,
    household: &HouseholdRow,
    categories: &[Category],
    finding_id: Option<&str>,
    actor: &Actor,
    note: &str,
    now: NaiveDateTime,
) -> ApiResult<String> {
    let distinct: BTreeSet<&str> = categories.iter().map(|c| c.as_str()).collect();
    if distinct.is_empty() || distinct.len() != categories.len() {
        return Err(ApiError::invalid(
            "categories",
            "invalid",
            "须申请至少一个类别，且不得重复",
            "request at least one category, each once",
        ));
    }
    let today = china_date(now);
    let district = district_code(&household.org_path).unwrap_or("");
    let delegated =
        standard_repo::in_force(conn, district, today)?.is_some_and(|s| s.approval_delegated);
    let id = uuid::Uuid::now_v7().to_string();
    let row = ApplicationRow {
        id: id.clone(),
        household_id: household.id.clone(),
        org_path: household.org_path.clone(),
        finding_id: finding_id.map(str::to_owned),
        state: ApplicationState::Submitted.as_str().into(),
        delegated,
        visit_id: None,
        data_check: None,
        objections: 0,
        submitted_at: now,
        accepted_at: None,
        notice_ends_on: None,
        decided_at: None,
        exit_until: None,
        step_due: None,
        total_due: None,
        version: 1,
        created_by: actor.id.clone(),
        created_at: now,
        updated_at: now,
    };
    repo::insert(conn, &row)?;
    let rows: Vec<CategoryRow> = categories
        .iter()
        .map(|c| CategoryRow {
            application_id: id.clone(),
            category: c.as_str().into(),
            department: c.department().as_str().into(),
            status: if c.department() == Department::CivilAffairs {
                CategoryStatus::InProgress
            } else {
                CategoryStatus::Referred
            }
            .as_str()
            .into(),
            note: None,
            updated_at: now,
        })
        .collect();
    repo::insert_categories(conn, &rows)?;
    repo::insert_event(
        conn,
        &EventRow {
            application_id: id.clone(),
            seq: 1,
            action: "submit".into(),
            from_state: None,
            to_state: ApplicationState::Submitted.as_str().into(),
            actor_id: Some(actor.id.clone()),
            actor_role: Some(actor.role.as_str().into()),
            note: note.to_owned(),
            public_note: "申请已提交 / application submitted".into(),
            at: now,
        },
    )?;
    audit::record(
        conn,
        AuditEntry {
            actor_id: Some(&actor.id),
            action: "application.submit",
            entity: "application",
            entity_id: &id,
            org_path: &household.org_path,
            detail: serde_json::json!({ "categories": distinct, "finding": finding_id }),
        },
    )?;
    Ok(id)
}

fn refusal_error(r: Refusal, from: ApplicationState, action: Action) -> ApiError {
    match r {
        Refusal::WrongState => ApiError::conflict(
            ErrorCode::InvalidTransition,
            format!(
                "申请当前为「{}」，不能执行「{}」",
                from.as_str(),
                action.as_str()
            ),
            format!(
                "the application is {}: {} is not possible now",
                from.as_str(),
                action.as_str()
            ),
        ),
        Refusal::WrongRole => ApiError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "您的角色或层级不能办理此步骤",
            "this step is not for your role or level",
        ),
        Refusal::NoteRequired => ApiError::invalid(
            "note",
            "required",
            "此步骤须填写书面说明或理由",
            "this step needs a written note or reason",
        ),
        Refusal::Needs(field, zh, en) => ApiError::invalid(field, "precondition", zh, en),
    }
}

/// Takes one step of the workflow. Of two steps taken at once on the same application,
/// exactly one is written: the other finds the version moved and answers 409.
pub fn transition(
    conn: &mut AnyConnection,
    calendar: &Calendar,
    scope: &Scope,
    id: &str,
    actor: &Actor,
    input: &Transition,
    now: NaiveDateTime,
) -> ApiResult<()> {
    let current = repo::find_in_scope(conn, scope, id)?.ok_or_else(ApiError::not_found)?;
    if input.expected_version.is_some_and(|v| v != current.version) {
        return Err(ApiError::conflict(
            ErrorCode::InvalidTransition,
            "申请已被他人更新，请刷新后重试",
            "the application changed since you read it",
        ));
    }
    let from = state_of(&current.state)?;
    let today = china_date(now);
    let note = input.note.trim();
    let facts = Facts {
        delegated: current.delegated,
        objections: current.objections,
        notice_over: current.notice_ends_on.is_some_and(|d| today > d),
        data_check_recorded: current.data_check.is_some(),
    };
    let to = workflow::plan(input.action, from, actor.role, facts, !note.is_empty())
        .map_err(|r| refusal_error(r, from, input.action))?;

    let mut next = current.clone();
    let mut category_changes: Vec<(String, CategoryStatus)> = Vec::new();
    let categories = repo::categories_of(conn, std::slice::from_ref(&current.id))?;
    let civil = |c: &CategoryRow| c.department == Department::CivilAffairs.as_str();
    match input.action {
        Action::Accept => {
            next.accepted_at = Some(now);
            next.total_due = Some(workflow::total_due(calendar, today, current.delegated));
        }
        Action::RecordDataCheck => {
            let check = input.data_check.as_ref().ok_or_else(|| {
                ApiError::invalid(
                    "data_check",
                    "required",
                    "须填写核对结果",
                    "the check's result is needed",
                )
            })?;
            let reference = check.reference.trim();
            if reference.is_empty() || reference.chars().count() > 100 {
                return Err(ApiError::invalid(
                    "data_check.reference",
                    "invalid",
                    "须填写核对编号（至多100字）",
                    "the check's reference is needed (at most 100 characters)",
                ));
            }
            let stored = DataCheck {
                passed: check.passed,
                reference: reference.to_owned(),
            };
            next.data_check = Some(serde_json::to_string(&stored).map_err(ApiError::internal)?);
        }
        Action::FinishInvestigation => {
            let visit_id = input.visit_id.ok_or_else(|| {
                ApiError::invalid(
                    "visit_id",
                    "required",
                    "须关联入户调查走访",
                    "link the home visit",
                )
            })?;
            let visit = visit_repo::find(conn, &visit_id.to_string())?
                .filter(|v| v.household_id == current.household_id)
                .filter(|v| {
                    !matches!(
                        ReviewState::parse(&v.review_state),
                        Some(ReviewState::Rejected | ReviewState::Superseded)
                    )
                })
                .ok_or_else(|| {
                    ApiError::invalid(
                        "visit_id",
                        "not_found",
                        "该户没有此走访记录，或走访已被驳回",
                        "no such (unrejected) visit of this household",
                    )
                })?;
            let mut staff: BTreeSet<String> = serde_json::from_str::<Vec<String>>(&visit.staff)
                .unwrap_or_default()
                .into_iter()
                .collect();
            staff.insert(visit.worker_id.clone());
            if staff.len() < 2 {
                return Err(ApiError::invalid(
                    "visit_id",
                    "needs_two_staff",
                    "入户调查须至少两名工作人员在场",
                    "a dibao home investigation needs at least two different staff present",
                ));
            }
            next.visit_id = Some(visit.id);
        }
        Action::StartNotice => {
            next.notice_ends_on = Some(today + Duration::days(workflow::NOTICE_DAYS));
        }
        Action::RecordObjection => next.objections += 1,
        Action::Approve | Action::Refuse => {
            next.decided_at = Some(now);
            let status = if input.action == Action::Approve {
                CategoryStatus::Granted
            } else {
                CategoryStatus::Declined
            };
            for c in categories.iter().filter(|c| civil(c)) {
                category_changes.push((c.category.clone(), status));
            }
        }
        Action::StartExit => {
            let months = input.exit_months.unwrap_or(0);
            if !(1..=workflow::MAX_EXIT_MONTHS).contains(&months) {
                return Err(ApiError::invalid(
                    "exit_months",
                    "out_of_range",
                    "渐退期为1至6个月",
                    "a gradual exit lasts 1 to 6 months",
                ));
            }
            next.exit_until = today.checked_add_months(Months::new(months));
        }
        Action::Close => {
            for c in categories.iter().filter(|c| civil(c)) {
                category_changes.push((c.category.clone(), CategoryStatus::Closed));
            }
        }
        Action::UpdateCategory => {
            let (Some(category), Some(status)) = (input.category, input.category_status) else {
                return Err(ApiError::invalid(
                    "category",
                    "required",
                    "须指明类别及其状态",
                    "name the category and its new status",
                ));
            };
            match categories.iter().find(|c| c.category == category.as_str()) {
                None => {
                    return Err(ApiError::invalid(
                        "category",
                        "not_requested",
                        "本申请未申请该类别",
                        "this application does not request that category",
                    ))
                }
                Some(c) if civil(c) => {
                    return Err(ApiError::invalid(
                        "category",
                        "follows_workflow",
                        "民政类别随审核确认流程变化",
                        "civil-affairs categories follow the workflow",
                    ))
                }
                Some(_) => category_changes.push((category.as_str().to_owned(), status)),
            }
        }
        _ => {}
    }
    next.state = to.as_str().into();
    next.step_due = workflow::step_due(
        calendar,
        to,
        next.accepted_at.map(china_date),
        next.notice_ends_on,
        next.exit_until,
    );
    next.version = current.version + 1;
    next.updated_at = now;
    if repo::compare_and_set(conn, &next, current.version)? == 0 {
        return Err(ApiError::conflict(
            ErrorCode::InvalidTransition,
            "另一操作已先完成，请刷新后重试",
            "another step was taken first",
        ));
    }
    let category_note = Some(note).filter(|n| !n.is_empty());
    for (category, status) in &category_changes {
        repo::set_category(conn, id, category, status.as_str(), category_note, now)?;
    }
    let public_note = match input.public_note.trim() {
        "" if input.action == Action::Refuse => note.to_owned(),
        p => p.to_owned(),
    };
    if public_note.chars().count() > 2000 || note.chars().count() > 2000 {
        return Err(ApiError::invalid(
            "note",
            "too_long",
            "说明至多2000字",
            "notes are at most 2,000 characters",
        ));
    }
    let seq = repo::last_seq(conn, id)? + 1;
    repo::insert_event(
        conn,
        &EventRow {
            application_id: id.to_owned(),
            seq,
            action: input.action.as_str().into(),
            from_state: Some(from.as_str().into()),
            to_state: to.as_str().into(),
            actor_id: Some(actor.id.clone()),
            actor_role: Some(actor.role.as_str().into()),
            note: note.to_owned(),
            public_note,
            at: now,
        },
    )?;
    audit::record(
        conn,
        AuditEntry {
            actor_id: Some(&actor.id),
            action: &format!("application.{}", input.action.as_str()),
            entity: "application",
            entity_id: id,
            org_path: &current.org_path,
            detail: serde_json::json!({ "from": from.as_str(), "to": to.as_str() }),
        },
    )?;
    Ok(())
}

/// Applications as staff see them, with categories, timeline and overdue flags.
pub fn to_api(conn: &mut AnyConnection, rows: Vec<ApplicationRow>) -> ApiResult<Vec<Application>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut categories: HashMap<String, Vec<ApplicationCategory>> = HashMap::new();
    for c in repo::categories_of(conn, &ids)? {
        let (Some(category), Some(department), Some(status)) = (
            Category::parse(&c.category),
            Department::parse(&c.department),
            CategoryStatus::parse(&c.status),
        ) else {
            continue;
        };
        categories
            .entry(c.application_id)
            .or_default()
            .push(ApplicationCategory {
                category,
                department,
                status,
                note: c.note,
            });
    }
    let mut timelines: HashMap<String, Vec<TimelineEntry>> = HashMap::new();
    for e in repo::events_of(conn, &ids)? {
        timelines
            .entry(e.application_id.clone())
            .or_default()
            .push(TimelineEntry {
                seq: e.seq,
                action: e.action,
                from: e.from_state.as_deref().and_then(ApplicationState::parse),
                to: ApplicationState::parse(&e.to_state).unwrap_or(ApplicationState::Submitted),
                actor_id: e.actor_id,
                actor_role: e.actor_role.as_deref().and_then(Role::parse),
                note: e.note,
                public_note: e.public_note,
                at: utc(e.at),
            });
    }
    let today = china_date(db::now());
    let bad = || ApiError::internal(anyhow::anyhow!("unreadable application"));
    rows.into_iter()
        .map(|r| {
            let st = state_of(&r.state)?;
            let limits = Limits {
                step_due: r.step_due,
                total_due: r.total_due,
            };
            Ok(Application {
                id: r.id.parse().map_err(|_| bad())?,
                household_id: r.household_id.parse().map_err(|_| bad())?,
                finding_id: r.finding_id.as_deref().and_then(|f| f.parse().ok()),
                state: st,
                categories: categories.remove(&r.id).unwrap_or_default(),
                delegated: r.delegated,
                visit_id: r.visit_id.as_deref().and_then(|v| v.parse().ok()),
                data_check: r
                    .data_check
                    .as_deref()
                    .and_then(|d| serde_json::from_str(d).ok()),
                objections: r.objections,
                submitted_at: utc(r.submitted_at),
                accepted_at: r.accepted_at.map(utc),
                notice_ends_on: r.notice_ends_on,
                decided_at: r.decided_at.map(utc),
                exit_until: r.exit_until,
                step_due: r.step_due,
                total_due: r.total_due,
                overdue: workflow::overdue(st, limits, today),
                version: r.version,
                timeline: timelines.remove(&r.id).unwrap_or_default(),
                allowed_actions: Vec::new(),
                created_at: utc(r.created_at),
                updated_at: utc(r.updated_at),
            })
        })
        .collect()
}

/// Fills in the steps `role` may take on `app` now.
pub fn with_allowed_actions(mut app: Application, role: Role) -> Application {
    let facts = Facts {
        delegated: app.delegated,
        objections: app.objections,
        notice_over: app
            .notice_ends_on
            .is_some_and(|d| china_date(db::now()) > d),
        data_check_recorded: app.data_check.is_some(),
    };
    app.allowed_actions = workflow::allowed(app.state, role, facts);
    app
}

/// One application by id, as staff see it (the caller has checked scope).
pub fn read_one(conn: &mut AnyConnection, id: &str) -> ApiResult<Application> {
    let row = repo::find(conn, id)?.ok_or_else(ApiError::not_found)?;
    to_api(conn, vec![row])?
        .pop()
        .ok_or_else(ApiError::not_found)
}

/// What a family sees: states and public notes, never internal notes or who did what.
pub fn to_mine(app: Application) -> MyApplication {
    MyApplication {
        id: app.id,
        state: app.state,
        categories: app
            .categories
            .into_iter()
            .map(|c| MyCategory {
                category: c.category,
                status: c.status,
            })
            .collect(),
        submitted_at: app.submitted_at,
        steps: app
            .timeline
            .into_iter()
            .filter(|e| e.from != Some(e.to))
            .map(|e| PublicStep {
                to: e.to,
                public_note: e.public_note,
                at: e.at,
            })
            .collect(),
    }
}
