//! Work and income: where a household stands (poor, at the edge, comfortable), each member's
//! occupation and income by source, and the household's total fitted to its stratum.

use jiuzhu_proto::household::{Health, Income, Relation, StudentStatus, WorkStatus};

use super::families::{Person, Shape};
use super::rng::Rng;
use super::ASSUMED_DIBAO_LINE_FEN;

/// Where a household stands; decided before incomes so that hardship, work and illness go
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stratum {
    /// Per-capita income under the dibao line.
    Poor,
    /// Between the line and 1.5 times it.
    Edge,
    Comfortable,
}

/// Hardship follows living alone in old age, severe disability, grave illness and single
/// parenthood.
pub(super) fn stratum(rng: &mut Rng, shape: Shape, people: &[Person]) -> Stratum {
    let mut v = 0.0;
    if shape == Shape::SoloElder {
        v += 1.0;
    }
    if people.len() > 1 && people.iter().all(|p| p.age >= 60) {
        v += 0.4;
    }
    if matches!(shape, Shape::SingleParent { .. }) {
        v += 1.0;
    }
    if people.iter().any(Person::severely_disabled) {
        v += 1.5;
    } else if people.iter().any(|p| p.disability.is_some()) {
        v += 0.4;
    }
    if people.iter().any(|p| p.health == Health::GraveIllness) {
        v += 1.5;
    }
    let poor = 0.017 + 0.029 * v;
    let edge = 0.02 + 0.013 * v;
    let x = rng.unit();
    if x < poor {
        Stratum::Poor
    } else if x < poor + edge {
        Stratum::Edge
    } else {
        Stratum::Comfortable
    }
}

pub(super) fn occupation(
    rng: &mut Rng,
    p: &Person,
    stratum: Stratum,
) -> (WorkStatus, StudentStatus) {
    use StudentStatus as S;
    use WorkStatus as W;
    let away = p.relation != Relation::Head;
    let school = match p.age {
        ..=2 => Some(S::NotStudent),
        3..=5 => Some(if rng.chance(0.92) {
            S::Preschool
        } else {
            S::NotStudent
        }),
        6..=11 => Some(S::Primary),
        12..=14 => Some(S::JuniorSecondary),
        15..=17 => Some(*rng.weighted(&[
            (S::SeniorSecondary, 80),
            (S::Vocational, 17),
            (S::NotStudent, 3),
        ])),
        // Students away at college stay in their parents' household; none heads one.
        18..=19 if away && rng.chance(0.12) => Some(S::Vocational),
        18..=21 if away && rng.chance(0.55) => Some(S::Tertiary),
        22 if away && rng.chance(0.3) => Some(S::Tertiary),
        _ => None,
    };
    // Full-time pupils and students are outside the labour force.
    if let Some(student) = school {
        if p.severely_disabled() && p.age >= 16 && student == S::NotStudent {
            return (W::UnableToWork, student);
        }
        return (W::NotWorkingAge, student);
    }
    if p.age >= 60 {
        let still_working = p.age < 70 && stratum == Stratum::Comfortable && rng.chance(0.07);
        return (
            if still_working {
                W::Employed
            } else {
                W::Retired
            },
            S::NotStudent,
        );
    }
    if p.severely_disabled() && rng.chance(0.85) {
        return (W::UnableToWork, S::NotStudent);
    }
    if p.health == Health::GraveIllness && rng.chance(0.6) {
        return (W::UnableToWork, S::NotStudent);
    }
    // Women of many trades retire at 50 or 55, men at 60 (a few earlier).
    let retired = match (p.male, p.age) {
        (false, 50..=54) => rng.chance(0.35),
        (false, 55..=59) => rng.chance(0.8),
        (true, 55..=59) => rng.chance(0.12),
        _ => false,
    };
    if retired {
        return (W::Retired, S::NotStudent);
    }
    let work = match stratum {
        Stratum::Comfortable => *rng.weighted(&[
            (W::Employed, 80),
            (W::SelfEmployed, 12),
            (W::Unemployed, 6),
            (W::Farming, 2),
        ]),
        Stratum::Edge => *rng.weighted(&[
            (W::Employed, 58),
            (W::SelfEmployed, 10),
            (W::Unemployed, 29),
            (W::Farming, 3),
        ]),
        Stratum::Poor => *rng.weighted(&[
            (W::Employed, 35),
            (W::SelfEmployed, 7),
            (W::Unemployed, 45),
            (W::UnableToWork, 10),
            (W::Farming, 3),
        ]),
    };
    (work, S::NotStudent)
}

