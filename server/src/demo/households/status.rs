//! A household's assistance status (with the day it began) and its tags, from who lives in it and
//! where it stands.

use chrono::{Days, NaiveDate};
use jiuzhu_proto::household::{AssistanceStatus, Health, StudentStatus, WorkStatus};

use super::families::{Person, Shape};
use super::income::Stratum;
use super::rng::Rng;

pub(super) fn status(
    rng: &mut Rng,
    shape: Shape,
    people: &[Person],
    stratum: Stratum,
    as_of: NaiveDate,
) -> (AssistanceStatus, Option<NaiveDate>) {
    use AssistanceStatus as A;
    // 特困: alone and unable to work (old or severely disabled), with nobody obliged to support.
    let tekun_eligible = shape != Shape::ElderWithChild
        && people.len() == 1
        && (people[0].age >= 60 || people[0].severely_disabled());
    let status = match stratum {
        Stratum::Poor if tekun_eligible => {
            *rng.weighted(&[(A::Tekun, 55), (A::Dibao, 35), (A::None, 10)])
        }
        Stratum::Poor => *rng.weighted(&[(A::Dibao, 52), (A::None, 48)]),
        // A few are former dibao households in the gradual exit.
        Stratum::Edge => *rng.weighted(&[(A::Edge, 55), (A::Dibao, 4), (A::None, 41)]),
        Stratum::Comfortable => A::None,
    };
    let days_back = match status {
        A::Dibao => rng.range(60, 2_500),
        A::Tekun => rng.range(180, 3_600),
        A::Edge => rng.range(30, 900),
        _ => return (status, None),
    };
    (status, as_of.checked_sub_days(Days::new(days_back as u64)))
}

pub(super) fn tags(shape: Shape, people: &[Person]) -> Vec<String> {
    let mut tags = Vec::new();
    if people.len() == 1 && people[0].age >= 60 {
        tags.push("独居老人");
    }
    if people.len() > 1 && people.iter().all(|p| p.age >= 60) {
        tags.push("空巢老人");
    }
    if people.iter().any(|p| p.disability.is_some()) {
        tags.push("残疾人家庭");
    }
    if people.iter().any(|p| p.health == Health::GraveIllness) {
        tags.push("重病家庭");
    }
    if matches!(shape, Shape::SingleParent { .. }) && people.iter().any(|p| p.age < 18) {
        tags.push("单亲家庭");
    }
    if people
        .iter()
        .any(|p| p.age >= 60 && p.daily_living.failed() >= 4)
    {
        tags.push("失能老人");
    }
    let able: Vec<&Person> = people
        .iter()
        .filter(|p| {
            (18..60).contains(&p.age)
                && p.student == StudentStatus::NotStudent
                && !matches!(p.work, WorkStatus::Retired | WorkStatus::UnableToWork)
        })
        .collect();
    if !able.is_empty() && able.iter().all(|p| p.work == WorkStatus::Unemployed) {
        tags.push("零就业家庭");
    }
    tags.into_iter().map(str::to_owned).collect()
}
