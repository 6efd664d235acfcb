//! The dibao workflow of 最低生活保障审核确认办法 as an explicit state machine: which step may
//! follow which state, who may take it, what it needs, and the limits in working days.
//!
//! Pure: no database, no clock. `plan` answers whether a step is allowed and where it leads;
//! the caller writes it with a compare-and-set on the application's version, so of two steps
//! taken at once exactly one wins.

use chrono::NaiveDate;
use jiuzhu_proto::application::{Action, AllowedAction, ApplicationState as S};
use jiuzhu_proto::user::Role;

use crate::calendar::Calendar;

/// Working days from acceptance to the home visit and the start of the data check.
pub const INVESTIGATE_DAYS: u32 = 3;
/// Working days from the end of the public notice to the district's decision.
pub const DECIDE_DAYS: u32 = 10;
/// Working days from acceptance to a decision, and when approval is delegated to the street.
pub const TOTAL_DAYS: u32 = 30;
pub const TOTAL_DAYS_DELEGATED: u32 = 20;
/// Calendar days of the public notice.
pub const NOTICE_DAYS: i64 = 7;
/// Longest gradual exit, in months.
pub const MAX_EXIT_MONTHS: u32 = 6;

/// What the state machine needs to know about the application beyond its state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    pub delegated: bool,
    pub objections: i32,
    /// The public notice has run its course (today is after its last day).
    pub notice_over: bool,
    pub data_check_recorded: bool,
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not from this state (out of order, or already taken).
    WrongState,
    /// Not by this role, or not at this level.
    WrongRole,
    /// A note or reason is required.
    NoteRequired,
    /// Something the step needs is missing (`field`, Chinese, English).
    Needs(&'static str, &'static str, &'static str),
}

const STREET: &[Role] = &[Role::StreetOfficer];
const STREET_OR_DISTRICT: &[Role] = &[Role::StreetOfficer, Role::DistrictOfficer];
const COMMUNITY_OR_STREET: &[Role] = &[Role::Coordinator, Role::StreetOfficer];

/// The states a step may be taken from, and where it leads (`None`: it stays).
fn edges(action: Action) -> (&'static [S], Option<S>) {
    use Action as A;
    match action {
        A::Accept => (&[S::Submitted], Some(S::Accepted)),
        A::Return => (
            &[S::Submitted, S::Accepted, S::Investigating, S::FirstReview],
            Some(S::Returned),
        ),
        A::Resubmit => (&[S::Returned], Some(S::Submitted)),
        A::Investigate => (&[S::Accepted], Some(S::Investigating)),
        A::RecordDataCheck => (&[S::Investigating], None),
        A::FinishInvestigation => (&[S::Investigating], Some(S::FirstReview)),
        A::StartNotice => (&[S::FirstReview], Some(S::PublicNotice)),
        A::RecordObjection => (&[S::PublicNotice], None),
        A::DemocraticReview => (&[S::PublicNotice], Some(S::DemocraticReview)),
        A::Approve => (&[S::PublicNotice, S::DemocraticReview], Some(S::Approved)),
        A::Refuse => (
            &[
                S::Investigating,
                S::FirstReview,
                S::PublicNotice,
                S::DemocraticReview,
            ],
            Some(S::Refused),
        ),
        A::Activate => (&[S::Approved], Some(S::Active)),
        A::StartExit => (&[S::Active], Some(S::GradualExit)),
        A::Close => (&[S::Active, S::GradualExit, S::Refused], Some(S::Closed)),
        A::UpdateCategory => (
            &[
                S::Submitted,
                S::Accepted,
                S::Investigating,
                S::FirstReview,
                S::PublicNotice,
                S::DemocraticReview,
                S::Approved,
                S::Refused,
                S::Active,
                S::GradualExit,
                S::Returned,
            ],
            None,
        ),
    }
}

/// Who may take a step. Deciding belongs to the district, or to the street where the district
/// has delegated approval; admins run the system and decide nothing.
fn roles(action: Action, delegated: bool) -> &'static [Role] {
    use Action as A;
    match action {
        A::Resubmit | A::RecordDataCheck | A::RecordObjection => COMMUNITY_OR_STREET,
        A::Approve | A::Refuse if delegated => STREET,
        A::Approve | A::Refuse => &[Role::DistrictOfficer],
        A::Return | A::Activate | A::Close | A::UpdateCategory => STREET_OR_DISTRICT,
        A::Accept
        | A::Investigate
        | A::FinishInvestigation
        | A::StartNotice
        | A::DemocraticReview
        | A::StartExit => STREET,
    }
}

/// Steps that need a written note (a refusal always carries its reason).
pub fn needs_note(action: Action) -> bool {
    matches!(
        action,
        Action::Return
            | Action::RecordObjection
            | Action::DemocraticReview
            | Action::Refuse
            | Action::StartExit
            | Action::Close
    )
}

