//! The demo city's synthetic households: registered through the real registry, placed in the
//! grid their location names, plausible in aggregate, masked on output, idempotent and the same
//! in every database.

use std::collections::BTreeMap;
use std::time::Instant;

use jiuzhu_mobile_api::Client;
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::household::{AssistanceStatus, Household, HouseholdSummary};
use jiuzhu_proto::page::Page;
use jiuzhu_server::db::repo::households as repo;
use jiuzhu_server::demo_households::{self, age_on, external_id, reference_date};
use jiuzhu_server::error::ApiError;
use jiuzhu_tests::{both_backends, spawn_app, Backend, TestApp};
use reqwest::{Method, StatusCode};

/// Every household the admin sees, page by page.
async fn all_households(admin: &Client) -> Vec<HouseholdSummary> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut req = admin
            .request(Method::GET, "/households")
            .query(&[("limit", "500")]);
        if let Some(a) = &after {
            req = req.query(&[("after", a)]);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let page: Page<HouseholdSummary> = res.json().await.unwrap();
        out.extend(page.items);
        match page.next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

/// The longest run of ASCII digits: a full ID number would make one of 17 or more (grid codes
/// have 15).
fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

fn is_masked_id(s: &str) -> bool {
    s.len() == 18
        && s[..6].bytes().all(|b| b.is_ascii_digit())
        && &s[6..14] == "********"
        && s[14..17].bytes().all(|b| b.is_ascii_digit())
        && (s.as_bytes()[17].is_ascii_digit() || s.ends_with('X'))
}

/// Per member of the first `n` demo households, from the database: (external id, position,
/// masked ID number, name, age on the reference date, health, disability level).
type MemberFacts = (String, i32, String, String, i32, String, Option<i32>);

async fn member_facts(app: &TestApp, n: usize) -> Vec<MemberFacts> {
    app.state
        .db(move |conn| {
            let on = reference_date(jiuzhu_server::domain::time::today());
            let mut out = Vec::new();
            for i in 0..n {
                let ext = external_id(i);
                let Some(h) = repo::find_by_external_id(conn, &ext)? else {
                    return Err(ApiError::not_found());
                };
                for m in repo::members_of(conn, &h.id)? {
                    out.push((
                        ext.clone(),
                        m.position,
                        m.id_masked,
                        m.name,
                        age_on(m.birth_date, on),
                        m.health,
                        m.disability_level,
                    ));
                }
            }
            Ok(out)
        })
        .await
        .unwrap()
}

async fn a_plausible_city_in_the_right_grids(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let started = Instant::now();
    let report = app.load_demo_with_households(2_000).await;
    eprintln!(
        "{backend:?}: demo city with 2,000 households loaded in {:.2?}",
        started.elapsed()
    );
    assert_eq!(report.households_created, 2_000);
    assert_eq!(report.households_existing, 0);
    assert_eq!(report.households_conflicting, 0);
    // PostgreSQL plans the full sync's reads from statistics the load gathered.
    for &table in jiuzhu_server::db::HOUSEHOLD_TABLES {
        assert_ne!(
            app.analyzed(table).await,
            Some(false),
            "{table} not analyzed"
        );
    }

    // All of them, through the API, with the external ids the generator promises.
    let admin = app.login("admin").await;
    let households = all_households(&admin).await;
    assert_eq!(households.len(), 2_000);
    let mut ids: Vec<String> = households
        .iter()
        .map(|h| h.external_id.clone().unwrap())
        .collect();
    ids.sort();
    let expected: Vec<String> = (0..2_000).map(external_id).collect();
    assert_eq!(ids, expected);
    let dibao = households
        .iter()
        .filter(|h| h.status == AssistanceStatus::Dibao)
        .count() as f64
        / 20.0;
    assert!((0.5..=4.0).contains(&dibao), "dibao {dibao} %");
    let grids: std::collections::HashSet<_> = households.iter().map(|h| h.grid_id).collect();
    assert!(
        grids.len() > 150,
        "only {} grids have households",
        grids.len()
    );

    // A sample, read in full: the lookup puts each back in its grid, and numbers are masked.
    for summary in households.iter().step_by(40) {
        let res = admin
            .request(Method::GET, &format!("/households/{}", summary.id))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        assert!(longest_digit_run(&text) < 17, "a full number: {text}");
        let h: Household = serde_json::from_str(&text).unwrap();
        let loc = h.location.unwrap();
        let found = admin.locate(loc.lat, loc.lon, Crs::Wgs84).await.unwrap();
        assert_eq!(found.grid.map(|g| g.id), Some(h.grid_id));
        assert!(!h.grid_overridden);
        assert_eq!(h.members.len() as i64, summary.member_count);
        for m in &h.members {
            assert!(is_masked_id(&m.id_number_masked), "{}", m.id_number_masked);
            if let Some(phone) = &m.phone_masked {
                assert_eq!(phone.len(), 11);
                assert_eq!(&phone[3..7], "****");
            }
        }
        if h.status != AssistanceStatus::None {
            assert_eq!(h.status_history.len(), 1);
            assert_eq!(h.status_history[0].status, h.status);
        }
    }
    let listing = admin
        .request(Method::GET, "/households")
        .query(&[("limit", "500")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(longest_digit_run(&listing) < 17);

    // The population in aggregate, from the stored rows.
    let facts = member_facts(&app, 2_000).await;
    let people = facts.len() as f64;
    let mean_size = people / 2_000.0;
    let over_60 = facts.iter().filter(|f| f.4 >= 60).count() as f64 / people * 100.0;
    let disabled = facts.iter().filter(|f| f.6.is_some()).count();
    let grave = facts.iter().filter(|f| f.5 == "grave_illness").count();
    eprintln!(
        "{backend:?}: mean size {mean_size:.2}, over 60 {over_60:.1} %, dibao {dibao:.2} %, {disabled} disabled, {grave} gravely ill"
    );
    assert!((2.0..=3.0).contains(&mean_size), "mean size {mean_size}");
    assert!((15.0..=40.0).contains(&over_60), "over 60: {over_60} %");
    assert!(disabled > 0 && grave > 0);
    assert!(facts.iter().all(|f| is_masked_id(&f.2)));
}
both_backends!(plausible_city, a_plausible_city_in_the_right_grids);

async fn idempotent_and_the_same_in_every_database(backend: Backend) {
    let Some(first) = spawn_app(backend).await else {
        return;
    };
    let Some(second) = spawn_app(backend).await else {
        return;
    };
    let report = first.load_demo_with_households(300).await;
    assert_eq!(report.households_created, 300);
    // Again: nothing new.
    let again = first.load_demo_with_households(300).await;
    assert_eq!(again.households_created, 0);
    assert_eq!(again.households_existing, 300);
    assert_eq!(again.units_created, 0);
    let admin = first.login("admin").await;
    assert_eq!(all_households(&admin).await.len(), 300);
    let before = member_facts(&first, 300).await;
    // Growing the load adds only the new ones and leaves the first 300 as they were.
    let grown = first.load_demo_with_households(500).await;
    assert_eq!(grown.households_created, 200);
    assert_eq!(grown.households_existing, 300);
    assert_eq!(all_households(&admin).await.len(), 500);
    assert_eq!(member_facts(&first, 300).await, before);

    // Another database gets the same households: ids, masked numbers, names, ages.
    let report = second.load_demo_with_households(500).await;
    assert_eq!(report.households_created, 500);
    let a = member_facts(&first, 500).await;
    let b = member_facts(&second, 500).await;
    assert_eq!(a.len(), b.len());
    assert_eq!(a, b);
    // Addresses and statuses too.
    let summaries = |list: Vec<HouseholdSummary>| -> BTreeMap<String, (String, AssistanceStatus)> {
        list.into_iter()
            .map(|h| (h.external_id.unwrap(), (h.address, h.status)))
            .collect()
    };
    let admin2 = second.login("admin").await;
    assert_eq!(
        summaries(all_households(&admin).await),
        summaries(all_households(&admin2).await)
    );
    assert_eq!(demo_households::FULL_COUNT, 20_000);
}
both_backends!(
    idempotent_deterministic,
    idempotent_and_the_same_in_every_database
);

/// The whole `--demo` city: `cargo test -p jiuzhu-tests --test e2e full_city -- --ignored
/// --nocapture` prints how long 20,000 households take on each backend.
async fn the_full_city_loads(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo_with_households(0).await;
    let started = Instant::now();
    let report = app
        .load_demo_with_households(demo_households::FULL_COUNT)
        .await;
    eprintln!(
        "{backend:?}: {} demo households loaded in {:.2?}",
        report.households_created,
        started.elapsed()
    );
    assert_eq!(report.households_created, demo_households::FULL_COUNT);
    let admin = app.login("admin").await;
    assert_eq!(
        all_households(&admin).await.len(),
        demo_households::FULL_COUNT
    );
}

mod full_city {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "slow in a debug build: loads all 20,000 demo households"]
    async fn sqlite() {
        super::the_full_city_loads(jiuzhu_tests::Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "slow in a debug build: loads all 20,000 demo households"]
    async fn postgres() {
        super::the_full_city_loads(jiuzhu_tests::Backend::Postgres).await
    }
}
