//! Reading the workbook: the zip is checked before anything is inflated, then the three sheets
//! are read as a stream of cells under the [`XlsLimits`].

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{DataRef, Reader, Xlsx};
use chrono::NaiveDate;
use jiuzhu_proto::error::FieldError;

use super::{code, error, XlsLimits};

/// One sheet: its name and its non-empty cells as text, by 0-based (row, column).
#[derive(Debug, Default)]
pub(super) struct Sheet {
    pub(super) name: String,
    pub(super) rows: Vec<(u32, Vec<(u32, String)>)>,
}

#[derive(Debug, Default)]
pub(super) struct Workbook {
    pub(super) survey: Option<Sheet>,
    pub(super) choices: Option<Sheet>,
    pub(super) settings: Option<Sheet>,
}

/// `D12` for 0-based (11, 3).
pub(super) fn cell_ref(sheet: &str, row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut n = u64::from(col) + 1;
    while n > 0 {
        let rem = ((n - 1) % 26) as u8;
        letters.push(char::from(b'A' + rem));
        n = (n - 1) / 26;
    }
    let letters: String = letters.iter().rev().collect();
    format!("{sheet}!{letters}{}", u64::from(row) + 1)
}

pub(super) fn read_workbook(bytes: &[u8], limits: &XlsLimits) -> Result<Workbook, FieldError> {
    if bytes.is_empty() {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "文件为空 / the file is empty; expected an .xlsx workbook",
        ));
    }
    if bytes.len() > limits.max_bytes {
        return Err(error(
            "",
            code::TOO_LARGE,
            format!(
                "文件过大 / the workbook is {} bytes; at most {}",
                bytes.len(),
                limits.max_bytes
            ),
        ));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "不支持旧版 .xls / a legacy .xls (or encrypted) workbook; save it as .xlsx",
        ));
    }
    if !bytes.starts_with(b"PK") {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "不是 .xlsx 文件 / not an .xlsx workbook (not a zip archive)",
        ));
    }
    check_zip(bytes, limits)?;
    // The zip and XML readers are third-party code fed hostile bytes; a panic in them must
    // become a refused upload, not a dead worker.
    match catch_unwind(AssertUnwindSafe(|| read_sheets(bytes, limits))) {
        Ok(result) => result,
        Err(_) => Err(error(
            "",
            code::INVALID_WORKBOOK,
            "工作簿已损坏 / the workbook is damaged and cannot be read",
        )),
    }
}

fn le16(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u64::from(u16::from_le_bytes([s[0], s[1]])))
}

fn le32(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u64::from(u32::from_le_bytes([s[0], s[1], s[2], s[3]])))
}

/// Walks the zip central directory and refuses archives whose declared contents are too big,
/// too many, or compressed suspiciously well, before any entry is inflated.
fn check_zip(bytes: &[u8], limits: &XlsLimits) -> Result<(), FieldError> {
    let damaged = || {
        error(
            "",
            code::INVALID_WORKBOOK,
            "工作簿已损坏 / the workbook is not a valid zip archive",
        )
    };
    // The end-of-central-directory record is in the last 22 + 65,535 bytes.
    let floor = bytes.len().saturating_sub(22 + 65_535);
    let eocd = (floor..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| bytes.get(i..i + 4) == Some(&[0x50, 0x4B, 0x05, 0x06][..]))
        .ok_or_else(damaged)?;
    let entries = le16(bytes, eocd + 10).ok_or_else(damaged)?;
    let cd_offset = le32(bytes, eocd + 16).ok_or_else(damaged)?;
    if entries == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        return Err(error(
            "",
            code::INVALID_WORKBOOK,
            "不支持 ZIP64 / zip64 archives are not accepted",
        ));
    }
    if usize::try_from(entries).map_or(true, |n| n > limits.max_zip_entries) {
        return Err(error(
            "",
            code::TOO_LARGE,
            format!(
                "压缩包条目过多 / the archive has {entries} entries; at most {}",
                limits.max_zip_entries
            ),
        ));
    }
    let mut at = usize::try_from(cd_offset).map_err(|_| damaged())?;
    let mut total: u64 = 0;
    for _ in 0..entries {
        if le32(bytes, at) != Some(0x0201_4B50) {
            return Err(damaged());
        }
        let compressed = le32(bytes, at + 20).ok_or_else(damaged)?;
        let uncompressed = le32(bytes, at + 24).ok_or_else(damaged)?;
        if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF {
            return Err(error(
                "",
                code::INVALID_WORKBOOK,
                "不支持 ZIP64 / zip64 archives are not accepted",
            ));
        }
        // Deflate of real spreadsheet XML stays far below 1:200; bombs go to 1:1000.
        if uncompressed > 1_000_000 && uncompressed / compressed.max(1) > 200 {
            return Err(error(
                "",
                code::TOO_LARGE,
                "压缩比异常 / an entry of the archive is compressed suspiciously well (zip bomb?)",
            ));
        }
        total = total.saturating_add(uncompressed);
        let name_len = le16(bytes, at + 28).ok_or_else(damaged)?;
        let extra_len = le16(bytes, at + 30).ok_or_else(damaged)?;
        let comment_len = le16(bytes, at + 32).ok_or_else(damaged)?;
        let step = 46 + name_len + extra_len + comment_len;
        at = at
            .checked_add(usize::try_from(step).map_err(|_| damaged())?)
            .ok_or_else(damaged)?;
    }
    if total > limits.max_uncompressed_bytes {
        return Err(error(
            "",
            code::TOO_LARGE,
            format!(
                "解压后过大 / the workbook unpacks to {total} bytes; at most {}",
                limits.max_uncompressed_bytes
            ),
        ));
    }
    Ok(())
}

