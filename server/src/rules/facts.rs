//! The facts a rule reads about one household: the schema (a form definition, so the form
//! engine checks rule expressions against it) and how the facts are gathered from the registry,
//! the latest accepted visit and the district's standards.

use chrono::{Datelike, NaiveDate};
use jiuzhu_proto::form::{Choice, Field, FieldKind, Label};
use serde_json::{json, Map, Value as Json};

use crate::db::repo::households::{HouseholdRow, MemberRow};
use crate::db::repo::standards::StandardRow;

/// Names of the standards among the facts; a rule that reads one that is missing does not run.
pub const STANDARDS: [&str; 6] = ["s", "d", "k", "r", "x", "p"];

fn choices(values: &[&str]) -> Vec<Choice> {
    values.iter().map(|v| Choice::new(*v, *v, *v)).collect()
}

fn fact(name: &str, kind: FieldKind, zh: &str, en: &str) -> Field {
    Field::new(name, kind, Label::new(zh, en))
}

fn select(name: &str, zh: &str, en: &str, values: &[&str]) -> Field {
    let mut f = fact(name, FieldKind::SelectOne, zh, en);
    f.choices = choices(values);
    f
}

const HEALTH: &[&str] = &["healthy", "chronic", "grave_illness"];
const DISABILITY_LEVEL: &[&str] = &["none", "level_1", "level_2", "level_3", "level_4"];
const DISABILITY_TYPE: &[&str] = &[
    "visual",
    "hearing",
    "speech",
    "physical",
    "intellectual",
    "mental",
    "multiple",
];
const WORK_STATUS: &[&str] = &[
    "employed",
    "self_employed",
    "farming",
    "unemployed",
    "retired",
    "unable_to_work",
    "not_working_age",
];
const STUDENT_STATUS: &[&str] = &[
    "not_student",
    "preschool",
    "primary",
    "junior_secondary",
    "senior_secondary",
    "vocational",
    "tertiary",
];
const RELATION: &[&str] = &[
    "head",
    "spouse",
    "child",
    "child_in_law",
    "grandchild",
    "parent",
    "grandparent",
    "sibling",
    "other",
];
const STATUS: &[&str] = &[
    "dibao",
    "tekun",
    "edge",
    "rigid_expense",
    "relapse_monitoring",
    "none",
];
const SAFETY_GRADE: &[&str] = &["a", "b", "c", "d"];
const HARDSHIP: &[&str] = &[
    "illness",
    "disability",
    "schooling",
    "disaster",
    "lack_of_labour",
    "living_alone",
];

