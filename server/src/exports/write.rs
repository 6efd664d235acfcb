//! Rows into bytes: CSV (UTF-8 with a BOM, or GBK) or a GeoJSON FeatureCollection, one chunk at a
//! time. A kind writes each row's values in the order of its columns; the writer knows the format.

use std::fmt::Write as _;

use bytes::Bytes;
use chrono::NaiveDateTime;
use serde::Deserialize;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Csv,
    Geojson,
}

/// The CSV's character encoding. GeoJSON is always UTF-8 (RFC 7946).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8 with a byte-order mark, so Excel recognises it.
    #[default]
    Utf8,
    /// GBK, for older Excel and office software set to Chinese.
    Gbk,
}

/// The language of a CSV's header row. A GBK file is for Excel in a Chinese office, so it is
/// headed in Chinese unless asked otherwise; UTF-8 keeps the wire names programs expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HeaderLanguage {
    Zh,
    En,
}

/// The Chinese heading of a column (its key where none is known).
pub fn label_zh(key: &str) -> &str {
    match key {
        "accepted_at" => "受理时间",
        "accuracy_m" => "定位精度(米)",
        "address" => "地址",
        "application_id" => "申请编号",
        "at" => "时间",
        "categories" => "救助类别",
        "computed" => "计算值",
        "created_at" => "创建时间",
        "decided_at" => "审批时间",
        "delegated" => "委托街道审批",
        "external_id" => "外部编号",
        "finding_id" => "发现编号",
        "finished_at" => "走访结束时间",
        "flag_count" => "核验问题数",
        "flags" => "核验问题",
        "form_key" => "表单",
        "form_version" => "表单版本",
        "grid_code" => "网格代码",
        "grid_name" => "网格名称",
        "head_id_number_masked" => "户主身份证号(脱敏)",
        "head_name" => "户主姓名",
        "head_phone_masked" => "户主电话(脱敏)",
        "household_address" => "家庭地址",
        "household_id" => "家庭编号",
        "lat" => "纬度",
        "lon" => "经度",
        "member_count" => "家庭人数",
        "mock_location" => "模拟定位",
        "overdue" => "是否超期",
        "received_at" => "接收时间",
        "review_state" => "审核状态",
        "reviewed_at" => "审核时间",
        "rule_id" => "规则",
        "rule_version" => "规则版本",
        "source" => "来源",
        "started_at" => "走访开始时间",
        "state" => "状态",
        "status" => "救助状态",
        "step_due" => "本环节时限",
        "submitted_at" => "提交时间",
        "tags" => "标签",
        "task_id" => "任务编号",
        "total_due" => "办结时限",
        "type" => "类型",
        "unit_code" => "单位代码",
        "unit_name" => "单位名称",
        "updated_at" => "更新时间",
        "visit_id" => "走访编号",
        "worker_username" => "网格员账号",
        other => other,
    }
}

/// One column of an export: its key (CSV header, GeoJSON property) and whether it is a time.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    /// Times are stored in UTC and shown in Asia/Shanghai; the CSV header says so.
    pub time: bool,
}

impl Column {
    pub const fn new(key: &'static str) -> Self {
        Self { key, time: false }
    }

    pub const fn time(key: &'static str) -> Self {
        Self { key, time: true }
    }
}

/// Accumulates rows of one chunk; [`RowWriter::take`] hands the chunk over as bytes.
pub struct RowWriter {
    format: Format,
    columns: &'static [Column],
    buf: String,
    rows: u64,
    col: usize,
    bom: bool,
}

impl RowWriter {
    pub fn new(format: Format, columns: &'static [Column]) -> Self {
        Self {
            format,
            columns,
            buf: String::with_capacity(256 * 1024),
            rows: 0,
            col: 0,
            bom: false,
        }
    }

    /// Rows begun so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The header line (CSV) or the collection's opening (GeoJSON).
    pub fn header(&mut self, encoding: Encoding, language: HeaderLanguage) {
        match self.format {
            Format::Csv => {
                self.bom = encoding == Encoding::Utf8;
                for (i, c) in self.columns.iter().enumerate() {
                    if i > 0 {
                        self.buf.push(',');
                    }
                    match language {
                        HeaderLanguage::En => {
                            self.buf.push_str(c.key);
                            if c.time {
                                self.buf.push_str(" (Asia/Shanghai)");
                            }
                        }
                        HeaderLanguage::Zh => {
                            self.buf.push_str(label_zh(c.key));
                            if c.time {
                                self.buf.push_str("(北京时间)");
                            }
                        }
                    }
                }
                self.buf.push_str("\r\n");
            }
            Format::Geojson => self
                .buf
                .push_str("{\"type\":\"FeatureCollection\",\"features\":[\n"),
        }
    }

