//! Households (一户一档) and their members, as the API shows and accepts them.
//!
//! Money is in fen (1/100 yuan), as integers, everywhere. ID and phone numbers are shown masked;
//! the full ID number only through the audited reveal endpoint.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::geo::Crs;
use crate::ids::OrgUnitId;

wire_enum!(
    /// The assistance a household currently receives or is monitored for.
    AssistanceStatus {
        Dibao => "dibao",
        Tekun => "tekun",
        Edge => "edge",
        RigidExpense => "rigid_expense",
        RelapseMonitoring => "relapse_monitoring",
        None => "none",
    }
);

wire_enum!(
    /// A member's relation to the head of household.
    Relation {
        Head => "head",
        Spouse => "spouse",
        Child => "child",
        ChildInLaw => "child_in_law",
        Grandchild => "grandchild",
        Parent => "parent",
        Grandparent => "grandparent",
        Sibling => "sibling",
        Other => "other",
    }
);

wire_enum!(
    Health {
        Healthy => "healthy",
        Chronic => "chronic",
        GraveIllness => "grave_illness",
    }
);

wire_enum!(
    /// Disability type as the disabled persons' federation certifies it.
    DisabilityType {
        Visual => "visual",
        Hearing => "hearing",
        Speech => "speech",
        Physical => "physical",
        Intellectual => "intellectual",
        Mental => "mental",
        Multiple => "multiple",
    }
);

wire_enum!(
    WorkStatus {
        Employed => "employed",
        SelfEmployed => "self_employed",
        Farming => "farming",
        Unemployed => "unemployed",
        Retired => "retired",
        UnableToWork => "unable_to_work",
        NotWorkingAge => "not_working_age",
    }
);

wire_enum!(
    StudentStatus {
        NotStudent => "not_student",
        Preschool => "preschool",
        Primary => "primary",
        JuniorSecondary => "junior_secondary",
        SeniorSecondary => "senior_secondary",
        Vocational => "vocational",
        Tertiary => "tertiary",
    }
);

wire_enum!(
    Gender {
        Male => "male",
        Female => "female",
    }
);

/// The six daily-living items (日常生活自理能力): `true` means the member manages it alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DailyLiving {
    pub eating: bool,
    pub dressing: bool,
    pub getting_in_and_out_of_bed: bool,
    pub toileting: bool,
    pub walking_indoors: bool,
    pub bathing: bool,
}

impl Default for DailyLiving {
    fn default() -> Self {
        Self {
            eating: true,
            dressing: true,
            getting_in_and_out_of_bed: true,
            toileting: true,
            walking_indoors: true,
            bathing: true,
        }
    }
}

impl DailyLiving {
    /// The six items in the order of the fields.
    pub fn items(&self) -> [bool; 6] {
        [
            self.eating,
            self.dressing,
            self.getting_in_and_out_of_bed,
            self.toileting,
            self.walking_indoors,
            self.bathing,
        ]
    }

    /// How many items the member cannot manage alone (≥ 4: full loss of self-care).
    pub fn failed(&self) -> u8 {
        self.items().iter().filter(|ok| !**ok).count() as u8
    }
}

/// Annual income by source, in fen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields, default)]
pub struct Income {
    pub wages_fen: i64,
    pub farming_fen: i64,
    pub business_fen: i64,
    pub rent_fen: i64,
    pub pension_fen: i64,
    pub support_fen: i64,
    pub other_fen: i64,
}

impl Income {
    pub fn parts(&self) -> [(&'static str, i64); 7] {
        [
            ("wages_fen", self.wages_fen),
            ("farming_fen", self.farming_fen),
            ("business_fen", self.business_fen),
            ("rent_fen", self.rent_fen),
            ("pension_fen", self.pension_fen),
            ("support_fen", self.support_fen),
            ("other_fen", self.other_fen),
        ]
    }

    /// The sum, or `None` on overflow.
    pub fn total(&self) -> Option<i64> {
        self.parts()
            .iter()
            .try_fold(0i64, |acc, (_, v)| acc.checked_add(*v))
    }
}

/// A member as sent by a client.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub name: String,
    pub relation: Relation,
    /// 18 characters (15-digit legacy numbers are converted); full-width digits accepted.
    #[cfg_attr(feature = "openapi", schema(example = "11010519491231002X"))]
    pub id_number: String,
    /// Derived from the ID number; if given, it must agree.
    #[serde(default)]
    pub birth_date: Option<NaiveDate>,
    #[serde(default)]
    pub gender: Option<Gender>,
    pub health: Health,
    #[serde(default)]
    pub disability_type: Option<DisabilityType>,
    /// 1 (most severe) to 4.
    #[serde(default)]
    pub disability_level: Option<u8>,
    #[serde(default)]
    pub daily_living: DailyLiving,
    pub work_status: WorkStatus,
    #[serde(default = "not_student")]
    pub student_status: StudentStatus,
    #[serde(default)]
    pub annual_income: Income,
    #[serde(default)]
    pub phone: Option<String>,
}

fn not_student() -> StudentStatus {
    StudentStatus::NotStudent
}

/// A member as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub id: uuid::Uuid,
    pub name: String,
    pub relation: Relation,
    /// First 6 and last 4 characters shown.
    #[cfg_attr(feature = "openapi", schema(example = "110105********002X"))]
    pub id_number_masked: String,
    #[serde(serialize_with = "crate::wire_time::date")]
    pub birth_date: NaiveDate,
    pub gender: Gender,
    pub health: Health,
    pub disability_type: Option<DisabilityType>,
    pub disability_level: Option<u8>,
    pub daily_living: DailyLiving,
    pub work_status: WorkStatus,
    pub student_status: StudentStatus,
    pub annual_income: Income,
    /// 3 + 4 digits shown.
    pub phone_masked: Option<String>,
}

