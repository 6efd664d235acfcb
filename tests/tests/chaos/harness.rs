//! What the chaos tests share: the seed, the `jiuzhu` binary as a child process (killed when
//! dropped, also on a panic), a private PostgreSQL cluster, a seeded world (demo city, a form with
//! photo fields, grid workers and their tasks), the ledger of acknowledged writes, and the checks
//! that read the database and the data folder behind the server's back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::form::FormDefinition;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::task::{CreateTask, TaskKind};
use jiuzhu_proto::user::{CreateUser, Role};
use jiuzhu_proto::visit::{LocationFix, SubmitVisit};
use jiuzhu_proto::UserId;
use jiuzhu_tests::fixtures::{grid_and_point, household, id_number, member};
use jiuzhu_tests::{Backend, DEMO_PASSWORD};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::Digest;

/// The run's seed: `CHAOS_SEED`, else a fresh one; printed so a failure can be replayed.
pub fn seed(test: &str) -> u64 {
    let seed = match std::env::var("CHAOS_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("CHAOS_SEED must be an integer, not {s:?}")),
        Err(_) => rand::random::<u32>() as u64,
    };
    eprintln!("[{test}] seed {seed} (replay with CHAOS_SEED={seed})");
    seed
}

/// A number from the environment, else `default`.
pub fn env_num(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}")),
        Err(_) => default,
    }
}