/// The facts every rule may read, documented by their labels (money in yuan).
pub fn schema() -> Vec<Field> {
    use FieldKind::*;
    let mut members = fact("members", Repeat, "家庭成员", "Household members");
    members.fields = vec![
        select("relation", "与户主关系", "Relation to the head", RELATION),
        fact("age", Integer, "年龄", "Age"),
        select("health", "健康状况", "Health", HEALTH),
        select(
            "disability_level",
            "残疾等级",
            "Disability level",
            DISABILITY_LEVEL,
        ),
        select(
            "disability_type",
            "残疾类别",
            "Disability type",
            DISABILITY_TYPE,
        ),
        fact(
            "adl_failed",
            Integer,
            "失能项数",
            "Daily-living items failed",
        ),
        select("work_status", "就业状况", "Work status", WORK_STATUS),
        select(
            "student_status",
            "在学状况",
            "Student status",
            STUDENT_STATUS,
        ),
        fact("income", Decimal, "年收入（元）", "Annual income (yuan)"),
        // Derived, 1 or 0, so rules can count them with sum():
        fact(
            "severe",
            Integer,
            "重度残疾（一、二级，或三级智力、精神）",
            "Severely disabled (level 1–2, or level 3 intellectual or mental)",
        ),
        fact("grave", Integer, "重病", "Gravely ill"),
        fact("in_school", Integer, "在校生", "In school"),
        fact(
            "employed",
            Integer,
            "在业（含自雇、务农）",
            "Employed, self-employed or farming",
        ),
        fact(
            "working_age",
            Integer,
            "劳动年龄（16–59）",
            "Working age (16–59)",
        ),
        fact(
            "unemployed_able",
            Integer,
            "有劳动能力的失业者",
            "Unemployed and able to work",
        ),
    ];
    let mut hardship = fact(
        "hardship_causes",
        SelectMultiple,
        "致困原因",
        "Causes of hardship",
    );
    hardship.choices = choices(HARDSHIP);
    vec![
        select(
            "status",
            "当前救助类别",
            "Current assistance status",
            STATUS,
        ),
        fact("urban", Boolean, "城市（非农村）", "Urban (not rural)"),
        fact(
            "has_visit",
            Boolean,
            "有已审核的入户走访",
            "Has an accepted visit",
        ),
        fact("member_count", Integer, "家庭人口", "Household size"),
        fact(
            "household_income",
            Decimal,
            "家庭年收入（元）",
            "Household annual income (yuan)",
        ),
        fact(
            "pc",
            Decimal,
            "人均月收入（元）",
            "Per-capita monthly income (yuan)",
        ),
        fact(
            "medical_oop_12m",
            Decimal,
            "近12个月自付医疗费用（元）",
            "Medical out-of-pocket, 12 months (yuan)",
        ),
        fact(
            "school_oop_12m",
            Decimal,
            "近12个月自付教育费用（元）",
            "School out-of-pocket, 12 months (yuan)",
        ),
        fact("savings", Decimal, "存款（元）", "Savings (yuan)"),
        fact("vehicles", Integer, "机动车数量", "Motor vehicles"),
        select(
            "safety_grade",
            "房屋安全等级",
            "Housing safety grade",
            SAFETY_GRADE,
        ),
        hardship,
        fact(
            "supporters_able",
            Integer,
            "有赡养能力的义务人数",
            "Supporters able to support",
        ),
        fact(
            "new_severe_disability",
            Boolean,
            "新增重度残疾（残联）",
            "New severe disability (disabled persons' federation)",
        ),
        fact("earner_died", Boolean, "主要劳动力死亡", "Main earner died"),
        fact(
            "s",
            Decimal,
            "低保标准 S（元/月）",
            "Dibao standard S (yuan/month)",
        ),
        fact(
            "d",
            Decimal,
            "上年人均可支配收入 D（元/年）",
            "Per-capita disposable income D (yuan/year)",
        ),
        fact("k", Decimal, "低保边缘倍数 k", "Edge multiple k"),
        fact("r", Decimal, "刚性支出比例 r", "Rigid-expense ratio r"),
        fact(
            "x",
            Decimal,
            "医疗自付门槛 X（元/年）",
            "Medical out-of-pocket threshold X (yuan/year)",
        ),
        fact(
            "p",
            Decimal,
            "医疗自付占收入比例 p",
            "Medical out-of-pocket share p",
        ),
        members,
    ]
}

/// Whether a household's grid lies in an urban residents' committee (community code 001–199)
/// rather than a village committee (200–399), by the 12-digit statistical code in its path.
pub fn is_urban(org_path: &str) -> bool {
    org_path
        .split('/')
        .rfind(|s| s.len() == 12)
        .and_then(|community| community[9..].parse::<u32>().ok())
        .is_none_or(|n| n < 200)
}

/// The district's 6-digit code: the second segment of an org path (`/320400/320402/…`).
pub fn district_code(org_path: &str) -> Option<&str> {
    org_path.split('/').filter(|s| !s.is_empty()).nth(1)
}

fn yuan(fen: i64) -> f64 {
    fen as f64 / 100.0
}