/// A point in any supported coordinate system (stored in WGS-84).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    /// WGS-84 when absent.
    #[serde(default)]
    pub crs: Option<Crs>,
}

/// One period of an assistance status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusPeriod {
    pub status: AssistanceStatus,
    #[serde(serialize_with = "crate::wire_time::date")]
    pub from: NaiveDate,
    #[serde(serialize_with = "crate::wire_time::option_date")]
    pub to: Option<NaiveDate>,
    pub note: String,
}

/// `POST /api/v1/households`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateHousehold {
    /// An id in the sending system, for imports; unique.
    #[serde(default)]
    pub external_id: Option<String>,
    pub address: String,
    /// Where the family lives; the grid is found from it unless `grid_id` is given.
    #[serde(default)]
    pub location: Option<Location>,
    /// A coordinator's choice of grid, kept even when boundaries change.
    #[serde(default)]
    pub grid_id: Option<OrgUnitId>,
    #[serde(default)]
    pub status: Option<AssistanceStatus>,
    #[serde(default)]
    pub status_since: Option<NaiveDate>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub notes: String,
    /// The head of household (relation `head`) and everyone else.
    pub members: Vec<MemberInput>,
}

/// Changes to a member already on file; absent fields are left alone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    pub id: uuid::Uuid,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub relation: Option<Relation>,
    #[serde(default)]
    pub health: Option<Health>,
    /// `null` clears it.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<DisabilityType>))]
    pub disability_type: Option<Option<DisabilityType>>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<u8>))]
    pub disability_level: Option<Option<u8>>,
    #[serde(default)]
    pub daily_living: Option<DailyLiving>,
    #[serde(default)]
    pub work_status: Option<WorkStatus>,
    #[serde(default)]
    pub student_status: Option<StudentStatus>,
    #[serde(default)]
    pub annual_income: Option<Income>,
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub phone: Option<Option<String>>,
}

/// `PATCH /api/v1/households/{id}`: `version` must be the one last read, or the answer is 409.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateHousehold {
    pub version: i64,
    #[serde(default)]
    pub address: Option<String>,
    /// A new location; the grid follows it unless overridden.
    #[serde(default)]
    pub location: Option<Location>,
    /// Override the grid (coordinators and above).
    #[serde(default)]
    pub grid_id: Option<OrgUnitId>,
    /// Drop a grid override: the grid follows the location again.
    #[serde(default)]
    pub clear_grid_override: bool,
    #[serde(default)]
    pub status: Option<AssistanceStatus>,
    #[serde(default)]
    pub status_since: Option<NaiveDate>,
    #[serde(default)]
    pub status_note: Option<String>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub add_members: Vec<MemberInput>,
    #[serde(default)]
    pub update_members: Vec<MemberPatch>,
    #[serde(default)]
    pub remove_members: Vec<uuid::Uuid>,
}

/// A household as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Household {
    pub id: uuid::Uuid,
    pub external_id: Option<String>,
    pub address: String,
    /// WGS-84.
    pub location: Option<Location>,
    pub grid_id: OrgUnitId,
    pub grid_code: String,
    /// The grid was chosen by a person, not by the location.
    pub grid_overridden: bool,
    pub status: AssistanceStatus,
    pub status_history: Vec<StatusPeriod>,
    pub tags: Vec<String>,
    pub notes: String,
    pub head_member_id: Option<uuid::Uuid>,
    pub members: Vec<Member>,
    pub version: i64,
    #[serde(serialize_with = "crate::wire_time::datetime")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::wire_time::datetime")]
    pub updated_at: DateTime<Utc>,
    /// Non-fatal remarks on the last write (e.g. an ID number with an unknown region code).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A household in a list: no members, no history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HouseholdSummary {
    pub id: uuid::Uuid,
    pub external_id: Option<String>,
    pub address: String,
    pub grid_id: OrgUnitId,
    pub grid_code: String,
    pub status: AssistanceStatus,
    pub head_name: Option<String>,
    pub member_count: i64,
    pub tags: Vec<String>,
    pub version: i64,
}

/// `POST /api/v1/households/{id}/reveal`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevealRequest {
    /// Why the full number is needed; recorded in the audit log.
    pub reason: String,
    /// One member, or all when absent.
    #[serde(default)]
    pub member_id: Option<uuid::Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealedId {
    pub member_id: uuid::Uuid,
    pub name: String,
    pub id_number: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevealResponse {
    pub members: Vec<RevealedId>,
}

/// An ID number found in two households: for a coordinator to resolve.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdConflict {
    pub id: uuid::Uuid,
    pub id_number_masked: String,
    /// The household that already holds the number.
    pub existing_household_id: uuid::Uuid,
    /// What was being written when the clash was found.
    pub attempted: String,
    pub created_at: DateTime<Utc>,
    pub resolved: bool,
}

/// A background import and how far it got.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportJob {
    pub id: uuid::Uuid,
    pub status: JobStatus,
    pub rows_read: i64,
    pub households_created: i64,
    pub households_unchanged: i64,
    pub rows_rejected: i64,
    /// The first rejected rows with their numbers and reasons.
    pub errors: Vec<RowError>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

wire_enum!(
    JobStatus {
        Queued => "queued",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);

/// A CSV row that was skipped, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowError {
    /// 1-based line number in the file (the header is line 1).
    pub row: u64,
    pub code: String,
    pub message: String,
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        v: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
