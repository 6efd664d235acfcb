//! Visit tasks and per-worker sync.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::household::Household;
use crate::ids::{OrgUnitId, UserId};

wire_enum!(
    TaskKind {
        Visit => "visit",
        Verify => "verify",
        Recheck => "recheck",
    }
);

wire_enum!(
    /// pending → assigned → accepted → submitted → reviewed; cancelled from any open state.
    TaskState {
        Pending => "pending",
        Assigned => "assigned",
        Accepted => "accepted",
        Submitted => "submitted",
        Reviewed => "reviewed",
        Cancelled => "cancelled",
    }
);

impl TaskState {
    /// The states of a task still to do.
    pub const OPEN: [TaskState; 3] = [TaskState::Pending, TaskState::Assigned, TaskState::Accepted];
    /// The states of a task on its worker's phone.
    pub const ON_PHONE: [TaskState; 2] = [TaskState::Assigned, TaskState::Accepted];

    /// Still work to do.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TaskState::Pending | TaskState::Assigned | TaskState::Accepted
        )
    }
}

/// A task as the API and the phone see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: uuid::Uuid,
    pub kind: TaskKind,
    pub household_id: uuid::Uuid,
    pub form_key: String,
    /// Pinned when the task is assigned: the version the answers are checked against.
    pub form_version: Option<i32>,
    pub assignee_id: Option<UserId>,
    pub state: TaskState,
    #[serde(serialize_with = "crate::wire_time::date")]
    pub due_date: NaiveDate,
    /// Past its due date and still open (Asia/Shanghai dates).
    pub overdue: bool,
    pub priority: i32,
    pub note: String,
    #[serde(serialize_with = "crate::wire_time::datetime")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::wire_time::datetime")]
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/v1/tasks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    pub kind: TaskKind,
    pub household_id: uuid::Uuid,
    pub form_key: String,
    /// A grid worker of the household's community; without one the task waits as `pending`.
    #[serde(default)]
    pub assignee_id: Option<UserId>,
    pub due_date: NaiveDate,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub note: String,
}

/// Which households a bulk creation covers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum BulkTarget {
    /// Every household of a grid.
    Grid(OrgUnitId),
    /// Every household in scope with this assistance status.
    Status(crate::household::AssistanceStatus),
    /// These households.
    Households(Vec<uuid::Uuid>),
}

/// `POST /api/v1/tasks/bulk`: one task per household; each goes to the grid worker of the
/// household's grid when the grid has exactly one, else waits as `pending`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BulkCreateTasks {
    pub kind: TaskKind,
    pub form_key: String,
    pub target: BulkTarget,
    pub due_date: NaiveDate,
    #[serde(default)]
    pub priority: i32,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkCreated {
    pub created: u32,
    pub assigned: u32,
    /// Households that already had an open task of this kind.
    pub skipped: u32,
}

/// `POST /api/v1/tasks/{id}/assign`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssignTask {
    pub assignee_id: UserId,
}

/// `POST /api/v1/tasks/{id}/cancel`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CancelTask {
    pub reason: String,
}

/// A published form version as the phone needs it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncedForm {
    pub key: String,
    pub version: i32,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub definition: serde_json::Value,
}

/// Something the phone must forget: removed, cancelled, or reassigned to someone else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tombstone {
    pub entity: String,
    pub id: uuid::Uuid,
}

/// `GET /api/v1/sync?cursor=`: what changed for the calling worker since the cursor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPage {
    /// Opaque and signed; pass it back next time.
    pub cursor: String,
    /// More changes wait: call again with `cursor` at once.
    pub has_more: bool,
    pub tasks: Vec<Task>,
    /// The households the tasks need, ID and phone numbers masked.
    pub households: Vec<Household>,
    pub forms: Vec<SyncedForm>,
    pub tombstones: Vec<Tombstone>,
}

/// A form and its newest version, for lists.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormSummary {
    pub key: String,
    pub title: crate::form::Label,
    pub latest_version: i32,
}

/// One published, immutable version of a form.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FormVersion {
    pub key: String,
    pub version: i32,
    pub definition: crate::form::FormDefinition,
    pub published_at: DateTime<Utc>,
}
