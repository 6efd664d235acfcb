//! The `jiuzhu` binary as operators run it: real processes on real ports, stopped with signals,
//! their output captured to files and read back. What the in-process harness cannot see lives
//! here: two instances on one database, restarts, SIGTERM, `--production`, the log stream and the
//! one-shot commands.
//!
//! PostgreSQL comes from `JIUZHU_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! When it cannot be reached the PostgreSQL test is skipped with a message, unless `CI` is set,
//! in which case it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::org::OrgKind;
use jiuzhu_proto::ErrorCode;
use jiuzhu_server::demo::DEMO_PASSWORD;
use reqwest::{Method, StatusCode};
use serde_json::json;

const JIUZHU: &str = env!("CARGO_BIN_EXE_jiuzhu");
/// A debug build loading the demo city on a machine shared with other builds can be slow.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// A stop with nothing in flight; idle keep-alive connections may hold it up to actix's 5 s.
const STOPS_WITHIN: Duration = Duration::from_secs(20);
/// Far outside 天宁区 (WGS-84), so that no demo grid contains it.
const FAR_LAT: f64 = 31.95;
const FAR_LON: f64 = 120.30;

// ---------------------------------------------------------------------------------------------
// Scaffolding: a scratch folder, a database, a child process, each cleaned up by its Drop.

