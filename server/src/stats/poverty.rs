//! The relative poverty line (median per-capita income × a ratio, urban and rural apart) and the
//! Alkire–Foster multidimensional poverty index.

use jiuzhu_proto::rule::RuleDefinition;
use jiuzhu_proto::stats::{IndicatorResult, Mpi, PovertyLine, RelativePoverty};
use jiuzhu_proto::OrgUnitId;
use serde_json::Value as Json;

use super::household_scan::scan;
use crate::config::MpiIndicator;
use crate::crypto::FieldCipher;
use crate::db::AnyConnection;
use crate::error::{ApiError, ApiResult};
use crate::rules::facts::is_urban;
use crate::rules::{self, RuleRun};
use crate::scope::Scope;

/// The median of a non-empty list (sorted here).
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

pub fn relative_poverty(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    unit: OrgUnitId,
    scope: &Scope,
    ratios: &[f64],
) -> ApiResult<RelativePoverty> {
    let (mut urban, mut rural) = (Vec::new(), Vec::new());
    scan(conn, cipher, scope, |h, facts, has_visit| {
        let Some(pc) = facts.get("pc").and_then(Json::as_f64) else {
            return;
        };
        if has_visit {
            if is_urban(&h.org_path) {
                urban.push(pc);
            } else {
                rural.push(pc);
            }
        }
    })?;
    let mut lines = Vec::new();
    for (area, values) in [("urban", &mut urban), ("rural", &mut rural)] {
        let med = median(values);
        for &ratio in ratios {
            let line = med.map(|m| (m * ratio * 100.0).round() / 100.0);
            let below = line.map_or(0, |l| values.iter().filter(|v| **v < l).count()) as i64;
            let n = values.len() as i64;
            lines.push(PovertyLine {
                area: area.into(),
                households: n,
                median_pc: med,
                ratio,
                line,
                below,
                share_below: if n > 0 { below as f64 / n as f64 } else { 0.0 },
            });
        }
    }
    Ok(RelativePoverty {
        org_unit_id: unit,
        lines,
    })
}

/// Compiles the indicators as rules; a bad expression in the configuration is a 500 with its
/// cause logged, a bad one in the request a 422.
pub fn compile_indicators(
    list: &[MpiIndicator],
) -> ApiResult<Vec<(String, f64, rules::CompiledRule)>> {
    let total: f64 = list.iter().map(|i| i.weight).sum();
    let valid = |w: f64| w.is_finite() && w >= 0.0;
    if list.is_empty()
        || !total.is_finite()
        || total <= 0.0
        || !list.iter().all(|i| valid(i.weight))
    {
        return Err(ApiError::invalid(
            "indicators",
            "invalid",
            "指标权重须为非负且总和为正",
            "indicator weights must be non-negative with a positive sum",
        ));
    }
    list.iter()
        .map(|i| {
            let definition = RuleDefinition {
                id: format!("mpi_{}", i.name),
                title: jiuzhu_proto::form::Label::new(&i.name, &i.name),
                categories: vec![],
                values: vec![],
                when: i.deprived.clone(),
                enabled: true,
            };
            let rule = rules::compile(definition, 1).map_err(ApiError::validation)?;
            Ok((i.name.clone(), i.weight / total, rule))
        })
        .collect()
}

pub fn mpi(
    conn: &mut AnyConnection,
    cipher: &FieldCipher,
    unit: OrgUnitId,
    scope: &Scope,
    k: f64,
    indicators: &[(String, f64, rules::CompiledRule)],
) -> ApiResult<Mpi> {
    let today = crate::domain::time::today();
    let mut n = 0i64;
    let mut poor = 0i64;
    let mut poor_scores = 0.0;
    let mut deprived = vec![0i64; indicators.len()];
    let mut censored = vec![0i64; indicators.len()];
    scan(conn, cipher, scope, |_, facts, _| {
        n += 1;
        // A deprivation that cannot be judged (a missing standard) counts as not deprived.
        let hits: Vec<bool> = indicators
            .iter()
            .map(|(_, _, rule)| matches!(rule.run(facts, today), RuleRun::Fired { .. }))
            .collect();
        let score: f64 = hits
            .iter()
            .zip(indicators)
            .filter(|(hit, _)| **hit)
            .map(|(_, (_, w, _))| w)
            .sum();
        let is_poor = score >= k - 1e-9;
        if is_poor {
            poor += 1;
            poor_scores += score;
        }
        for (j, hit) in hits.iter().enumerate() {
            if *hit {
                deprived[j] += 1;
                if is_poor {
                    censored[j] += 1;
                }
            }
        }
    })?;
    let share = |x: i64| if n > 0 { x as f64 / n as f64 } else { 0.0 };
    let h = share(poor);
    let a = if poor > 0 {
        poor_scores / poor as f64
    } else {
        0.0
    };
    let mpi = h * a;
    Ok(Mpi {
        org_unit_id: unit,
        households: n,
        k,
        h,
        a,
        mpi,
        indicators: indicators
            .iter()
            .enumerate()
            .map(|(j, (name, w, _))| IndicatorResult {
                name: name.clone(),
                weight: *w,
                deprived_share: share(deprived[j]),
                censored_share: share(censored[j]),
                contribution: if mpi > 0.0 {
                    w * share(censored[j]) / mpi
                } else {
                    0.0
                },
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_lists() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn the_default_indicators_compile() {
        let compiled = compile_indicators(&crate::config::default_mpi_indicators());
        let Ok(list) = compiled else {
            panic!("the default indicators must compile");
        };
        let total: f64 = list.iter().map(|(_, w, _)| w).sum();
        assert!((total - 1.0).abs() < 1e-9);
    }
}
