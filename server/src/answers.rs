//! Visit answers sealed at rest: the associated data they are sealed under, and opening them.
//! Below both `visits` (which seals and shows them) and `rules` (which reads them as facts).

use crate::crypto::FieldCipher;
use crate::db::repo::visits::VisitRow;
use crate::error::{ApiError, ApiResult};

/// Associated data of `visits.answers_sealed`: a ciphertext cannot be moved to another column.
pub const ANSWERS_CONTEXT: &str = "visit.answers";

/// A visit's answers, opened (not masked): for the discovery rules, never for output.
pub fn open_answers(row: &VisitRow, cipher: &FieldCipher) -> ApiResult<serde_json::Value> {
    let bad = || ApiError::internal(anyhow::anyhow!("unreadable visit answers"));
    let text = cipher
        .decrypt(&row.answers_key_id, &row.answers_sealed, ANSWERS_CONTEXT)
        .map_err(|_| bad())?;
    serde_json::from_str(&text).map_err(|_| bad())
}
