//! The generator over a lattice of square grids: deterministic, valid, placed in its grids,
//! with plausible families and shares.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use geo::{polygon, MultiPolygon};
use jiuzhu_proto::household::{Health, Relation, StudentStatus, WorkStatus};

use super::{age_on, external_id, DemoHousehold, Generator, ASSUMED_DIBAO_LINE_FEN, FULL_COUNT};
use crate::domain::geo::GridKey;
use crate::domain::geo::{GridEntry, GridLookup, LatLon};
use crate::registry::validate;

/// A 12 × 12 lattice of square grids with demo-style codes and names.
fn lookup() -> GridLookup<GridKey> {
    let mut grids = Vec::new();
    for i in 0..12u32 {
        for j in 0..12u32 {
            let (x, y) = (119.9 + f64::from(i) * 0.01, 31.7 + f64::from(j) * 0.01);
            let n = i * 12 + j + 1;
            grids.push(GridEntry {
                key: GridKey {
                    id: format!("grid-{n}"),
                    name: format!("{}社区第{n}网格", ["红梅新村", "雕庄", "茶山"][n as usize % 3]),
                },
                code: format!("320402001{:03}{:03}", i + 1, j + 1),
                boundary: MultiPolygon::new(vec![polygon![
                    (x: x, y: y), (x: x + 0.01, y: y), (x: x + 0.01, y: y + 0.01), (x: x, y: y + 0.01),
                ]]),
            });
        }
    }
    GridLookup::new(grids)
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
}

fn generate(lookup: &GridLookup<GridKey>, n: usize) -> Vec<DemoHousehold> {
    let mut g = Generator::new(lookup, "320402", as_of());
    (0..n).map(|i| g.household(i).unwrap()).collect()
}

#[test]
fn the_same_index_gives_the_same_household_whatever_the_total() {
    let lookup = lookup();
    let short = generate(&lookup, 50);
    let long = generate(&lookup, 300);
    for (a, b) in short.iter().zip(&long) {
        assert_eq!(
            serde_json::to_string(&a.input).unwrap(),
            serde_json::to_string(&b.input).unwrap()
        );
        assert_eq!(a.grid_id, b.grid_id);
    }
}

#[test]
fn every_household_validates_and_lies_in_its_grid() {
    let lookup = lookup();
    let mut numbers = HashSet::new();
    for (i, h) in generate(&lookup, 3_000).into_iter().enumerate() {
        let loc = h.input.location.unwrap();
        let found = lookup
            .locate(LatLon::new(loc.lat, loc.lon).unwrap())
            .unwrap();
        assert_eq!(found.key.id, h.grid_id);
        assert_eq!(
            h.input.external_id.as_deref(),
            Some(external_id(i).as_str())
        );
        for m in &h.input.members {
            assert!(
                numbers.insert(m.id_number.clone()),
                "a number was issued twice"
            );
            let chars = m.name.chars().count();
            assert!((2..=3).contains(&chars), "{}", m.name);
        }
        let valid = validate::household(h.input.clone()).unwrap();
        assert!(valid.warnings.is_empty(), "{:?}", valid.warnings);
        for m in &valid.members {
            let age = age_on(m.birth_date, as_of());
            assert!((0..=104).contains(&age));
        }
    }
    // The first households visit every grid once.
    let first: HashSet<String> = generate(&lookup, 144)
        .into_iter()
        .map(|h| h.grid_id)
        .collect();
    assert_eq!(first.len(), 144);
}

#[test]
fn relations_and_ages_agree() {
    let lookup = lookup();
    for h in generate(&lookup, 3_000) {
        let valid = validate::household(h.input).unwrap();
        let age = |m: &crate::registry::ValidMember| age_on(m.birth_date, as_of());
        let head = valid
            .members
            .iter()
            .find(|m| m.input.relation == Relation::Head)
            .unwrap();
        for m in &valid.members {
            match m.input.relation {
                Relation::Spouse => {
                    assert!((age(m) - age(head)).abs() <= 8);
                    assert_ne!(m.gender, head.gender);
                }
                Relation::Child => assert!(age(m) < age(head) - 15 || age(head) < 40),
                Relation::Parent => assert!(age(m) > age(head) + 15),
                Relation::Grandchild => assert!(age(m) < age(head) - 30),
                _ => {}
            }
            let student = m.input.student_status;
            match age(m) {
                6..=11 => assert_eq!(student, StudentStatus::Primary),
                12..=14 => assert_eq!(student, StudentStatus::JuniorSecondary),
                60.. => assert_ne!(m.input.work_status, WorkStatus::Unemployed),
                _ => {}
            }
        }
    }
}

