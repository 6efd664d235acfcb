//! Statistics per org unit: the overview's counts, the relative poverty line from accepted
//! visits, the multidimensional poverty index, and units outside the caller's scope.

use jiuzhu_proto::household::{Health, Relation};
use jiuzhu_proto::org::OrgKind;
use jiuzhu_tests::fixtures::{coordinator_grid, household, id_number, member};
use jiuzhu_tests::{both_backends, spawn_app, Backend};
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn get(client: &jiuzhu_mobile_api::Client, path: &str) -> (StatusCode, Value) {
    let res = client.request(Method::GET, path).send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn statistics(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let (_, lat, lon) = coordinator_grid(&app).await;
    let coordinator = app.login("coordinator").await;
    // Three households: incomes of 36,000, 12,000 and 2,400 yuan a year for one person each;
    // the last one gravely ill with no work.
    for (n, wages_fen, ill) in [
        (1u32, 3_600_000, false),
        (2, 1_200_000, false),
        (3, 240_000, true),
    ] {
        let mut head = member(
            "户主",
            Relation::Head,
            &id_number(&format!("32040219800101{n:03}")),
        );
        head.annual_income.wages_fen = wages_fen;
        if ill {
            head.health = Health::GraveIllness;
            head.work_status = jiuzhu_proto::household::WorkStatus::Unemployed;
        }
        coordinator
            .create_household(&household(&format!("{n} 号"), lat, lon, vec![head]))
            .await
            .unwrap();
    }
    let (status, o) = get(&coordinator, "/stats/overview").await;
    assert_eq!(status, StatusCode::OK, "{o}");
    assert_eq!(o["households"], 3);
    assert_eq!(o["households_by_status"][0]["key"], "none");
    assert_eq!(o["households_by_status"][0]["count"], 3);
    assert_eq!(o["visit_coverage"], 0.0);
    // The poorest household raised findings on registration (pc = 200 < S = 1,010).
    let open: i64 = o["open_findings_by_type"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert!(open >= 1, "{o}");

    // MPI over the registry facts (six indicators of weight 1/6, k = 1/3): the third household
    // is deprived in income, grave illness and employment (3/6: poor); the second only in income
    // (1,000 yuan a month < S: 1/6, not poor); the first in nothing.
    let (status, m) = get(&coordinator, "/stats/mpi").await;
    assert_eq!(status, StatusCode::OK, "{m}");
    assert_eq!(m["households"], 3);
    let h = m["h"].as_f64().unwrap();
    let a = m["a"].as_f64().unwrap();
    assert!((h - 1.0 / 3.0).abs() < 1e-9, "{m}");
    assert!((a - 0.5).abs() < 1e-9, "{m}");
    assert!((m["mpi"].as_f64().unwrap() - h * a).abs() < 1e-12);
    let contributions: f64 = m["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["contribution"].as_f64().unwrap())
        .sum();
    assert!((contributions - 1.0).abs() < 1e-9, "{m}");
    // Configurable k and indicators; a bad indicator is refused.
    let (status, m) = get(&coordinator, "/stats/mpi?k=0.1").await;
    assert_eq!(status, StatusCode::OK);
    assert!((m["h"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9, "{m}");
    let (status, body) = get(
        &coordinator,
        "/stats/mpi?indicators=%5B%7B%22name%22%3A%22x%22%2C%22weight%22%3A1%2C%22deprived%22%3A%22%24%7Bnope%7D%22%7D%5D",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // Relative poverty needs accepted visits: none yet, so no median.
    let (status, r) = get(&coordinator, "/stats/relative-poverty?ratios=0.5").await;
    assert_eq!(status, StatusCode::OK, "{r}");
    assert_eq!(r["lines"][0]["households"], 0);
    assert!(r["lines"][0]["median_pc"].is_null());
    let (status, _) = get(&coordinator, "/stats/relative-poverty?ratios=abc").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Another street is outside the coordinator's scope; the district sees its streets.
    let district = app.login("district").await;
    let streets = district
        .org_units(&jiuzhu_mobile_api::client::OrgUnitQuery {
            kind: Some(OrgKind::Street),
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    for s in &streets {
        let (status, body) = get(&district, &format!("/stats/overview?org_unit_id={}", s.id)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = get(
            &coordinator,
            &format!("/stats/overview?org_unit_id={}", s.id),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "a street above the coordinator's community"
        );
    }
    let (_, whole) = get(&district, "/stats/overview").await;
    assert_eq!(whole["households"], 3);
    let worker = app.login("worker1").await;
    let (status, _) = get(&worker, "/stats/overview").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
both_backends!(overview_mpi_and_relative_poverty, statistics);
