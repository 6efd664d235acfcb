//! The end-to-end test harness: a real server on port 0 over a fresh SQLite file or a fresh
//! PostgreSQL database, dropped afterwards, so tests run in parallel. Drive it through the phone
//! SDK's `Client`.
//!
//! PostgreSQL comes from `JIUZHU_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! When it cannot be reached the PostgreSQL half is skipped with a message, unless `CI` is set,
//! in which case the test fails.

pub mod fixtures;

use std::path::PathBuf;
use std::sync::Arc;

use diesel::{Connection, PgConnection, RunQueryDsl};
use jiuzhu_mobile_api::Client;
use jiuzhu_server::config::{Secrets, Settings};
use jiuzhu_server::startup::Application;
use jiuzhu_server::state::AppState;

pub use jiuzhu_server::demo::DEMO_PASSWORD;

/// Demo households `TestApp::load_demo` registers. None: tests that count, search or list
/// households in the demo grids see only what they registered themselves; tests about the demo
/// population ask for it with `TestApp::load_demo_with_households`.
pub const DEFAULT_DEMO_HOUSEHOLDS: usize = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs an async test body once per backend: `both_backends!(name, body_fn);` makes
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body($crate::Backend::Postgres).await
            }
        }
    };
}

/// The role PostgreSQL test servers run as: it owns nothing, and was granted what the server
/// needs by `db::app_role::grant` (the least-privilege deployment SECURITY.md recommends), so
/// every PostgreSQL test runs the server as it would run in production.
pub const PG_APP_ROLE: &str = "jiuzhu_test_app";

/// Creates [`PG_APP_ROLE`] once in the cluster (tests running at once may race to it).
fn ensure_app_role(conn: &mut PgConnection) {
    let sql = format!(
        "DO $$ BEGIN CREATE ROLE {PG_APP_ROLE} LOGIN PASSWORD '{PG_APP_ROLE}'; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    );
    if let Err(e) = diesel::sql_query(sql).execute(conn) {
        panic!("cannot create the role {PG_APP_ROLE}: {e}");
    }
}

/// `url` logging in as [`PG_APP_ROLE`] instead of its own user.
fn as_app_role(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            format!("{scheme}://{PG_APP_ROLE}:{PG_APP_ROLE}@{host}")
        }
        None => panic!("not a database URL: {url}"),
    }
}

/// Migrates a fresh PostgreSQL database as its owner, grants [`PG_APP_ROLE`] and gives the URL
/// the server is to use.
fn migrate_for_app_role(owner_url: &str) -> String {
    let mut conn = match jiuzhu_server::db::connect(owner_url, 1)
        .map_err(|e| e.to_string())
        .and_then(|(_, pool)| pool.get().map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => panic!("cannot open {owner_url}: {e}"),
    };
    if let Err(e) = jiuzhu_server::db::migrate(&mut conn) {
        panic!("cannot migrate the test database: {e}");
    }
    if let Err(e) = jiuzhu_server::db::app_role::grant(&mut conn, PG_APP_ROLE) {
        panic!("cannot grant {PG_APP_ROLE}: {e}");
    }
    as_app_role(owner_url)
}

