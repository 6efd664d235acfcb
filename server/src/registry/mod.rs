//! The household registry (一户一档): checking, sealing and storing households and their
//! members. One path for the API, the CSV import and the demo city.
//!
//! A household's facts are what the rules read; every write that changes them runs the rules in
//! the same transaction, through [`facts_changed`]: a household created or updated here and one
//! registered from a citizen's self-report (`self_reports::create`). The other sources of facts
//! fire the same evaluation where they write: an accepted visit (`visits::decide`), department
//! data (`imports::departments`) and the households of a CSV import (`imports::households`,
//! which evaluates each batch from its rows on a thread of its own,
//! `rules::evaluate::new_household`, and writes the findings in the batch's transaction).

mod create;
pub mod read;
pub mod regrid;
mod update;
pub mod validate;
pub mod wire;
pub mod write;

pub use crate::domain::stored;
pub use create::create;
pub use update::{check as check_update, update, CheckedUpdate};
pub use validate::{ValidHousehold, ValidMember};

use chrono::NaiveDateTime;
use jiuzhu_proto::household::Household;
use jiuzhu_proto::rule::RuleOutcome;

use crate::crypto::FieldCipher;
use crate::database::Database;
use crate::db::AnyConnection;
use crate::domain::geo::{GridKey, GridLookup};
use crate::error::{ApiError, ApiResult};
use crate::rules::evaluate::{self, Evaluation, Subject, Trigger};
use crate::rules::Engine;
use crate::scope::Scope;

/// Associated data for sealed columns: a ciphertext cannot be moved to another column.
pub const ID_CONTEXT: &str = "members.id_number";
pub const PHONE_CONTEXT: &str = "members.phone";
/// Blind-index purposes.
pub const ID_INDEX: &str = "id_number";

/// What writing households needs: the cipher that seals ID and phone numbers, the grid lookup,
/// and the rules that run on the new facts.
#[derive(Clone, Copy)]
pub struct Registrar<'a> {
    pub cipher: &'a FieldCipher,
    pub grids: &'a GridLookup<GridKey>,
    pub rules: Engine<'a>,
}

/// What a write did.
pub enum Written {
    /// Stored: the household as the API shows it.
    Done(Box<Household>),
    /// Refused: a new member's ID number is held by another household.
    Clashed(Clashed),
}

/// A write refused for ID numbers held elsewhere, with what recording the conflict needs.
pub struct Clashed {
    clashes: Vec<write::Clash>,
    scope: Scope,
    field_prefix: &'static str,
    action: &'static str,
    attempted_path: String,
    actor: String,
}

impl Clashed {
    /// Records the clashes in their own transaction (the write that found them rolled back) and
    /// gives the 409 to answer with.
    pub async fn refuse(self, db: &Database) -> ApiError {
        write::refuse_clashes(
            db,
            self.clashes,
            &self.scope,
            self.field_prefix,
            self.action,
            self.attempted_path,
            self.actor,
        )
        .await
    }
}

/// Households' facts changed: the rules run on each of them now, in the writer's transaction.
/// Every write that changes stored households' facts ends here: the registry's own writes and a
/// citizen's self-report. A batch is evaluated together (what the rules read is fetched a
/// chunk of households per query, [`evaluate::households`]); the evaluations follow `ids`.
pub fn facts_changed(
    conn: &mut AnyConnection,
    rules: &Engine<'_>,
    ids: &[&str],
    now: NaiveDateTime,
) -> ApiResult<Vec<Evaluation>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let none = serde_json::Map::new();
    let subjects: Vec<Subject<'_>> = ids
        .iter()
        .map(|id| Subject {
            household_id: id,
            trigger: Trigger::Household,
            signals: &none,
        })
        .collect();
    evaluate::households(conn, rules, &subjects, now)?
        .into_iter()
        .map(|e| e.ok_or_else(ApiError::not_found))
        .collect()
}

/// Runs the rules on household `id` in scope now, on request, and gives each rule's outcome.
pub fn evaluate(
    conn: &mut AnyConnection,
    rules: &Engine<'_>,
    scope: &Scope,
    id: &str,
    now: NaiveDateTime,
) -> ApiResult<Vec<RuleOutcome>> {
    let (household, _) = crate::db::repo::households::find_in_scope(conn, scope, id)?
        .ok_or_else(ApiError::not_found)?;
    let done = evaluate::household(
        conn,
        rules,
        id,
        Trigger::Household,
        &Default::default(),
        now,
    )?;
    crate::audit::acted(
        conn,
        "household.evaluate",
        "household",
        id,
        &household.org_path,
        serde_json::json!({ "rules": done.outcomes.len() }),
    )?;
    Ok(done.outcomes)
}
