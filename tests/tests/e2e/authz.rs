//! The authorization matrix: every operation of the API × every role (and no log-in) × the
//! caller's own object, an object in their scope and one out of it, against the expectations
//! written down as data in `tests/authz/matrix.csv`.
//!
//! The operations come from the OpenAPI document the server generates from its router, so a new
//! route without rows fails the test, and so does a new role without a column. Every case is
//! sent; all mismatches are listed at once. Beyond the status, every answer is searched for the
//! ids of objects outside the caller's scope (a leak fails whatever the status), an out-of-scope
//! object must answer exactly as a missing one does, and `200:none` means allowed but empty.
//!
//! `JIUZHU_AUTHZ_OBSERVED=FILE` writes the statuses observed, in the table's format, to FILE: a
//! start for the rows of a new route (check each cell before copying it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use chrono::{Duration, Utc};
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::user::Role;
use jiuzhu_tests::fixtures::id_number;
use jiuzhu_tests::{both_backends, spawn_app_with, Backend, TestApp, DEMO_PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const MATRIX: &str = include_str!("../../authz/matrix.csv");
const FORM: &str = "authz_check";

// ---------------------------------------------------------------------------------------------
// The table

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Variant {
    /// The operation names no object.
    None,
    Own,
    Scope,
    Out,
}

impl Variant {
    fn parse(s: &str) -> Option<Variant> {
        Some(match s {
            "-" => Variant::None,
            "own" => Variant::Own,
            "scope" => Variant::Scope,
            "out" => Variant::Out,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Variant::None => "-",
            Variant::Own => "own",
            Variant::Scope => "scope",
            Variant::Out => "out",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// No such object for this caller: nothing is sent.
    Skip,
    Status(u16),
    /// Allowed, and the answer holds nothing (no items, nothing created).
    Empty(u16),
}

impl Expect {
    fn parse(s: &str) -> Option<Expect> {
        if s == "-" {
            return Some(Expect::Skip);
        }
        if let Some(code) = s.strip_suffix(":none") {
            return code.parse().ok().map(Expect::Empty);
        }
        s.parse().ok().map(Expect::Status)
    }

    fn show(self) -> String {
        match self {
            Expect::Skip => "-".into(),
            Expect::Status(s) => s.to_string(),
            Expect::Empty(s) => format!("{s}:none"),
        }
    }

    fn allows(self) -> bool {
        matches!(self, Expect::Status(s) if (200..300).contains(&s))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Who {
    Role(Role),
    Anonymous,
}

impl Who {
    fn column(self) -> &'static str {
        match self {
            Who::Role(r) => r.as_str(),
            Who::Anonymous => "anonymous",
        }
    }

    /// The demo account that plays the role.
    fn username(self) -> Option<&'static str> {
        Some(match self {
            Who::Role(Role::Admin) => "admin",
            Who::Role(Role::DistrictOfficer) => "district",
            Who::Role(Role::StreetOfficer) => "street",
            Who::Role(Role::Coordinator) => "coordinator",
            Who::Role(Role::GridWorker) => "worker1",
            Who::Role(Role::Citizen) => "citizen",
            Who::Anonymous => return None,
        })
    }
}

struct Row {
    line: usize,
    op: String,
    probe: String,
    variant: Variant,
    cells: Vec<Expect>,
}

struct Matrix {
    columns: Vec<Who>,
    rows: Vec<Row>,
}

fn parse_matrix() -> Result<Matrix, String> {
    let mut lines = MATRIX
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or("the matrix is empty")?;
    let header: Vec<&str> = header.split(',').map(str::trim).collect();
    if header.get(..3) != Some(&["operation", "probe", "variant"][..]) {
        return Err(format!(
            "the header must start with operation,probe,variant: {header:?}"
        ));
    }
    let mut columns = Vec::new();
    for name in &header[3..] {
        let who = if *name == "anonymous" {
            Who::Anonymous
        } else {
            Who::Role(Role::parse(name).ok_or_else(|| format!("unknown role column {name}"))?)
        };
        columns.push(who);
    }
    let mut wanted: Vec<Who> = Role::ALL.into_iter().map(Who::Role).collect();
    wanted.push(Who::Anonymous);
    for w in &wanted {
        if !columns.contains(w) {
            return Err(format!("the matrix has no column for {}", w.column()));
        }
    }
    let mut rows = Vec::new();
    for (line, text) in lines {
        let cells: Vec<&str> = text.split(',').map(str::trim).collect();
        if cells.len() != header.len() {
            return Err(format!(
                "line {line}: {} cells, expected {}",
                cells.len(),
                header.len()
            ));
        }
        let variant =
            Variant::parse(cells[2]).ok_or_else(|| format!("line {line}: variant {}", cells[2]))?;
        let expects = cells[3..]
            .iter()
            .map(|c| Expect::parse(c).ok_or_else(|| format!("line {line}: outcome {c}")))
            .collect::<Result<Vec<_>, _>>()?;
        rows.push(Row {
            line,
            op: cells[0].to_owned(),
            probe: cells[1].to_owned(),
            variant,
            cells: expects,
        });
    }
    Ok(Matrix { columns, rows })
}

/// Every operation the server serves under `/api/v1`, as `METHOD /path`.
fn operations() -> Vec<String> {
    let doc: Value =
        serde_json::from_str(&jiuzhu_server::openapi::document_json().unwrap()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let path = path.strip_prefix("/api/v1").unwrap_or(path);
        for method in item.as_object().unwrap().keys() {
            if [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                ops.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    ops.sort();
    ops
}

/// The table's own rules, checked before anything is sent: every operation has rows, each probe
/// has its variants, and no out-of-scope cell allows or answers 403 where the role may act.
fn check_table(m: &Matrix) -> Vec<String> {
    let mut problems = Vec::new();
    let ops = operations();
    let mut probes: BTreeMap<(&str, &str), Vec<&Row>> = BTreeMap::new();
    for r in &m.rows {
        if !ops.contains(&r.op) {
            problems.push(format!(
                "line {}: {} is not an operation of the API",
                r.line, r.op
            ));
        }
        probes.entry((&r.op, &r.probe)).or_default().push(r);
    }
    for op in &ops {
        if !m.rows.iter().any(|r| &r.op == op) {
            problems.push(format!("{op}: no row in tests/authz/matrix.csv"));
        }
    }
    for ((op, probe), rows) in &probes {
        let mut variants: Vec<Variant> = rows.iter().map(|r| r.variant).collect();
        variants.sort();
        let whole =
            variants == [Variant::None] || variants == [Variant::Own, Variant::Scope, Variant::Out];
        if !whole {
            problems.push(format!(
                "{op} [{probe}]: rows for variants {variants:?}; want one `-` row or own, scope and out"
            ));
        }
        let Some(out) = rows.iter().find(|r| r.variant == Variant::Out) else {
            continue;
        };
        for (i, who) in m.columns.iter().enumerate() {
            let cell = out.cells[i];
            let may_act = rows
                .iter()
                .filter(|r| r.variant != Variant::Out)
                .any(|r| r.cells[i].allows());
            match cell {
                Expect::Status(s) if (200..300).contains(&s) => problems.push(format!(
                    "line {}: {op} [{probe}] out of scope allowed for {}",
                    out.line,
                    who.column()
                )),
                Expect::Status(403) if may_act => problems.push(format!(
                    "line {}: {op} [{probe}] answers 403 out of scope to {}, who may act in scope: \
                     out of scope must look missing (404)",
                    out.line,
                    who.column()
                )),
                _ => {}
            }
        }
    }
    problems
}

#[test]
fn matrix_covers_every_operation_and_role() {
    let m = parse_matrix().unwrap_or_else(|e| panic!("tests/authz/matrix.csv: {e}"));
    let problems = check_table(&m);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The world the cases run in

/// The three grids the fixtures live in: worker1's (G1) and worker2's (G2), both in the
/// coordinator's community K1 of the street officer's street S1; worker3's (G3), in community K2
/// of street S2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Area {
    G1,
    G2,
    G3,
}

const AREAS: [Area; 3] = [Area::G1, Area::G2, Area::G3];

struct Grid {
    id: String,
    code: String,
    path: String,
    lat: f64,
    lon: f64,
    worker: &'static str,
}

struct Unit {
    id: String,
    code: String,
    path: String,
}

struct World {
    app: TestApp,
    clients: HashMap<&'static str, Client>,
    users: HashMap<String, String>,
    grids: HashMap<Area, Grid>,
    /// Units by demo account (the caller's own unit), plus `other_district` and `s2`.
    units: HashMap<&'static str, Unit>,
    households: HashMap<Area, (String, String)>,
    tasks: HashMap<Area, String>,
    visits: HashMap<Area, String>,
    photos: HashMap<Area, String>,
    citizen_photo: String,
    findings: HashMap<Area, String>,
    applications: HashMap<Area, String>,
    /// Household import jobs and statistics jobs: the coordinator's (K1) and coordinator2's (K2).
    import_jobs: HashMap<&'static str, String>,
    stats_jobs: HashMap<&'static str, String>,
    /// Department imports by admin (city) and district.
    department_jobs: HashMap<&'static str, String>,
    uploads: HashMap<&'static str, String>,
    rule: Value,
    form_version: i64,
    /// Ids of objects with the path of the unit they belong to, for the leak check.
    objects: Mutex<Vec<(String, String)>>,
    counter: AtomicU32,
}

fn jpeg() -> Vec<u8> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/photos/gps/DSCN0010.jpg");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn send_json(
    client: &Client,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = client.request(method, path);
    if !body.is_null() {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Succeeds or panics with the answer: for setting the world up.
async fn must(client: &Client, method: Method, path: &str, body: Value) -> Value {
    let (status, answer) = send_json(client, method.clone(), path, body).await;
    assert!(
        status.is_success(),
        "setup {method} {path}: {status} {answer}"
    );
    answer
}

/// Posts a CSV file, succeeding or panicking with the answer: for setting the world up.
async fn must_csv(client: &Client, path: &str, csv: String) -> Value {
    let res = client
        .request(Method::POST, path)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "setup POST {path}: {status} {body}");
    body
}

fn form() -> Value {
    json!({
        "key": FORM,
        "title": {"zh": "授权核查", "en": "Authorization check"},
        "version": 1,
        "fields": [
            {"name": "income", "label": {"zh": "家庭年收入", "en": "Income"}, "kind": "integer",
             "required": true, "min": 0, "max": 10000000}
        ]
    })
}

/// A valid ID number of the area, born `n` days after 1 January 1950: one per `n`.
fn idn(area: &str, n: u32) -> String {
    let born = chrono::NaiveDate::from_ymd_opt(1950, 1, 1).unwrap() + Duration::days(i64::from(n));
    id_number(&format!("{area}{}{:03}", born.format("%Y%m%d"), n % 1000))
}

fn today() -> chrono::NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

impl World {
    fn client(&self, who: Who) -> Client {
        match who.username() {
            Some(u) => self.clients[u].clone(),
            None => self.app.client(),
        }
    }

    fn admin(&self) -> &Client {
        &self.clients["admin"]
    }

    fn user(&self, username: &str) -> &str {
        &self.users[username]
    }

    fn next(&self) -> u32 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    fn remember(&self, path: &str, id: &str) {
        self.objects
            .lock()
            .unwrap()
            .push((path.to_owned(), id.to_owned()));
    }

    /// The subtree whose objects the caller may see (none for citizens and callers without a
    /// log-in: their own self-reports and photos are not among the fixtures' objects).
    fn sees(&self, who: Who) -> Option<&str> {
        let name = match who {
            Who::Role(Role::Citizen) | Who::Anonymous => return None,
            w => w.username()?,
        };
        Some(self.units[name].path.as_str())
    }

    /// The fixtures' area that stands for the caller's own object, one in scope, one out of it.
    fn area(&self, who: Who, v: Variant) -> Option<Area> {
        use Role as R;
        match (who, v) {
            (_, Variant::None) => None,
            (Who::Role(R::GridWorker), Variant::Own) => Some(Area::G1),
            (Who::Role(R::GridWorker), Variant::Scope) => None,
            (Who::Role(R::GridWorker), Variant::Out) => Some(Area::G2),
            (_, Variant::Own) => None,
            (_, Variant::Scope) => Some(Area::G1),
            (Who::Role(R::StreetOfficer | R::Coordinator), Variant::Out) => Some(Area::G3),
            (_, Variant::Out) => None,
        }
    }

    /// An org unit for the variant: the caller's own unit, G1, or one out of scope (for the
    /// district officer, another district).
    fn unit(&self, who: Who, v: Variant) -> Option<(String, String)> {
        if v == Variant::Own {
            let name = who.username()?;
            let u = &self.units[name];
            return Some((u.id.clone(), u.code.clone()));
        }
        if who == Who::Role(Role::DistrictOfficer) && v == Variant::Out {
            let u = &self.units["other_district"];
            return Some((u.id.clone(), u.code.clone()));
        }
        let g = &self.grids[&self.area(who, v)?];
        Some((g.id.clone(), g.code.clone()))
    }

    /// A user for the variant: the caller, worker1, or an account out of scope.
    fn account(&self, who: Who, v: Variant) -> Option<String> {
        match v {
            Variant::None => None,
            Variant::Own => who.username().map(|u| self.user(u).to_owned()),
            _ if who == Who::Role(Role::DistrictOfficer) && v == Variant::Out => {
                Some(self.user("district.other").to_owned())
            }
            _ => Some(self.user(self.grids[&self.area(who, v)?].worker).to_owned()),
        }
    }

    async fn fresh_household(&self, area: Area, income: i64) -> (String, String) {
        let n = self.next();
        let g = &self.grids[&area];
        let body = json!({
            "address": format!("授权测试路 {n} 号"),
            "location": {"lat": g.lat, "lon": g.lon},
            "members": [{
                "name": "户主", "relation": "head",
                "id_number": idn("320402", n),
                "health": "healthy", "work_status": "employed", "student_status": "not_student",
                "annual_income": {"wages_fen": income},
            }],
        });
        let h = must(self.admin(), Method::POST, "/households", body).await;
        let id = h["id"].as_str().unwrap().to_owned();
        let member = h["members"][0]["id"].as_str().unwrap().to_owned();
        self.remember(&g.path, &id);
        self.remember(&g.path, &member);
        (id, member)
    }

    async fn fresh_task(&self, area: Area, assigned: bool) -> String {
        let g = &self.grids[&area];
        let assignee = assigned.then(|| self.user(g.worker).to_owned());
        let t = must(
            self.admin(),
            Method::POST,
            "/tasks",
            json!({"kind": "visit", "household_id": self.households[&area].0, "form_key": FORM,
                   "assignee_id": assignee, "due_date": today() + Duration::days(7)}),
        )
        .await;
        let id = t["id"].as_str().unwrap().to_owned();
        self.remember(&g.path, &id);
        id
    }

    fn visit_body(&self, area: Area, task: &str, photos: Vec<String>) -> Value {
        let g = &self.grids[&area];
        let now = Utc::now();
        json!({
            "id": uuid::Uuid::now_v7(),
            "task_id": task,
            "form_key": FORM,
            "form_version": self.form_version,
            "answers": {"income": 120000},
            "location": {"lat": g.lat, "lon": g.lon, "accuracy_m": 8.0,
                         "fix_time": now - Duration::minutes(10), "mock": false},
            "started_at": now - Duration::minutes(20),
            "finished_at": now - Duration::minutes(1),
            "photo_ids": photos,
        })
    }

    async fn fresh_photo(&self, owner: &'static str, path: &str) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let res = self.clients[owner]
            .request(Method::PUT, &format!("/photos/{id}"))
            .header("content-type", "image/jpeg")
            .body(jpeg())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "photo upload: {}", res.status());
        self.remember(path, &id);
        id
    }

    async fn fresh_visit(&self, area: Area, with_photo: bool) -> (String, Option<String>) {
        let g = &self.grids[&area];
        let task = self.fresh_task(area, true).await;
        let photo = if with_photo {
            Some(self.fresh_photo(g.worker, &g.path).await)
        } else {
            None
        };
        let body = self.visit_body(area, &task, photo.iter().cloned().collect());
        let v = must(&self.clients[g.worker], Method::POST, "/visits", body).await;
        let id = v["id"].as_str().unwrap().to_owned();
        self.remember(&g.path, &id);
        (id, photo)
    }

    async fn fresh_finding(&self, area: Area) -> String {
        // No income at all: the dibao rule fires on registration.
        let (household, _) = self.fresh_household(area, 0).await;
        let found = must(
            self.admin(),
            Method::GET,
            &format!("/findings?household_id={household}"),
            Value::Null,
        )
        .await;
        let id = found["items"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no finding for a household without income: {found}"))
            .to_owned();
        self.remember(&self.grids[&area].path, &id);
        id
    }

    async fn fresh_application(&self, area: Area) -> String {
        let (household, _) = self.fresh_household(area, 3_600_000).await;
        let a = must(
            self.admin(),
            Method::POST,
            "/applications",
            json!({"household_id": household, "categories": ["dibao"], "note": "授权测试"}),
        )
        .await;
        let id = a["id"].as_str().unwrap().to_owned();
        self.remember(&self.grids[&area].path, &id);
        id
    }

    async fn fresh_upload(&self, owner: &'static str) -> String {
        let bytes = jpeg();
        let photo = uuid::Uuid::now_v7();
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let up = must(
            &self.clients[owner],
            Method::POST,
            "/uploads",
            json!({"photo_id": photo, "length": bytes.len(), "sha256": sha}),
        )
        .await;
        up["id"].as_str().unwrap().to_owned()
    }

    /// A mobile number a code was just sent to.
    async fn registered_phone(&self) -> String {
        let phone = format!("1371111{:04}", self.next());
        must(
            &self.app.client(),
            Method::POST,
            "/citizen/register",
            json!({"phone": phone, "password": "Citizen-pass-2026"}),
        )
        .await;
        phone
    }

    fn department_csv(&self) -> String {
        let n = self.next();
        let day = today() - Duration::days(10);
        format!(
            "结算单号,身份证号,结算日期,总费用,统筹支付,个人自付,医院\n\
             AUTHZ-{n},{},{day},800,600,200,常州市第二人民医院\n",
            idn("110105", n)
        )
    }
}

async fn point_in(admin: &Client, grid_id: &str) -> (f64, f64) {
    let grid = must(
        admin,
        Method::GET,
        &format!("/org-units/{grid_id}"),
        Value::Null,
    )
    .await;
    let b: Vec<f64> = serde_json::from_value(grid["bbox"].clone()).unwrap();
    for i in 1..20 {
        for j in 1..20 {
            let lon = b[0] + (b[2] - b[0]) * f64::from(i) / 20.0;
            let lat = b[1] + (b[3] - b[1]) * f64::from(j) / 20.0;
            let found = must(
                admin,
                Method::GET,
                &format!("/geo/locate?lat={lat}&lon={lon}"),
                Value::Null,
            )
            .await;
            if found["grid"]["id"].as_str() == Some(grid_id) {
                return (lat, lon);
            }
        }
    }
    panic!("no point found inside grid {grid_id}");
}

async fn unit_of(admin: &Client, id: &str) -> Unit {
    let u = must(admin, Method::GET, &format!("/org-units/{id}"), Value::Null).await;
    Unit {
        id: id.to_owned(),
        code: u["code"].as_str().unwrap().to_owned(),
        path: u["path"].as_str().unwrap().to_owned(),
    }
}

async fn world(backend: Backend) -> Option<World> {
    // The demo SMS sender, so that `GET /demo/sms-code` has codes to give.
    let app = spawn_app_with(backend, |s| s.discovery.sms_sender = "demo".into()).await?;
    app.load_demo().await;
    let mut clients = HashMap::new();
    let mut users = HashMap::new();
    let mut units = HashMap::new();
    for name in [
        "admin",
        "district",
        "street",
        "street2",
        "coordinator",
        "coordinator2",
        "worker1",
        "worker2",
        "worker3",
        "citizen",
    ] {
        let client = app.login(name).await;
        let me = must(&client, Method::GET, "/me", Value::Null).await;
        users.insert(name.to_owned(), me["id"].as_str().unwrap().to_owned());
        clients.insert(name, client);
        let unit = me["org_unit_id"].as_str().unwrap().to_owned();
        units.insert(name, unit_of(&clients["admin"], &unit).await);
    }
    let admin = clients["admin"].clone();
    let districts = must(&admin, Method::GET, "/org-units?kind=district", Value::Null).await;
    let other = districts["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] != "320402")
        .expect("another district")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    units.insert("other_district", unit_of(&admin, &other).await);
    let officer = must(
        &admin,
        Method::POST,
        "/users",
        json!({"username": "district.other", "password": "a-good-password-1",
               "display_name": "钟楼区民政局", "role": "district_officer", "org_unit_id": other}),
    )
    .await;
    users.insert(
        "district.other".into(),
        officer["id"].as_str().unwrap().to_owned(),
    );
    let mut grids = HashMap::new();
    for (area, worker) in [
        (Area::G1, "worker1"),
        (Area::G2, "worker2"),
        (Area::G3, "worker3"),
    ] {
        let u = &units[worker];
        let (lat, lon) = point_in(&admin, &u.id).await;
        grids.insert(
            area,
            Grid {
                id: u.id.clone(),
                code: u.code.clone(),
                path: u.path.clone(),
                lat,
                lon,
                worker,
            },
        );
    }
    let created = must(&admin, Method::POST, "/forms", form()).await;
    let form_version = created["version"].as_i64().unwrap_or(1);
    let rules = must(&admin, Method::GET, "/rules", Value::Null).await;
    let rule = rules
        .as_array()
        .or_else(|| rules["items"].as_array())
        .and_then(|r| r.iter().find(|r| r["id"] == "housing"))
        .cloned()
        .unwrap_or_else(|| panic!("no housing rule in {rules}"));
    let mut w = World {
        app,
        clients,
        users,
        grids,
        units,
        households: HashMap::new(),
        tasks: HashMap::new(),
        visits: HashMap::new(),
        photos: HashMap::new(),
        citizen_photo: String::new(),
        findings: HashMap::new(),
        applications: HashMap::new(),
        import_jobs: HashMap::new(),
        stats_jobs: HashMap::new(),
        department_jobs: HashMap::new(),
        uploads: HashMap::new(),
        rule,
        form_version,
        objects: Mutex::new(Vec::new()),
        counter: AtomicU32::new(0),
    };
    for user in ["worker1", "worker2", "worker3", "district.other"] {
        let path = match user {
            "district.other" => w.units["other_district"].path.clone(),
            u => w.units[u].path.clone(),
        };
        let id = w.users[user].clone();
        w.remember(&path, &id);
    }
    for area in AREAS {
        let h = w.fresh_household(area, 3_600_000).await;
        w.households.insert(area, h);
        let t = w.fresh_task(area, true).await;
        w.tasks.insert(area, t);
        let (v, p) = w.fresh_visit(area, true).await;
        w.visits.insert(area, v);
        w.photos.insert(area, p.unwrap_or_default());
        let f = w.fresh_finding(area).await;
        w.findings.insert(area, f);
        let a = w.fresh_application(area).await;
        w.applications.insert(area, a);
    }
    w.citizen_photo = w.fresh_photo("citizen", "/citizen/").await;
    for coordinator in ["coordinator", "coordinator2"] {
        let client = &w.clients[coordinator];
        let csv =
            "household_external_id,address,grid_code,name,relation,id_number,health,work_status\n";
        let body = must_csv(client, "/households/import", csv.to_owned()).await;
        w.import_jobs
            .insert(coordinator, body["id"].as_str().unwrap().to_owned());
        let job = must(
            client,
            Method::POST,
            "/jobs",
            json!({"kind": "stats_overview"}),
        )
        .await;
        w.stats_jobs
            .insert(coordinator, job["id"].as_str().unwrap().to_owned());
    }
    for importer in ["admin", "district"] {
        let body = must_csv(
            &w.clients[importer],
            "/imports/medical-claims",
            w.department_csv(),
        )
        .await;
        w.department_jobs
            .insert(importer, body["id"].as_str().unwrap().to_owned());
    }
    for owner in ["worker1", "worker2", "citizen"] {
        let up = w.fresh_upload(owner).await;
        w.uploads.insert(owner, up);
    }
    Some(w)
}

// ---------------------------------------------------------------------------------------------
// Cases

enum Body {
    None,
    Json(Value),
    Bytes(Vec<u8>, &'static str),
}

/// How the caller presents itself.
enum Token {
    /// The role's demo account (none for anonymous).
    Caller,
    /// A session made for this case.
    Fresh(String),
}

struct Req {
    method: Method,
    path: String,
    body: Body,
    headers: Vec<(&'static str, String)>,
    token: Token,
    /// The id the variant put into the request, to compare with a missing one.
    probe_id: Option<String>,
    /// Whose objects the answer may hold, when not the caller's (a log-in without a token).
    acting_as: Option<Who>,
}

impl Req {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Req {
            method,
            path: path.into(),
            body: Body::None,
            headers: Vec::new(),
            token: Token::Caller,
            probe_id: None,
            acting_as: None,
        }
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    fn bytes(mut self, body: impl Into<Vec<u8>>, content_type: &'static str) -> Self {
        self.body = Body::Bytes(body.into(), content_type);
        self
    }

    fn probe(mut self, id: impl Into<String>) -> Self {
        self.probe_id = Some(id.into());
        self
    }

    /// The same request with the probed id replaced by one that names nothing.
    fn with_missing(&self) -> Option<Req> {
        let id = self.probe_id.as_ref()?;
        let missing = uuid::Uuid::now_v7().to_string();
        let body = match &self.body {
            Body::Json(v) => Body::Json(
                serde_json::from_str(&v.to_string().replace(id.as_str(), &missing)).ok()?,
            ),
            Body::None => Body::None,
            Body::Bytes(b, t) => Body::Bytes(b.clone(), t),
        };
        Some(Req {
            method: self.method.clone(),
            path: self.path.replace(id.as_str(), &missing),
            body,
            headers: self.headers.clone(),
            token: match &self.token {
                Token::Caller => Token::Caller,
                Token::Fresh(t) => Token::Fresh(t.clone()),
            },
            probe_id: None,
            acting_as: self.acting_as,
        })
    }
}

struct Answer {
    status: u16,
    text: String,
}

/// Sends the request; a 503 (`unavailable`: no database connection within its wait, on a
/// loaded machine, before any work) is sent again, twice at most, a second apart. The matrix is
/// about who may do what, and a 503 says nothing about that.
async fn send(w: &World, who: Who, req: &Req) -> Answer {
    let client = match &req.token {
        Token::Caller => w.client(who),
        Token::Fresh(t) => w.app.client().with_token(t.clone()),
    };
    let mut attempt = 0;
    loop {
        let mut r = client.request(req.method.clone(), &req.path);
        for (k, v) in &req.headers {
            r = r.header(*k, v);
        }
        r = match &req.body {
            Body::None => r,
            Body::Json(v) => r.json(v),
            Body::Bytes(b, t) => r.header("content-type", *t).body(b.clone()),
        };
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        attempt += 1;
        if status == 503 && attempt < 3 && text.contains("\"unavailable\"") {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            continue;
        }
        return Answer { status, text };
    }
}

/// A session of its own for the role (log-out and refresh cases would end the shared one).
async fn fresh_login(w: &World, who: Who) -> Option<Value> {
    let user = who.username()?;
    Some(
        must(
            &w.app.client(),
            Method::POST,
            "/auth/login",
            json!({"username": user, "password": DEMO_PASSWORD, "device_id": "authz"}),
        )
        .await,
    )
}

/// The path of an operation (`GET /tasks` → `/tasks`).
fn path_of(op: &str) -> &str {
    op.split_once(' ').map_or(op, |(_, p)| p)
}

/// Builds the request of one case, or `None` when the variant names no object for this caller.
async fn build(
    w: &World,
    op: &str,
    probe: &str,
    who: Who,
    v: Variant,
) -> Result<Option<Req>, String> {
    use Method as M;
    let area = w.area(who, v);
    let mine = || who.username().unwrap_or("");
    let due = today() + Duration::days(7);
    let req = match (op, probe) {
        // --- auth and citizens' registration
        ("POST /auth/login", "-") => {
            let user = who.username().unwrap_or("worker1");
            let mut r = Req::new(M::POST, "/auth/login")
                .json(json!({"username": user, "password": DEMO_PASSWORD}));
            r.acting_as = Some(Who::Role(Role::GridWorker));
            r
        }
        ("POST /auth/logout", "-") => match fresh_login(w, who).await {
            Some(pair) => {
                let mut r = Req::new(M::POST, "/auth/logout");
                r.token = Token::Fresh(pair["access_token"].as_str().unwrap().to_owned());
                r
            }
            None => Req::new(M::POST, "/auth/logout"),
        },
        ("POST /auth/refresh", "-") => {
            let pair = match fresh_login(w, who).await {
                Some(p) => p,
                None => fresh_login(w, Who::Role(Role::GridWorker)).await.unwrap(),
            };
            let mut r = Req::new(M::POST, "/auth/refresh")
                .json(json!({"refresh_token": pair["refresh_token"], "device_id": "authz"}));
            r.acting_as = Some(Who::Role(Role::GridWorker));
            r
        }
        ("GET /me", "-") => Req::new(M::GET, "/me"),
        ("POST /auth/second-factor", "-") => Req::new(M::POST, "/auth/second-factor"),
        // Never a code: six letters are refused as wrong (422) once an enrolment was started.
        ("POST /auth/second-factor/confirm", "-") => {
            Req::new(M::POST, "/auth/second-factor/confirm").json(json!({"code": "abcdef"}))
        }
        ("GET /audit", "-") => Req::new(M::GET, "/audit?limit=50"),
        ("POST /citizen/register", "-") => Req::new(M::POST, "/citizen/register").json(
            json!({"phone": format!("1370000{:04}", w.next()), "password": "Citizen-pass-2026"}),
        ),
        ("POST /citizen/verify", "-") => {
            let phone = w.registered_phone().await;
            let code = must(
                &w.app.client(),
                M::GET,
                &format!("/demo/sms-code?phone={phone}"),
                Value::Null,
            )
            .await;
            Req::new(M::POST, "/citizen/verify").json(json!({"phone": phone, "code": code["code"]}))
        }
        ("GET /demo/sms-code", "-") => {
            let phone = w.registered_phone().await;
            Req::new(M::GET, format!("/demo/sms-code?phone={phone}"))
        }

        // --- org units and places
        ("GET /org-units", "query:parent_id") => {
            let Some((id, _)) = w.unit(who, v) else {
                return Ok(None);
            };
            Req::new(M::GET, format!("/org-units?parent_id={id}")).probe(id)
        }
        ("GET /org-units/{id}", "path") => {
            let Some((id, _)) = w.unit(who, v) else {
                return Ok(None);
            };
            Req::new(M::GET, format!("/org-units/{id}")).probe(id)
        }
        ("POST /org-units", "body:parent_id") => {
            // A new unit under the caller's own unit, under S1, or under a unit out of scope.
            let parent = match v {
                Variant::Own => who.username().map(|u| &w.units[u]),
                Variant::Scope => Some(&w.units["street"]),
                Variant::Out if who == Who::Role(Role::DistrictOfficer) => {
                    Some(&w.units["other_district"])
                }
                Variant::Out if who == Who::Role(Role::Admin) => None,
                Variant::Out => Some(&w.units["street2"]),
                Variant::None => None,
            };
            let Some(parent) = parent else {
                return Ok(None);
            };
            let n = w.next() % 100;
            let (kind, code) = match parent.code.len() {
                6 if parent.code.ends_with("00") => {
                    ("district", format!("{}{}", &parent.code[..4], 80 + n % 20))
                }
                6 => ("street", format!("{}3{n:02}", parent.code)),
                9 => ("community", format!("{}3{n:02}", parent.code)),
                // Below a community only grids, which need a boundary: not this probe's business.
                _ => return Ok(None),
            };
            Req::new(M::POST, "/org-units")
                .json(
                    json!({"kind": kind, "code": code, "name": format!("授权测试{kind}{n}"),
                             "parent_id": parent.id}),
                )
                .probe(parent.id.clone())
        }
        ("POST /org-units/import", "-") => {
            let n = w.next() % 100;
            let code = format!("{}2{n:02}", w.units["street"].code);
            let doc = json!({"type": "FeatureCollection", "features": [{
                "type": "Feature", "geometry": null,
                "properties": {"code": code, "name": format!("授权导入社区{n}"), "kind": "community"}}]});
            Req::new(M::POST, "/org-units/import?crs=wgs84")
                .bytes(doc.to_string(), "application/geo+json")
        }
        ("GET /geo/locate", "-") => {
            let g = &w.grids[&Area::G1];
            Req::new(M::GET, format!("/geo/locate?lat={}&lon={}", g.lat, g.lon))
        }

        // --- users
        ("GET /users", "query:org_unit_id") => {
            let Some((id, _)) = w.unit(who, v) else {
                return Ok(None);
            };
            Req::new(M::GET, format!("/users?org_unit_id={id}")).probe(id)
        }
        ("GET /users", "query:assignable_for") => {
            let Some(a) = area else { return Ok(None) };
            let h = w.households[&a].0.clone();
            Req::new(M::GET, format!("/users?assignable_for={h}")).probe(h)
        }
        ("POST /users", "body:org_unit_id") => {
            let Some((unit, _)) = w.unit(who, v) else {
                return Ok(None);
            };
            let role = if v == Variant::Own {
                // Below the caller's own rank, at the caller's own unit where that works.
                match who {
                    Who::Role(Role::Admin) => "admin",
                    Who::Role(Role::DistrictOfficer) => return Ok(None),
                    _ => "grid_worker",
                }
            } else {
                "grid_worker"
            };
            if v == Variant::Own
                && !matches!(
                    who,
                    Who::Role(Role::Admin | Role::GridWorker | Role::Citizen)
                )
            {
                return Ok(None);
            }
            Req::new(M::POST, "/users")
                .json(json!({"username": format!("authz.{}", w.next()), "password": "a-good-password-1",
                             "display_name": "授权测试", "role": role, "org_unit_id": unit}))
                .probe(unit)
        }
        ("PATCH /users/{id}", "path") => {
            let Some(id) = w.account(who, v) else {
                return Ok(None);
            };
            Req::new(M::PATCH, format!("/users/{id}"))
                .json(json!({"display_name": "授权测试改名"}))
                .probe(id)
        }

        ("DELETE /users/{id}/second-factor", "path") => {
            let Some(id) = w.account(who, v) else {
                return Ok(None);
            };
            Req::new(M::DELETE, format!("/users/{id}/second-factor")).probe(id)
        }

        // --- households
        ("GET /households", "query:grid_id") => {
            let Some(a) = area else { return Ok(None) };
            let g = w.grids[&a].id.clone();
            Req::new(M::GET, format!("/households?grid_id={g}")).probe(g)
        }
        ("POST /households", "body:location") | ("POST /households", "body:grid_id") => {
            let Some(a) = area else { return Ok(None) };
            let g = &w.grids[&a];
            let n = w.next();
            let mut body = json!({
                "address": format!("授权新户 {n} 号"),
                "location": {"lat": g.lat, "lon": g.lon},
                "members": [{"name": "户主", "relation": "head",
                             "id_number": idn("320402", 20_000 + n),
                             "health": "healthy", "work_status": "employed",
                             "student_status": "not_student", "annual_income": {"wages_fen": 3600000}}],
            });
            if probe == "body:grid_id" {
                body["grid_id"] = json!(g.id);
                body["location"] = Value::Null;
            }
            Req::new(M::POST, "/households")
                .json(body)
                .probe(g.id.clone())
        }
        ("GET /households/conflicts", "-") => Req::new(M::GET, "/households/conflicts"),
        ("POST /households/import", "-") => Req::new(M::POST, "/households/import").bytes(
            "household_external_id,address,grid_code,name,relation,id_number,health,work_status\n",
            "text/csv",
        ),
        ("GET /households/imports/{id}", "path") => {
            let Some(a) = area else { return Ok(None) };
            let owner = if a == Area::G3 {
                "coordinator2"
            } else {
                "coordinator"
            };
            let id = w.import_jobs[owner].clone();
            Req::new(M::GET, format!("/households/imports/{id}")).probe(id)
        }
        // Lists filtered by a household, and reads of one fixture object.
        (
            "GET /tasks" | "GET /visits" | "GET /findings" | "GET /applications",
            "query:household_id",
        ) => {
            let Some(a) = area else { return Ok(None) };
            let h = w.households[&a].0.clone();
            Req::new(M::GET, format!("{}?household_id={h}", path_of(op))).probe(h)
        }
        (
            "GET /households/{id}"
            | "GET /visits/{id}"
            | "GET /findings/{id}"
            | "GET /applications/{id}",
            "path",
        ) => {
            let Some(a) = area else { return Ok(None) };
            let id = match op {
                "GET /households/{id}" => w.households[&a].0.clone(),
                "GET /visits/{id}" => w.visits[&a].clone(),
                "GET /findings/{id}" => w.findings[&a].clone(),
                _ => w.applications[&a].clone(),
            };
            Req::new(M::GET, path_of(op).replace("{id}", &id)).probe(id)
        }
        ("PATCH /households/{id}", "path") => {
            let Some(a) = area else { return Ok(None) };
            let id = w.households[&a].0.clone();
            let current = must(w.admin(), M::GET, &format!("/households/{id}"), Value::Null).await;
            Req::new(M::PATCH, format!("/households/{id}"))
                .json(json!({"version": current["version"], "notes": "授权测试备注"}))
                .probe(id)
        }
        ("POST /households/{id}/evaluate", "path") => {
            let Some(a) = area else { return Ok(None) };
            let id = w.households[&a].0.clone();
            Req::new(M::POST, format!("/households/{id}/evaluate")).probe(id)
        }
        ("POST /households/{id}/reveal", "path") => {
            let Some(a) = area else { return Ok(None) };
            let id = w.households[&a].0.clone();
            Req::new(M::POST, format!("/households/{id}/reveal"))
                .json(json!({"reason": "核对身份"}))
                .probe(id)
        }
        ("POST /households/{id}/reveal", "body:member_id") => {
            // The household in the path is G1's; the member comes from the variant's area.
            let Some(a) = area else { return Ok(None) };
            let member = w.households[&a].1.clone();
            Req::new(
                M::POST,
                format!("/households/{}/reveal", w.households[&Area::G1].0),
            )
            .json(json!({"reason": "核对身份", "member_id": member}))
            .probe(member)
        }

        // --- department data, exports, statistics
        ("POST /imports/{source}", "-") => {
            Req::new(M::POST, "/imports/medical-claims").bytes(w.department_csv(), "text/csv")
        }
        ("GET /imports/{source}/{id}/unmatched", "path") => {
            let importer = match (who, v) {
                (Who::Role(Role::Admin), Variant::Own) => "admin",
                (Who::Role(Role::DistrictOfficer), Variant::Own) => "district",
                (Who::Role(Role::DistrictOfficer), Variant::Out) => "admin",
                (Who::Role(Role::GridWorker), _) => return Ok(None),
                (_, Variant::Scope) => "district",
                _ => return Ok(None),
            };
            let id = w.department_jobs[importer].clone();
            Req::new(M::GET, format!("/imports/medical-claims/{id}/unmatched")).probe(id)
        }
        ("GET /exports/{kind}", "query:org") => {
            let Some((_, code)) = w.unit(who, v) else {
                return Ok(None);
            };
            Req::new(M::GET, format!("/exports/households?org={code}")).probe(code)
        }
        ("GET /stats/overview", "query:org_unit_id")
        | ("GET /stats/mpi", "query:org_unit_id")
        | ("GET /stats/relative-poverty", "query:org_unit_id") => {
            let Some((id, _)) = w.unit(who, v) else {
                return Ok(None);
            };
            Req::new(M::GET, format!("{}?org_unit_id={id}", path_of(op))).probe(id)
        }
        ("POST /jobs", "body:org_unit_id") => {
            let Some((id, _)) = w.unit(who, v) else {
                return Ok(None);
            };
            Req::new(M::POST, "/jobs")
                .json(json!({"kind": "stats_overview", "org_unit_id": id}))
                .probe(id)
        }
        ("GET /jobs/{id}", "path") => {
            let owner = match (who, v) {
                (Who::Role(Role::Coordinator), Variant::Own) => "coordinator",
                (_, Variant::Own) => return Ok(None),
                (_, _) => match area {
                    Some(Area::G3) => "coordinator2",
                    Some(_) => "coordinator",
                    None => return Ok(None),
                },
            };
            let id = w.stats_jobs[owner].clone();
            Req::new(M::GET, format!("/jobs/{id}")).probe(id)
        }

        // --- forms, rules, standards
        ("GET /forms", "-") => Req::new(M::GET, "/forms"),
        ("POST /forms", "-") => {
            let mut f = form();
            f["key"] = json!(format!("authz_form_{}", w.next()));
            Req::new(M::POST, "/forms").json(f)
        }
        ("POST /forms/import-xlsform", "-") => Req::new(M::POST, "/forms/import-xlsform").bytes(
            include_bytes!("../../../fixtures/forms/home_visit.xlsx").to_vec(),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        ("POST /forms/{key}/versions", "-") => {
            // A new form of its own each time, so the fixtures' pinned form stays put.
            let key = format!("authz_versions_{}", w.next());
            let mut f = form();
            f["key"] = json!(key);
            must(w.admin(), M::POST, "/forms", f.clone()).await;
            Req::new(M::POST, format!("/forms/{key}/versions")).json(f)
        }
        ("GET /forms/{key}/versions/{version}", "-") => {
            Req::new(M::GET, format!("/forms/{FORM}/versions/1"))
        }
        ("GET /rules", "-") => Req::new(M::GET, "/rules"),
        ("GET /rules/gaps", "-") => Req::new(M::GET, "/rules/gaps"),
        ("PUT /rules/{id}", "-") => {
            // The rule as it is (a new version of the same definition).
            let mut rule = serde_json::Map::new();
            for k in ["id", "title", "categories", "values", "when", "enabled"] {
                if let Some(v) = w.rule.get(k).filter(|v| !v.is_null()) {
                    rule.insert(k.into(), v.clone());
                }
            }
            Req::new(M::PUT, "/rules/housing").json(Value::Object(rule))
        }
        ("GET /standards", "-") => Req::new(M::GET, "/standards"),
        ("PUT /standards", "body:district_code") => {
            let code = match (who, v) {
                (Who::Role(Role::DistrictOfficer), Variant::Own) => "320402".to_owned(),
                (_, Variant::Own) => return Ok(None),
                (Who::Role(Role::DistrictOfficer), Variant::Out) => {
                    w.units["other_district"].code.clone()
                }
                (_, Variant::Out) => return Ok(None),
                _ => "320402".to_owned(),
            };
            Req::new(M::PUT, "/standards").json(json!({
                "district_code": code, "effective_from": "2099-01-01", "s_urban": 1010,
                "s_rural": 1010, "d_urban": 76000, "d_rural": 45000, "k": 1.5, "r": 0.6,
                "x": 10000, "p": 0.4, "note": "授权测试"}))
        }

        // --- tasks and sync
        ("GET /tasks", "query:assignee_id") => {
            let Some(a) = area else { return Ok(None) };
            let u = w.user(w.grids[&a].worker).to_owned();
            Req::new(M::GET, format!("/tasks?assignee_id={u}")).probe(u)
        }
        ("POST /tasks", "body:household_id") => {
            let Some(a) = area else { return Ok(None) };
            let h = w.households[&a].0.clone();
            Req::new(M::POST, "/tasks")
                .json(
                    json!({"kind": "visit", "household_id": h, "form_key": FORM, "due_date": due}),
                )
                .probe(h)
        }
        ("POST /tasks/bulk", "body:households") => {
            let Some(a) = area else { return Ok(None) };
            let h = w.households[&a].0.clone();
            Req::new(M::POST, "/tasks/bulk")
                .json(json!({"kind": "recheck", "form_key": FORM, "due_date": due,
                             "target": {"households": [h]}}))
                .probe(h)
        }
        ("POST /tasks/{id}/accept", "path") => {
            let Some(a) = area else { return Ok(None) };
            let t = w.fresh_task(a, true).await;
            Req::new(M::POST, format!("/tasks/{t}/accept")).probe(t)
        }
        ("POST /tasks/{id}/assign", "path") => {
            let Some(a) = area else { return Ok(None) };
            let t = w.fresh_task(a, false).await;
            let worker = w.user(w.grids[&a].worker).to_owned();
            Req::new(M::POST, format!("/tasks/{t}/assign"))
                .json(json!({"assignee_id": worker}))
                .probe(t)
        }
        ("POST /tasks/{id}/assign", "body:assignee_id") => {
            // A task of G1's household, to G1's worker (in scope) or to G2's, a worker of the
            // same community whose grid does not hold the household (out).
            let worker = match v {
                Variant::Scope => "worker1",
                Variant::Out => "worker2",
                _ => return Ok(None),
            };
            let t = w.fresh_task(Area::G1, false).await;
            let id = w.user(worker).to_owned();
            Req::new(M::POST, format!("/tasks/{t}/assign")).json(json!({"assignee_id": id}))
        }
        ("POST /tasks/{id}/cancel", "path") => {
            let Some(a) = area else { return Ok(None) };
            let t = w.fresh_task(a, true).await;
            Req::new(M::POST, format!("/tasks/{t}/cancel"))
                .json(json!({"reason": "授权测试取消"}))
                .probe(t)
        }
        ("GET /sync", "-") => Req::new(M::GET, "/sync"),

        // --- visits and photos
        ("POST /visits", "body:task_id") => {
            let Some(a) = area else { return Ok(None) };
            let t = w.fresh_task(a, true).await;
            Req::new(M::POST, "/visits")
                .json(w.visit_body(a, &t, Vec::new()))
                .probe(t)
        }
        ("POST /visits", "body:photo_ids") => {
            // The caller's own task in G1 (for others, G1's worker's); the photo from the
            // variant's area, taken by that grid's worker and not yet used.
            let Some(a) = area else { return Ok(None) };
            let t = w.fresh_task(Area::G1, true).await;
            let g = &w.grids[&a];
            let photo = w.fresh_photo(g.worker, &g.path).await;
            Req::new(M::POST, "/visits")
                .json(w.visit_body(Area::G1, &t, vec![photo.clone()]))
                .probe(photo)
        }
        ("POST /visits/{id}/review", "path") => {
            let Some(a) = area else { return Ok(None) };
            let (visit, _) = w.fresh_visit(a, false).await;
            Req::new(M::POST, format!("/visits/{visit}/review"))
                .json(json!({"decision": "approved"}))
                .probe(visit)
        }
        ("GET /photos/{id}", "path")
        | ("GET /photos/{id}/display", "path")
        | ("GET /photos/{id}/thumb", "path") => {
            let id = match (who, v) {
                (Who::Role(Role::Citizen), Variant::Own) => w.citizen_photo.clone(),
                _ => match area {
                    Some(a) => w.photos[&a].clone(),
                    None => return Ok(None),
                },
            };
            let tail = op.split("{id}").nth(1).unwrap_or_default();
            Req::new(M::GET, format!("/photos/{id}{tail}")).probe(id)
        }
        ("PUT /photos/{id}", "-") => Req::new(M::PUT, format!("/photos/{}", uuid::Uuid::now_v7()))
            .bytes(jpeg(), "image/jpeg"),
        ("POST /uploads", "-") => {
            let bytes = jpeg();
            let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
            Req::new(M::POST, "/uploads").json(
                json!({"photo_id": uuid::Uuid::now_v7(), "length": bytes.len(), "sha256": sha}),
            )
        }
        ("HEAD /uploads/{id}", "path") | ("PATCH /uploads/{id}", "path") => {
            let owner = match (who, v) {
                (Who::Role(Role::GridWorker | Role::Citizen), Variant::Own) => mine(),
                (_, Variant::Own) | (Who::Role(Role::GridWorker), Variant::Scope) => {
                    return Ok(None)
                }
                (Who::Role(Role::GridWorker), Variant::Out) => "worker2",
                (_, Variant::Scope) => "worker1",
                (Who::Role(Role::StreetOfficer | Role::Coordinator), Variant::Out) => "worker2",
                _ => return Ok(None),
            };
            if op.starts_with("HEAD") {
                let id = w.uploads[owner].clone();
                Req::new(M::HEAD, format!("/uploads/{id}")).probe(id)
            } else {
                let owner: &'static str = match owner {
                    "worker1" => "worker1",
                    "worker2" => "worker2",
                    _ => "citizen",
                };
                let id = w.fresh_upload(owner).await;
                let mut r = Req::new(M::PATCH, format!("/uploads/{id}"))
                    .bytes(jpeg()[..1000].to_vec(), "application/offset+octet-stream")
                    .probe(id);
                r.headers.push(("upload-offset", "0".into()));
                r
            }
        }

        // --- discovery and applications
        ("POST /findings/{id}/convert", "path") => {
            let Some(a) = area else { return Ok(None) };
            let id = w.fresh_finding(a).await;
            Req::new(M::POST, format!("/findings/{id}/convert"))
                .json(json!({}))
                .probe(id)
        }
        ("POST /findings/{id}/dismiss", "path") => {
            let Some(a) = area else { return Ok(None) };
            let id = w.fresh_finding(a).await;
            Req::new(M::POST, format!("/findings/{id}/dismiss"))
                .json(json!({"reason": "核实无困难"}))
                .probe(id)
        }
        ("POST /applications", "body:household_id") => {
            let Some(a) = area else { return Ok(None) };
            let (h, _) = w.fresh_household(a, 3_600_000).await;
            Req::new(M::POST, "/applications")
                .json(json!({"household_id": h, "categories": ["dibao"], "note": "授权测试"}))
                .probe(h)
        }
        ("POST /applications/{id}/transition", "path") => {
            let Some(a) = area else { return Ok(None) };
            let id = w.fresh_application(a).await;
            Req::new(M::POST, format!("/applications/{id}/transition"))
                .json(json!({"action": "return", "note": "请补充收入证明"}))
                .probe(id)
        }
        ("POST /self-reports", "-") => {
            let g = &w.grids[&Area::G1];
            Req::new(M::POST, "/self-reports").json(json!({
                "description": "邻居老人独居，生病无人照顾",
                "location": {"lat": g.lat, "lon": g.lon, "crs": "wgs84"},
                "contact_phone": "13912345678"}))
        }
        ("GET /my/self-reports", "-") => Req::new(M::GET, "/my/self-reports"),
        ("GET /my/applications", "-") => Req::new(M::GET, "/my/applications"),
        _ => return Err(format!("no request builder for {op} [{probe}]")),
    };
    Ok(Some(req))
}

/// Whether an allowed answer holds nothing.
fn is_empty(text: &str) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let items = v.get("items").unwrap_or(&v);
    match items {
        Value::Array(a) => a.is_empty(),
        _ => v["created"] == 0,
    }
}

struct Outcome {
    row: usize,
    who: Who,
    got: Expect,
    problems: Vec<String>,
}

async fn run_case(w: &World, row: &Row, col: usize, who: Who) -> Outcome {
    let expected = row.cells[col];
    let mut problems = Vec::new();
    let label = format!(
        "line {} {} [{}] {} as {}",
        row.line,
        row.op,
        row.probe,
        row.variant.as_str(),
        who.column()
    );
    let req = match build(w, &row.op, &row.probe, who, row.variant).await {
        Ok(r) => r,
        Err(e) => {
            return Outcome {
                row: row.line,
                who,
                got: Expect::Skip,
                problems: vec![format!("{label}: {e}")],
            };
        }
    };
    let Some(req) = req else {
        if expected != Expect::Skip {
            problems.push(format!(
                "{label}: expected {} but this caller has no such object (write `-`)",
                expected.show()
            ));
        }
        return Outcome {
            row: row.line,
            who,
            got: Expect::Skip,
            problems,
        };
    };
    let answer = send(w, who, &req).await;
    let empty = (200..300).contains(&answer.status) && is_empty(&answer.text);
    let got = if empty && (matches!(expected, Expect::Empty(_)) || row.variant == Variant::Out) {
        Expect::Empty(answer.status)
    } else {
        Expect::Status(answer.status)
    };
    if got != expected {
        let mut body = answer.text.clone();
        body.truncate(300);
        problems.push(format!(
            "{label}: expected {}, got {} {body}",
            expected.show(),
            got.show()
        ));
    }
    // Nothing outside the caller's scope comes back, whatever the status.
    let sees = match (who, req.acting_as) {
        (Who::Anonymous, Some(other)) => w.sees(other),
        _ => w.sees(who),
    }
    .map(str::to_owned);
    let leaked: Vec<String> = w
        .objects
        .lock()
        .unwrap()
        .iter()
        .filter(|(path, _)| sees.as_deref().is_none_or(|s| !path.starts_with(s)))
        .filter(|(_, id)| answer.text.contains(id.as_str()))
        .map(|(path, id)| format!("{id} (of {path})"))
        .collect();
    // A citizen's photo is theirs to see; the city's admins audit its storing (the record names
    // the photo's id, in the citizen's unit, the city), never the photo itself.
    let citizen_photo_seen = who == Who::Role(Role::Citizen)
        || (who == Who::Role(Role::Admin) && row.op == "GET /audit");
    let leaked: Vec<String> = leaked
        .into_iter()
        .filter(|l| !(citizen_photo_seen && l.starts_with(&w.citizen_photo)))
        .collect();
    if !leaked.is_empty() && answer.status < 400 {
        problems.push(format!(
            "{label}: answer holds objects out of scope: {}",
            leaked.join(", ")
        ));
    }
    // Out of scope looks exactly like missing.
    if row.variant == Variant::Out && (answer.status == 404 || answer.status == 422) {
        if let Some(missing) = req.with_missing() {
            let other = send(w, who, &missing).await;
            let strip = |t: &str| {
                serde_json::from_str::<Value>(t)
                    .map(|mut v| {
                        if let Some(o) = v.as_object_mut() {
                            o.remove("request_id");
                        }
                        v.to_string()
                    })
                    .unwrap_or_else(|_| t.to_owned())
            };
            if (other.status, strip(&other.text)) != (answer.status, strip(&answer.text)) {
                problems.push(format!(
                    "{label}: out of scope answers {} {}, a missing id {} {}",
                    answer.status, answer.text, other.status, other.text
                ));
            }
        }
    }
    Outcome {
        row: row.line,
        who,
        got,
        problems,
    }
}

fn write_observed(m: &Matrix, outcomes: &[Outcome], file: &str) {
    let got: HashMap<(usize, Who), Expect> =
        outcomes.iter().map(|o| ((o.row, o.who), o.got)).collect();
    let mut out = String::new();
    let names: Vec<&str> = m.columns.iter().map(|c| c.column()).collect();
    out.push_str(&format!(
        "operation, probe, variant, {}\n",
        names.join(", ")
    ));
    for r in &m.rows {
        let cells: Vec<String> = m
            .columns
            .iter()
            .map(|c| {
                got.get(&(r.line, *c))
                    .map(|e| e.show())
                    .unwrap_or_else(|| "?".into())
            })
            .collect();
        out.push_str(&format!(
            "{}, {}, {}, {}\n",
            r.op,
            r.probe,
            r.variant.as_str(),
            cells.join(", ")
        ));
    }
    std::fs::write(file, out).unwrap();
}

async fn authorization_matrix(backend: Backend) {
    let m = parse_matrix().unwrap_or_else(|e| panic!("tests/authz/matrix.csv: {e}"));
    let started = std::time::Instant::now();
    let Some(w) = world(backend).await else {
        return;
    };
    let set_up = started.elapsed();
    let mut outcomes = Vec::new();
    let mut sent = HashSet::new();
    for row in &m.rows {
        for (col, who) in m.columns.iter().enumerate() {
            let o = run_case(&w, row, col, *who).await;
            if o.got != Expect::Skip {
                sent.insert((row.op.clone(), row.probe.clone(), row.variant, *who));
            }
            outcomes.push(o);
        }
    }
    if let Ok(file) = std::env::var("JIUZHU_AUTHZ_OBSERVED") {
        write_observed(&m, &outcomes, &format!("{file}.{backend:?}"));
    }
    let problems: Vec<&String> = outcomes.iter().flat_map(|o| &o.problems).collect();
    let ops: HashSet<&str> = m.rows.iter().map(|r| r.op.as_str()).collect();
    eprintln!(
        "authorization matrix on {backend:?}: {} operations, {} rows, {} roles, {} cases sent; \
         set-up {:.1} s, cases {:.1} s",
        ops.len(),
        m.rows.len(),
        m.columns.len(),
        sent.len(),
        set_up.as_secs_f64(),
        (started.elapsed() - set_up).as_secs_f64()
    );
    assert!(
        problems.is_empty(),
        "{} mismatches with tests/authz/matrix.csv:\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
both_backends!(authorization_matrix, authorization_matrix);
