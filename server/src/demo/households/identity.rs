//! Who a member is on paper: where the family comes from, the county code and birth date in each
//! GB 11643 ID number (unique across the demo city), and a mobile number.

use std::collections::HashSet;

use chrono::{Datelike, Days, Months, NaiveDate};
use jiuzhu_proto::household::Relation;

use super::families::Person;
use super::rng::Rng;

/// Where the head's family comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    Tianning,
    Jiangsu,
    Elsewhere,
}

const TIANNING: u64 = 320_402;
/// Elsewhere in 江苏: the rest of 常州 first, then neighbouring cities and the north of the province.
const JIANGSU: &[u64] = &[
    320_404, 320_411, 320_412, 320_413, 320_481, 320_281, 320_102, 320_106, 320_205, 320_213,
    321_102, 321_181, 321_322, 320_923, 321_084, 320_585, 320_724,
];
/// Where 常州's migrants mostly come from: 安徽, 河南, 四川, 湖北, 湖南, 山东, 江西, 浙江.
const ELSEWHERE: &[u64] = &[
    341_222, 341_221, 341_282, 341_125, 341_323, 411_522, 411_524, 410_527, 511_321, 511_322,
    420_984, 430_524, 371_321, 360_124, 330_327,
];

/// Where the head's family comes from: the old mostly local, the working-age often not.
pub(super) fn origin(rng: &mut Rng, head_age: i32) -> Origin {
    let weights: &[(Origin, u32)] = if head_age >= 55 {
        &[
            (Origin::Tianning, 90),
            (Origin::Jiangsu, 6),
            (Origin::Elsewhere, 4),
        ]
    } else {
        &[
            (Origin::Tianning, 66),
            (Origin::Jiangsu, 14),
            (Origin::Elsewhere, 20),
        ]
    };
    *rng.weighted(weights)
}

pub(super) fn region_of(rng: &mut Rng, origin: Origin) -> u64 {
    match origin {
        Origin::Tianning => TIANNING,
        Origin::Jiangsu => rng.pick(JIANGSU),
        Origin::Elsewhere => rng.pick(ELSEWHERE),
    }
}

/// The county code in a member's number: the household's own, except that children born here are
/// mostly registered here and a spouse may come from somewhere else.
pub(super) fn region(rng: &mut Rng, p: &Person, household: u64) -> u64 {
    match p.relation {
        Relation::Child | Relation::Grandchild if p.age < 18 && rng.chance(0.6) => TIANNING,
        Relation::Spouse | Relation::ChildInLaw if rng.chance(0.35) => {
            let origin = *rng.weighted(&[
                (Origin::Tianning, 70),
                (Origin::Jiangsu, 20),
                (Origin::Elsewhere, 10),
            ]);
            region_of(rng, origin)
        }
        _ => household,
    }
}

/// A birth date making the person `age` on `as_of`.
pub(super) fn birth_date(rng: &mut Rng, age: i32, as_of: NaiveDate) -> NaiveDate {
    as_of
        .checked_sub_months(Months::new(age.max(0) as u32 * 12))
        .and_then(|d| d.checked_sub_days(Days::new(rng.below(365))))
        .unwrap_or(as_of)
}

/// The ID numbers handed out so far: their first 17 digits.
#[derive(Debug, Default)]
pub(super) struct IssuedNumbers(HashSet<u64>);

impl IssuedNumbers {
    /// A GB 11643 number nobody in the demo city has yet, and the birth date in it: the sequence
    /// number moves on (keeping its parity, which is the gender) until it is free.
    pub(super) fn issue(
        &mut self,
        rng: &mut Rng,
        region: u64,
        birth: NaiveDate,
        male: bool,
    ) -> (String, NaiveDate) {
        let mut birth = birth;
        loop {
            let date = u64::from(birth.year() as u32) * 10_000
                + u64::from(birth.month()) * 100
                + u64::from(birth.day());
            let start = rng.below(500);
            for step in 0..500 {
                let seq = ((start + step) % 500) * 2 + u64::from(male);
                if seq == 0 {
                    continue;
                }
                let first17 = region * 100_000_000_000 + date * 1_000 + seq;
                if self.0.insert(first17) {
                    let digits = format!("{first17:017}");
                    return (format!("{digits}{}", check_character(&digits)), birth);
                }
            }
            // All 500 numbers of that day are taken (never, at demo sizes): use the day before.
            birth = birth.pred_opt().unwrap_or(birth);
        }
    }
}

/// The GB 11643 check character: Σ(digit × weight) mod 11, weights 7 9 10 5 8 4 2 1 6 3 7 9 10
/// 5 8 4 2, mapped 0..10 → `1 0 X 9 8 7 6 5 4 3 2`.
fn check_character(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    CHARS[(sum % 11) as usize]
}

const MOBILE_PREFIXES: &[&str] = &[
    "138", "139", "135", "136", "137", "150", "151", "152", "157", "158", "159", "182", "187",
    "188", "130", "131", "132", "155", "156", "185", "186", "133", "153", "180", "181", "189",
    "199",
];

pub(super) fn phone(rng: &mut Rng, p: &Person) -> Option<String> {
    let chance = match (p.relation, p.age) {
        (_, ..=13) => 0.0,
        (_, 14..=17) => 0.3,
        (Relation::Head, 18..=74) => 0.88,
        (Relation::Head, _) => 0.55,
        (_, 18..=69) => 0.65,
        _ => 0.3,
    };
    rng.chance(chance)
        .then(|| format!("{}{:08}", rng.pick(MOBILE_PREFIXES), rng.below(100_000_000)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::id_number::IdNumber;

    #[test]
    fn check_characters_follow_gb_11643() {
        // The standard's own example.
        assert_eq!(check_character("11010519491231002"), 'X');
        let mut rng = Rng::new(7);
        for _ in 0..1_000 {
            let date = 19_500_101 + rng.below(28) + 100 * rng.below(12) + 10_000 * rng.below(70);
            let digits = format!("320402{date}{:03}", rng.range(1, 999));
            let full = format!("{digits}{}", check_character(&digits));
            assert!(IdNumber::parse(&full).is_ok(), "{full}");
        }
    }
}
