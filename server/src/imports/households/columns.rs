//! The documented columns, their header, and reading one row's cells (amounts, dates, labels) into
//! a member and the household's own fields.

use chrono::NaiveDate;
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::geo::Crs;
use jiuzhu_proto::household::{
    AssistanceStatus, DailyLiving, DisabilityType, Gender, Health, Income, Location, MemberInput,
    Relation, StudentStatus, WorkStatus,
};

use super::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Col {
    HouseholdExternalId,
    Address,
    Lat,
    Lon,
    Crs,
    GridCode,
    Status,
    StatusSince,
    Tags,
    Notes,
    Name,
    Relation,
    IdNumber,
    BirthDate,
    Gender,
    Health,
    DisabilityType,
    DisabilityLevel,
    DailyLivingUnable,
    WorkStatus,
    StudentStatus,
    IncomeWages,
    IncomeFarming,
    IncomeBusiness,
    IncomeRent,
    IncomePension,
    IncomeSupport,
    IncomeOther,
    Phone,
}

pub(super) struct ColumnSpec {
    pub(super) col: Col,
    pub(super) name: &'static str,
    /// Chinese header names accepted for the same column.
    aliases: &'static [&'static str],
    required: bool,
}

macro_rules! columns {
    ($(($col:ident, $name:literal, [$($alias:literal),*], $required:literal)),+ $(,)?) => {
        pub(super) const COLUMNS: &[ColumnSpec] = &[$(ColumnSpec {
            col: Col::$col,
            name: $name,
            aliases: &[$($alias),*],
            required: $required,
        }),+];
    };
}

columns!(
    (
        HouseholdExternalId,
        "household_external_id",
        ["户编号", "家庭编号"],
        true
    ),
    (Address, "address", ["地址", "家庭住址"], true),
    (Lat, "lat", ["纬度"], false),
    (Lon, "lon", ["经度"], false),
    (Crs, "crs", ["坐标系"], false),
    (GridCode, "grid_code", ["网格编码"], false),
    (Status, "status", ["救助类别"], false),
    (StatusSince, "status_since", ["救助起始日期"], false),
    (Tags, "tags", ["标签"], false),
    (Notes, "notes", ["备注"], false),
    (Name, "name", ["姓名"], true),
    (Relation, "relation", ["与户主关系"], true),
    (IdNumber, "id_number", ["身份证号", "公民身份号码"], true),
    (BirthDate, "birth_date", ["出生日期"], false),
    (Gender, "gender", ["性别"], false),
    (Health, "health", ["健康状况"], true),
    (DisabilityType, "disability_type", ["残疾类别"], false),
    (DisabilityLevel, "disability_level", ["残疾等级"], false),
    (
        DailyLivingUnable,
        "daily_living_unable",
        ["生活不能自理项"],
        false
    ),
    (WorkStatus, "work_status", ["就业状况"], true),
    (StudentStatus, "student_status", ["在学情况"], false),
    (IncomeWages, "income_wages", ["工资性收入"], false),
    (IncomeFarming, "income_farming", ["农业收入"], false),
    (IncomeBusiness, "income_business", ["经营性收入"], false),
    (IncomeRent, "income_rent", ["财产性收入"], false),
    (IncomePension, "income_pension", ["养老金"], false),
    (IncomeSupport, "income_support", ["赡养扶养收入"], false),
    (IncomeOther, "income_other", ["其他收入"], false),
    (Phone, "phone", ["电话", "联系电话"], false),
);

/// The documented header, in the documented order.
pub fn header_names() -> Vec<&'static str> {
    COLUMNS.iter().map(|c| c.name).collect()
}

pub(super) fn spec(col: Col) -> &'static ColumnSpec {
    // COLUMNS lists every Col in declaration order.
    &COLUMNS[col as usize]
}

/// Where each known column is in this file.
#[derive(Debug, Clone, Copy)]
pub(super) struct Header {
    index: [Option<usize>; COLUMNS.len()],
    pub(super) width: usize,
}