fn age_on(birth: NaiveDate, today: NaiveDate) -> i64 {
    let mut age = i64::from(today.year() - birth.year());
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

fn keep(value: Option<&str>, allowed: &[&str]) -> Json {
    match value {
        Some(v) if allowed.contains(&v) => Json::from(v),
        _ => Json::Null,
    }
}

fn number(v: Option<&Json>) -> Option<f64> {
    v.and_then(Json::as_f64).filter(|x| x.is_finite())
}

/// Adds the derived 1/0 facts of one member.
fn derive(member: Json) -> Json {
    let Json::Object(mut m) = member else {
        return member;
    };
    let text = |k: &str| m.get(k).and_then(Json::as_str).unwrap_or("").to_owned();
    let (level, kind, health) = (
        text("disability_level"),
        text("disability_type"),
        text("health"),
    );
    let (work, study) = (text("work_status"), text("student_status"));
    let age = m.get("age").and_then(Json::as_i64);
    let severe = matches!(level.as_str(), "level_1" | "level_2")
        || (level == "level_3" && matches!(kind.as_str(), "intellectual" | "mental"));
    let working_age = age.is_some_and(|a| (16..60).contains(&a));
    let flags = [
        ("severe", severe),
        ("grave", health == "grave_illness"),
        (
            "in_school",
            !study.is_empty() && study != "not_student" && study != "preschool",
        ),
        (
            "employed",
            matches!(work.as_str(), "employed" | "self_employed" | "farming"),
        ),
        ("working_age", working_age),
        (
            "unemployed_able",
            work == "unemployed" && working_age && !severe && health != "grave_illness",
        ),
    ];
    for (name, on) in flags {
        m.insert(name.into(), Json::from(i64::from(on)));
    }
    Json::Object(m)
}

/// A member's facts from the registry.
fn registry_member(m: &MemberRow, today: NaiveDate) -> Json {
    let adl_failed = crate::domain::stored::daily_living(&m.daily_living)
        .map(|d| usize::from(d.failed()))
        .unwrap_or(0);
    let level = match m.disability_level {
        Some(n @ 1..=4) => format!("level_{n}"),
        _ => "none".to_owned(),
    };
    json!({
        "relation": keep(Some(&m.relation), RELATION),
        "age": age_on(m.birth_date, today),
        "health": keep(Some(&m.health), HEALTH),
        "disability_level": level,
        "disability_type": keep(m.disability_type.as_deref(), DISABILITY_TYPE),
        "adl_failed": adl_failed,
        "work_status": keep(Some(&m.work_status), WORK_STATUS),
        "student_status": keep(Some(&m.student_status), STUDENT_STATUS),
        "income": yuan(m.annual_income_fen),
    })
}

const INCOME_FIELDS: [&str; 6] = [
    "income_wages",
    "income_farming",
    "income_business",
    "income_rent",
    "income_pension",
    "income_support",
];
const ADL_FIELDS: [&str; 6] = [
    "adl_eating",
    "adl_dressing",
    "adl_transfer",
    "adl_toileting",
    "adl_walking",
    "adl_bathing",
];

/// A member's facts from a home-visit answer (`fixtures/forms/home_visit.xlsx` names).
fn visit_member(m: &Map<String, Json>, today: NaiveDate) -> Json {
    let text = |k: &str| m.get(k).and_then(Json::as_str);
    let age = text("birth_date")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(|b| age_on(b, today));
    let income: f64 = INCOME_FIELDS.iter().filter_map(|k| number(m.get(*k))).sum();
    let adl_failed = ADL_FIELDS
        .iter()
        .filter(|k| text(k) == Some("unable"))
        .count();
    json!({
        "relation": keep(text("relation"), RELATION),
        "age": age,
        "health": keep(text("health"), HEALTH),
        "disability_level": keep(text("disability_level"), DISABILITY_LEVEL),
        "disability_type": keep(text("disability_type"), DISABILITY_TYPE),
        "adl_failed": adl_failed,
        "work_status": keep(text("work_status"), WORK_STATUS),
        "student_status": keep(text("student_status"), STUDENT_STATUS),
        "income": income,
    })
}

/// Everything gathered for one household.
pub struct Sources<'a> {
    pub household: &'a HouseholdRow,
    pub members: &'a [MemberRow],
    /// The latest accepted visit's (decrypted, cleaned) answers.
    pub visit: Option<&'a Json>,
    pub standard: Option<&'a StandardRow>,
    /// Signals from department data (`new_severe_disability`, `earner_died`, …).
    pub signals: &'a Map<String, Json>,
    pub today: NaiveDate,
}