/// A folder for one test's data and captured output; kept (and named) when the test fails.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn new(label: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "jiuzhu-proc-{label}-{}",
            uuid::Uuid::now_v7().simple()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self { path }
    }

    fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test output kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn pg_admin_url() -> String {
    std::env::var("JIUZHU_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A PostgreSQL database made for one test and dropped (with FORCE) after it.
struct PgDatabase {
    name: String,
    url: String,
}

impl PgDatabase {
    /// `None` (after saying so) when PostgreSQL is out of reach outside CI.
    fn create() -> Option<Self> {
        let admin = pg_admin_url();
        let mut conn = match PgConnection::establish(&admin) {
            Ok(conn) => conn,
            Err(e) if !in_ci() => {
                eprintln!("PostgreSQL half SKIPPED: cannot reach {admin}: {e}");
                return None;
            }
            Err(e) => panic!("CI is set but PostgreSQL at {admin} is unreachable: {e}"),
        };
        let name = format!("jiuzhu_test_{}", uuid::Uuid::new_v4().simple());
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("cannot create database {name}: {e}"));
        let Some((base, _)) = admin.rsplit_once('/') else {
            panic!("JIUZHU_TEST_PG_URL has no database part: {admin}");
        };
        let url = format!("{base}/{name}");
        Some(Self { name, url })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run on a runtime worker: do the blocking work on a plain thread.
        let _ = std::thread::spawn(move || {
            if let Ok(mut conn) = PgConnection::establish(&pg_admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        })
        .join();
    }
}

/// 32 random bytes, hex, as `JIUZHU_DATA_KEY` and `JIUZHU_TOKEN_PEPPER` expect.
fn random_key() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `jiuzhu ARGS` with a clean environment: no inherited `JIUZHU_*` (the test's own
/// `JIUZHU_TEST_PG_URL` included), `RUST_LOG=info`, run in the scratch folder so that no stray
/// `./jiuzhu.toml` is read, output to `NAME.stdout` and `NAME.stderr` there.
fn jiuzhu(scratch: &Scratch, name: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(JIUZHU);
    cmd.args(args).current_dir(&scratch.path);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("JIUZHU_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info").envs(env.iter().copied());
    let out = File::create(scratch.join(&format!("{name}.stdout"))).unwrap();
    let err = File::create(scratch.join(&format!("{name}.stderr"))).unwrap();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    cmd
}

/// A child process of the binary, killed when dropped.
struct Process {
    child: Child,
    name: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Process {
    fn spawn(scratch: &Scratch, name: &str, mut cmd: Command) -> Self {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {JIUZHU}: {e}"));
        Self {
            child,
            name: name.to_owned(),
            stdout: scratch.join(&format!("{name}.stdout")),
            stderr: scratch.join(&format!("{name}.stderr")),
        }
    }

    /// Everything the process wrote so far, stdout then stderr.
    fn output(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!("{}{}", read(&self.stdout), read(&self.stderr))
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {} failed", self.child.id());
    }

    /// The exit status, or `None` while it runs.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} still running after {within:?}; output:\n{}",
                    self.name,
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a one-shot command to its end (at most a minute): its status and output.
async fn run_once(
    scratch: &Scratch,
    name: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> (ExitStatus, String) {
    let mut cmd = jiuzhu(scratch, name, args, &[]);
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut process = Process::spawn(scratch, name, cmd);
    if let Some(text) = stdin {
        let mut pipe = process.child.stdin.take().unwrap();
        pipe.write_all(text.as_bytes()).unwrap();
    }
    let status = process.wait_exit(Duration::from_secs(60)).await;
    (status, process.output())
}

/// `jiuzhu serve` on a free port.
struct Server {
    process: Process,
    base: String,
}

impl Server {
    fn start(scratch: &Scratch, name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let bind = format!("127.0.0.1:{}", free_port());
        let mut all = vec!["serve", "--bind", bind.as_str()];
        all.extend_from_slice(args);
        let process = Process::spawn(scratch, name, jiuzhu(scratch, name, &all, env));
        Self {
            process,
            base: format!("http://{bind}"),
        }
    }

    /// Started and ready: `/readyz` answers 200. With `--demo` the listener only accepts once
    /// the demo city is loaded, so this also waits for that.
    async fn ready(scratch: &Scratch, name: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut server = Self::start(scratch, name, args, env);
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&mut self) {
        let http = http_client();
        let started = Instant::now();
        loop {
            if let Some(status) = self.process.exited() {
                panic!(
                    "{} exited with {status} before it was ready; output:\n{}",
                    self.process.name,
                    self.process.output()
                );
            }
            let res = http.get(format!("{}/readyz", self.base)).send().await;
            if res.is_ok_and(|r| r.status() == StatusCode::OK) {
                return;
            }
            if started.elapsed() > READY_WITHIN {
                panic!(
                    "{} not ready after {READY_WITHIN:?}; output:\n{}",
                    self.process.name,
                    self.process.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn client(&self) -> Client {
        Client::new(&self.base)
    }

    async fn login(&self, username: &str) -> Client {
        let mut client = self.client();
        if let Err(e) = client.login(username, DEMO_PASSWORD, None).await {
            panic!("log-in as {username} on {} failed: {e}", self.process.name);
        }
        client
    }

    /// SIGTERM, then the exit status, which must be success.
    async fn stop(&mut self) {
        self.process.sigterm();
        let status = self.process.wait_exit(STOPS_WITHIN).await;
        assert!(
            status.success(),
            "{} exited with {status} after SIGTERM; output:\n{}",
            self.process.name,
            self.process.output()
        );
    }
}

/// A plain client that keeps no idle connections, so it never holds up a graceful stop.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Domain helpers.

/// The code of the first demo community, as an admin sees it.
async fn first_community(admin: &Client) -> String {
    let page = admin
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Community),
            limit: Some(1),
            ..OrgUnitQuery::default()
        })
        .await
        .unwrap();
    let community = page.items.first().expect("the demo city has communities");
    assert_eq!(community.code.len(), 12, "{community:?}");
    community.code.clone()
}

/// A FeatureCollection of one grid whose boundary is a polygon of `vertices` points on a circle.
fn grid_collection(code: &str, lat: f64, lon: f64, radius: f64, vertices: usize) -> String {
    let mut ring: Vec<[f64; 2]> = (0..vertices)
        .map(|i| {
            let angle = std::f64::consts::TAU * i as f64 / vertices as f64;
            [lon + radius * angle.cos(), lat + radius * angle.sin()]
        })
        .collect();
    ring.push(ring[0]);
    json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {"code": code, "name": "进程测试网格"},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }],
    })
    .to_string()
}

/// The grid code `/geo/locate` names for a WGS-84 point, if any.
async fn grid_at(client: &Client, lat: f64, lon: f64) -> Option<String> {
    let found = client.locate(lat, lon, Crs::Wgs84).await.unwrap();
    found.grid.map(|g| g.code)
}

/// `N` from the demo's "… N units created, M already there …" line.
fn units_created(stdout: &str) -> Option<u32> {
    let line = stdout.lines().find(|l| l.contains("units created"))?;
    let before = line.split(" units created").next()?;
    before.rsplit(' ').next()?.parse().ok()
}

/// The values of `data_key`, `token_pepper` and `audit_key` in a secrets file.
fn secret_values(text: &str) -> Vec<String> {
    let values: Vec<String> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .collect();
    assert_eq!(values.len(), 3, "unexpected secrets file: {text}");
    assert!(values.iter().all(|v| v.len() == 64), "{values:?}");
    values
}

/// `THP_enabled` of `/proc/{pid}/status`: whether the process may get transparent huge pages.
fn thp_enabled(pid: &str) -> Option<bool> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))?;
    Some(line.trim() != "0")
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn assert_refused(
    result: jiuzhu_mobile_api::client::Result<impl std::fmt::Debug>,
    status: u16,
    code: ErrorCode,
    what: &str,
) {
    match result {
        Err(e) => {
            assert_eq!(e.status().map(|s| s.as_u16()), Some(status), "{what}: {e}");
            assert_eq!(e.code(), Some(code), "{what}: {e}");
        }
        Ok(v) => panic!("{what}: expected {status} {}, got {v:?}", code.as_str()),
    }
}

// ---------------------------------------------------------------------------------------------
// Tests.

/// Two instances behind one load balancer: a token from one works on the other, a log-out on one
/// ends it on both, failures counted on both lock the account on both, and a boundary import on
/// one reaches the other's point lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_tokens_and_lockouts() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    let scratch = Scratch::new("two-instances");
    let (key, pepper) = (random_key(), random_key());
    let audit = random_key();
    let env = [
        ("JIUZHU_DATA_KEY", key.as_str()),
        ("JIUZHU_TOKEN_PEPPER", pepper.as_str()),
        ("JIUZHU_AUDIT_KEY", audit.as_str()),
    ];
    let (dir_a, dir_b) = (scratch.join("a"), scratch.join("b"));
    let (dir_a, dir_b) = (dir_a.to_str().unwrap(), dir_b.to_str().unwrap());
    let url = db.url.as_str();
    let a = Server::ready(
        &scratch,
        "a",
        &["--data-dir", dir_a, "--database-url", url, "--demo"],
        &env,
    )
    .await;
    let b = Server::ready(
        &scratch,
        "b",
        &["--data-dir", dir_b, "--database-url", url],
        &env,
    )
    .await;
    for dir in [dir_a, dir_b] {
        assert!(
            !Path::new(dir).join("secrets.toml").exists(),
            "explicit secrets must not be replaced by a generated file in {dir}"
        );
    }

    // A session started on A is known to B, and ended everywhere by a log-out on B.
    let on_a = a.login("coordinator").await;
    let token = on_a.token().unwrap().to_owned();
    let on_b = b.client().with_token(token);
    assert_eq!(on_b.me().await.unwrap().username, "coordinator");
    on_b.logout().await.unwrap();
    assert_refused(
        on_a.me().await,
        401,
        ErrorCode::Unauthorized,
        "token after log-out on B",
    );

    // Failures on both instances add up to one lockout, seen by both.
    b.login("worker2").await; // the password is right, and the failure count starts at zero
    for (server, attempts) in [(&a, 3), (&b, 2)] {
        for _ in 0..attempts {
            let result = server
                .client()
                .login("worker2", "wrong-password-0", None)
                .await;
            assert_refused(result, 401, ErrorCode::InvalidCredentials, "wrong password");
        }
    }
    for server in [&a, &b] {
        let result = server.client().login("worker2", DEMO_PASSWORD, None).await;
        assert_refused(
            result,
            423,
            ErrorCode::AccountLocked,
            "right password, locked",
        );
    }

    // A grid imported on A: A's lookup has it at once, B's after its next poll (every 5 s).
    let admin = a.login("admin").await;
    let code = format!("{}999", first_community(&admin).await);
    let admin_on_b = b.client().with_token(admin.token().unwrap());
    assert_eq!(grid_at(&admin_on_b, FAR_LAT, FAR_LON).await, None);
    let report = admin
        .import_org_units(
            Crs::Wgs84,
            grid_collection(&code, FAR_LAT, FAR_LON, 0.01, 64),
        )
        .await
        .unwrap();
    assert_eq!(report.created, 1, "{report:?}");
    assert_eq!(grid_at(&admin, FAR_LAT, FAR_LON).await, Some(code.clone()));
    let imported = Instant::now();
    loop {
        if grid_at(&admin_on_b, FAR_LAT, FAR_LON).await.as_ref() == Some(&code) {
            break;
        }
        assert!(
            imported.elapsed() < Duration::from_secs(15),
            "B's lookup still lacks grid {code} 15 s after the import on A"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!("B saw the new grid after {:?}", imported.elapsed());
}

/// A restart on the same data folder: a clean SIGTERM stop, the demo loaded once only, and the
/// generated secrets kept as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_backend_with_demo_restarts_cleanly() {
    let scratch = Scratch::new("restart");
    let data = scratch.join("data");
    let args = ["--data-dir", data.to_str().unwrap(), "--demo"];

    let mut first = Server::ready(&scratch, "first", &args, &[]).await;
    // `serve` runs without transparent huge pages (`startup::without_huge_pages`); kernels
    // older than 5.0 do not report the flag.
    if thp_enabled("self").is_some() {
        assert_eq!(
            thp_enabled(&first.process.child.id().to_string()),
            Some(false),
            "jiuzhu serve runs with transparent huge pages on"
        );
    }
    let created = units_created(&first.process.stdout());
    assert!(
        created.is_some_and(|n| n > 0),
        "first start should create the demo city; output:\n{}",
        first.process.output()
    );
    assert!(
        data.join("jiuzhu.db").exists(),
        "SQLite file not under the data folder"
    );
    let secrets_path = data.join("secrets.toml");
    let secrets = std::fs::read(&secrets_path).unwrap();
    let written = std::fs::metadata(&secrets_path)
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(mode_of(&secrets_path), 0o600);
    let stopping = Instant::now();
    first.stop().await;
    eprintln!("first instance stopped in {:?}", stopping.elapsed());

    let mut second = Server::ready(&scratch, "second", &args, &[]).await;
    assert_eq!(
        units_created(&second.process.stdout()),
        Some(0),
        "the second start should find the demo city in place; output:\n{}",
        second.process.output()
    );
    assert_eq!(
        std::fs::read(&secrets_path).unwrap(),
        secrets,
        "secrets.toml rewritten"
    );
    assert_eq!(
        std::fs::metadata(&secrets_path)
            .unwrap()
            .modified()
            .unwrap(),
        written,
        "secrets.toml touched"
    );
    assert_eq!(mode_of(&secrets_path), 0o600);
    // The demo log-ins still work: the restart kept the same keys and the same accounts.
    second.login("district").await;
    second.stop().await;

    // The audit log both runs wrote verifies against the key and the private checkpoint file.
    assert_eq!(mode_of(&data.join("audit-checkpoints.log")), 0o600);
    let verify = ["--data-dir", data.to_str().unwrap(), "audit", "verify"];
    let (status, output) = run_once(&scratch, "verify", &verify, None).await;
    assert!(status.success(), "{output}");
    assert!(output.contains("audit log intact"), "{output}");
    // Someone with write access to the file (but not the key) cuts the newest records away and
    // moves the head back: the signed checkpoint names the first missing record.
    {
        use diesel::{Connection, RunQueryDsl};
        let db = data.join("jiuzhu.db");
        let mut conn = diesel::SqliteConnection::establish(db.to_str().unwrap()).unwrap();
        for sql in [
            "DROP TRIGGER audit_log_no_delete",
            "DROP TRIGGER audit_head_forward_only",
            "DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 2 FROM audit_log)",
            "UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), \
             hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)",
        ] {
            diesel::sql_query(sql).execute(&mut conn).unwrap();
        }
    }
    let (status, output) = run_once(&scratch, "verify-again", &verify, None).await;
    assert!(!status.success(), "{output}");
    assert!(output.contains("broken at record"), "{output}");
}

/// SIGTERM during a slow request: the request completes with 200, new connections are no longer
/// served, and the process exits 0 once the request is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_lets_in_flight_requests_finish() {
    /// Enough vertices that the import takes a few seconds in a debug build.
    const VERTICES: usize = 200_000;
    /// Long enough for the body to be uploaded and the import to be under way.
    const TERM_AFTER: Duration = Duration::from_millis(1000);

    let scratch = Scratch::new("graceful");
    let data = scratch.join("data");
    let mut server = Server::ready(
        &scratch,
        "server",
        &["--data-dir", data.to_str().unwrap(), "--demo"],
        &[],
    )
    .await;
    let admin = server.login("admin").await;
    let code = format!("{}998", first_community(&admin).await);
    let body = grid_collection(&code, FAR_LAT, FAR_LON, 0.01, VERTICES);
    eprintln!("import body: {} bytes", body.len());

    let started = Instant::now();
    let import = tokio::spawn(async move {
        let result = admin.import_org_units(Crs::Wgs84, body).await;
        (result, started.elapsed())
    });
    tokio::time::sleep(TERM_AFTER).await;
    assert!(
        !import.is_finished(),
        "the import finished within {TERM_AFTER:?}, before SIGTERM: make it bigger"
    );
    server.process.sigterm();
    let termed = started.elapsed();

    // The listener is closed (refused) or at least no longer served (times out).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = http_client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await;
    assert!(
        probe.is_err(),
        "a new connection after SIGTERM was served: {probe:?}"
    );

    let (result, took) = import.await.unwrap();
    let report = result.unwrap_or_else(|e| {
        panic!(
            "the in-flight import failed after SIGTERM: {e}; output:\n{}",
            server.process.output()
        )
    });
    assert_eq!(report.created, 1, "{report:?}");
    assert!(took > termed, "the import answered before SIGTERM was sent");
    eprintln!("SIGTERM at {termed:?}, import answered at {took:?}");
    let status = server.process.wait_exit(Duration::from_secs(40)).await;
    assert!(
        status.success(),
        "exit status {status} after a graceful stop; output:\n{}",
        server.process.output()
    );
}