/// Whether `role` may take `action` on an application in `from` with `facts`, and the state it
/// leads to. The visit needed by `finish_investigation` is checked by the caller (it needs the
/// database); everything else is here.
pub fn plan(
    action: Action,
    from: S,
    role: Role,
    facts: Facts,
    has_note: bool,
) -> Result<S, Refusal> {
    let (sources, to) = edges(action);
    if !sources.contains(&from) {
        return Err(Refusal::WrongState);
    }
    if !roles(action, facts.delegated).contains(&role) {
        return Err(Refusal::WrongRole);
    }
    if needs_note(action) && !has_note {
        return Err(Refusal::NoteRequired);
    }
    match action {
        Action::FinishInvestigation if !facts.data_check_recorded => {
            return Err(Refusal::Needs(
                "data_check",
                "尚未记录家庭经济状况信息核对",
                "the financial data check has not been recorded",
            ))
        }
        Action::DemocraticReview if facts.objections == 0 => {
            return Err(Refusal::Needs(
                "objections",
                "公示无异议，无需民主评议",
                "the notice drew no objections: no democratic review is needed",
            ))
        }
        Action::DemocraticReview | Action::Approve | Action::Refuse
            if from == S::PublicNotice && !facts.notice_over =>
        {
            return Err(Refusal::Needs(
                "notice_ends_on",
                "公示期未满7天",
                "the 7-day public notice has not ended",
            ))
        }
        Action::Approve if from == S::PublicNotice && facts.objections > 0 => {
            return Err(Refusal::Needs(
                "objections",
                "公示有异议，须先民主评议",
                "the notice drew objections: a democratic review comes first",
            ))
        }
        _ => {}
    }
    Ok(to.unwrap_or(from))
}

/// The steps `role` may take on an application in `from`: those whose state and role fit, each
/// with the transition fields it needs; a step whose precondition is not met yet (a notice still
/// running, no data check) is listed with the reason it is blocked, so a person sees what waits.
pub fn allowed(from: S, role: Role, facts: Facts) -> Vec<AllowedAction> {
    Action::ALL
        .iter()
        .filter_map(|&action| {
            let blocked = match plan(action, from, role, facts, true) {
                Ok(_) => None,
                Err(Refusal::Needs(_, zh, en)) => Some(format!("{zh} / {en}")),
                Err(Refusal::WrongState | Refusal::WrongRole | Refusal::NoteRequired) => {
                    return None
                }
            };
            let mut needs = Vec::new();
            if needs_note(action) {
                needs.push("note".to_owned());
            }
            let extra: &[&str] = match action {
                Action::RecordDataCheck => &["data_check"],
                Action::FinishInvestigation => &["visit_id"],
                Action::UpdateCategory => &["category", "category_status"],
                Action::StartExit => &["exit_months"],
                _ => &[],
            };
            needs.extend(extra.iter().map(|f| (*f).to_owned()));
            Some(AllowedAction {
                action,
                needs,
                blocked,
            })
        })
        .collect()
}

/// The limits of an application after a step, as China dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    pub step_due: Option<NaiveDate>,
    pub total_due: Option<NaiveDate>,
}

/// States still waiting for a decision, to which the total limit applies.
pub fn undecided(state: S) -> bool {
    matches!(
        state,
        S::Accepted | S::Investigating | S::FirstReview | S::PublicNotice | S::DemocraticReview
    )
}

/// The limit of the step an application waits for in `state`.
pub fn step_due(
    cal: &Calendar,
    state: S,
    accepted_on: Option<NaiveDate>,
    notice_ends_on: Option<NaiveDate>,
    exit_until: Option<NaiveDate>,
) -> Option<NaiveDate> {
    match state {
        S::Accepted | S::Investigating => {
            accepted_on.map(|d| cal.add_working_days(d, INVESTIGATE_DAYS))
        }
        S::PublicNotice | S::DemocraticReview => {
            notice_ends_on.map(|d| cal.add_working_days(d, DECIDE_DAYS))
        }
        S::GradualExit => exit_until,
        _ => None,
    }
}

pub fn total_due(cal: &Calendar, accepted_on: NaiveDate, delegated: bool) -> NaiveDate {
    let days = if delegated {
        TOTAL_DAYS_DELEGATED
    } else {
        TOTAL_DAYS
    };
    cal.add_working_days(accepted_on, days)
}