/// The facts as an answer set of [`schema`].
pub fn gather(src: &Sources<'_>) -> Json {
    let urban = is_urban(&src.household.org_path);
    let visit = src.visit.and_then(Json::as_object);
    let members: Vec<Json> = match visit
        .and_then(|v| v.get("members"))
        .and_then(Json::as_array)
    {
        Some(list) if !list.is_empty() => list
            .iter()
            .filter_map(Json::as_object)
            .map(|m| derive(visit_member(m, src.today)))
            .collect(),
        _ => src
            .members
            .iter()
            .map(|m| derive(registry_member(m, src.today)))
            .collect(),
    };
    let household_income: f64 = members.iter().filter_map(|m| number(m.get("income"))).sum();
    let count = members.len();
    let pc = (count > 0).then(|| (household_income / count as f64 / 12.0 * 100.0).round() / 100.0);

    let mut facts = Map::new();
    facts.insert("status".into(), keep(Some(&src.household.status), STATUS));
    facts.insert("urban".into(), Json::Bool(urban));
    facts.insert("has_visit".into(), Json::Bool(visit.is_some()));
    facts.insert("member_count".into(), Json::from(count));
    facts.insert("household_income".into(), Json::from(household_income));
    facts.insert("pc".into(), pc.map(Json::from).unwrap_or(Json::Null));
    if let Some(v) = visit {
        for name in ["medical_oop_12m", "school_oop_12m", "savings"] {
            if let Some(x) = number(v.get(name)) {
                facts.insert(name.into(), Json::from(x));
            }
        }
        if let Some(n) = v.get("vehicles").and_then(Json::as_i64) {
            facts.insert("vehicles".into(), Json::from(n));
        }
        facts.insert(
            "safety_grade".into(),
            keep(v.get("safety_grade").and_then(Json::as_str), SAFETY_GRADE),
        );
        if let Some(causes) = v.get("hardship_causes").and_then(Json::as_array) {
            let kept: Vec<Json> = causes
                .iter()
                .filter(|c| c.as_str().is_some_and(|c| HARDSHIP.contains(&c)))
                .cloned()
                .collect();
            facts.insert("hardship_causes".into(), Json::Array(kept));
        }
        let able = v
            .get("supporters")
            .and_then(Json::as_array)
            .map(|s| {
                s.iter()
                    .filter(|x| x.get("supporter_means").and_then(Json::as_str) == Some("able"))
                    .count()
            })
            .unwrap_or(0);
        facts.insert("supporters_able".into(), Json::from(able));
    }
    // Claims from the medical-insurance bureau: the larger of what the family told the visit
    // and what the claims on file add up to.
    if let Some(claims) = number(src.signals.get("medical_oop_12m")) {
        let told = number(facts.get("medical_oop_12m")).unwrap_or(0.0);
        facts.insert("medical_oop_12m".into(), Json::from(told.max(claims)));
    }
    for name in ["new_severe_disability", "earner_died"] {
        let on = src
            .signals
            .get(name)
            .and_then(Json::as_bool)
            .unwrap_or(false);
        facts.insert(name.into(), Json::Bool(on));
    }
    if let Some(st) = src.standard {
        let (s, d) = if urban {
            (st.s_urban, st.d_urban)
        } else {
            (st.s_rural, st.d_rural)
        };
        let values = [
            ("s", s.map(|v| v as f64)),
            ("d", d.map(|v| v as f64)),
            ("k", st.k),
            ("r", st.r),
            ("x", st.x.map(|v| v as f64)),
            ("p", st.p),
        ];
        for (name, v) in values {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                facts.insert(name.into(), Json::from(v));
            }
        }
    }
    facts.insert("members".into(), Json::Array(members));
    Json::Object(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urban_follows_the_community_code() {
        assert!(is_urban(
            "/320400/320402/320402001/320402001001/320402001001001/"
        ));
        assert!(!is_urban(
            "/320400/320402/320402100/320402100201/320402100201001/"
        ));
        assert!(is_urban("/320400/"));
        assert_eq!(district_code("/320400/320402/320402001/"), Some("320402"));
        assert_eq!(district_code("/320400/"), None);
    }

    #[test]
    fn ages_count_whole_years() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default();
        assert_eq!(age_on(d("1960-12-01"), d("2026-11-28")), 65);
        assert_eq!(age_on(d("1960-11-28"), d("2026-11-28")), 66);
    }
}
