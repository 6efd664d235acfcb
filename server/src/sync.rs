//! A grid worker's sync page: the open tasks, the (masked) households they need and the pinned
//! form versions, or what changed since the last page's cursor, with tombstones for tasks taken
//! away. `GET /sync` (`routes::sync`) authenticates and answers with it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

#[cfg(doc)]
use jiuzhu_proto::task::SyncPage;
#[cfg(doc)]
use jiuzhu_proto::task::SyncedForm;
use jiuzhu_proto::task::{Task, TaskState, Tombstone};
use jiuzhu_proto::ErrorCode;
use serde::{Serialize, Serializer};

use crate::changes::{self, CursorSigner, DELETE};
use crate::db::repo::tasks::{self as repo, TaskRow};
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::forms::{DefinitionCache, DefinitionJson};
use crate::registry::wire;
use crate::scope::Scope;
use crate::tasks;

/// Changes per page.
const PAGE: i64 = 500;

/// A [`SyncPage`]'s body, written in its field order as the parts are read (a test holds the two
/// to the same bytes), but with each form definition spliced in as the JSON text cached at its
/// first use instead of a parsed tree cloned and serialised again for every phone, and the
/// households appended by [`wire`] in id order from the (reused) pieces it wrote them into: one
/// fresh buffer per answer.
struct Body(Vec<u8>);

/// A [`SyncedForm`] on the wire.
#[derive(Debug, Serialize)]
struct WireForm {
    key: String,
    version: i32,
    #[serde(serialize_with = "spliced")]
    definition: DefinitionJson,
}

fn spliced<S: Serializer>(json: &DefinitionJson, s: S) -> Result<S::Ok, S::Error> {
    Serialize::serialize(&**json, s)
}

impl Body {
    /// Sizes from the demo city's full syncs (about 2.5 kB a household with its members, 0.5 kB
    /// a task, a form of some kilobytes): a buffer grown by doubling would be copied several
    /// times over.
    fn new(households: usize, tasks: usize) -> Self {
        Self(Vec::with_capacity(
            16 * 1024 + 512 * tasks + 3 * 1024 * households,
        ))
    }

    fn json<T: Serialize + ?Sized>(&mut self, key: &[u8], value: &T) -> ApiResult<()> {
        self.0.extend_from_slice(key);
        serde_json::to_writer(&mut self.0, value).map_err(ApiError::internal)
    }

    /// Everything before the households' array, up to its key.
    fn head(&mut self, cursor: &str, has_more: bool, tasks: &[Task]) -> ApiResult<()> {
        self.json(b"{\"cursor\":", cursor)?;
        self.json(b",\"has_more\":", &has_more)?;
        self.json(b",\"tasks\":", tasks)?;
        self.0.extend_from_slice(b",\"households\":");
        Ok(())
    }

    /// Everything after the households' array.
    fn tail(mut self, forms: &[WireForm], tombstones: &[Tombstone]) -> ApiResult<Vec<u8>> {
        self.json(b",\"forms\":", forms)?;
        self.json(b",\"tombstones\":", tombstones)?;
        self.0.push(b'}');
        Ok(self.0)
    }
}

/// An edited, truncated, foreign or future cursor (400).
pub fn bad_cursor() -> ApiError {
    ApiError::bad_request(
        ErrorCode::BadRequest,
        "同步标记无效，请不带标记重新同步",
        "invalid sync cursor: sync again without one",
    )
}

/// What a page is made with: the cursor signer and the cache of published form definitions
/// (`AppState::sync_sources` lends them).
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    pub cursors: &'a CursorSigner,
    pub definitions: &'a DefinitionCache,
}