/// One chaos test at a time: each runs a server binary and photo processing on a small machine.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The server binary: `JIUZHU_BIN`, else `jiuzhu` in the target folder this test runs from.
pub fn server_binary() -> PathBuf {
    if let Ok(bin) = std::env::var("JIUZHU_BIN") {
        return PathBuf::from(bin);
    }
    // target/<profile>/deps/chaos-<hash>
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir.join("jiuzhu");
    assert!(
        bin.exists(),
        "no server binary at {}: build it first (cargo build -p jiuzhu-server) or set JIUZHU_BIN",
        bin.display()
    );
    bin
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A temporary folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var("CHAOS_KEEP").is_ok() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------------
// A private PostgreSQL cluster.

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Where a PostgreSQL server tool is: on PATH, else in Debian's versioned folder (newest).
fn pg_bin(tool: &str) -> Option<PathBuf> {
    if Command::new(tool).arg("--version").output().is_ok() {
        return Some(PathBuf::from(tool));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|v| v.path().join("bin").join(tool))
        .filter(|p| p.exists())
        .collect();
    found.sort_by_key(|p| {
        p.iter()
            .rev()
            .nth(2)
            .and_then(|v| v.to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

/// A PostgreSQL tool, run as the `postgres` user when this process is root (initdb refuses root).
fn pg_tool(tool: &str) -> Command {
    let bin = pg_bin(tool).unwrap_or_else(|| PathBuf::from(tool));
    if running_as_root() {
        let mut c = Command::new("runuser");
        c.arg("-u").arg("postgres").arg("--").arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A cluster made with `initdb` in a temporary folder, on a free port, stopped (immediately) and
/// removed when dropped. Never the shared server.
pub struct PgCluster {
    root: PathBuf,
    data: PathBuf,
    pub port: u16,
    up: bool,
    /// `pg_ctl stop -m immediate` performed by the test.
    pub immediate_stops: u32,
}

impl PgCluster {
    /// `None` (after saying so) when `initdb` is not on PATH outside CI.
    pub fn create(parent: &Path) -> Option<Self> {
        if pg_bin("initdb").is_none() || pg_bin("pg_ctl").is_none() {
            assert!(
                !in_ci(),
                "CI is set but initdb and pg_ctl are not to be found"
            );
            eprintln!("PostgreSQL chaos SKIPPED: no initdb and pg_ctl (PATH, /usr/lib/postgresql)");
            return None;
        }
        let root = parent.join("pg");
        std::fs::create_dir_all(&root).unwrap();
        if running_as_root() {
            let id = |flag: &str| -> u32 {
                let out = Command::new("id")
                    .args([flag, "postgres"])
                    .output()
                    .unwrap();
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
            };
            let (uid, gid) = (id("-u"), id("-g"));
            std::os::unix::fs::chown(parent, Some(uid), Some(gid)).unwrap();
            std::os::unix::fs::chown(&root, Some(uid), Some(gid)).unwrap();
        }
        let data = root.join("data");
        let mut init = pg_tool("initdb");
        init.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        run(init, "initdb");
        let mut cluster = PgCluster {
            root,
            data,
            port: free_port(),
            up: false,
            immediate_stops: 0,
        };
        cluster.start();
        Some(cluster)
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn start(&mut self) {
        let mut c = pg_tool("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.root.join("log"))
            .args(["-w", "-t", "120", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=40 \
                 -c shared_buffers=16MB -c autovacuum=off",
                self.port,
                self.root.display()
            ))
            .arg("start");
        run(c, "pg_ctl start");
        self.up = true;
    }

    /// Stops the cluster the hard way: every process killed, no checkpoint; recovery at start.
    pub fn stop_immediate(&mut self) {
        let mut c = pg_tool("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        run(c, "pg_ctl stop -m immediate");
        self.up = false;
        self.immediate_stops += 1;
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.up {
            let mut c = pg_tool("pg_ctl");
            c.arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"]);
            let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server binary.

/// `jiuzhu serve` as a child process on a fixed port, so clients carry on across restarts.
pub struct Server {
    child: Option<Child>,
    bin: PathBuf,
    config: PathBuf,
    log: PathBuf,
    pub port: u16,
    pub kills: u32,
    pub terminations: u32,
    pub starts: u32,
}

impl Server {
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Starts the binary and waits until `/readyz` answers 200.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .arg("serve")
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.bin.display()));
        self.child = Some(child);
        self.starts += 1;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let url = format!("{}/readyz", self.base());
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                panic!(
                    "server exited ({status}) before it was ready:\n{}",
                    self.log_tail()
                );
            }
            if let Ok(r) = http.get(&url).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "server not ready in 120 s:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, as a power cut would leave it (the kernel keeps what was written).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.kills += 1;
        }
    }

    /// SIGTERM, the way an orderly restart stops it; SIGKILL after 10 s.
    pub fn terminate(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait().ok().flatten().is_some() {
                    self.terminations += 1;
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            self.kills += 1;
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        let start = (start..text.len())
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text[start..].to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The world: a seeded database, the server binary over it, and the accounts that drive it.

pub struct Worker {
    pub id: UserId,
    pub token: String,
}

/// An open task of a worker, with the household's place.
#[derive(Debug, Clone, Copy)]
pub struct TaskRef {
    pub id: uuid::Uuid,
}

pub struct World {
    // Dropped first to last: the server, then the database, then the folder.
    pub server: Server,
    pub pg: Option<PgCluster>,
    pub url: String,
    pub data_dir: PathBuf,
    pub form: FormDefinition,
    pub coordinator: Client,
    pub workers: Vec<Worker>,
    pub point: (f64, f64),
    households: u64,
    pub root: TempDir,
}

/// The form the visits fill: an income and up to two photos.
pub fn chaos_form() -> FormDefinition {
    serde_json::from_value(json!({
        "key": "chaos", "title": {"zh": "走访", "en": "Visit"}, "version": 1,
        "fields": [
            {"name": "income", "label": {"zh": "年收入", "en": "Income"}, "kind": "integer",
             "required": true, "min": 0},
            {"name": "photo_a", "label": {"zh": "照片一", "en": "Photo 1"}, "kind": "photo",
             "required": false},
            {"name": "photo_b", "label": {"zh": "照片二", "en": "Photo 2"}, "kind": "photo",
             "required": false}
        ]
    }))
    .unwrap()
}

fn secrets(keys: &([u8; 32], [u8; 32])) -> jiuzhu_server::config::Secrets {
    jiuzhu_server::config::Secrets {
        data_key: secrecy::SecretBox::new(Box::new(keys.0)),
        token_pepper: secrecy::SecretBox::new(Box::new(keys.1)),
        // The same for every start of one world, so its audit chain stays one chain.
        audit_key: secrecy::SecretBox::new(Box::new(keys.0.map(|b| b ^ 0x5a))),
        retired_data_keys: Vec::new(),
    }
}

impl World {
    /// Seeds a fresh database in this process (demo city, the form, `n_workers` grid workers of
    /// one grid, their tokens), then starts the real binary over it. `None` when PostgreSQL
    /// cannot be had outside CI.
    pub async fn create(backend: Backend, n_workers: usize) -> Option<World> {
        let root = TempDir::new("jiuzhu-chaos");
        let data_dir = root.0.join("data");
        std::fs::create_dir_all(&data_dir).unwrap();
        let pg = match backend {
            Backend::Postgres => Some(PgCluster::create(&root.0)?),
            Backend::Sqlite => None,
        };
        let url = match &pg {
            Some(pg) => pg.url(),
            None => format!("sqlite://{}", data_dir.join("jiuzhu.db").display()),
        };
        let keys: ([u8; 32], [u8; 32]) = (rand::random(), rand::random());

        // Seeding, in process.
        let mut settings = jiuzhu_tests::test_settings(&url, &data_dir);
        settings.access_token_ttl_secs = 7 * 24 * 3600;
        let app = jiuzhu_server::startup::Application::build_with(settings, secrets(&keys))
            .await
            .unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state();
        let handle = app.handle();
        let running = tokio::spawn(app.run_until_stopped());
        let st = state.clone();
        state
            .db(move |conn| {
                jiuzhu_server::demo::load(
                    conn,
                    &st.cipher,
                    jiuzhu_server::demo::DemoSize::households(0),
                )
            })
            .await
            .unwrap();
        jiuzhu_server::grid_index::refresh(&state.database, &state.grids)
            .await
            .unwrap();
        let login = |name: String| {
            let base = base.clone();
            async move {
                let mut c = Client::new(base);
                c.login(&name, DEMO_PASSWORD, None)
                    .await
                    .unwrap_or_else(|e| panic!("login {name}: {e}"));
                c
            }
        };
        let admin = login("admin".into()).await;
        let form = chaos_form();
        admin.create_form(&form).await.unwrap();
        let coordinator = login("coordinator".into()).await;
        let (grid, lat, lon) = grid_and_point(&coordinator).await;
        let grid = grid.id;
        let mut workers = Vec::new();
        for i in 0..n_workers {
            let name = if i == 0 {
                "worker1".to_owned()
            } else {
                let name = format!("chaos{i}");
                admin
                    .create_user(&CreateUser {
                        username: name.clone(),
                        password: DEMO_PASSWORD.into(),
                        display_name: format!("网格员{i}"),
                        role: Role::GridWorker,
                        org_unit_id: grid,
                    })
                    .await
                    .unwrap();
                name
            };
            let client = login(name.clone()).await;
            let id = client.me().await.unwrap().id;
            workers.push(Worker {
                id,
                token: client.token().unwrap().to_owned(),
            });
        }
        let coordinator_token = coordinator.token().unwrap().to_owned();
        handle.stop(true).await;
        let _ = running.await;
        drop(state);

        // The real binary over the same database and folder, with the same keys.
        let port = free_port();
        let config = root.0.join("jiuzhu.toml");
        std::fs::write(
            &config,
            format!(
                "bind = \"127.0.0.1:{port}\"\n\
                 data_dir = {data:?}\n\
                 database_url = {url:?}\n\
                 data_key = \"{dk}\"\n\
                 token_pepper = \"{tp}\"\n\
                 db_pool_size = 4\n\
                 workers = 2\n\
                 login_limit_per_ip = 1000\n\
                 login_limit_per_account = 1000\n\
                 shutdown_timeout_secs = 2\n\
                 access_token_ttl_secs = 604800\n\
                 [recheck]\n\
                 every_secs = 0\n\
                 [photos]\n\
                 orphan_grace_secs = 0\n",
                data = data_dir.display().to_string(),
                dk = hex::encode(keys.0),
                tp = hex::encode(keys.1),
            ),
        )
        .unwrap();
        let mut server = Server {
            child: None,
            bin: server_binary(),
            config,
            log: root.0.join("server.log"),
            port,
            kills: 0,
            terminations: 0,
            starts: 0,
        };
        server.start().await;
        let coordinator = Client::new(server.base()).with_token(coordinator_token);
        Some(World {
            server,
            pg,
            url,
            data_dir,
            form,
            coordinator,
            workers,
            point: (lat, lon),
            households: 0,
            root,
        })
    }

    /// A client of worker `i` at `base`.
    pub fn worker_client(&self, i: usize, base: &str) -> Client {
        Client::new(base).with_token(self.workers[i].token.clone())
    }

    /// New households with an open visit task each, assigned to worker `i` (the server must
    /// be up).
    pub async fn new_tasks(&mut self, i: usize, n: usize) -> Vec<TaskRef> {
        let mut out = Vec::new();
        let (lat, lon) = self.point;
        for _ in 0..n {
            self.households += 1;
            let c = self.households;
            let born = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap()
                + chrono::Duration::days((c / 900) as i64);
            let first17 = format!("320402{}{:03}", born.format("%Y%m%d"), c % 900);
            let body = household(
                &format!("{c} 号"),
                lat,
                lon,
                vec![member("户主", Relation::Head, &id_number(&first17))],
            );
            let h = retry(|| self.coordinator.create_household(&body)).await;
            let body = CreateTask {
                kind: TaskKind::Visit,
                household_id: h.id,
                form_key: "chaos".into(),
                assignee_id: Some(self.workers[i].id),
                due_date: (chrono::Utc::now() + chrono::Duration::days(3)).date_naive(),
                priority: 1,
                note: String::new(),
            };
            let task = retry(|| self.coordinator.create_task(&body)).await;
            out.push(TaskRef { id: task.id });
        }
        out
    }
}

/// A visit for `task` at `point`, naming `photos` in its answers.
pub fn visit_for(
    (lat, lon): (f64, f64),
    task: TaskRef,
    photos: &[uuid::Uuid],
    income: i64,
) -> SubmitVisit {
    let started = chrono::Utc::now() - chrono::Duration::minutes(20);
    let mut answers = json!({"income": income});
    for (name, id) in ["photo_a", "photo_b"].iter().zip(photos) {
        answers[*name] = json!(id.to_string());
    }
    SubmitVisit {
        id: uuid::Uuid::now_v7(),
        task_id: task.id,
        form_key: "chaos".into(),
        form_version: 1,
        answers,
        location: LocationFix {
            lat,
            lon,
            accuracy_m: 8.0,
            crs: None,
            fix_time: started + chrono::Duration::minutes(2),
            mock: false,
        },
        started_at: started,
        finished_at: started + chrono::Duration::minutes(15),
        photo_ids: photos.to_vec(),
        staff: Vec::new(),
        supersedes: None,
    }
}

/// Retries a call while the server is unreachable or busy (seeding between faults).
async fn retry<T, F, Fut>(mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = jiuzhu_mobile_api::client::Result<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e) if e.is_retryable() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("seeding call failed: {e}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Photos to send.

/// Real camera and phone JPEGs from `../shared/data/photos` (the readable ones).
pub fn real_jpegs() -> Vec<(String, Arc<Vec<u8>>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/photos");
    let mut out = Vec::new();
    for sub in ["gps", "orientation", "mobile"] {
        let dir = root.join(sub);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "jpg"))
            .collect();
        names.sort();
        for p in names {
            let bytes = std::fs::read(&p).unwrap();
            out.push((
                format!("{sub}/{}", p.file_name().unwrap().to_string_lossy()),
                Arc::new(bytes),
            ));
        }
    }
    assert!(!out.is_empty(), "no JPEGs under {}", root.display());
    out
}

/// A JPEG no other call makes (its pixels come from `seed`), so its stored objects are its own:
/// an object left behind by a crash is then named by no row, and shows.
pub fn unique_jpeg(seed: u64, (lat, lon): (f64, f64)) -> Vec<u8> {
    jiuzhu_server::demo::photo::jpeg(&jiuzhu_server::demo::photo::Shot {
        lat,
        lon,
        taken_local: (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc(),
        seed,
    })
    .unwrap()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

pub fn rng(seed: u64, stream: u64) -> StdRng {
    StdRng::seed_from_u64(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

pub fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())].clone()
}

// ---------------------------------------------------------------------------------------------
// The ledger of acknowledged writes.

#[derive(Default)]
pub struct Ledger {
    /// Photos the server answered 2xx for, with the SHA-256 of the bytes sent.
    pub photos: HashMap<uuid::Uuid, String>,
    /// Visits the server answered 2xx for, as sent.
    pub visits: HashMap<uuid::Uuid, SubmitVisit>,
    /// Resumable uploads: the highest offset a 204 acknowledged, and the photo it is for.
    pub offsets: HashMap<uuid::Uuid, (uuid::Uuid, u64)>,
    /// Every 2xx answer to a write.
    pub acks: u64,
    /// Answers a correct server never gives (a refusal of a valid write, an offset gone back).
    pub problems: Vec<String>,
}

pub type SharedLedger = Arc<Mutex<Ledger>>;

pub fn lock(l: &SharedLedger) -> MutexGuard<'_, Ledger> {
    l.lock().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Reading the database and the folder behind the server's back.

#[derive(QueryableByName)]
struct VisitRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    task_id: String,
    #[diesel(sql_type = Text)]
    worker_id: String,
    #[diesel(sql_type = Text)]
    photo_ids: String,
}

#[derive(QueryableByName)]
struct PhotoRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    sha256: String,
    #[diesel(sql_type = Text)]
    original_key: String,
    #[diesel(sql_type = Text)]
    display_key: String,
    #[diesel(sql_type = Text)]
    thumb_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    visit_id: Option<String>,
}

#[derive(QueryableByName)]
struct TaskRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    state: String,
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = Text)]
    task_id: String,
    #[diesel(sql_type = Text)]
    to_state: String,
}

#[derive(QueryableByName)]
struct UploadRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    length: i64,
    #[diesel(sql_type = BigInt)]
    committed: i64,
}

#[derive(QueryableByName)]
struct Integrity {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What one look found: counts, and every problem in words.
#[derive(Debug, Default)]
pub struct Findings {
    pub visits: usize,
    pub photos: usize,
    pub files: usize,
    pub problems: Vec<String>,
}

/// When the look is taken: right after a crash the photo store may hold what a request in flight
/// had written before its row; the server sweeps that at start-up, so files are checked only
/// after a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    AfterCrash,
    AfterStart,
}

/// Reads the database and the data folder and checks: every acknowledged visit and photo is
/// there with its content; no visit without its photos' rows, no photo naming a missing visit,
/// tasks in states that match their visits and events; uploads within their length and with
/// their acknowledged bytes; after a start, no file that no row names and no row whose file is
/// missing; and the database's own integrity check.
pub fn inspect(url: &str, data_dir: &Path, ledger: &Ledger, moment: Moment) -> Findings {
    let url = url.to_owned();
    let data_dir = data_dir.to_path_buf();
    let visits_acked = ledger.visits.clone();
    let photos_acked = ledger.photos.clone();
    let offsets = ledger.offsets.clone();
    std::thread::scope(|s| {
        s.spawn(|| {
            inspect_blocking(
                &url,
                &data_dir,
                &visits_acked,
                &photos_acked,
                &offsets,
                moment,
            )
        })
        .join()
        .unwrap()
    })
}

fn inspect_blocking(
    url: &str,
    data_dir: &Path,
    visits_acked: &HashMap<uuid::Uuid, SubmitVisit>,
    photos_acked: &HashMap<uuid::Uuid, String>,
    offsets: &HashMap<uuid::Uuid, (uuid::Uuid, u64)>,
    moment: Moment,
) -> Findings {
    let mut f = Findings::default();
    let (backend, pool) = jiuzhu_server::db::connect(url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    let conn = &mut *conn;
    let visits: Vec<VisitRow> =
        diesel::sql_query("SELECT id, task_id, worker_id, photo_ids FROM visits")
            .load(conn)
            .unwrap();
    let photos: Vec<PhotoRow> = diesel::sql_query(
        "SELECT id, sha256, original_key, display_key, thumb_key, visit_id FROM photos",
    )
    .load(conn)
    .unwrap();
    let tasks: Vec<TaskRow> = diesel::sql_query("SELECT id, state FROM tasks")
        .load(conn)
        .unwrap();
    let events: Vec<EventRow> =
        diesel::sql_query("SELECT task_id, to_state FROM task_events ORDER BY task_id, at, id")
            .load(conn)
            .unwrap();
    let uploads: Vec<UploadRow> = diesel::sql_query("SELECT id, length, committed FROM uploads")
        .load(conn)
        .unwrap();
    f.visits = visits.len();
    f.photos = photos.len();

    let visit_by_id: HashMap<&str, &VisitRow> = visits.iter().map(|v| (v.id.as_str(), v)).collect();
    let photo_by_id: HashMap<&str, &PhotoRow> = photos.iter().map(|p| (p.id.as_str(), p)).collect();

    // Every acknowledged write is there, as sent.
    for (id, sent) in visits_acked {
        match visit_by_id.get(id.to_string().as_str()) {
            None => f
                .problems
                .push(format!("acknowledged visit {id} is missing")),
            Some(row) => {
                let ids: Vec<uuid::Uuid> = serde_json::from_str(&row.photo_ids).unwrap_or_default();
                if ids != sent.photo_ids || row.task_id != sent.task_id.to_string() {
                    f.problems
                        .push(format!("visit {id} differs from what was acknowledged"));
                }
            }
        }
    }
    for (id, sha) in photos_acked {
        match photo_by_id.get(id.to_string().as_str()) {
            None => f
                .problems
                .push(format!("acknowledged photo {id} is missing")),
            Some(row) if &row.sha256 != sha => f
                .problems
                .push(format!("photo {id} has sha256 {} not {sha}", row.sha256)),
            Some(_) => {}
        }
    }

    // No partial rows.
    for v in &visits {
        let ids: Vec<uuid::Uuid> = match serde_json::from_str(&v.photo_ids) {
            Ok(ids) => ids,
            Err(_) => {
                f.problems
                    .push(format!("visit {} has unreadable photo_ids", v.id));
                continue;
            }
        };
        for p in ids {
            match photo_by_id.get(p.to_string().as_str()) {
                None => f
                    .problems
                    .push(format!("visit {} names photo {p}, which has no row", v.id)),
                Some(row) if row.visit_id.as_deref() != Some(v.id.as_str()) => {
                    f.problems.push(format!(
                        "visit {} names photo {p}, attached to {:?}",
                        v.id, row.visit_id
                    ))
                }
                Some(_) => {}
            }
        }
        if v.worker_id.is_empty() {
            f.problems.push(format!("visit {} has no worker", v.id));
        }
    }
    for p in &photos {
        if let Some(vid) = &p.visit_id {
            let listed = visit_by_id.get(vid.as_str()).is_some_and(|v| {
                serde_json::from_str::<Vec<uuid::Uuid>>(&v.photo_ids)
                    .unwrap_or_default()
                    .iter()
                    .any(|x| x.to_string() == p.id)
            });
            if !listed {
                f.problems.push(format!(
                    "photo {} is attached to visit {vid}, which does not list it",
                    p.id
                ));
            }
        }
    }
    let mut visits_of_task: HashMap<&str, usize> = HashMap::new();
    for v in &visits {
        *visits_of_task.entry(v.task_id.as_str()).or_default() += 1;
    }
    let mut last_event: HashMap<&str, &str> = HashMap::new();
    for e in &events {
        last_event.insert(e.task_id.as_str(), e.to_state.as_str());
    }
    const STATES: [&str; 6] = [
        "pending",
        "assigned",
        "accepted",
        "submitted",
        "reviewed",
        "cancelled",
    ];
    for t in &tasks {
        if !STATES.contains(&t.state.as_str()) {
            f.problems
                .push(format!("task {} in unknown state {}", t.id, t.state));
        }
        let n = visits_of_task.get(t.id.as_str()).copied().unwrap_or(0);
        let submitted = matches!(t.state.as_str(), "submitted" | "reviewed");
        if submitted != (n > 0) {
            f.problems
                .push(format!("task {} is {} with {n} visits", t.id, t.state));
        }
        if n > 1 {
            f.problems.push(format!("task {} has {n} visits", t.id));
        }
        if let Some(last) = last_event.get(t.id.as_str()) {
            if *last != t.state {
                f.problems.push(format!(
                    "task {} is {} but its last event moved it to {last}",
                    t.id, t.state
                ));
            }
        }
    }

    // Uploads in progress: within their length, their acknowledged bytes on disk and counted.
    let spool = data_dir.join("uploads");
    let upload_ids: HashSet<&str> = uploads.iter().map(|u| u.id.as_str()).collect();
    for u in &uploads {
        if u.committed < 0 || u.committed > u.length {
            f.problems.push(format!(
                "upload {} committed {} of {}",
                u.id, u.committed, u.length
            ));
        }
        if u.committed > 0 {
            let len = std::fs::metadata(spool.join(format!("{}.part", u.id)))
                .map(|m| m.len())
                .unwrap_or(0);
            if len < u.committed as u64 {
                f.problems.push(format!(
                    "upload {} says {} bytes are kept but its file has {len}",
                    u.id, u.committed
                ));
            }
        }
    }
    for (upload, (photo, acked)) in offsets {
        let row = uploads.iter().find(|u| u.id == upload.to_string());
        let done = photo_by_id.contains_key(photo.to_string().as_str());
        match row {
            Some(u) if (u.committed as u64) < *acked => f.problems.push(format!(
                "upload {upload}: {acked} bytes were acknowledged, {} are kept",
                u.committed
            )),
            None if !done && !photos_acked.contains_key(photo) => f.problems.push(format!(
                "upload {upload}: {acked} bytes were acknowledged, the upload is gone and its photo was never stored"
            )),
            _ => {}
        }
    }

    // Files: after a start, every file named by a row and every row's file there and whole.
    let store = data_dir.join("photos");
    let mut named: HashSet<&str> = HashSet::new();
    for p in &photos {
        named.insert(&p.original_key);
        named.insert(&p.display_key);
        named.insert(&p.thumb_key);
    }
    let files = walk(&store);
    f.files = files.len();
    for key in &named {
        let path = store.join(key);
        match std::fs::read(&path) {
            Err(_) => f
                .problems
                .push(format!("a photo row names {key}, which is not on disk")),
            Ok(bytes) => {
                let stem = Path::new(key)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if sha256_hex(&bytes) != stem {
                    f.problems
                        .push(format!("{key} does not hold the bytes its name hashes"));
                }
            }
        }
    }
    if moment == Moment::AfterStart {
        for file in &files {
            if !named.contains(file.as_str()) {
                f.problems.push(format!("photos/{file} is named by no row"));
            }
        }
        for entry in std::fs::read_dir(&spool)
            .map(|d| d.flatten().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            match name.strip_suffix(".part") {
                Some(id) if upload_ids.contains(id) => {}
                _ => f
                    .problems
                    .push(format!("uploads/{name} belongs to no upload")),
            }
        }
    }

    // The database's own view of itself.
    match backend {
        jiuzhu_server::db::Backend::Sqlite => {
            let rows: Vec<Integrity> = diesel::sql_query("PRAGMA integrity_check")
                .load(conn)
                .unwrap();
            let words: Vec<&str> = rows.iter().map(|r| r.integrity_check.as_str()).collect();
            if words != ["ok"] {
                f.problems
                    .push(format!("PRAGMA integrity_check: {words:?}"));
            }
            let broken: Vec<Count> =
                diesel::sql_query("SELECT count(*) AS n FROM pragma_foreign_key_check")
                    .load(conn)
                    .unwrap();
            if broken.first().is_some_and(|c| c.n > 0) {
                f.problems
                    .push(format!("{} foreign keys broken", broken[0].n));
            }
        }
        jiuzhu_server::db::Backend::Postgres => {
            // amcheck over every B-tree index of the application's tables.
            let _ = diesel::sql_query("CREATE EXTENSION IF NOT EXISTS amcheck").execute(conn);
            let checked: Result<Vec<Count>, _> = diesel::sql_query(
                "SELECT count(bt_index_check(c.oid))::bigint AS n FROM pg_index i \
                 JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam \
                 JOIN pg_namespace ns ON ns.oid = c.relnamespace \
                 WHERE a.amname = 'btree' AND ns.nspname = 'public'",
            )
            .load(conn);
            if let Err(e) = checked {
                f.problems.push(format!("amcheck: {e}"));
            }
        }
    }
    f
}

/// Files under `root`, as paths relative to it with `/`.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

/// Counts by kind, for the report.
pub type Tally = BTreeMap<&'static str, u64>;
