//! The demo city: the real 天宁区 boundary of 常州 subdivided into synthetic streets, communities
//! and grids, an account for every role, and synthetic households (see `households`). Loaded
//! through the same import and registry paths as real data; loading it again changes nothing.

pub mod activity;
pub mod households;
pub mod photo;

use jiuzhu_proto::user::Role;

use crate::accounts::{self, NewAccount, UnitRef};
use crate::auth::password;
use crate::crypto::FieldCipher;
use crate::db::{self, repo, AnyConnection};
use crate::domain::account::Username;
use crate::domain::geo::{self, BoundaryLimits, Crs};
use crate::error::{ApiError, ApiResult};
use crate::imports::boundaries::{self, OnExisting, UnitSpec};
use crate::scope::Scope;

/// The districts of 常州 (GCJ-02), from the shared real data.
const CHANGZHOU: &str = include_str!("../../../fixtures/boundaries/320400_full.json");
pub const CITY_CODE: &str = "320400";
pub const CITY_NAME: &str = "常州市";
pub const DISTRICT_CODE: &str = "320402";
/// One password for every demo account: this is a demo, and it is printed at start.
pub const DEMO_PASSWORD: &str = "jiuzhu-demo-2026";

/// A demo log-in, printed at start.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub unit: String,
}

/// Summary of what loading did.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    pub units_created: u32,
    pub units_unchanged: u32,
    pub grids: usize,
    pub logins: Vec<DemoLogin>,
    pub households_created: usize,
    /// Demo households already registered by an earlier load.
    pub households_existing: usize,
    /// Demo households left out because a member's ID number is already in another household.
    pub households_conflicting: usize,
    /// The standard home-visit form was published by this load.
    pub form_published: bool,
}

/// How much of the demo city to load: the units and accounts always, and the first
/// `households` of its synthetic households.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSize {
    pub households: usize,
}

impl DemoSize {
    /// What `jiuzhu serve --demo` loads: 20,000 households.
    pub const FULL: DemoSize = DemoSize {
        households: households::FULL_COUNT,
    };

    /// The units and accounts and the first `n` households.
    pub const fn households(n: usize) -> Self {
        DemoSize { households: n }
    }
}

fn city_spec() -> UnitSpec {
    UnitSpec {
        kind: jiuzhu_proto::org::OrgKind::City,
        code: CITY_CODE.into(),
        name: CITY_NAME.into(),
        parent_code: None,
        boundary: None,
    }
}

/// The units of the demo city, parents first: city, its real districts, then the subdivision.
pub fn units() -> ApiResult<Vec<UnitSpec>> {
    let limits = BoundaryLimits::default();
    let mut specs = vec![city_spec()];
    let districts = boundaries::parse_collection(CHANGZHOU, Crs::Gcj02, &limits)?;
    let tianning = districts
        .iter()
        .find(|s| s.code == DISTRICT_CODE)
        .and_then(|s| s.boundary.clone())
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("天宁区 missing from the fixture")))?;
    specs.extend(districts);
    // The subdivision goes out as GeoJSON and comes back through the import parser, exactly as
    // a file from the field would.
    let features: Vec<geojson::Feature> = geo::subdivide_district(DISTRICT_CODE, &tianning)
        .into_iter()
        .map(|u| {
            let mut props = serde_json::Map::new();
            props.insert("code".into(), u.code.into());
            props.insert("name".into(), u.name.into());
            geojson::Feature {
                geometry: Some(geo::to_geojson(&u.boundary)),
                properties: Some(props),
                ..Default::default()
            }
        })
        .collect();
    let text = geojson::FeatureCollection {
        features,
        bbox: None,
        foreign_members: None,
    }
    .to_string();
    specs.extend(boundaries::parse_collection(&text, Crs::Wgs84, &limits)?);
    Ok(specs)
}

/// (username, display name, role, unit code); unit codes are filled from the loaded units.
fn accounts_for(specs: &[UnitSpec]) -> Vec<(&'static str, &'static str, Role, String)> {
    let first = |kind| {
        specs
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.code.clone())
            .next()
            .unwrap_or_default()
    };
    let grids: Vec<String> = specs
        .iter()
        .filter(|s| s.kind == jiuzhu_proto::org::OrgKind::Grid)
        .map(|s| s.code.clone())
        .take(2)
        .collect();
    use jiuzhu_proto::org::OrgKind as K;
    // A second street with its own officer, coordinator and worker: what one street sees of
    // another's work is nothing, and the demo shows it.
    let second_street = specs
        .iter()
        .filter(|s| s.kind == K::Street)
        .map(|s| s.code.clone())
        .nth(1)
        .unwrap_or_default();
    let under = |kind, prefix: &str| -> Vec<String> {
        specs
            .iter()
            .filter(|s| s.kind == kind && !prefix.is_empty() && s.code.starts_with(prefix))
            .map(|s| s.code.clone())
            .collect()
    };
    let second_community = under(K::Community, &second_street)
        .into_iter()
        .next()
        .unwrap_or_default();
    // The last grids of the two communities hold more of the synthetic households than the
    // first ones, so their workers have a fuller demo round.
    let second_grid = under(K::Grid, &second_community).pop().unwrap_or_default();
    let first_community = first(K::Community);
    let third_grid = under(K::Grid, &first_community).pop().unwrap_or_default();
    vec![
        ("admin", "系统管理员", Role::Admin, CITY_CODE.to_owned()),
        (
            "district",
            "天宁区民政局",
            Role::DistrictOfficer,
            DISTRICT_CODE.to_owned(),
        ),
        (
            "street",
            "街道民政办",
            Role::StreetOfficer,
            first(K::Street),
        ),
        (
            "coordinator",
            "社区社工",
            Role::Coordinator,
            first(K::Community),
        ),
        (
            "worker1",
            "网格员一",
            Role::GridWorker,
            grids.first().cloned().unwrap_or_default(),
        ),
        (
            "worker2",
            "网格员二",
            Role::GridWorker,
            grids.get(1).cloned().unwrap_or_default(),
        ),
        (
            "street2",
            "街道民政办（二）",
            Role::StreetOfficer,
            second_street,
        ),
        (
            "coordinator2",
            "社区社工（二）",
            Role::Coordinator,
            second_community,
        ),
        ("worker3", "网格员三", Role::GridWorker, second_grid),
        ("worker4", "网格员四", Role::GridWorker, third_grid),
        ("citizen", "市民", Role::Citizen, CITY_CODE.to_owned()),
    ]
}