impl Header {
    pub(super) fn parse(fields: &csv::ByteRecord) -> Result<Header, Refusal> {
        let mut index = [None; COLUMNS.len()];
        let mut unknown = Vec::new();
        let mut duplicate = Vec::new();
        for (position, raw) in fields.iter().enumerate() {
            let Ok(text) = std::str::from_utf8(raw) else {
                unknown.push(position + 1);
                continue;
            };
            let text = text.trim().trim_start_matches('\u{feff}').trim();
            let lower = text.to_ascii_lowercase();
            match COLUMNS
                .iter()
                .find(|c| c.name == lower || c.aliases.contains(&text))
            {
                Some(c) if index[c.col as usize].is_some() => duplicate.push(c.name),
                Some(c) => index[c.col as usize] = Some(position),
                None => unknown.push(position + 1),
            }
        }
        let missing: Vec<&str> = COLUMNS
            .iter()
            .filter(|c| c.required && index[c.col as usize].is_none())
            .map(|c| c.name)
            .collect();
        let has = |c: Col| index[c as usize].is_some();
        let located = (has(Col::Lat) && has(Col::Lon)) || has(Col::GridCode);
        let mut details = Vec::new();
        if !missing.is_empty() {
            details.push(FieldError {
                field: "header".into(),
                code: "missing_column".into(),
                message: format!("缺少列 / missing columns: {}", missing.join(", ")),
            });
        }
        if !located {
            details.push(FieldError {
                field: "header".into(),
                code: "missing_column".into(),
                message:
                    "需要 lat 与 lon 列或 grid_code 列 / the header needs lat and lon, or grid_code"
                        .into(),
            });
        }
        if !unknown.is_empty() {
            // Positions only: a file without a header row has personal data where names belong.
            let list: Vec<String> = unknown.iter().map(|p| p.to_string()).collect();
            details.push(FieldError {
                field: "header".into(),
                code: "unknown_column".into(),
                message: format!(
                    "未知列（第 {} 列） / unknown columns at positions {}; the first line must be the documented header",
                    list.join(", "),
                    list.join(", ")
                ),
            });
        }
        if !duplicate.is_empty() {
            details.push(FieldError {
                field: "header".into(),
                code: "duplicate_column".into(),
                message: format!("重复列 / columns given twice: {}", duplicate.join(", ")),
            });
        }
        if !details.is_empty() {
            return Err(Refusal {
                code: "bad_header",
                message: "表头不符合格式 / the header does not match the documented columns".into(),
                details,
            });
        }
        Ok(Header {
            index,
            width: fields.len(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Cells

/// A problem with one cell; the message never repeats the cell's content.
pub(super) struct CellError {
    pub(super) col: Col,
    pub(super) code: &'static str,
    pub(super) message: String,
}

fn cell_error(col: Col, code: &'static str, message: impl Into<String>) -> CellError {
    CellError {
        col,
        code,
        message: message.into(),
    }
}

/// An amount that is not yuan with at most two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadAmount;

/// Yuan with at most two decimals (`1234.50`), no separators or exponents, into fen. Empty is 0.
/// A minus sign is read so the range check can name the problem (`out_of_range`).
pub fn parse_yuan(text: &str) -> Result<i64, BadAmount> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(0);
    }
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) if !f.is_empty() => (w, f),
        Some(_) => return Err(BadAmount),
        None => (digits, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 13 || !all_digits(whole) {
        return Err(BadAmount);
    }
    if fraction.len() > 2 || !all_digits(fraction) {
        return Err(BadAmount);
    }
    let whole: i64 = whole.parse().map_err(|_| BadAmount)?;
    let mut cents: i64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().map_err(|_| BadAmount)?
    };
    if fraction.len() == 1 {
        cents *= 10;
    }
    let fen = whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .ok_or(BadAmount)?;
    Ok(if negative { -fen } else { fen })
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y/%m/%d"))
        .ok()
}

fn parse_label<T: Copy>(
    text: &str,
    wire: fn(&str) -> Option<T>,
    labels: &[(&str, T)],
) -> Option<T> {
    wire(&text.to_ascii_lowercase())
        .or_else(|| labels.iter().find(|(l, _)| *l == text).map(|(_, v)| *v))
}

const RELATION_LABELS: &[(&str, Relation)] = &[
    ("户主", Relation::Head),
    ("本人", Relation::Head),
    ("配偶", Relation::Spouse),
    ("妻子", Relation::Spouse),
    ("丈夫", Relation::Spouse),
    ("子女", Relation::Child),
    ("儿子", Relation::Child),
    ("女儿", Relation::Child),
    ("子", Relation::Child),
    ("女", Relation::Child),
    ("儿媳", Relation::ChildInLaw),
    ("女婿", Relation::ChildInLaw),
    ("孙子女", Relation::Grandchild),
    ("孙子", Relation::Grandchild),
    ("孙女", Relation::Grandchild),
    ("外孙子女", Relation::Grandchild),
    ("父母", Relation::Parent),
    ("父亲", Relation::Parent),
    ("母亲", Relation::Parent),
    ("祖父母", Relation::Grandparent),
    ("外祖父母", Relation::Grandparent),
    ("兄弟姐妹", Relation::Sibling),
    ("其他", Relation::Other),
];

const HEALTH_LABELS: &[(&str, Health)] = &[
    ("健康", Health::Healthy),
    ("慢性病", Health::Chronic),
    ("重病", Health::GraveIllness),
    ("大病", Health::GraveIllness),
    ("重大疾病", Health::GraveIllness),
];

const DISABILITY_LABELS: &[(&str, DisabilityType)] = &[
    ("视力", DisabilityType::Visual),
    ("听力", DisabilityType::Hearing),
    ("言语", DisabilityType::Speech),
    ("肢体", DisabilityType::Physical),
    ("智力", DisabilityType::Intellectual),
    ("精神", DisabilityType::Mental),
    ("多重", DisabilityType::Multiple),
];

const WORK_LABELS: &[(&str, WorkStatus)] = &[
    ("就业", WorkStatus::Employed),
    ("在职", WorkStatus::Employed),
    ("灵活就业", WorkStatus::SelfEmployed),
    ("个体", WorkStatus::SelfEmployed),
    ("务农", WorkStatus::Farming),
    ("失业", WorkStatus::Unemployed),
    ("无业", WorkStatus::Unemployed),
    ("退休", WorkStatus::Retired),
    ("丧失劳动能力", WorkStatus::UnableToWork),
    ("无劳动能力", WorkStatus::UnableToWork),
    ("非劳动年龄", WorkStatus::NotWorkingAge),
];

const STUDENT_LABELS: &[(&str, StudentStatus)] = &[
    ("非在校", StudentStatus::NotStudent),
    ("否", StudentStatus::NotStudent),
    ("学前", StudentStatus::Preschool),
    ("小学", StudentStatus::Primary),
    ("初中", StudentStatus::JuniorSecondary),
    ("高中", StudentStatus::SeniorSecondary),
    ("中职", StudentStatus::Vocational),
    ("职业教育", StudentStatus::Vocational),
    ("大学", StudentStatus::Tertiary),
    ("高等教育", StudentStatus::Tertiary),
];

const STATUS_LABELS: &[(&str, AssistanceStatus)] = &[
    ("低保", AssistanceStatus::Dibao),
    ("特困", AssistanceStatus::Tekun),
    ("低保边缘", AssistanceStatus::Edge),
    ("刚性支出困难", AssistanceStatus::RigidExpense),
    ("防返贫监测", AssistanceStatus::RelapseMonitoring),
    ("无", AssistanceStatus::None),
];

const GENDER_LABELS: &[(&str, Gender)] = &[("男", Gender::Male), ("女", Gender::Female)];

const DAILY_LIVING_ITEMS: &[(&str, &str)] = &[
    ("eating", "进食"),
    ("dressing", "穿衣"),
    ("getting_in_and_out_of_bed", "上下床"),
    ("toileting", "如厕"),
    ("walking_indoors", "室内行走"),
    ("bathing", "洗澡"),
];

fn list_items(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', '；', '|', '、'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn unknown_value<T: Copy>(col: Col, all: &[T], as_str: fn(T) -> &'static str) -> CellError {
    let names: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
    cell_error(
        col,
        "unknown_value",
        format!("取值无效 / not one of {}", names.join(", ")),
    )
}

/// One row's cells, by column.
pub(super) struct Cells<'r> {
    pub(super) header: &'r Header,
    pub(super) record: &'r csv::ByteRecord,
}

impl Cells<'_> {
    /// The trimmed text of a column; empty when the column is absent. Rows were checked to be UTF-8.
    pub(super) fn get(&self, col: Col) -> &str {
        self.header.index[col as usize]
            .and_then(|i| self.record.get(i))
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(str::trim)
            .unwrap_or("")
    }

