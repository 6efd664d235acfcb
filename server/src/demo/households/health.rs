//! Health, disability and the six activities of daily living, by age.

use jiuzhu_proto::household::{DailyLiving, DisabilityType, Health};

use super::families::Person;
use super::rng::Rng;

/// Chronic illness rises with age (≈ 40 % over 60); grave illness (cancer, uraemia, …) ≈ 2.5 %.
pub(super) fn health(rng: &mut Rng, age: i32) -> Health {
    let (grave, chronic) = match age {
        ..=17 => (0.004, 0.02),
        18..=39 => (0.008, 0.06),
        40..=59 => (0.025, 0.20),
        60..=69 => (0.045, 0.34),
        70..=79 => (0.06, 0.42),
        _ => (0.07, 0.48),
    };
    let x = rng.unit();
    if x < grave {
        Health::GraveIllness
    } else if x < grave + chronic {
        Health::Chronic
    } else {
        Health::Healthy
    }
}

/// ≈ 6 % of people (the 2006 national sample survey found 6.3 %), far more among the old; level 1
/// is the most severe and the rarest.
pub(super) fn disability(rng: &mut Rng, age: i32) -> Option<(DisabilityType, u8)> {
    let p = match age {
        ..=17 => 0.012,
        18..=44 => 0.03,
        45..=59 => 0.06,
        60..=74 => 0.10,
        _ => 0.18,
    };
    if !rng.chance(p) {
        return None;
    }
    use DisabilityType as D;
    let kind = match age {
        ..=17 => *rng.weighted(&[
            (D::Intellectual, 35),
            (D::Physical, 20),
            (D::Multiple, 15),
            (D::Hearing, 10),
            (D::Speech, 10),
            (D::Visual, 5),
            (D::Mental, 5),
        ]),
        18..=59 => *rng.weighted(&[
            (D::Physical, 35),
            (D::Mental, 15),
            (D::Multiple, 13),
            (D::Visual, 12),
            (D::Hearing, 12),
            (D::Intellectual, 10),
            (D::Speech, 3),
        ]),
        _ => *rng.weighted(&[
            (D::Physical, 30),
            (D::Hearing, 28),
            (D::Visual, 20),
            (D::Multiple, 14),
            (D::Mental, 4),
            (D::Intellectual, 2),
            (D::Speech, 2),
        ]),
    };
    let level = *rng.weighted(&[(1u8, 10), (2, 18), (3, 30), (4, 42)]);
    Some((kind, level))
}

/// The six items fail mostly among the very old and the severely disabled, in the usual order
/// of loss (Katz): bathing first, eating last.
pub(super) fn daily_living(rng: &mut Rng, p: &Person) -> DailyLiving {
    let mut chance: f64 = match p.age {
        ..=59 => 0.005,
        60..=69 => 0.02,
        70..=79 => 0.06,
        80..=84 => 0.15,
        85..=89 => 0.28,
        _ => 0.45,
    };
    let affects_self_care = |d: DisabilityType| {
        !matches!(
            d,
            DisabilityType::Hearing | DisabilityType::Speech | DisabilityType::Visual
        )
    };
    match p.disability {
        Some((d, 1..=2)) if affects_self_care(d) => chance += 0.5,
        Some((_, 1..=2)) => chance += 0.15,
        Some((_, 3)) => chance += 0.08,
        _ => {}
    }
    if p.health == Health::GraveIllness {
        chance += 0.12;
    }
    let mut items = DailyLiving::default();
    if p.age < 3 || !rng.chance(chance.min(0.95)) {
        return items;
    }
    let severe = p.severely_disabled() || p.age >= 90;
    let failed = if severe {
        *rng.weighted(&[(1, 12), (2, 14), (3, 16), (4, 18), (5, 18), (6, 22)])
    } else {
        *rng.weighted(&[(1, 34), (2, 24), (3, 17), (4, 11), (5, 8), (6, 6)])
    };
    let order: [&mut bool; 6] = [
        &mut items.bathing,
        &mut items.dressing,
        &mut items.toileting,
        &mut items.getting_in_and_out_of_bed,
        &mut items.walking_indoors,
        &mut items.eating,
    ];
    for item in order.into_iter().take(failed) {
        *item = false;
    }
    items
}
