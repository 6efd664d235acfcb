//! `/forms`: versioned form definitions, checked by the engine phones also run.

pub mod create;
pub mod get_version;
pub mod import_xlsform;
pub mod list;
pub mod publish;
