//! What an import could not match, for the department that sent it.

use jiuzhu_proto::department::DepartmentSource;

use crate::db::repo::departments as repo;
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::scope::Scope;

/// The unmatched rows of an import, as CSV for the sending department (record id, masked ID
/// number, line).
pub fn unmatched_csv(
    conn: &mut AnyConnection,
    scope: &Scope,
    source: DepartmentSource,
    import_id: &str,
) -> ApiResult<Vec<u8>> {
    if !repo::import_exists(conn, import_id, source.as_str(), scope)? {
        return Err(ApiError::not_found());
    }
    let rows = repo::unmatched_of(conn, import_id)?;
    let mut out = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let failed = |_| ApiError::internal(anyhow::anyhow!("writing CSV"));
    out.write_record(["record_id", "id_number_masked", "line"])
        .map_err(failed)?;
    for (record, masked, line) in rows {
        out.write_record([record, masked, line.to_string()])
            .map_err(failed)?;
    }
    out.into_inner()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("writing CSV")))
}