fn read_sheets(bytes: &[u8], limits: &XlsLimits) -> Result<Workbook, FieldError> {
    let mut xlsx = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        error(
            "",
            code::INVALID_WORKBOOK,
            format!("无法读取工作簿 / cannot read the workbook: {e}"),
        )
    })?;
    let names = xlsx.sheet_names();
    let find = |wanted: &str| {
        names
            .iter()
            .find(|n| n.trim().eq_ignore_ascii_case(wanted))
            .cloned()
    };
    let mut book = Workbook::default();
    let mut budget = limits.max_cells;
    for (wanted, slot) in [
        ("survey", &mut book.survey),
        ("choices", &mut book.choices),
        ("settings", &mut book.settings),
    ] {
        if let Some(actual) = find(wanted) {
            *slot = Some(read_sheet(&mut xlsx, &actual, wanted, limits, &mut budget)?);
        }
    }
    Ok(book)
}

fn read_sheet(
    xlsx: &mut Xlsx<Cursor<&[u8]>>,
    actual: &str,
    name: &str,
    limits: &XlsLimits,
    budget: &mut usize,
) -> Result<Sheet, FieldError> {
    let unreadable = |e: calamine::XlsxError| {
        error(
            name,
            code::INVALID_WORKBOOK,
            format!("无法读取工作表 / cannot read sheet '{name}': {e}"),
        )
    };
    let mut reader = xlsx.worksheet_cells_reader(actual).map_err(unreadable)?;
    let mut cells: Vec<(u32, u32, String)> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(unreadable)? {
        let (row, col) = cell.get_position();
        let Some(text) = cell_text(cell.get_value()) else {
            return Err(error(
                cell_ref(name, row, col),
                code::INVALID_VALUE,
                "单元格为错误值 / the cell holds an Excel error value",
            ));
        };
        if text.trim().is_empty() {
            continue;
        }
        if row >= limits.max_rows {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "行数过多 / sheet '{name}' goes past row {}",
                    limits.max_rows
                ),
            ));
        }
        if col >= limits.max_columns {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "列数过多 / sheet '{name}' goes past column {}",
                    limits.max_columns
                ),
            ));
        }
        if text.chars().count() > limits.max_cell_chars {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "单元格过长 / the cell holds more than {} characters",
                    limits.max_cell_chars
                ),
            ));
        }
        if *budget == 0 {
            return Err(error(
                cell_ref(name, row, col),
                code::TOO_LARGE,
                format!(
                    "单元格过多 / the workbook has more than {} non-empty cells",
                    limits.max_cells
                ),
            ));
        }
        *budget -= 1;
        cells.push((row, col, text));
    }
    // Cells arrive in sheet order, which a hand-made file need not keep.
    cells.sort_by_key(|&(r, c, _)| (r, c));
    let mut rows: Vec<(u32, Vec<(u32, String)>)> = Vec::new();
    for (r, c, text) in cells {
        match rows.last_mut() {
            Some((last, row)) if *last == r => {
                if row.last().map(|(lc, _)| *lc) != Some(c) {
                    row.push((c, text));
                }
            }
            _ => rows.push((r, vec![(c, text)])),
        }
    }
    Ok(Sheet {
        name: name.to_owned(),
        rows,
    })
}

/// A cell as text; `None` for an Excel error value.
fn cell_text(value: &DataRef<'_>) -> Option<String> {
    Some(match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => float_text(*f),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(d) => {
            let serial = d.as_f64();
            // Excel's day 0 is 1899-12-30 once past its fictitious 1900-02-29.
            let days = serial.floor();
            let date = NaiveDate::from_ymd_opt(1899, 12, 30).and_then(|base| {
                if days.is_finite() && (0.0..3_000_000.0).contains(&days) {
                    base.checked_add_days(chrono::Days::new(days as u64))
                } else {
                    None
                }
            });
            match date {
                Some(d) => d.format("%Y-%m-%d").to_string(),
                None => float_text(serial),
            }
        }
        DataRef::Error(_) => return None,
    })
}

fn float_text(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}