/// `--production` refuses to invent secrets, and starts when they are given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_without_secrets() {
    let scratch = Scratch::new("production");
    let data = scratch.join("data");
    let args = ["--data-dir", data.to_str().unwrap(), "--production"];

    let mut refused = Server::start(&scratch, "refused", &args, &[]);
    let status = refused.process.wait_exit(Duration::from_secs(30)).await;
    let output = refused.process.output();
    assert!(
        !status.success(),
        "started without secrets; output:\n{output}"
    );
    for name in ["JIUZHU_DATA_KEY", "JIUZHU_TOKEN_PEPPER", "JIUZHU_AUDIT_KEY"] {
        assert!(
            output.contains(name),
            "output does not name {name}:\n{output}"
        );
    }
    assert!(
        !data.join("secrets.toml").exists(),
        "generated secrets in production"
    );

    let (key, pepper, audit) = (random_key(), random_key(), random_key());
    let env = [
        ("JIUZHU_DATA_KEY", key.as_str()),
        ("JIUZHU_TOKEN_PEPPER", pepper.as_str()),
        ("JIUZHU_AUDIT_KEY", audit.as_str()),
    ];
    let _started = Server::ready(&scratch, "started", &args, &env).await;
    assert!(
        !data.join("secrets.toml").exists(),
        "generated secrets in production"
    );
}

