//! What an import of a form from a workbook answers: the published version, and what the
//! importer left out because it means nothing to the form engine.

use serde::{Deserialize, Serialize};

use crate::task::FormVersion;

/// Something in the workbook that was left out, with the cell it is in (`survey!F1`,
/// `settings!C2`). The form imported without it means what its author wrote; a notice says
/// what a reader of the workbook would otherwise expect to find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportNotice {
    /// Sheet and cell, or the sheet alone.
    #[cfg_attr(feature = "openapi", schema(example = "survey!F1"))]
    pub cell: String,
    /// Stable code: `ignored_column`, `dropped_language`, `ignored_setting`,
    /// `ignored_question`, `form_key`, `ignored_row`, `label_from_name`.
    #[cfg_attr(feature = "openapi", schema(example = "ignored_column"))]
    pub code: String,
    /// 中文 / English.
    pub message: String,
}

/// A form published from a workbook: the version, and the notices of what was left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedForm {
    #[serde(flatten)]
    pub published: FormVersion,
    #[serde(default)]
    pub notices: Vec<ImportNotice>,
}