/// Loads the demo city into the database (idempotent). `cipher` seals the households' ID and
/// phone numbers, as for any household.
/// The standard home-visit form (入户走访核查表), an XLSForm under `fixtures/forms/`.
const HOME_VISIT_XLSX: &[u8] = include_bytes!("../../../fixtures/forms/home_visit.xlsx");

/// Publishes the home-visit form through the XLSForm import unless it is there already.
fn publish_home_visit_form(conn: &mut AnyConnection) -> ApiResult<bool> {
    let definition = crate::imports::xlsform::parse_xlsform(HOME_VISIT_XLSX, &Default::default())
        .map_err(ApiError::validation)?;
    if repo::tasks::latest_form_version(conn, &definition.key)?.is_some() {
        return Ok(false);
    }
    crate::forms::publish(conn, definition, true, None)?;
    Ok(true)
}

/// Demo standards (`fixtures/standards/demo.toml`), marked as demo values.
const DEMO_STANDARDS: &str = include_str!("../../../fixtures/standards/demo.toml");

/// Records the demo standards for districts that have none yet.
fn record_demo_standards(conn: &mut AnyConnection) -> ApiResult<()> {
    #[derive(serde::Deserialize)]
    struct File {
        standard: Vec<jiuzhu_proto::standard::Standard>,
    }
    let file: File = toml::from_str(DEMO_STANDARDS)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("demo standards: {e}")))?;
    for s in file.standard {
        if repo::standards::in_force(conn, &s.district_code, s.effective_from)?.is_some() {
            continue;
        }
        repo::standards::put(
            conn,
            &repo::standards::StandardRow {
                district_code: s.district_code,
                effective_from: s.effective_from,
                s_urban: s.s_urban,
                s_rural: s.s_rural,
                d_urban: s.d_urban,
                d_rural: s.d_rural,
                k: s.k,
                r: s.r,
                x: s.x,
                p: s.p,
                approval_delegated: s.approval_delegated,
                demo: s.demo,
                note: s.note,
                recorded_by: None,
                recorded_at: db::now(),
            },
        )?;
    }
    Ok(())
}

// disallowed_methods: the whole tree: command line, demo or background work, not a request.
#[allow(clippy::disallowed_methods)]
pub fn load(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    size: DemoSize,
) -> ApiResult<DemoReport> {
    let specs = units()?;
    let password_hash = password::hash_now(DEMO_PASSWORD)?;
    let mut report = db::write_transaction(conn, |conn| -> ApiResult<DemoReport> {
        let everything = Scope::everything();
        let (report, _) = boundaries::apply(conn, &everything, &specs, OnExisting::Update)?;
        let mut logins = Vec::new();
        for (username, display, role, unit) in accounts_for(&specs) {
            let name = Username::parse(username).map_err(accounts::invalid_username)?;
            if repo::users::find_by_username(conn, name.as_str())?.is_none() {
                accounts::create(
                    conn,
                    &everything,
                    NewAccount {
                        username: name,
                        display_name: display.to_owned(),
                        role,
                        org_unit: UnitRef::Code(unit.clone()),
                        password_hash: password_hash.clone(),
                    },
                )?;
            }
            logins.push(DemoLogin {
                username: username.to_owned(),
                role,
                unit,
            });
        }
        let form_published = publish_home_visit_form(conn)?;
        record_demo_standards(conn)?;
        Ok(DemoReport {
            form_published,
            units_created: report.created,
            units_unchanged: report.unchanged + report.updated,
            grids: specs
                .iter()
                .filter(|s| s.kind == jiuzhu_proto::org::OrgKind::Grid)
                .count(),
            logins,
            ..DemoReport::default()
        })
    })?;
    // After the units are committed: households are placed with the lookup built from the
    // stored grid boundaries.
    let households = households::load(conn, cipher, DISTRICT_CODE, size.households)?;
    report.households_created = households.created;
    if households.created > 0 {
        db::refresh_statistics(conn, db::HOUSEHOLD_TABLES)?;
    }
    report.households_existing = households.existing;
    report.households_conflicting = households.conflicting;
    Ok(report)
}