/// Passwords, coordinates, tokens and keys never reach the log stream, while request lines do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_no_personal_data() {
    const PASSWORD: &str = "Secret-Pa55-xyz";
    const LAT: &str = "31.7777777";
    const LON: &str = "119.9999999";

    let scratch = Scratch::new("logs");
    let data = scratch.join("data");
    let mut server = Server::ready(
        &scratch,
        "server",
        &["--data-dir", data.to_str().unwrap(), "--demo"],
        &[],
    )
    .await;

    let wrong = server.client().login("citizen", PASSWORD, None).await;
    assert_refused(wrong, 401, ErrorCode::InvalidCredentials, "wrong password");
    let mut admin = server.client();
    let pair = admin.login("admin", DEMO_PASSWORD, None).await.unwrap();
    let located = admin
        .request(Method::GET, &format!("/geo/locate?lat={LAT}&lon={LON}"))
        .send()
        .await
        .unwrap();
    assert_eq!(located.status(), StatusCode::OK);
    // Failing ones, with the coordinates in the query: an unknown CRS (422), no token (401).
    let unknown_crs = admin
        .request(
            Method::GET,
            &format!("/geo/locate?lat={LAT}&lon={LON}&crs=mars"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_crs.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let anonymous = server
        .client()
        .request(Method::GET, &format!("/geo/locate?lat={LAT}&lon={LON}"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    drop(admin);
    server.stop().await;

    let output = server.process.output();
    let secrets = std::fs::read_to_string(data.join("secrets.toml")).unwrap();
    let mut forbidden = vec![
        ("the password", PASSWORD.to_owned()),
        ("the latitude", LAT.to_owned()),
        ("the longitude", LON.to_owned()),
        ("the access token", pair.access_token.clone()),
        ("the refresh token", pair.refresh_token.clone()),
    ];
    for value in secret_values(&secrets) {
        forbidden.push(("a key from secrets.toml", value));
    }
    for (what, value) in &forbidden {
        assert!(
            !output.contains(value.as_str()),
            "the log carries {what}:\n{output}"
        );
    }
    // The logs were captured, and name requests by route pattern. (Only failures and events
    // inside a request write a line: a successful request without events logs nothing.)
    for (route, event) in [
        ("/api/v1/auth/login", "logged in"),
        ("/api/v1/geo/locate", "status"),
    ] {
        assert!(
            output
                .lines()
                .any(|l| l.contains(route) && l.contains(event)),
            "no line for {route} with `{event}` in the log:\n{output}"
        );
    }
}

/// Rejected input is echoed back to the client in the error message, which is fine; it must not
/// be logged as well. A phone that swaps latitude and longitude (the commonest mistake) sends the
/// family's real location, and a client that sends a numeric PIN as a JSON number sends the
/// password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_carry_no_rejected_input() {
    const LAT: &str = "31.7777777";
    const LON: &str = "119.9999999";
    const PIN: &str = "77771234";

    let scratch = Scratch::new("logs-rejected");
    let data = scratch.join("data");
    let mut server = Server::ready(
        &scratch,
        "server",
        &["--data-dir", data.to_str().unwrap(), "--demo"],
        &[],
    )
    .await;
    let admin = server.login("admin").await;
    let swapped = admin
        .request(Method::GET, &format!("/geo/locate?lat={LON}&lon={LAT}"))
        .send()
        .await
        .unwrap();
    assert_eq!(swapped.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(swapped.text().await.unwrap().contains(LON));
    let numeric = server
        .client()
        .request(Method::POST, "/auth/login")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(format!(r#"{{"username": "citizen", "password": {PIN}}}"#))
        .send()
        .await
        .unwrap();
    assert!(numeric.status().is_client_error(), "{numeric:?}");
    drop(admin);
    server.stop().await;

    let output = server.process.output();
    for (what, value) in [("a longitude", LON), ("a latitude", LAT), ("a PIN", PIN)] {
        assert!(!output.contains(value), "the log carries {what}:\n{output}");
    }
}

/// The one-shot commands: `migrate`, `import boundaries` and `user add`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_command_and_unknown_scheme() {
    let scratch = Scratch::new("commands");
    let data = scratch.join("data");
    let data_dir = data.to_str().unwrap();

    let (status, output) = run_once(
        &scratch,
        "mysql",
        &["migrate", "--database-url", "mysql://x"],
        None,
    )
    .await;
    assert!(!status.success(), "migrated a mysql:// URL:\n{output}");
    assert!(
        output.contains("unsupported") && output.contains("mysql"),
        "no word of the unsupported scheme:\n{output}"
    );

    let (status, output) = run_once(
        &scratch,
        "migrate1",
        &["migrate", "--data-dir", data_dir],
        None,
    )
    .await;
    assert!(status.success(), "{output}");
    assert!(
        data.join("jiuzhu.db").exists(),
        "no jiuzhu.db in the data folder"
    );
    let applied: u32 = output
        .split(" migration(s) applied")
        .next()
        .and_then(|s| s.rsplit(|c: char| c.is_whitespace()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no migration count in:\n{output}"));
    assert!(applied > 0, "{output}");
    let (status, output) = run_once(
        &scratch,
        "migrate2",
        &["migrate", "--data-dir", data_dir],
        None,
    )
    .await;
    assert!(status.success(), "{output}");
    assert!(output.contains("0 migration(s) applied"), "{output}");

    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/boundaries/320400_full.json");
    let (status, output) = run_once(
        &scratch,
        "import",
        &[
            "import",
            "boundaries",
            fixture.to_str().unwrap(),
            "--crs",
            "gcj02",
            "--city-name",
            "常州市",
            "--data-dir",
            data_dir,
        ],
        None,
    )
    .await;
    assert!(status.success(), "{output}");
    assert!(
        output.contains("created ") && !output.contains("created 0,"),
        "{output}"
    );

    let add = |username: &'static str, name: &'static str| {
        let scratch = &scratch;
        async move {
            run_once(
                scratch,
                name,
                &[
                    "user",
                    "add",
                    "--username",
                    username,
                    "--role",
                    "district_officer",
                    "--org",
                    "320402",
                    "--data-dir",
                    data_dir,
                ],
                Some("correct-horse-battery\n"),
            )
            .await
        }
    };
    let (status, output) = add("Li.Ming", "add1").await;
    assert!(status.success(), "{output}");
    assert!(
        output.contains("created li.ming (district_officer) at 320402"),
        "{output}"
    );
    let (status, output) = add("li.ming ", "add2").await;
    assert!(!status.success(), "added li.ming twice:\n{output}");
    assert!(
        output.contains("duplicate_username") || output.contains("taken"),
        "no word of the duplicate:\n{output}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bulk imports from the command line

/// `jiuzhu import households` then `jiuzhu import medical-claims`, as an operator setting up a
/// city runs them: the rows land, the claims match, and every reference the two imports wrote
/// holds. From the command line SQLite does not check foreign keys row by row (the imports write
/// only references to rows they read or wrote in the same transaction, `imports::tuning`), so
/// the SQLite half asks SQLite to check the whole file afterwards.
async fn command_line_imports(pg: Option<&PgDatabase>) {
    let scratch = Scratch::new(if pg.is_some() {
        "cli-imports-pg"
    } else {
        "cli-imports-sqlite"
    });
    let data = scratch.join("data");
    let mut common = vec!["--data-dir", data.to_str().unwrap()];
    if let Some(db) = pg {
        common.extend(["--database-url", db.url.as_str()]);
    }
    let mut serve = common.clone();
    serve.push("--demo");
    let mut demo = Server::ready(&scratch, "demo", &serve, &[]).await;
    demo.stop().await;

    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/households");
    let households = fixtures.join("sample-utf8.csv");
    let mut args = vec!["import", "households", households.to_str().unwrap()];
    args.extend_from_slice(&common);
    let (status, output) = run_once(&scratch, "households", &args, None).await;
    assert!(status.success(), "{output}");
    assert!(
        output.contains("households: 4 created, 0 unchanged, 0 rejected"),
        "{output}"
    );

    // Two members of the file, and a valid number nobody in the registry holds.
    let day = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).date_naive();
    let claims = scratch.join("claims.csv");
    std::fs::write(
        &claims,
        format!(
            "结算单号,身份证号,结算日期,总费用,统筹支付,个人自付,医院\n\
             YB-CLI-1,320402194203151229,{},30000,18000,12000,常州市第一人民医院\n\
             YB-CLI-2,320402198009212428,{},800,600,200,常州市第二人民医院\n\
             YB-CLI-3,11010519491231002X,{},800,600,200,北京某医院\n",
            day(60),
            day(30),
            day(30)
        ),
    )
    .unwrap();
    let mut args = vec!["import", "medical-claims", claims.to_str().unwrap()];
    args.extend_from_slice(&common);
    let (status, output) = run_once(&scratch, "claims", &args, None).await;
    assert!(status.success(), "{output}");
    assert!(
        output.contains("3 rows: 2 matched, 1 unmatched, 0 duplicates, 0 rejected"),
        "{output}"
    );

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let members_of_file = "SELECT count(*) AS n FROM members m JOIN households h \
        ON h.id = m.household_id WHERE h.external_id LIKE 'CZ-%'";
    let matched_records = "SELECT count(*) AS n FROM department_records r JOIN members m \
        ON m.id = r.member_id JOIN households h ON h.id = r.household_id \
        WHERE r.record_id LIKE 'YB-CLI-%' AND h.id = m.household_id";
    // One count per query, on the backend the imports wrote to.
    let mut run: Box<dyn FnMut(&str) -> i64> = match pg {
        Some(db) => {
            let mut conn = PgConnection::establish(&db.url).unwrap();
            Box::new(move |sql| {
                diesel::sql_query(sql)
                    .get_result::<Count>(&mut conn)
                    .unwrap()
                    .n
            })
        }
        None => {
            let file = data.join("jiuzhu.db");
            let mut conn = diesel::SqliteConnection::establish(file.to_str().unwrap()).unwrap();
            Box::new(move |sql| {
                diesel::sql_query(sql)
                    .get_result::<Count>(&mut conn)
                    .unwrap()
                    .n
            })
        }
    };
    assert_eq!(run(members_of_file), 9);
    assert_eq!(run(matched_records), 2);
    if pg.is_none() {
        assert_eq!(
            run("SELECT count(*) AS n FROM pragma_foreign_key_check"),
            0,
            "rows whose parent is missing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_imports_sqlite() {
    command_line_imports(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_imports_postgres() {
    let Some(db) = PgDatabase::create() else {
        return;
    };
    command_line_imports(Some(&db)).await;
}

/// The benchmark harness's commands are in the binary only when it is built with the `bench`
/// feature (the scripts under `bench/` and the end-to-end tests turn it on); the shipped build
/// refuses them as unknown, and no build lists them in its help.
#[test]
fn benchmark_commands_only_with_the_bench_feature() {
    let help = Command::new(JIUZHU).arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("serve"), "{help}");
    assert!(!help.contains("bench"), "{help}");
    for command in ["bench-seed", "bench-seed-visits"] {
        let out = Command::new(JIUZHU)
            .args([command, "--help"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            cfg!(feature = "bench"),
            "`jiuzhu {command} --help` in a build {} the bench feature: {}",
            if cfg!(feature = "bench") {
                "with"
            } else {
                "without"
            },
            String::from_utf8_lossy(&out.stderr)
        );
        if !cfg!(feature = "bench") {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains("unrecognized subcommand"), "{stderr}");
        }
    }
}

/// A log written to a pipe (a service manager, `| tee`) is plain text: no colour codes, while
/// the server still logs (a file is covered by the privacy scan).
#[test]
fn logs_to_a_pipe_are_plain_text() {
    use std::io::{BufRead, BufReader, Read};
    let scratch = Scratch::new("pipe");
    let port = free_port();
    let data = scratch.join("data");
    let bind = format!("127.0.0.1:{port}");
    let mut cmd = jiuzhu(
        &scratch,
        "pipe",
        &[
            "serve",
            "--data-dir",
            data.to_str().unwrap(),
            "--bind",
            &bind,
        ],
        &[],
    );
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let streams: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take().unwrap()),
        Box::new(child.stderr.take().unwrap()),
    ];
    for stream in streams {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut seen = String::new();
    let deadline = Instant::now() + READY_WITHIN;
    // Both the log's "listening" event (stderr) and the printed line (stdout).
    while seen.matches("listening").count() < 2 && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push_str(&line);
            seen.push('\n');
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.matches("listening").count() >= 2, "{seen}");
    assert!(seen.contains("INFO"), "the log went to the pipe: {seen}");
    assert!(
        !seen.contains('\u{1b}'),
        "colour codes in a log written to a pipe:\n{seen}"
    );
}
