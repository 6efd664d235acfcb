//! The checks run on every visit report. Each returns flags with the figures that raised them;
//! none rejects a visit, they route it to a reviewer.

use chrono::{DateTime, Utc};
use jiuzhu_proto::visit::{FlagCode, VisitFlag};
use serde_json::json;

use crate::config::VisitChecks;
use crate::domain::geo::LatLon;

pub use crate::domain::geo::distance_m;

/// What the checks look at.
pub struct Evidence<'a> {
    /// The fix in WGS-84.
    pub at: LatLon,
    pub accuracy_m: f64,
    pub mock: bool,
    pub fix_time: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The household's registered point, if it has one.
    pub household_at: Option<LatLon>,
    pub household_grid: &'a str,
    /// The grid the fix falls in, `(id, code)`.
    pub fix_grid: Option<(&'a str, &'a str)>,
    /// Where this worker reported other visits the same day: (household, point).
    pub same_day: &'a [(String, LatLon)],
    pub household_id: &'a str,
}

fn flag(code: FlagCode, message: String, evidence: serde_json::Value) -> VisitFlag {
    VisitFlag {
        code,
        message,
        evidence,
    }
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Every check that applies without photos.
pub fn check(e: &Evidence<'_>, t: &VisitChecks) -> Vec<VisitFlag> {
    let mut flags = Vec::new();
    if let Some(home) = e.household_at {
        let d = distance_m(e.at, home);
        let allowed = t.max_distance_m + e.accuracy_m;
        if d > allowed {
            flags.push(flag(
                FlagCode::FarFromHousehold,
                format!(
                    "走访位置距登记住址 {:.0} 米（允许 {:.0} 米） / visit {:.0} m from the registered address (allowed {:.0} m)",
                    d, allowed, d, allowed
                ),
                json!({"distance_m": round(d), "allowed_m": round(allowed), "accuracy_m": e.accuracy_m}),
            ));
        }
    }
    if e.fix_grid.map(|(id, _)| id) != Some(e.household_grid) {
        flags.push(flag(
            FlagCode::OutsideGrid,
            "走访位置不在该户所属网格内 / the visit position is outside the household's grid".into(),
            json!({"fix_grid": e.fix_grid.map(|(_, code)| code), "household_grid_id": e.household_grid}),
        ));
    }
    if e.accuracy_m > t.max_accuracy_m {
        flags.push(flag(
            FlagCode::PoorAccuracy,
            format!(
                "定位精度 {:.0} 米，低于要求（{:.0} 米） / fix accuracy {:.0} m is worse than {:.0} m",
                e.accuracy_m, t.max_accuracy_m, e.accuracy_m, t.max_accuracy_m
            ),
            json!({"accuracy_m": e.accuracy_m, "max_accuracy_m": t.max_accuracy_m}),
        ));
    }
    if e.mock {
        flags.push(flag(
            FlagCode::MockLocation,
            "手机报告使用了模拟定位 / the phone reported a mock location".into(),
            json!({}),
        ));
    }
    let on_site = (e.finished_at - e.started_at).num_seconds();
    if on_site < t.min_on_site_secs {
        flags.push(flag(
            FlagCode::TooShort,
            format!(
                "在户时间 {on_site} 秒，少于 {} 秒 / {on_site} s on site, less than {} s",
                t.min_on_site_secs, t.min_on_site_secs
            ),
            json!({"on_site_secs": on_site, "min_on_site_secs": t.min_on_site_secs}),
        ));
    }
    let slack = chrono::Duration::seconds(t.fix_time_slack_secs);
    if e.fix_time < e.started_at - slack || e.fix_time > e.finished_at + slack {
        flags.push(flag(
            FlagCode::FixTimeMismatch,
            "定位时间不在走访时段内 / the fix was taken outside the visit's time".into(),
            json!({"fix_time": e.fix_time, "started_at": e.started_at, "finished_at": e.finished_at}),
        ));
    }
    let mut others: Vec<&str> = e
        .same_day
        .iter()
        .filter(|(h, p)| h != e.household_id && distance_m(*p, e.at) <= t.same_spot_m)
        .map(|(h, _)| h.as_str())
        .collect();
    others.sort_unstable();
    others.dedup();
    if others.len() + 1 >= t.same_spot_households {
        flags.push(flag(
            FlagCode::RepeatedCoordinates,
            format!(
                "同一天在同一位置报告了 {} 户 / {} households reported from one spot in one day",
                others.len() + 1,
                others.len() + 1
            ),
            json!({"households": others.len() + 1, "radius_m": t.same_spot_m}),
        ));
    }
    flags
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).unwrap()
    }

    fn evidence<'a>(same_day: &'a [(String, LatLon)]) -> Evidence<'a> {
        let t0 = "2026-11-28T02:00:00Z".parse::<DateTime<Utc>>().unwrap();
        Evidence {
            at: at(31.7800, 119.9700),
            accuracy_m: 10.0,
            mock: false,
            fix_time: t0 + chrono::Duration::minutes(5),
            started_at: t0,
            finished_at: t0 + chrono::Duration::minutes(20),
            household_at: Some(at(31.7801, 119.9701)),
            household_grid: "g1",
            fix_grid: Some(("g1", "320402001001001")),
            same_day,
            household_id: "h1",
        }
    }

    fn codes(flags: &[VisitFlag]) -> Vec<FlagCode> {
        flags.iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_clean_visit_has_no_flags() {
        assert!(check(&evidence(&[]), &VisitChecks::default()).is_empty());
    }

    #[test]
    fn distance_is_widened_by_accuracy() {
        let mut e = evidence(&[]);
        // About 250 m north.
        e.household_at = Some(at(31.78225, 119.9700));
        let flags = check(&e, &VisitChecks::default());
        assert_eq!(codes(&flags), vec![FlagCode::FarFromHousehold]);
        let d = flags[0].evidence["distance_m"].as_f64().unwrap();
        assert!((245.0..255.0).contains(&d), "{d}");
        e.accuracy_m = 40.0;
        assert_eq!(
            codes(&check(&e, &VisitChecks::default())),
            vec![FlagCode::FarFromHousehold]
        );
        e.accuracy_m = 60.0;
        assert_eq!(check(&e, &VisitChecks::default()), vec![]);
    }

    #[test]
    fn each_check_fires_alone() {
        let t = VisitChecks::default();
        let mut e = evidence(&[]);
        e.fix_grid = Some(("g2", "320402001001002"));
        assert_eq!(codes(&check(&e, &t)), vec![FlagCode::OutsideGrid]);
        let mut e = evidence(&[]);
        e.fix_grid = None;
        assert_eq!(codes(&check(&e, &t)), vec![FlagCode::OutsideGrid]);
        let mut e = evidence(&[]);
        e.accuracy_m = 150.0;
        assert_eq!(codes(&check(&e, &t)), vec![FlagCode::PoorAccuracy]);
        let mut e = evidence(&[]);
        e.mock = true;
        assert_eq!(codes(&check(&e, &t)), vec![FlagCode::MockLocation]);
        let mut e = evidence(&[]);
        e.finished_at = e.started_at + chrono::Duration::seconds(299);
        assert_eq!(codes(&check(&e, &t)), vec![FlagCode::TooShort]);
        let mut e = evidence(&[]);
        e.fix_time = e.finished_at + chrono::Duration::minutes(11);
        assert_eq!(codes(&check(&e, &t)), vec![FlagCode::FixTimeMismatch]);
    }

    #[test]
    fn one_spot_for_many_households() {
        let t = VisitChecks::default();
        let near = at(31.78005, 119.97005);
        let far = at(31.79, 119.98);
        let day = vec![
            ("h2".to_owned(), near),
            ("h3".to_owned(), far),
            ("h1".to_owned(), near),
        ];
        assert!(check(&evidence(&day), &t).is_empty());
        let day = vec![("h2".to_owned(), near), ("h3".to_owned(), near)];
        let flags = check(&evidence(&day), &t);
        assert_eq!(codes(&flags), vec![FlagCode::RepeatedCoordinates]);
        assert_eq!(flags[0].evidence["households"], 3);
    }
}