/// Annual income by source. Wages are log-normal around 72,000 yuan a year (常州's urban
/// per-capita disposable income is near 75,000), lower early and late in a career; pensions are
/// the enterprise (≈ 3,400 a month), public-sector (≈ 6,500) or residents' basic (≈ 350–750)
/// kind.
pub(super) fn income(rng: &mut Rng, p: &Person, stratum: Stratum) -> Income {
    let mut income = Income::default();
    let career = match p.age {
        ..=24 => 0.65,
        25..=34 => 0.95,
        35..=49 => 1.05,
        _ => 0.9,
    };
    let (wage, business) = match stratum {
        Stratum::Comfortable => (72_000.0, 85_000.0),
        Stratum::Edge => (36_000.0, 35_000.0),
        Stratum::Poor => (22_000.0, 18_000.0),
    };
    match p.work {
        WorkStatus::Employed => income.wages_fen = yuan(rng.log_normal(wage * career, 0.45)),
        WorkStatus::SelfEmployed => {
            income.business_fen = yuan(rng.log_normal(business * career, 0.7));
        }
        WorkStatus::Farming => income.farming_fen = yuan(rng.log_normal(12_000.0, 0.4)),
        WorkStatus::Unemployed => {
            let insured = if stratum == Stratum::Comfortable {
                0.35
            } else {
                0.15
            };
            if rng.chance(insured) {
                // Unemployment insurance, about 1,950 yuan a month in 常州, for part of the year.
                income.other_fen = yuan(1_950.0 * rng.range(3, 12) as f64);
            }
        }
        WorkStatus::Retired => {
            let (enterprise, public) = match stratum {
                Stratum::Comfortable => (0.78, 0.14),
                Stratum::Edge => (0.45, 0.0),
                Stratum::Poor => (0.15, 0.0),
            };
            let x = rng.unit();
            let monthly = if x < public {
                rng.log_normal(6_500.0, 0.22)
            } else if x < public + enterprise {
                rng.log_normal(3_400.0, 0.28)
            } else {
                // Never had an urban job: the residents' basic pension, and children help.
                let support = if stratum == Stratum::Comfortable {
                    rng.chance(0.6).then(|| rng.range(6_000, 24_000))
                } else {
                    rng.chance(0.3).then(|| rng.range(1_000, 6_000))
                };
                income.support_fen = yuan(support.unwrap_or(0) as f64);
                rng.range(350, 750) as f64
            };
            income.pension_fen = yuan(monthly * 12.0);
        }
        WorkStatus::UnableToWork => {
            if p.disability.is_some() {
                // 困难残疾人生活补贴 and 重度残疾人护理补贴.
                income.other_fen = yuan(rng.range(1_200, 3_600) as f64);
            }
        }
        WorkStatus::NotWorkingAge => {}
    }
    income
}

fn total(people: &[Person]) -> i64 {
    people
        .iter()
        .map(|p| p.income.total().unwrap_or(i64::MAX))
        .fold(0i64, i64::saturating_add)
}

fn scale(income: &mut Income, factor: f64) {
    for v in [
        &mut income.wages_fen,
        &mut income.farming_fen,
        &mut income.business_fen,
        &mut income.rent_fen,
        &mut income.pension_fen,
        &mut income.support_fen,
        &mut income.other_fen,
    ] {
        *v = (*v as f64 * factor).floor() as i64;
    }
}

/// Puts per-capita income where the stratum says: a poor household under the line, an edge
/// household between 1 and 1.5 times it, any other at 1.5 times or more. Cutting keeps every
/// source's share; raising raises earnings (wages, business, farming), or, where nobody in the
/// household earns, the help of relatives living elsewhere.
pub(super) fn fit_income(rng: &mut Rng, people: &mut [Person], stratum: Stratum) {
    let line = ASSUMED_DIBAO_LINE_FEN as f64 * 12.0 * people.len() as f64;
    let (low, high) = match stratum {
        Stratum::Poor => (0.0, 0.1 + 0.85 * rng.unit()),
        Stratum::Edge => {
            let t = 1.02 + 0.46 * rng.unit();
            (t, t)
        }
        Stratum::Comfortable => (1.5 + 0.3 * rng.unit(), f64::INFINITY),
    };
    let now = total(people) as f64;
    if now > line * high {
        let factor = line * high / now;
        for p in people.iter_mut() {
            scale(&mut p.income, factor);
        }
    } else if now < line * low {
        let gap = line * low - now;
        let earned: f64 = people
            .iter()
            .map(|p| (p.income.wages_fen + p.income.business_fen + p.income.farming_fen) as f64)
            .sum();
        if earned > 0.0 {
            let factor = (earned + gap) / earned;
            for p in people.iter_mut() {
                for v in [
                    &mut p.income.wages_fen,
                    &mut p.income.business_fen,
                    &mut p.income.farming_fen,
                ] {
                    *v = (*v as f64 * factor).ceil() as i64;
                }
            }
        } else {
            people[0].income.support_fen += gap.ceil() as i64;
        }
    }
}

/// Yuan to fen, never negative.
pub(super) fn yuan(amount: f64) -> i64 {
    (amount * 100.0).round().max(0.0) as i64
}
