//! One row of a department's file: each source's columns, and the checks that make a row a
//! [`Record`] or a [`RowError`] by line.

use chrono::NaiveDate;
use jiuzhu_proto::department::DepartmentSource;
use jiuzhu_proto::household::{DisabilityType, RowError, StudentStatus};
use serde_json::{json, Map, Value as Json};

use crate::domain::id_number::IdNumber;
use crate::imports::households::parse_yuan;

const MAX_FIELD_CHARS: usize = 200;

/// Columns of each source: canonical name, Chinese header, required.
pub(super) fn columns(source: DepartmentSource) -> &'static [(&'static str, &'static str, bool)] {
    match source {
        DepartmentSource::MedicalClaims => &[
            ("record_id", "结算单号", true),
            ("id_number", "身份证号", true),
            ("settlement_date", "结算日期", true),
            ("total_cost", "总费用", true),
            ("insurance_paid", "统筹支付", true),
            ("out_of_pocket", "个人自付", true),
            ("hospital", "医院", false),
        ],
        DepartmentSource::Disability => &[
            ("record_id", "证件编号", true),
            ("id_number", "身份证号", true),
            ("type", "残疾类别", true),
            ("level", "残疾等级", true),
            ("date", "发证日期", true),
        ],
        DepartmentSource::Education => &[
            ("record_id", "学籍号", true),
            ("id_number", "身份证号", true),
            ("school", "学校", true),
            ("stage", "学段", true),
        ],
        DepartmentSource::Unemployment => &[
            ("record_id", "登记编号", true),
            ("id_number", "身份证号", true),
            ("since", "失业日期", true),
        ],
        DepartmentSource::Deaths => &[
            ("record_id", "记录编号", true),
            ("id_number", "身份证号", true),
            ("date", "死亡日期", true),
        ],
    }
}

/// One valid row.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub(super) line: u64,
    pub(super) record_id: String,
    pub(super) id: IdNumber,
    pub(super) event_date: NaiveDate,
    pub(super) amount_fen: Option<i64>,
    pub(super) detail: Map<String, Json>,
}

pub(super) fn row_error(line: u64, code: &str, zh: &str, en: &str) -> RowError {
    RowError {
        row: line,
        code: code.into(),
        message: format!("{zh} / {en}"),
    }
}

fn date(line: u64, field: &str, text: &str, today: NaiveDate) -> Result<NaiveDate, RowError> {
    let d = NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y/%m/%d"))
        .map_err(|_| {
            row_error(
                line,
                "invalid_date",
                &format!("{field} 日期格式应为 YYYY-MM-DD"),
                &format!("{field} is not a YYYY-MM-DD date"),
            )
        })?;
    if d > today {
        return Err(row_error(
            line,
            "future_date",
            &format!("{field} 不能是将来的日期"),
            &format!("{field} is in the future"),
        ));
    }
    Ok(d)
}

fn money(line: u64, field: &str, text: &str) -> Result<i64, RowError> {
    match parse_yuan(text) {
        Ok(fen) if fen >= 0 && !text.trim().is_empty() => Ok(fen),
        Ok(_) => Err(row_error(
            line,
            "out_of_range",
            &format!("{field} 须为非负金额"),
            &format!("{field} must be a non-negative amount"),
        )),
        Err(_) => Err(row_error(
            line,
            "invalid_amount",
            &format!("{field} 金额格式错误（元，至多两位小数，不含逗号）"),
            &format!("{field} is not an amount in yuan (two decimals at most, no separators)"),
        )),
    }
}

/// Checks one row given as field → text.
pub(super) fn parse_record(
    source: DepartmentSource,
    line: u64,
    get: &dyn Fn(&str) -> String,
    today: NaiveDate,
) -> Result<Record, RowError> {
    for (name, _, required) in columns(source) {
        let v = get(name);
        if *required && v.trim().is_empty() {
            return Err(row_error(
                line,
                "missing_value",
                &format!("缺少 {name}"),
                &format!("{name} is empty"),
            ));
        }
        if v.chars().count() > MAX_FIELD_CHARS {
            return Err(row_error(
                line,
                "too_long",
                &format!("{name} 过长"),
                &format!("{name} is too long"),
            ));
        }
    }
    let record_id = get("record_id").trim().to_owned();
    let id = IdNumber::parse(&get("id_number"))
        .map_err(|e| row_error(line, "invalid_id_number", "身份证号无效", &e.to_string()))?
        .id;
    let mut detail = Map::new();
    let (event_date, amount_fen) = match source {
        DepartmentSource::MedicalClaims => {
            let d = date(
                line,
                "settlement_date",
                get("settlement_date").trim(),
                today,
            )?;
            let total = money(line, "total_cost", &get("total_cost"))?;
            let paid = money(line, "insurance_paid", &get("insurance_paid"))?;
            let oop = money(line, "out_of_pocket", &get("out_of_pocket"))?;
            if oop > total || paid > total {
                return Err(row_error(
                    line,
                    "inconsistent_amounts",
                    "自付或统筹金额超过总费用",
                    "out of pocket or insurance paid exceeds the total cost",
                ));
            }
            detail.insert("total_cost_fen".into(), json!(total));
            detail.insert("insurance_paid_fen".into(), json!(paid));
            detail.insert("hospital".into(), json!(get("hospital").trim()));
            (d, Some(oop))
        }
        DepartmentSource::Disability => {
            let kind = get("type").trim().to_owned();
            if DisabilityType::parse(&kind).is_none() {
                return Err(row_error(
                    line,
                    "invalid_value",
                    "残疾类别无效",
                    "unknown disability type",
                ));
            }
            let level: u8 = match get("level").trim().parse() {
                Ok(n @ 1..=4) => n,
                _ => {
                    return Err(row_error(
                        line,
                        "out_of_range",
                        "残疾等级为 1 到 4",
                        "disability level is 1 to 4",
                    ))
                }
            };
            detail.insert("type".into(), json!(kind));
            detail.insert("level".into(), json!(level));
            (date(line, "date", get("date").trim(), today)?, None)
        }
        DepartmentSource::Education => {
            let stage = get("stage").trim().to_owned();
            if StudentStatus::parse(&stage).is_none() {
                return Err(row_error(
                    line,
                    "invalid_value",
                    "学段无效",
                    "unknown school stage",
                ));
            }
            detail.insert("school".into(), json!(get("school").trim()));
            detail.insert("stage".into(), json!(stage));
            (today, None)
        }
        DepartmentSource::Unemployment => (date(line, "since", get("since").trim(), today)?, None),
        DepartmentSource::Deaths => (date(line, "date", get("date").trim(), today)?, None),
    };
    Ok(Record {
        line,
        record_id,
        id,
        event_date,
        amount_fen,
        detail,
    })
}
