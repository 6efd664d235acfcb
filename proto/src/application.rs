//! Assistance applications: several categories at once, each routed to its department (一键联办),
//! and the dibao workflow of 最低生活保障审核确认办法 as an explicit state machine.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::user::Role;

wire_enum!(
    /// Assistance categories (docs/domain.md).
    Category {
        Dibao => "dibao",
        DibaoIndividual => "dibao_individual",
        Tekun => "tekun",
        Edge => "edge",
        RigidExpense => "rigid_expense",
        Temporary => "temporary",
        Medical => "medical",
        Education => "education",
        Housing => "housing",
        Employment => "employment",
        Disaster => "disaster",
    }
);

wire_enum!(
    /// Who decides a category.
    Department {
        CivilAffairs => "civil_affairs",
        MedicalInsurance => "medical_insurance",
        Education => "education",
        Housing => "housing",
        HumanResources => "human_resources",
        Emergency => "emergency",
    }
);

impl Category {
    /// The department a category is routed to.
    pub fn department(self) -> Department {
        match self {
            Category::Medical => Department::MedicalInsurance,
            Category::Education => Department::Education,
            Category::Housing => Department::Housing,
            Category::Employment => Department::HumanResources,
            Category::Disaster => Department::Emergency,
            _ => Department::CivilAffairs,
        }
    }
}

wire_enum!(
    /// The civil-affairs workflow. `returned` waits for more information from the community.
    ApplicationState {
        Submitted => "submitted",
        Accepted => "accepted",
        Investigating => "investigating",
        FirstReview => "first_review",
        PublicNotice => "public_notice",
        DemocraticReview => "democratic_review",
        Approved => "approved",
        Refused => "refused",
        Active => "active",
        GradualExit => "gradual_exit",
        Closed => "closed",
        Returned => "returned",
    }
);

wire_enum!(
    /// One category's own status at its department.
    CategoryStatus {
        InProgress => "in_progress",
        Referred => "referred",
        Granted => "granted",
        Declined => "declined",
        Closed => "closed",
    }
);

wire_enum!(
    /// The steps of `POST /applications/{id}/transition`.
    Action {
        Accept => "accept",
        Return => "return",
        Resubmit => "resubmit",
        Investigate => "investigate",
        RecordDataCheck => "record_data_check",
        FinishInvestigation => "finish_investigation",
        StartNotice => "start_notice",
        RecordObjection => "record_objection",
        DemocraticReview => "democratic_review",
        Approve => "approve",
        Refuse => "refuse",
        Activate => "activate",
        StartExit => "start_exit",
        Close => "close",
        UpdateCategory => "update_category",
    }
);

/// One requested category and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplicationCategory {
    pub category: Category,
    pub department: Department,
    pub status: CategoryStatus,
    pub note: Option<String>,
}

/// The cross-department financial data check (信息核对).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DataCheck {
    /// Whether income and assets matched what the family declared.
    pub passed: bool,
    /// The check's reference at the checking centre.
    pub reference: String,
}

/// One step on an application's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TimelineEntry {
    pub seq: i32,
    pub action: String,
    pub from: Option<ApplicationState>,
    pub to: ApplicationState,
    pub actor_id: Option<String>,
    pub actor_role: Option<Role>,
    /// Internal: staff only.
    pub note: String,
    /// Shown to the family.
    pub public_note: String,
    pub at: DateTime<Utc>,
}

/// An application as staff see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Application {
    pub id: uuid::Uuid,
    pub household_id: uuid::Uuid,
    pub finding_id: Option<uuid::Uuid>,
    pub state: ApplicationState,
    pub categories: Vec<ApplicationCategory>,
    /// Approval delegated to the street (20 working days in all instead of 30).
    pub delegated: bool,
    pub visit_id: Option<uuid::Uuid>,
    pub data_check: Option<DataCheck>,
    pub objections: i32,
    pub submitted_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    /// Last day of the public notice (China date).
    pub notice_ends_on: Option<NaiveDate>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Last day of the gradual exit.
    pub exit_until: Option<NaiveDate>,
    /// Last working day for the current step (China date), when the step has a limit.
    pub step_due: Option<NaiveDate>,
    /// Last working day for a decision, counted from acceptance.
    pub total_due: Option<NaiveDate>,
    /// A limit has passed without the step being taken.
    pub overdue: bool,
    pub version: i64,
    pub timeline: Vec<TimelineEntry>,
    /// The steps the caller's role may take now, each with the fields it needs. Filled on
    /// `GET /applications/{id}` and in the answer to a step; empty in lists.
    #[serde(default)]
    pub allowed_actions: Vec<AllowedAction>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A step of the workflow the caller may take on an application in its current state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AllowedAction {
    pub action: Action,
    /// Fields of the `Transition` the step needs: `note`, `visit_id`, `data_check`, `category`,
    /// `category_status`, `exit_months`.
    pub needs: Vec<String>,
    /// Set when the role may take the step here but a precondition is not met yet (中文 / English),
    /// such as a public notice still running.
    pub blocked: Option<String>,
}

/// `POST /applications`: an application a community files on a family's behalf.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    pub household_id: uuid::Uuid,
    pub categories: Vec<Category>,
    #[serde(default)]
    pub note: String,
}

/// `POST /applications/{id}/transition`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub action: Action,
    /// Internal note (staff only). Required for return, objection, democratic review,
    /// refusal, exit and closing.
    #[serde(default)]
    pub note: String,
    /// What the family is told. A refusal's written reason goes here too (defaults to the note).
    #[serde(default)]
    pub public_note: String,
    /// `finish_investigation`: the home visit (two different staff present).
    #[serde(default)]
    pub visit_id: Option<uuid::Uuid>,
    /// `record_data_check`.
    #[serde(default)]
    pub data_check: Option<DataCheck>,
    /// `update_category`.
    #[serde(default)]
    pub category: Option<Category>,
    #[serde(default)]
    pub category_status: Option<CategoryStatus>,
    /// `start_exit`: months of gradual exit, 1 to 6.
    #[serde(default)]
    pub exit_months: Option<u32>,
    /// When given, the step is refused unless the application is still at this version.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

impl Transition {
    pub fn new(action: Action) -> Self {
        Self {
            action,
            note: String::new(),
            public_note: String::new(),
            visit_id: None,
            data_check: None,
            category: None,
            category_status: None,
            exit_months: None,
            expected_version: None,
        }
    }

    pub fn note(mut self, note: &str) -> Self {
        self.note = note.to_owned();
        self
    }
}

/// What a family sees of its application: states and public notes, never internal notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyApplication {
    pub id: uuid::Uuid,
    pub state: ApplicationState,
    pub categories: Vec<MyCategory>,
    pub submitted_at: DateTime<Utc>,
    pub steps: Vec<PublicStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MyCategory {
    pub category: Category,
    pub status: CategoryStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublicStep {
    pub to: ApplicationState,
    pub public_note: String,
    pub at: DateTime<Utc>,
}
