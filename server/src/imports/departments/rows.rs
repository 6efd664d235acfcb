//! Reading a department's file as a stream of rows, each given as field → text: a CSV reader
//! (UTF-8 or GBK, headers in English or Chinese) or a parsed JSON array of objects.

use std::collections::HashMap;
use std::io::Read;

use jiuzhu_proto::department::DepartmentSource;
use jiuzhu_proto::household::RowError;
use serde_json::Value as Json;

use super::record::{columns, row_error};
use super::Format;
use crate::error::ApiError;
use crate::imports::households::{decode, EncodingChoice, ImportError};

/// Where rows come from: a CSV reader or a parsed JSON array.
pub(super) enum Rows {
    Csv {
        reader: csv::Reader<Box<dyn Read + Send>>,
        positions: HashMap<&'static str, usize>,
        record: csv::StringRecord,
    },
    Json(std::vec::IntoIter<Json>, u64),
}

/// Ok(None) at the end; Err for a row that cannot be read (its line is reported).
pub(super) type RowResult = Result<Option<(u64, Box<dyn Fn(&str) -> String>)>, RowError>;

impl Rows {
    pub(super) fn open(
        source: DepartmentSource,
        input: Box<dyn Read + Send>,
        format: Format,
        encoding: EncodingChoice,
    ) -> Result<Self, ImportError> {
        let refuse = |code: &'static str, zh: &str, en: &str| {
            ImportError::Failed(ApiError::invalid("file", code, zh, en))
        };
        match format {
            Format::Json => {
                let mut text = String::new();
                let (_, mut reader) = decode(input, encoding)?;
                reader.read_to_string(&mut text).map_err(|_| {
                    refuse("invalid_encoding", "文件编码错误", "the file is not text")
                })?;
                let items: Vec<Json> = serde_json::from_str(&text).map_err(|_| {
                    refuse(
                        "invalid_json",
                        "JSON 须为对象数组",
                        "the JSON must be an array of objects",
                    )
                })?;
                Ok(Rows::Json(items.into_iter(), 0))
            }
            Format::Csv => {
                let (_, reader) = decode(input, encoding)?;
                let mut reader = csv::ReaderBuilder::new()
                    .flexible(false)
                    .from_reader(reader);
                let headers = reader
                    .headers()
                    .map_err(|_| {
                        refuse(
                            "invalid_header",
                            "无法读取表头",
                            "the header cannot be read",
                        )
                    })?
                    .clone();
                let mut positions = HashMap::new();
                for (name, zh, required) in columns(source) {
                    let at = headers.iter().position(|h| {
                        let h = h.trim();
                        h == *name || h == *zh
                    });
                    match at {
                        Some(i) => {
                            positions.insert(*name, i);
                        }
                        None if *required => {
                            return Err(refuse(
                                "missing_column",
                                &format!("缺少列 {name}（{zh}）"),
                                &format!("the column {name} ({zh}) is missing"),
                            ))
                        }
                        None => {}
                    }
                }
                Ok(Rows::Csv {
                    reader,
                    positions,
                    record: csv::StringRecord::new(),
                })
            }
        }
    }

    pub(super) fn next(&mut self) -> RowResult {
        match self {
            Rows::Json(items, line) => {
                *line += 1;
                let n = *line;
                match items.next() {
                    None => Ok(None),
                    Some(Json::Object(map)) => Ok(Some((
                        n,
                        Box::new(move |k: &str| match map.get(k) {
                            Some(Json::String(s)) => s.clone(),
                            Some(Json::Null) | None => String::new(),
                            Some(other) => other.to_string(),
                        }),
                    ))),
                    Some(_) => Err(row_error(n, "not_an_object", "不是对象", "not an object")),
                }
            }
            Rows::Csv {
                reader,
                positions,
                record,
            } => match reader.read_record(record) {
                Ok(false) => Ok(None),
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let values: HashMap<&'static str, String> = positions
                        .iter()
                        .map(|(k, i)| (*k, record.get(*i).unwrap_or("").to_owned()))
                        .collect();
                    Ok(Some((
                        line,
                        Box::new(move |k: &str| values.get(k).cloned().unwrap_or_default()),
                    )))
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    Err(row_error(
                        line,
                        "malformed_row",
                        "行格式错误（列数不符、引号未闭合或编码错误）",
                        "malformed row (wrong number of fields, broken quoting or bad encoding)",
                    ))
                }
            },
        }
    }
}