/// Whether a limit has passed: the current step's, or the total while undecided.
pub fn overdue(state: S, limits: Limits, today: NaiveDate) -> bool {
    limits.step_due.is_some_and(|d| today > d)
        || (undecided(state) && limits.total_due.is_some_and(|d| today > d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_ROLES: [Role; 6] = Role::ALL;

    fn facts() -> Facts {
        Facts {
            notice_over: true,
            data_check_recorded: true,
            ..Facts::default()
        }
    }

    #[test]
    fn the_happy_path_is_one_line() {
        let steps = [
            (Action::Accept, Role::StreetOfficer, S::Accepted),
            (Action::Investigate, Role::StreetOfficer, S::Investigating),
            (Action::RecordDataCheck, Role::Coordinator, S::Investigating),
            (
                Action::FinishInvestigation,
                Role::StreetOfficer,
                S::FirstReview,
            ),
            (Action::StartNotice, Role::StreetOfficer, S::PublicNotice),
            (Action::Approve, Role::DistrictOfficer, S::Approved),
            (Action::Activate, Role::StreetOfficer, S::Active),
            (Action::StartExit, Role::StreetOfficer, S::GradualExit),
            (Action::Close, Role::DistrictOfficer, S::Closed),
        ];
        let mut state = S::Submitted;
        for (action, role, expected) in steps {
            state = plan(action, state, role, facts(), true)
                .unwrap_or_else(|e| panic!("{action:?} from {state:?}: {e:?}"));
            assert_eq!(state, expected);
        }
    }

    #[test]
    fn every_step_checks_role_state_and_note() {
        for &action in Action::ALL {
            let (sources, _) = edges(action);
            for &from in S::ALL {
                for role in ALL_ROLES {
                    let allowed = roles(action, false).contains(&role);
                    let r = plan(action, from, role, facts(), true);
                    if !sources.contains(&from) {
                        assert_eq!(r, Err(Refusal::WrongState), "{action:?} {from:?}");
                    } else if !allowed {
                        assert_eq!(r, Err(Refusal::WrongRole), "{action:?} {role:?}");
                    }
                    if sources.contains(&from) && allowed && needs_note(action) {
                        assert_eq!(
                            plan(action, from, role, facts(), false),
                            Err(Refusal::NoteRequired)
                        );
                    }
                }
            }
        }
        // Admins decide nothing; coordinators do not approve.
        for role in [
            Role::Admin,
            Role::Coordinator,
            Role::GridWorker,
            Role::Citizen,
        ] {
            assert_eq!(
                plan(Action::Approve, S::PublicNotice, role, facts(), true),
                Err(Refusal::WrongRole)
            );
        }
    }

    #[test]
    fn delegation_moves_the_decision_to_the_street() {
        let delegated = Facts {
            delegated: true,
            ..facts()
        };
        assert_eq!(
            plan(
                Action::Approve,
                S::PublicNotice,
                Role::StreetOfficer,
                delegated,
                true
            ),
            Ok(S::Approved)
        );
        assert_eq!(
            plan(
                Action::Approve,
                S::PublicNotice,
                Role::DistrictOfficer,
                delegated,
                true
            ),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            plan(
                Action::Approve,
                S::PublicNotice,
                Role::StreetOfficer,
                facts(),
                true
            ),
            Err(Refusal::WrongRole)
        );
    }

    #[test]
    fn notice_objections_and_data_check_gate_their_steps() {
        let running = Facts {
            notice_over: false,
            ..facts()
        };
        assert!(matches!(
            plan(
                Action::Approve,
                S::PublicNotice,
                Role::DistrictOfficer,
                running,
                true
            ),
            Err(Refusal::Needs("notice_ends_on", _, _))
        ));
        let objected = Facts {
            objections: 1,
            ..facts()
        };
        assert!(matches!(
            plan(
                Action::Approve,
                S::PublicNotice,
                Role::DistrictOfficer,
                objected,
                true
            ),
            Err(Refusal::Needs("objections", _, _))
        ));
        assert_eq!(
            plan(
                Action::DemocraticReview,
                S::PublicNotice,
                Role::StreetOfficer,
                objected,
                true
            ),
            Ok(S::DemocraticReview)
        );
        assert_eq!(
            plan(
                Action::Approve,
                S::DemocraticReview,
                Role::DistrictOfficer,
                objected,
                true
            ),
            Ok(S::Approved)
        );
        let unchecked = Facts {
            data_check_recorded: false,
            ..facts()
        };
        assert!(matches!(
            plan(
                Action::FinishInvestigation,
                S::Investigating,
                Role::StreetOfficer,
                unchecked,
                true
            ),
            Err(Refusal::Needs("data_check", _, _))
        ));
    }

    #[test]
    fn limits_count_working_days() -> Result<(), crate::calendar::CalendarError> {
        let cal = Calendar::built_in()?;
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        // Accepted on Friday 25 September 2026 (Mid-Autumn, a holiday): the 3 working days skip
        // the holiday weekend of 26–27 September and end on Wednesday 30.
        assert_eq!(
            step_due(&cal, S::Accepted, Some(d("2026-09-25")), None, None),
            Some(d("2026-09-30"))
        );
        let limits = Limits {
            step_due: Some(d("2026-09-30")),
            total_due: Some(total_due(&cal, d("2026-09-25"), false)),
        };
        assert!(!overdue(S::Investigating, limits, d("2026-09-30")));
        assert!(overdue(S::Investigating, limits, d("2026-10-01")));
        assert!(!overdue(
            S::Approved,
            Limits {
                step_due: None,
                ..limits
            },
            d("2027-01-01")
        ));
        Ok(())
    }
}
