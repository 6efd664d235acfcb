//! Households and places the scenarios share.

use jiuzhu_mobile_api::client::OrgUnitQuery;
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::household::*;
use jiuzhu_proto::org::{OrgKind, OrgUnit};

use crate::TestApp;

/// A valid 18-character number from 17 digits (GB 11643 check character).
pub fn id_number(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    format!("{first17}{}", C[(sum % 11) as usize] as char)
}

pub fn member(name: &str, relation: Relation, id: &str) -> MemberInput {
    MemberInput {
        name: name.into(),
        relation,
        id_number: id.into(),
        birth_date: None,
        gender: None,
        health: Health::Healthy,
        disability_type: None,
        disability_level: None,
        daily_living: DailyLiving::default(),
        work_status: WorkStatus::Employed,
        student_status: StudentStatus::NotStudent,
        annual_income: Income {
            wages_fen: 3_600_000,
            ..Income::default()
        },
        phone: Some("13812345678".into()),
    }
}

/// The first grid in the coordinator's community, and a point inside it (WGS-84).
pub async fn coordinator_grid(app: &TestApp) -> (OrgUnit, f64, f64) {
    grid_and_point(&app.login("coordinator").await).await
}

/// The first grid `coordinator` sees (worker1's), and a point the lookup puts inside it.
#[allow(clippy::unwrap_used)]
pub async fn grid_and_point(coordinator: &jiuzhu_mobile_api::Client) -> (OrgUnit, f64, f64) {
    let grids = coordinator
        .org_units(&OrgUnitQuery {
            kind: Some(OrgKind::Grid),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    let grid = coordinator.org_unit(grids[0].id).await.unwrap();
    let b = grid.bbox.unwrap();
    for i in 1..20 {
        for j in 1..20 {
            let lon = b[0] + (b[2] - b[0]) * f64::from(i) / 20.0;
            let lat = b[1] + (b[3] - b[1]) * f64::from(j) / 20.0;
            let found = coordinator.locate(lat, lon, Crs::Wgs84).await.unwrap();
            if found.grid.is_some_and(|g| g.id == grid.id) {
                return (grid, lat, lon);
            }
        }
    }
    panic!("no point found inside grid {}", grid.code);
}

pub fn household(address: &str, lat: f64, lon: f64, members: Vec<MemberInput>) -> CreateHousehold {
    CreateHousehold {
        external_id: None,
        address: address.into(),
        location: Some(Location {
            lat,
            lon,
            crs: None,
        }),
        grid_id: None,
        status: None,
        status_since: None,
        tags: vec![],
        notes: String::new(),
        members,
    }
}

/// POSTs JSON and returns the status and the JSON answer (`null` when there is none).
#[allow(clippy::unwrap_used)]
pub async fn post_json(
    client: &jiuzhu_mobile_api::Client,
    path: &str,
    body: serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let res = client
        .request(reqwest::Method::POST, path)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

/// A visit of `task` on form `form_key` at (`lat`, `lon`) whose one answer is the photo
/// `house_photo`, finished now after a quarter of an hour.
pub fn photo_visit(
    task: &jiuzhu_proto::task::Task,
    form_key: &str,
    lat: f64,
    lon: f64,
    photo: uuid::Uuid,
) -> jiuzhu_proto::visit::SubmitVisit {
    let now = chrono::Utc::now();
    jiuzhu_proto::visit::SubmitVisit {
        id: uuid::Uuid::new_v4(),
        task_id: task.id,
        form_key: form_key.into(),
        form_version: task.form_version.unwrap_or(1),
        answers: serde_json::json!({"house_photo": photo.to_string()}),
        location: jiuzhu_proto::visit::LocationFix {
            lat,
            lon,
            accuracy_m: 5.0,
            crs: None,
            fix_time: now - chrono::Duration::minutes(5),
            mock: false,
        },
        started_at: now - chrono::Duration::minutes(15),
        finished_at: now,
        photo_ids: vec![photo],
        staff: Vec::new(),
        supersedes: None,
    }
}