    pub(super) fn member(&self, errors: &mut Vec<CellError>) -> Option<MemberInput> {
        let before = errors.len();
        let required = |errors: &mut Vec<CellError>, col: Col| {
            let text = self.get(col);
            if text.is_empty() {
                errors.push(cell_error(col, "required", "不能为空 / must not be empty"));
            }
            text
        };
        let name = required(errors, Col::Name).to_owned();
        let id_number = required(errors, Col::IdNumber).to_owned();
        let relation = match required(errors, Col::Relation) {
            "" => None,
            t => parse_label(t, Relation::parse, RELATION_LABELS).or_else(|| {
                errors.push(unknown_value(
                    Col::Relation,
                    Relation::ALL,
                    Relation::as_str,
                ));
                None
            }),
        };
        let health = match required(errors, Col::Health) {
            "" => None,
            t => parse_label(t, Health::parse, HEALTH_LABELS).or_else(|| {
                errors.push(unknown_value(Col::Health, Health::ALL, Health::as_str));
                None
            }),
        };
        let work_status = match required(errors, Col::WorkStatus) {
            "" => None,
            t => parse_label(t, WorkStatus::parse, WORK_LABELS).or_else(|| {
                errors.push(unknown_value(
                    Col::WorkStatus,
                    WorkStatus::ALL,
                    WorkStatus::as_str,
                ));
                None
            }),
        };
        let student_status = match self.get(Col::StudentStatus) {
            "" => StudentStatus::NotStudent,
            t => parse_label(t, StudentStatus::parse, STUDENT_LABELS).unwrap_or_else(|| {
                errors.push(unknown_value(
                    Col::StudentStatus,
                    StudentStatus::ALL,
                    StudentStatus::as_str,
                ));
                StudentStatus::NotStudent
            }),
        };
        let disability_type = match self.get(Col::DisabilityType) {
            "" | "无" => None,
            t => {
                let t = t.strip_suffix("残疾").unwrap_or(t);
                parse_label(t, DisabilityType::parse, DISABILITY_LABELS).or_else(|| {
                    errors.push(unknown_value(
                        Col::DisabilityType,
                        DisabilityType::ALL,
                        DisabilityType::as_str,
                    ));
                    None
                })
            }
        };
        let disability_level = match self.get(Col::DisabilityLevel) {
            "" | "无" => None,
            t => {
                let t = t.strip_suffix('级').unwrap_or(t);
                let n = match t {
                    "一" => Some(1),
                    "二" => Some(2),
                    "三" => Some(3),
                    "四" => Some(4),
                    other => other.parse::<u8>().ok(),
                };
                if n.is_none() {
                    errors.push(cell_error(
                        Col::DisabilityLevel,
                        "invalid_number",
                        "残疾等级为 1 到 4 / disability level is 1 to 4",
                    ));
                }
                n
            }
        };
        let birth_date = match self.get(Col::BirthDate) {
            "" => None,
            t => parse_date(t).or_else(|| {
                errors.push(cell_error(
                    Col::BirthDate,
                    "invalid_date",
                    "日期格式为 YYYY-MM-DD / a date is YYYY-MM-DD",
                ));
                None
            }),
        };
        let gender = match self.get(Col::Gender) {
            "" => None,
            t => parse_label(t, Gender::parse, GENDER_LABELS).or_else(|| {
                errors.push(unknown_value(Col::Gender, Gender::ALL, Gender::as_str));
                None
            }),
        };
        let mut daily_living = DailyLiving::default();
        for item in list_items(self.get(Col::DailyLivingUnable)) {
            let lower = item.to_ascii_lowercase();
            match DAILY_LIVING_ITEMS
                .iter()
                .position(|(en, zh)| *en == lower || *zh == item)
            {
                Some(0) => daily_living.eating = false,
                Some(1) => daily_living.dressing = false,
                Some(2) => daily_living.getting_in_and_out_of_bed = false,
                Some(3) => daily_living.toileting = false,
                Some(4) => daily_living.walking_indoors = false,
                Some(_) => daily_living.bathing = false,
                None => {
                    let names: Vec<&str> = DAILY_LIVING_ITEMS.iter().map(|(en, _)| *en).collect();
                    errors.push(cell_error(
                        Col::DailyLivingUnable,
                        "unknown_value",
                        format!("取值无效 / items are {}", names.join(", ")),
                    ));
                    break;
                }
            }
        }
        let mut money = |col: Col| match parse_yuan(self.get(col)) {
            Ok(fen) => fen,
            Err(BadAmount) => {
                errors.push(cell_error(
                    col,
                    "invalid_amount",
                    "金额以元为单位，最多两位小数，如 1234.50 / an amount is yuan with at most 2 decimals, e.g. 1234.50, without separators",
                ));
                0
            }
        };
        let annual_income = Income {
            wages_fen: money(Col::IncomeWages),
            farming_fen: money(Col::IncomeFarming),
            business_fen: money(Col::IncomeBusiness),
            rent_fen: money(Col::IncomeRent),
            pension_fen: money(Col::IncomePension),
            support_fen: money(Col::IncomeSupport),
            other_fen: money(Col::IncomeOther),
        };
        let phone = Some(self.get(Col::Phone).to_owned()).filter(|p| !p.is_empty());
        if errors.len() > before {
            return None;
        }
        Some(MemberInput {
            name,
            relation: relation?,
            id_number,
            birth_date,
            gender,
            health: health?,
            disability_type,
            disability_level,
            daily_living,
            work_status: work_status?,
            student_status,
            annual_income,
            phone,
        })
    }
}