    /// Closes the collection (GeoJSON); nothing for CSV.
    pub fn footer(&mut self) {
        if self.format == Format::Geojson {
            self.buf.push_str("\n]}\n");
        }
    }

    /// Starts a row; `point` is (longitude, latitude) in WGS-84, the GeoJSON geometry.
    pub fn begin(&mut self, point: Option<(f64, f64)>) {
        self.col = 0;
        if self.format == Format::Geojson {
            if self.rows > 0 {
                self.buf.push_str(",\n");
            }
            self.buf.push_str("{\"type\":\"Feature\",\"geometry\":");
            match point {
                Some((lon, lat)) if lon.is_finite() && lat.is_finite() => {
                    let _ = write!(
                        self.buf,
                        "{{\"type\":\"Point\",\"coordinates\":[{lon},{lat}]}}"
                    );
                }
                _ => self.buf.push_str("null"),
            }
            self.buf.push_str(",\"properties\":{");
        }
        self.rows += 1;
    }

    pub fn end(&mut self) {
        match self.format {
            Format::Csv => self.buf.push_str("\r\n"),
            Format::Geojson => self.buf.push_str("}}"),
        }
    }

    fn field(&mut self) {
        match self.format {
            Format::Csv => {
                if self.col > 0 {
                    self.buf.push(',');
                }
            }
            Format::Geojson => {
                if self.col > 0 {
                    self.buf.push(',');
                }
                let key = self.columns.get(self.col).map_or("?", |c| c.key);
                self.buf.push('"');
                self.buf.push_str(key);
                self.buf.push_str("\":");
            }
        }
        self.col += 1;
    }

    fn null(&mut self) {
        if self.format == Format::Geojson {
            self.buf.push_str("null");
        }
    }

    pub fn text(&mut self, v: &str) {
        self.field();
        match self.format {
            Format::Csv => csv_cell(&mut self.buf, v),
            Format::Geojson => json_string(&mut self.buf, v),
        }
    }

    pub fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.text(v),
            None => {
                self.field();
                self.null();
            }
        }
    }

    pub fn int(&mut self, v: i64) {
        self.field();
        let _ = write!(self.buf, "{v}");
    }

    pub fn float(&mut self, v: Option<f64>) {
        self.field();
        match v {
            Some(v) if v.is_finite() => {
                let _ = write!(self.buf, "{v}");
            }
            _ => self.null(),
        }
    }

    pub fn bool(&mut self, v: bool) {
        self.field();
        self.buf.push_str(if v { "true" } else { "false" });
    }

    /// A UTC time, shown in Asia/Shanghai: `2026-11-28 21:03:05` in CSV (Excel reads it as a
    /// date), RFC 3339 with `+08:00` in GeoJSON.
    pub fn time(&mut self, v: Option<NaiveDateTime>) {
        self.field();
        let Some(v) = v else {
            self.null();
            return;
        };
        let local = crate::domain::time::zoned(v);
        match self.format {
            Format::Csv => local_time(&mut self.buf, local, ' '),
            Format::Geojson => {
                self.buf.push('"');
                local_time(&mut self.buf, local, 'T');
                self.buf.push_str("+08:00\"");
            }
        }
    }

    /// The chunk so far, encoded; the writer starts the next chunk empty.
    pub fn take(&mut self, encoding: Encoding) -> Bytes {
        let bom = std::mem::take(&mut self.bom);
        let bytes = match (self.format, encoding) {
            (Format::Csv, Encoding::Gbk) => {
                // Characters GBK lacks become numeric references (`&#NNNN;`), never lost silently.
                let (encoded, _, _) = encoding_rs::GBK.encode(&self.buf);
                Bytes::copy_from_slice(&encoded)
            }
            _ if bom => {
                let mut v = Vec::with_capacity(self.buf.len() + 3);
                v.extend_from_slice("\u{feff}".as_bytes());
                v.extend_from_slice(self.buf.as_bytes());
                Bytes::from(v)
            }
            _ => Bytes::copy_from_slice(self.buf.as_bytes()),
        };
        self.buf.clear();
        bytes
    }
}

/// One CSV cell (RFC 4180 quoting). A text cell that a spreadsheet would read as a formula
/// (`=`, `+`, `-`, `@`, tab, CR at the start) gets a leading apostrophe: exports are opened in
/// Excel, and an address must never run as a formula there.
fn csv_cell(buf: &mut String, v: &str) {
    let formula = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = formula || v.contains([',', '"', '\n', '\r']);
    if quote {
        buf.push('"');
    }
    if formula {
        buf.push('\'');
    }
    for ch in v.chars() {
        if ch == '"' {
            buf.push('"');
        }
        buf.push(ch);
    }
    if quote {
        buf.push('"');
    }
}