/// One page for grid worker `me` over `scope`, after the signed `cursor` of the last page
/// (everything current without one), as the JSON body of a [`SyncPage`]. Read-only.
pub fn page(
    conn: &mut AnyConnection,
    st: &Sources<'_>,
    me: &str,
    scope: &Scope,
    cursor: Option<&str>,
) -> ApiResult<Vec<u8>> {
    let after = match cursor {
        Some(c) => Some(st.cursors.verify(me, c).map_err(|_| bad_cursor())?),
        None => None,
    };
    let today = crate::domain::time::today();
    let (task_rows, tombstones, household_ids, cursor, has_more) = match after {
        None => {
            // The full current set; the cursor is the head read in the same statement (the same
            // snapshot) or, without a task to carry it, before the tasks, so a change racing this
            // read is sent again next time rather than lost.
            let (rows, head) = match repo::open_for_at_head(conn, me)? {
                (rows, Some(head)) => (rows, head),
                (_, None) => {
                    let head = changes::head(conn)?;
                    (repo::open_for(conn, me)?, head)
                }
            };
            let households: BTreeSet<String> =
                rows.iter().map(|r| r.household_id.clone()).collect();
            (rows, Vec::new(), households, head, false)
        }
        Some(seq) if seq > changes::head(conn)? => return Err(bad_cursor()),
        Some(seq) => {
            let mut rows = changes::since::<{ PAGE as u32 + 1 }>(conn, me, seq)?;
            let has_more = rows.len() as i64 > PAGE;
            rows.truncate(PAGE as usize);
            let cursor = rows.last().map(|r| r.seq).unwrap_or(seq);
            // The last word on each entity wins.
            let mut last: BTreeMap<(String, String), String> = BTreeMap::new();
            for r in rows {
                last.insert((r.entity, r.entity_id), r.op);
            }
            let task_ids: Vec<String> = last
                .iter()
                .filter(|((e, _), op)| e == "task" && op.as_str() != DELETE)
                .map(|((_, id), _)| id.clone())
                .collect();
            let mut current: HashMap<String, TaskRow> = if task_ids.is_empty() {
                HashMap::new()
            } else {
                repo::find_many(conn, &task_ids)?
                    .into_iter()
                    .map(|t| (t.id.clone(), t))
                    .collect()
            };
            let mut tombstones = Vec::new();
            let mut live = Vec::new();
            for ((entity, id), op) in &last {
                if entity != "task" {
                    continue;
                }
                match current.remove(id) {
                    Some(t)
                        if op != DELETE
                            && t.assignee_id.as_deref() == Some(me)
                            && TaskState::parse(&t.state)
                                .is_some_and(|s| TaskState::ON_PHONE.contains(&s)) =>
                    {
                        live.push(t)
                    }
                    _ => tombstones.push(Tombstone {
                        entity: "task".into(),
                        id: id.parse().map_err(ApiError::internal)?,
                    }),
                }
            }
            let mut households: BTreeSet<String> =
                live.iter().map(|t| t.household_id.clone()).collect();
            households.extend(
                last.keys()
                    .filter(|(e, _)| e == "household")
                    .map(|(_, id)| id.clone()),
            );
            (live, tombstones, households, cursor, has_more)
        }
    };
    let household_ids: Vec<String> = household_ids.into_iter().collect();
    let pinned: BTreeSet<(String, i32)> = task_rows
        .iter()
        .filter_map(|t| t.form_version.map(|v| (t.form_key.clone(), v)))
        .collect();
    let tasks = task_rows
        .into_iter()
        .map(|t| tasks::to_api(t, today))
        .collect::<ApiResult<Vec<_>>>()?;
    let mut body = Body::new(household_ids.len(), tasks.len());
    body.head(&st.cursors.sign(me, cursor), has_more, &tasks)?;
    wire::households(conn, scope, &household_ids, &mut body.0)?;
    let mut forms = Vec::new();
    for (key, version) in pinned {
        if let Some(definition) = st.definitions.get(conn, &key, version)? {
            forms.push(WireForm {
                key,
                version,
                definition,
            });
        }
    }
    body.tail(&forms, &tombstones)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use jiuzhu_proto::household::Household;
    use jiuzhu_proto::task::SyncPage;
    use jiuzhu_proto::task::SyncedForm;

    use super::*;
    use crate::forms::serialise_definition;

    #[test]
    fn the_wire_page_is_byte_for_byte_a_sync_page() {
        let text = r#"{"version":3,"key":"home_visit","title":{"zh":"入户","en":"Visit"},
            "fields":[{"type":"number","min":0,"id":"n","label":{"en":"N","zh":"数"}}]}"#;
        let id = uuid::Uuid::now_v7();
        let forms = vec![WireForm {
            key: "home_visit".into(),
            version: 3,
            definition: serialise_definition(text).unwrap(),
        }];
        let tombstones = vec![Tombstone {
            entity: "task".into(),
            id,
        }];
        // The households as `read` gives them, or as `wire` writes them.
        let wire = |written: bool| {
            let mut body = Body::new(0, 0);
            body.head("v1.7.00ff", true, &[]).unwrap();
            if written {
                body.0.extend_from_slice(b"[]");
            } else {
                body.json(b"", &Vec::<Household>::new()).unwrap();
            }
            body.tail(&forms, &tombstones).unwrap()
        };
        let page = SyncPage {
            cursor: "v1.7.00ff".into(),
            has_more: true,
            tasks: Vec::new(),
            households: Vec::new(),
            forms: vec![SyncedForm {
                key: "home_visit".into(),
                version: 3,
                definition: serde_json::from_str(text).unwrap(),
            }],
            tombstones: vec![Tombstone {
                entity: "task".into(),
                id,
            }],
        };
        for written in [false, true] {
            let body = wire(written);
            assert_eq!(
                String::from_utf8(body.clone()).unwrap(),
                serde_json::to_string(&page).unwrap()
            );
            let back: SyncPage = serde_json::from_slice(&body).unwrap();
            assert_eq!(back.forms, page.forms);
        }
    }
}