/// The household's own columns, as on its first row.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct HouseholdCells {
    values: Vec<String>,
}

pub(super) const HOUSEHOLD_COLS: [Col; 9] = [
    Col::Address,
    Col::Lat,
    Col::Lon,
    Col::Crs,
    Col::GridCode,
    Col::Status,
    Col::StatusSince,
    Col::Tags,
    Col::Notes,
];

impl HouseholdCells {
    pub(super) fn from_row(cells: &Cells<'_>) -> Self {
        Self {
            values: HOUSEHOLD_COLS
                .iter()
                .map(|c| cells.get(*c).to_owned())
                .collect(),
        }
    }

    pub(super) fn get(&self, col: Col) -> &str {
        HOUSEHOLD_COLS
            .iter()
            .position(|c| *c == col)
            .and_then(|i| self.values.get(i))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// The first household column a later row fills differently, if any.
    pub(super) fn differs(&self, cells: &Cells<'_>) -> Option<Col> {
        HOUSEHOLD_COLS
            .iter()
            .zip(&self.values)
            .find(|(c, v)| {
                let t = cells.get(**c);
                !t.is_empty() && t != v.as_str()
            })
            .map(|(c, _)| *c)
    }

    /// The household's fields, or what is wrong with them.
    pub(super) fn parse(&self, errors: &mut Vec<CellError>) -> HouseholdFields {
        let lat = self.get(Col::Lat);
        let lon = self.get(Col::Lon);
        let coordinate = |col: Col, text: &str, errors: &mut Vec<CellError>| {
            let v = text.parse::<f64>().ok().filter(|v| v.is_finite());
            if v.is_none() {
                errors.push(cell_error(
                    col,
                    "invalid_number",
                    "须为十进制度数 / decimal degrees expected",
                ));
            }
            v
        };
        let location = match (lat.is_empty(), lon.is_empty()) {
            (true, true) => None,
            (false, false) => {
                let crs = match self.get(Col::Crs).to_ascii_lowercase().as_str() {
                    "" | "wgs84" => Some(Crs::Wgs84),
                    "gcj02" => Some(Crs::Gcj02),
                    "bd09" => Some(Crs::Bd09),
                    _ => {
                        errors.push(cell_error(
                            Col::Crs,
                            "unknown_value",
                            "取值无效 / not one of wgs84, gcj02, bd09",
                        ));
                        None
                    }
                };
                match (
                    coordinate(Col::Lat, lat, errors),
                    coordinate(Col::Lon, lon, errors),
                    crs,
                ) {
                    (Some(lat), Some(lon), Some(crs)) => Some(Location {
                        lat,
                        lon,
                        crs: Some(crs),
                    }),
                    _ => None,
                }
            }
            _ => {
                errors.push(cell_error(
                    Col::Lat,
                    "incomplete",
                    "lat 与 lon 须同时填写 / lat and lon go together",
                ));
                None
            }
        };
        let grid_code = Some(self.get(Col::GridCode).to_owned()).filter(|g| !g.is_empty());
        if location.is_none() && grid_code.is_none() && errors.is_empty() {
            errors.push(cell_error(
                Col::Lat,
                "required",
                "需要位置（lat, lon）或 grid_code / a location (lat, lon) or a grid_code is required",
            ));
        }
        let status = match self.get(Col::Status) {
            "" => None,
            t => parse_label(t, AssistanceStatus::parse, STATUS_LABELS).or_else(|| {
                errors.push(unknown_value(
                    Col::Status,
                    AssistanceStatus::ALL,
                    AssistanceStatus::as_str,
                ));
                None
            }),
        };
        let status_since = match self.get(Col::StatusSince) {
            "" => None,
            t => parse_date(t).or_else(|| {
                errors.push(cell_error(
                    Col::StatusSince,
                    "invalid_date",
                    "日期格式为 YYYY-MM-DD / a date is YYYY-MM-DD",
                ));
                None
            }),
        };
        HouseholdFields {
            address: self.get(Col::Address).to_owned(),
            location,
            grid_code,
            status,
            status_since,
            tags: list_items(self.get(Col::Tags)).map(str::to_owned).collect(),
            notes: self.get(Col::Notes).to_owned(),
        }
    }
}

pub(super) struct HouseholdFields {
    pub(super) address: String,
    pub(super) location: Option<Location>,
    pub(super) grid_code: Option<String>,
    pub(super) status: Option<AssistanceStatus>,
    pub(super) status_since: Option<NaiveDate>,
    pub(super) tags: Vec<String>,
    pub(super) notes: String,
}