fn json_string(buf: &mut String, v: &str) {
    buf.push('"');
    for ch in v.chars() {
        match ch {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(buf, "\\u{:04x}", c as u32);
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

/// `%Y-%m-%d{sep}%H:%M:%S` of a local time, the digits written directly: chrono's `format` parses
/// its format string again for every value, which was a sixth of the export's CPU (four times a
/// row). Years outside 0–9999 (never stored) go through chrono, which signs them.
fn local_time(buf: &mut String, t: chrono::DateTime<chrono::FixedOffset>, sep: char) {
    use chrono::{Datelike, Timelike};
    if !(0..=9999).contains(&t.year()) {
        let _ = write!(buf, "{}", t.format(&format!("%Y-%m-%d{sep}%H:%M:%S")));
        return;
    }
    // chrono shows a leap second as second 60.
    let second = t.second() + t.nanosecond() / 1_000_000_000;
    let _ = write!(
        buf,
        "{:04}-{:02}-{:02}{sep}{:02}:{:02}:{second:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute()
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const COLUMNS: &[Column] = &[Column::new("name"), Column::new("n"), Column::time("at")];

    fn at() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 28)
            .unwrap()
            .and_hms_opt(20, 0, 0)
            .unwrap()
    }

    #[test]
    fn times_are_what_chrono_writes() {
        let offset = crate::domain::time::offset();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
        for t in [
            day.and_hms_opt(15, 59, 59).unwrap(),
            day.and_hms_nano_opt(16, 0, 0, 999_999_999).unwrap(),
            day.and_hms_nano_opt(23, 59, 59, 1_500_000_000).unwrap(),
            chrono::NaiveDate::from_ymd_opt(9, 1, 2)
                .unwrap()
                .and_hms_opt(3, 4, 5)
                .unwrap(),
            chrono::NaiveDate::from_ymd_opt(-44, 3, 15)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap(),
        ] {
            let local = t.and_utc().with_timezone(&offset);
            let mut ours = String::new();
            local_time(&mut ours, local, ' ');
            assert_eq!(ours, local.format("%Y-%m-%d %H:%M:%S").to_string());
            let mut w = RowWriter::new(Format::Geojson, COLUMNS);
            w.begin(None);
            w.time(Some(t));
            assert!(
                w.buf
                    .contains(&local.format("\"%Y-%m-%dT%H:%M:%S%:z\"").to_string()),
                "{}",
                w.buf
            );
        }
    }

    #[test]
    fn csv_has_a_bom_quotes_and_shanghai_times() {
        let mut w = RowWriter::new(Format::Csv, COLUMNS);
        w.header(Encoding::Utf8, HeaderLanguage::En);
        w.begin(None);
        w.text("王, \"小\"");
        w.int(3);
        w.time(Some(at()));
        w.end();
        w.begin(None);
        w.text("=cmd()");
        w.int(-1);
        w.time(None);
        w.end();
        let bytes = w.take(Encoding::Utf8);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text,
            "\u{feff}name,n,at (Asia/Shanghai)\r\n\"王, \"\"小\"\"\",3,2026-11-29 04:00:00\r\n\"'=cmd()\",-1,\r\n"
        );
        // The BOM comes once, in the first chunk only.
        w.begin(None);
        w.text("x");
        w.int(1);
        w.time(None);
        w.end();
        assert_eq!(&w.take(Encoding::Utf8)[..], b"x,1,\r\n");
    }

    #[test]
    fn gbk_round_trips_chinese() {
        let mut w = RowWriter::new(Format::Csv, COLUMNS);
        w.header(Encoding::Gbk, HeaderLanguage::Zh);
        w.begin(None);
        w.text("张三丰");
        w.int(1);
        w.time(None);
        w.end();
        let bytes = w.take(Encoding::Gbk);
        assert_ne!(&bytes[..3], "\u{feff}".as_bytes());
        let (text, _, bad) = encoding_rs::GBK.decode(&bytes);
        assert!(!bad);
        assert!(text.contains("张三丰,1,"));
    }

    #[test]
    fn geojson_is_valid_json() {
        let mut w = RowWriter::new(Format::Geojson, COLUMNS);
        w.header(Encoding::Utf8, HeaderLanguage::En);
        for point in [Some((119.9, 31.8)), None] {
            w.begin(point);
            w.text("a\"\n\u{1}");
            w.int(2);
            w.time(Some(at()));
            w.end();
        }
        w.footer();
        let bytes = w.take(Encoding::Utf8);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let features = v["features"].as_array().unwrap();
        assert_eq!(features.len(), 2);
        assert_eq!(features[0]["geometry"]["coordinates"][0], 119.9);
        assert!(features[1]["geometry"].is_null());
        assert_eq!(features[0]["properties"]["name"], "a\"\n\u{1}");
        assert_eq!(features[0]["properties"]["at"], "2026-11-29T04:00:00+08:00");
    }
}