/// The measured shares, printed with `--nocapture`; the bounds are the brief's.
#[test]
fn distributions_are_plausible() {
    let lookup = lookup();
    let households = generate(&lookup, FULL_COUNT);
    let n = households.len() as f64;
    let (mut people, mut over_60, mut chronic_60, mut grave, mut disabled, mut severe) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let (mut under_line, mut under_edge, mut zero_income_people, mut phones) = (0.0, 0.0, 0.0, 0.0);
    let (mut failed_any, mut local, mut migrants) = (0.0, 0.0, 0.0);
    let mut sizes = [0usize; 7];
    let mut statuses: HashMap<&str, f64> = HashMap::new();
    let mut tags: HashMap<String, f64> = HashMap::new();
    let mut dibao_under_line = 0.0;
    for h in &households {
        let size = h.input.members.len();
        sizes[size] += 1;
        people += size as f64;
        let mut income = 0i64;
        for m in &h.input.members {
            let age = age_on(m.birth_date.unwrap(), as_of());
            if age >= 60 {
                over_60 += 1.0;
                if m.health == Health::Chronic {
                    chronic_60 += 1.0;
                }
            }
            grave += f64::from(u8::from(m.health == Health::GraveIllness));
            disabled += f64::from(u8::from(m.disability_type.is_some()));
            severe += f64::from(u8::from(m.disability_level.is_some_and(|l| l <= 2)));
            failed_any += f64::from(u8::from(m.daily_living.failed() > 0));
            zero_income_people += f64::from(u8::from(m.annual_income.total() == Some(0)));
            phones += f64::from(u8::from(m.phone.is_some()));
            income += m.annual_income.total().unwrap();
            if m.id_number.starts_with("320402") {
                local += 1.0;
            } else if !m.id_number.starts_with("32") {
                migrants += 1.0;
            }
        }
        let pc = income as f64 / size as f64 / 12.0;
        let status = h.input.status.unwrap().as_str();
        *statuses.entry(status).or_default() += 1.0;
        if pc < ASSUMED_DIBAO_LINE_FEN as f64 {
            under_line += 1.0;
            if status == "dibao" {
                dibao_under_line += 1.0;
            }
        } else if pc < 1.5 * ASSUMED_DIBAO_LINE_FEN as f64 {
            under_edge += 1.0;
        }
        for t in &h.input.tags {
            *tags.entry(t.clone()).or_default() += 1.0;
        }
    }
    let share = |x: f64| x / n * 100.0;
    let pshare = |x: f64| x / people * 100.0;
    eprintln!(
        "households {n}, people {people}, mean size {:.2}",
        people / n
    );
    eprintln!("sizes 1–6: {:?}", &sizes[1..]);
    eprintln!(
        "over 60 {:.1} %, chronic among them {:.1} %, grave {:.2} %, disabled {:.2} % (level 1–2 {:.2} %), any daily-living item failed {:.2} %, zero income {:.1} %, phone {:.1} %",
        pshare(over_60),
        chronic_60 / over_60 * 100.0,
        pshare(grave),
        pshare(disabled),
        pshare(severe),
        pshare(failed_any),
        pshare(zero_income_people),
        pshare(phones),
    );
    eprintln!(
        "ID numbers from 天宁 {:.1} %, from other provinces {:.1} %",
        pshare(local),
        pshare(migrants)
    );
    eprintln!(
        "households under the line {:.2} %, between 1 and 1.5 lines {:.2} %, dibao under the line {:.2} %",
        share(under_line),
        share(under_edge),
        share(dibao_under_line)
    );
    let mut st: Vec<_> = statuses.iter().map(|(k, v)| (*k, share(*v))).collect();
    st.sort_by(|a, b| a.0.cmp(b.0));
    eprintln!("statuses {st:.2?}");
    let mut tg: Vec<_> = tags.iter().map(|(k, v)| (k.clone(), share(*v))).collect();
    tg.sort_by(|a, b| a.0.cmp(&b.0));
    eprintln!("tags {tg:.2?}");
    assert!((2.3..=2.8).contains(&(people / n)));
    assert!((20.0..=30.0).contains(&pshare(over_60)));
    assert!((33.0..=47.0).contains(&(chronic_60 / over_60 * 100.0)));
    assert!((1.5..=3.5).contains(&pshare(grave)));
    assert!((4.5..=8.0).contains(&pshare(disabled)));
    assert!((2.0..=4.0).contains(&share(under_line)));
    let dibao = share(statuses.get("dibao").copied().unwrap_or(0.0));
    let tekun = share(statuses.get("tekun").copied().unwrap_or(0.0));
    let edge = share(statuses.get("edge").copied().unwrap_or(0.0));
    assert!((1.0..=2.0).contains(&dibao), "dibao {dibao}");
    assert!((0.15..=0.5).contains(&tekun), "tekun {tekun}");
    assert!((1.0..=2.0).contains(&edge), "edge {edge}");
    assert!((65.0..=90.0).contains(&pshare(local)));
}