pub fn pg_admin_url() -> String {
    std::env::var("JIUZHU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A database made for one test and dropped after it.
pub enum TestDb {
    Sqlite { dir: PathBuf },
    Postgres { name: String },
}

impl TestDb {
    /// A fresh, empty database, or `None` (after saying so) when PostgreSQL is out of reach
    /// outside CI.
    pub fn create(backend: Backend) -> Option<(TestDb, String, PathBuf)> {
        let dir =
            std::env::temp_dir().join(format!("jiuzhu-test-{}", uuid::Uuid::now_v7().simple()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        match backend {
            Backend::Sqlite => {
                let url = format!("sqlite://{}", dir.join("jiuzhu.db").display());
                Some((TestDb::Sqlite { dir: dir.clone() }, url, dir))
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = match PgConnection::establish(&admin) {
                    Ok(c) => c,
                    Err(e) if !in_ci() => {
                        eprintln!("PostgreSQL half SKIPPED: cannot reach {admin}: {e}");
                        return None;
                    }
                    Err(e) => panic!("CI is set but PostgreSQL at {admin} is unreachable: {e}"),
                };
                ensure_app_role(&mut conn);
                let name = format!("jiuzhu_test_{}", uuid::Uuid::now_v7().simple());
                if let Err(e) =
                    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)
                {
                    panic!("cannot create test database: {e}");
                }
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("JIUZHU_TEST_PG_URL has no database part: {admin}"),
                };
                Some((TestDb::Postgres { name }, url, dir))
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
            TestDb::Postgres { name } => {
                let name = name.clone();
                // Drop may run inside the async runtime: do the blocking work on a plain thread.
                let _ = std::thread::spawn(move || {
                    if let Ok(mut conn) = PgConnection::establish(&pg_admin_url()) {
                        let _ = diesel::sql_query(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        ))
                        .execute(&mut conn);
                    }
                })
                .join();
            }
        }
    }
}

/// A running server and what it runs on.
pub struct TestApp {
    pub base: String,
    pub port: u16,
    pub state: Arc<AppState>,
    pub backend: Backend,
    /// What the server connects with: on PostgreSQL as [`PG_APP_ROLE`].
    pub database_url: String,
    /// The database as its owner (on SQLite, the same file): for what only the owner may do,
    /// such as an attacker's disabling the audit log's triggers.
    pub owner_url: String,
    handle: actix_web::dev::ServerHandle,
    settings: Settings,
    keys: ([u8; 32], [u8; 32], [u8; 32]),
    others: std::sync::Mutex<Vec<actix_web::dev::ServerHandle>>,
    // Dropped last: the database outlives the server.
    _db: TestDb,
}

/// Settings for a test server: port 0, its own folder and database, quick limits.
pub fn test_settings(database_url: &str, dir: &std::path::Path) -> Settings {
    Settings {
        bind: "127.0.0.1:0".into(),
        data_dir: dir.to_path_buf(),
        database_url: Some(database_url.into()),
        db_pool_size: 4,
        workers: Some(2),
        login_limit_per_ip: 1000,
        login_limit_per_account: 100,
        shutdown_timeout_secs: 1,
        // Tests run the periodic jobs themselves, when they want them.
        recheck: jiuzhu_server::config::RecheckSettings {
            every_secs: 0,
            ..Default::default()
        },
        ..Settings::default()
    }
}

/// Starts a server on a fresh database; `None` when the backend is unavailable (see module docs).
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(
    backend: Backend,
    tweak: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let (db, owner_url, dir) = tokio::task::spawn_blocking(move || TestDb::create(backend))
        .await
        .ok()??;
    let url = match backend {
        Backend::Sqlite => owner_url.clone(),
        Backend::Postgres => {
            let owner = owner_url.clone();
            match tokio::task::spawn_blocking(move || migrate_for_app_role(&owner)).await {
                Ok(url) => url,
                Err(e) => panic!("{e}"),
            }
        }
    };
    let mut settings = test_settings(&url, &dir);
    tweak(&mut settings);
    let keys = (rand::random(), rand::random(), rand::random());
    let (port, state, handle) = start(settings.clone(), keys).await;
    Some(TestApp {
        base: format!("http://127.0.0.1:{port}"),
        port,
        state,
        backend,
        database_url: url,
        owner_url,
        handle,
        settings,
        keys,
        others: std::sync::Mutex::new(Vec::new()),
        _db: db,
    })
}

fn secrets(keys: ([u8; 32], [u8; 32], [u8; 32])) -> Secrets {
    Secrets {
        data_key: secrecy::SecretBox::new(Box::new(keys.0)),
        token_pepper: secrecy::SecretBox::new(Box::new(keys.1)),
        audit_key: secrecy::SecretBox::new(Box::new(keys.2)),
        retired_data_keys: Vec::new(),
    }
}

async fn start(
    settings: Settings,
    keys: ([u8; 32], [u8; 32], [u8; 32]),
) -> (u16, Arc<AppState>, actix_web::dev::ServerHandle) {
    let app = match Application::build_with(settings, secrets(keys)).await {
        Ok(app) => app,
        Err(e) => panic!("server failed to start: {e:#}"),
    };
    let port = app.port();
    let state = app.state();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    (port, state, handle)
}

impl TestApp {
    /// Runs `statements` on the database as its owner (not as the server's role), in order.
    pub async fn as_owner(&self, statements: Vec<String>) -> Result<(), String> {
        let url = self.owner_url.clone();
        let run = move || -> Result<(), String> {
            let (_, pool) = jiuzhu_server::db::connect(&url, 1).map_err(|e| e.to_string())?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            for sql in statements {
                diesel::sql_query(&sql)
                    .execute(&mut *conn)
                    .map_err(|e| format!("{sql}: {e}"))?;
            }
            Ok(())
        };
        tokio::task::spawn_blocking(run)
            .await
            .map_err(|e| e.to_string())?
    }

    /// A client without a token.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Loads the demo city (streets, communities, grids of 天宁区 and one account per role) and
    /// its first [`DEFAULT_DEMO_HOUSEHOLDS`] households (none).
    pub async fn load_demo(&self) -> jiuzhu_server::demo::DemoReport {
        self.load_demo_with_households(DEFAULT_DEMO_HOUSEHOLDS)
            .await
    }

    /// Loads the demo city with its first `n` households (`--demo` loads 20,000).
    pub async fn load_demo_with_households(&self, n: usize) -> jiuzhu_server::demo::DemoReport {
        let state = self.state.clone();
        let size = jiuzhu_server::demo::DemoSize::households(n);
        let report = match self
            .state
            .db(move |conn| jiuzhu_server::demo::load(conn, &state.cipher, size))
            .await
        {
            Ok(r) => r,
            Err(e) => panic!("demo load failed: {e}"),
        };
        if let Err(e) =
            jiuzhu_server::grid_index::refresh(&self.state.database, &self.state.grids).await
        {
            panic!("grid refresh failed: {e}");
        }
        report
    }

    /// Runs the benchmark harness `jiuzhu bench-seed` on this server's database (the demo must
    /// be loaded): `workers` storm workers with `tasks_per_worker` tasks each, pinned to the
    /// synthetic form of `visit_form_fields` fields when given; their tokens go to `out`.
    pub async fn bench_seed(
        &self,
        workers: usize,
        tasks_per_worker: usize,
        visit_form_fields: Option<usize>,
        out: &std::path::Path,
    ) -> jiuzhu_server::bench::storm::SeedReport {
        // The harness opens its own state: give it this server's keys, so the tokens it mints
        // are the ones the server accepts.
        let settings = self.settings_with_keys();
        let args = jiuzhu_server::bench::storm::BenchSeedArgs {
            workers,
            tasks_per_worker,
            out: out.to_path_buf(),
            prefix: "storm".into(),
            token_ttl_secs: 3600,
            visit_form_fields,
        };
        match tokio::task::spawn_blocking(move || jiuzhu_server::bench::storm::run(settings, &args))
            .await
        {
            Ok(Ok(report)) => report,
            Ok(Err(e)) => panic!("bench-seed failed: {e:#}"),
            Err(e) => panic!("bench-seed panicked: {e}"),
        }
    }

    /// This server's settings with its keys given explicitly (hex), for a command run beside
    /// it on its database and folder.
    pub fn settings_with_keys(&self) -> Settings {
        let mut settings = self.settings.clone();
        settings.data_key = Some(hex::encode(self.keys.0).into());
        settings.token_pepper = Some(hex::encode(self.keys.1).into());
        settings.audit_key = Some(hex::encode(self.keys.2).into());
        settings
    }

    /// On PostgreSQL, whether `table` has planner statistics from an `ANALYZE` (this machine's
    /// server runs without autovacuum, so nothing else gives them); `None` on SQLite.
    pub async fn analyzed(&self, table: &'static str) -> Option<bool> {
        #[derive(diesel::QueryableByName)]
        struct Analyzed {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            analyzed: bool,
        }
        if self.backend != Backend::Postgres {
            return None;
        }
        let row = self
            .state
            .db(move |conn| {
                Ok(diesel::sql_query(
                    "SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables \
                     WHERE relname = $1",
                )
                .bind::<diesel::sql_types::Text, _>(table)
                .get_result::<Analyzed>(conn)?)
            })
            .await;
        match row {
            Ok(r) => Some(r.analyzed),
            Err(e) => panic!("statistics of {table}: {e}"),
        }
    }

    /// A client logged in as a demo account.
    pub async fn login(&self, username: &str) -> Client {
        let mut client = self.client();
        if let Err(e) = client.login(username, DEMO_PASSWORD, None).await {
            panic!("login as {username} failed: {e}");
        }
        client
    }

    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }

    /// A second server instance on the same database (and keys), as a scaled-out deployment
    /// runs: its state, to drive jobs from both.
    pub async fn another_instance(&self) -> Arc<AppState> {
        let (_, state, handle) = start(self.settings.clone(), self.keys).await;
        self.others
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
        state
    }

    /// Starts the server again after [`TestApp::stop`]: same port, database and keys, so
    /// clients and their tokens carry on as after a real restart.
    pub async fn start_again(&mut self) {
        let mut settings = self.settings.clone();
        settings.bind = format!("127.0.0.1:{}", self.port);
        let (_, state, handle) = start(settings, self.keys).await;
        self.state = state;
        self.handle = handle;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop accepting; the database is dropped with FORCE, so lingering pool connections are fine.
        drop(self.handle.stop(false));
        for other in self
            .others
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
        {
            drop(other.stop(false));
        }
    }
}
