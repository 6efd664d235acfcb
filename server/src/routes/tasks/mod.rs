//! `/tasks`: visit, verification and re-check tasks.

pub mod accept;
pub mod assign;
pub mod bulk;
pub mod cancel;
pub mod create;
pub mod list;

use chrono::NaiveDate;

use crate::error::{ApiError, ApiResult};

/// A due date may not lie in the past (Asia/Shanghai).
pub fn check_due(due: NaiveDate) -> ApiResult<()> {
    if due < crate::domain::time::today() {
        return Err(ApiError::validation(vec![
            jiuzhu_proto::error::FieldError {
                field: "due_date".into(),
                code: "in_the_past".into(),
                message: "截止日期不能早于今天 / the due date is in the past".into(),
            },
        ]));
    }
    Ok(())
}

pub fn check_note(note: &str) -> ApiResult<String> {
    let mut errors = Vec::new();
    let note = crate::registry::validate::check_text(&mut errors, "note", note, 1000, false);
    if errors.is_empty() {
        Ok(note)
    } else {
        Err(ApiError::validation(errors))
    }
}
