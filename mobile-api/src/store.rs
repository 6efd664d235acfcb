//! What the phone keeps from sync: its tasks, the (masked) households they need, the pinned form
//! versions, and the cursor. Everything needed to work a day offline.

use std::path::Path;
use std::sync::Mutex;

use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::household::Household;
use jiuzhu_proto::task::{SyncPage, Task};
use rusqlite::{params, Connection, OptionalExtension};

use crate::client::{Client, ClientError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS households (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS forms (
    key TEXT NOT NULL, version INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (key, version)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local storage: {0}")]
    Storage(#[from] rusqlite::Error),
    #[error("local encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error(transparent)]
    Client(#[from] ClientError),
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// What a sync brought.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    pub pages: u32,
    pub tasks: u32,
    pub households: u32,
    pub forms: u32,
    pub removed: u32,
}

pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn cursor(&self) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM meta WHERE key = 'cursor'", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Applies one sync page in one transaction: a full page (no cursor before it) replaces
    /// the task list; an incremental one adds, updates and removes.
    pub fn apply(&self, page: &SyncPage, full: bool) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        if full {
            tx.execute("DELETE FROM tasks", [])?;
        }
        for t in &page.tasks {
            tx.execute(
                "INSERT INTO tasks (id, body) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                params![t.id.to_string(), serde_json::to_string(t)?],
            )?;
        }
        for h in &page.households {
            tx.execute(
                "INSERT INTO households (id, body) VALUES (?1, ?2)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body",
                params![h.id.to_string(), serde_json::to_string(h)?],
            )?;
        }
        for f in &page.forms {
            tx.execute(
                "INSERT INTO forms (key, version, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key, version) DO NOTHING",
                params![f.key, f.version, serde_json::to_string(&f.definition)?],
            )?;
        }
        for t in &page.tombstones {
            if t.entity == "task" {
                tx.execute("DELETE FROM tasks WHERE id = ?1", params![t.id.to_string()])?;
            }
        }
        // Households no task needs any more leave the phone.
        tx.execute(
            "DELETE FROM households WHERE id NOT IN
             (SELECT json_extract(body, '$.household_id') FROM tasks)",
            [],
        )?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('cursor', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![page.cursor],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Syncs until the server has nothing more. A cursor the server refuses (a reinstalled
    /// server, a corrupted file) is dropped and the full set fetched instead.
    pub async fn sync(&self, client: &Client) -> Result<SyncReport> {
        let mut report = SyncReport::default();
        let mut cursor = self.cursor()?;
        loop {
            let page = match client.sync(cursor.as_deref()).await {
                Ok(p) => p,
                Err(e)
                    if cursor.is_some() && e.status() == Some(reqwest::StatusCode::BAD_REQUEST) =>
                {
                    cursor = None;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            self.apply(&page, cursor.is_none())?;
            report.pages += 1;
            report.tasks += page.tasks.len() as u32;
            report.households += page.households.len() as u32;
            report.forms += page.forms.len() as u32;
            report.removed += page.tombstones.len() as u32;
            cursor = Some(page.cursor);
            if !page.has_more {
                return Ok(report);
            }
        }
    }

    pub fn tasks(&self) -> Result<Vec<Task>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT body FROM tasks ORDER BY id")?;
        let bodies = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(bodies
            .iter()
            .map(|b| serde_json::from_str(b))
            .collect::<std::result::Result<_, _>>()?)
    }

    pub fn task(&self, id: uuid::Uuid) -> Result<Option<Task>> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM tasks WHERE id = ?1",
                params![id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    pub fn household(&self, id: uuid::Uuid) -> Result<Option<Household>> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM households WHERE id = ?1",
                params![id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    pub fn form(&self, key: &str, version: i32) -> Result<Option<FormDefinition>> {
        let body: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM forms WHERE key = ?1 AND version = ?2",
                params![key, version],
                |r| r.get(0),
            )
            .optional()?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }
}
