//! Publishing forms: every definition is checked by the shared engine before it is stored, and a
//! published version never changes (a change is a new version).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiuzhu_proto::form::{CompiledForm, FormDefinition};
use jiuzhu_proto::task::FormVersion;
use jiuzhu_proto::ErrorCode;

use crate::database::Database;
use crate::db::repo::tasks as repo;
use crate::db::{self, AnyConnection};
use crate::error::{ApiError, ApiResult};

/// Checks and publishes the next version of `definition.key`. `new_form` demands that the key is
/// new; otherwise the key must exist.
pub fn publish(
    conn: &mut AnyConnection,
    mut definition: FormDefinition,
    new_form: bool,
    actor: Option<&str>,
) -> ApiResult<FormVersion> {
    let existing = repo::latest_form_version(conn, &definition.key)?;
    match (new_form, existing) {
        (true, Some(_)) => {
            return Err(ApiError::conflict(
                ErrorCode::Conflict,
                "表单已存在，请发布新版本",
                "this form exists: publish a new version instead",
            ))
        }
        (false, None) => return Err(ApiError::not_found()),
        _ => {}
    }
    definition.version = existing.map(|v| v + 1).unwrap_or(1) as u32;
    definition.check().map_err(ApiError::validation)?;
    let title = serde_json::to_string(&definition.title).map_err(ApiError::internal)?;
    let text = serde_json::to_string(&definition).map_err(ApiError::internal)?;
    let now = db::now();
    let version = repo::publish_form(conn, &definition.key, &title, &text, actor, now)?;
    // Forms serve the whole city: their records belong to no unit (admins see them).
    crate::audit::record(
        conn,
        crate::audit::AuditEntry {
            actor_id: actor,
            action: if new_form {
                "form.create"
            } else {
                "form.publish"
            },
            entity: "form",
            entity_id: &definition.key,
            org_path: "/",
            detail: serde_json::json!({ "version": version }),
        },
    )?;
    Ok(FormVersion {
        key: definition.key.clone(),
        version,
        definition,
        published_at: now.and_utc(),
    })
}

/// A stored version.
pub fn version(
    conn: &mut AnyConnection,
    key: &str,
    version: i32,
) -> ApiResult<Option<FormVersion>> {
    let Some((text, at)) = repo::form_version(conn, key, version)? else {
        return Ok(None);
    };
    Ok(Some(FormVersion {
        key: key.to_owned(),
        version,
        definition: serde_json::from_str(&text).map_err(ApiError::internal)?,
        published_at: at.and_utc(),
    }))
}

/// Compiled published versions, kept once read: a published version never changes, so nothing
/// is ever invalidated.
#[derive(Default)]
pub struct FormCache {
    compiled: RwLock<HashMap<(String, i32), Arc<CompiledForm>>>,
}

impl FormCache {
    /// The compiled version if it was read before; no database needed.
    pub fn cached(&self, key: &str, version: i32) -> Option<Arc<CompiledForm>> {
        self.compiled
            .read()
            .ok()
            .and_then(|m| m.get(&(key.to_owned(), version)).cloned())
    }

    /// The compiled version, read and compiled on first use.
    pub fn get(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        version: i32,
    ) -> ApiResult<Option<Arc<CompiledForm>>> {
        if let Some(hit) = self.cached(key, version) {
            return Ok(Some(hit));
        }
        match repo::form_definition(conn, key, version)? {
            Some(text) => self.keep(key, version, &text).map(Some),
            None => Ok(None),
        }
    }

    /// Like [`FormCache::get`], reading on the blocking pool through `database` when the version
    /// is not cached: for an async caller that holds no connection.
    pub async fn load(
        &self,
        database: &Database,
        key: &str,
        version: i32,
    ) -> ApiResult<Option<Arc<CompiledForm>>> {
        if let Some(hit) = self.cached(key, version) {
            return Ok(Some(hit));
        }
        let k = key.to_owned();
        let text = database
            .run(move |conn| Ok(repo::form_definition(conn, &k, version)?))
            .await?;
        match text {
            Some(text) => self.keep(key, version, &text).map(Some),
            None => Ok(None),
        }
    }

    /// Compiles a stored definition and keeps it.
    fn keep(&self, key: &str, version: i32, text: &str) -> ApiResult<Arc<CompiledForm>> {
        let definition: FormDefinition = serde_json::from_str(text).map_err(ApiError::internal)?;
        let compiled = definition.check().map_err(|_| {
            ApiError::internal(anyhow::anyhow!("a stored form version fails its check"))
        })?;
        let compiled = Arc::new(compiled);
        if let Ok(mut m) = self.compiled.write() {
            m.insert((key.to_owned(), version), compiled.clone());
        }
        Ok(compiled)
    }
}

/// A published form version's definition as JSON text, ready to be spliced into an answer.
pub type DefinitionJson = Arc<serde_json::value::RawValue>;

/// Published form versions never change, so their definitions are kept once read, already
/// serialised: sync sends the same few versions to every phone, and parsing a large definition
/// per request costs more than the rest of an incremental sync; cloning and re-serialising the
/// parsed tree per full sync cost a tenth of one. Bounded (a server publishes few versions); past
/// the bound, versions are read from the database as before.
#[derive(Default)]
pub struct DefinitionCache {
    serialised: RwLock<HashMap<(String, i32), DefinitionJson>>,
}

impl DefinitionCache {
    const MAX_VERSIONS: usize = 512;

    /// A published version's definition, from memory or read once from the database. The text is
    /// exactly what serialising the parsed `serde_json::Value` gives (as `SyncedForm` does), not
    /// the stored text as it was written.
    pub fn get(
        &self,
        conn: &mut AnyConnection,
        key: &str,
        version: i32,
    ) -> ApiResult<Option<DefinitionJson>> {
        let cached = match self.serialised.read() {
            Ok(map) => map.get(&(key.to_owned(), version)).cloned(),
            Err(poisoned) => poisoned
                .into_inner()
                .get(&(key.to_owned(), version))
                .cloned(),
        };
        if let Some(definition) = cached {
            return Ok(Some(definition));
        }
        let Some(text) = repo::form_definition(conn, key, version)? else {
            return Ok(None);
        };
        let definition = serialise_definition(&text)?;
        let mut map = match self.serialised.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() < Self::MAX_VERSIONS {
            map.insert((key.to_owned(), version), definition.clone());
        }
        Ok(Some(definition))
    }
}

/// A stored definition as sync sends it: the text of its parsed `serde_json::Value` (keys in that
/// map's order, no white space), so caching the text changes no byte of an answer.
pub(crate) fn serialise_definition(stored: &str) -> ApiResult<DefinitionJson> {
    let parsed = serde_json::from_str::<serde_json::Value>(stored).map_err(ApiError::internal)?;
    Ok(serde_json::value::to_raw_value(&parsed)
        .map_err(ApiError::internal)?
        .into())
}
