//! Tests of the household import: record lines, amounts, encodings, the header and the samples.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io;

use super::columns::{Col, Header, COLUMNS, HOUSEHOLD_COLS};
use super::encoding::GbkToUtf8;
use super::scan::RecordScanner;
use super::*;

fn scan_lines(text: &[u8]) -> Vec<u64> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(RecordScanner::new(text));
    let mut record = csv::ByteRecord::new();
    let mut lines = Vec::new();
    while reader.read_byte_record(&mut record).unwrap() {
        lines.push(reader.get_mut().next_start().unwrap());
    }
    lines
}

#[test]
fn record_lines_follow_the_file() {
    assert_eq!(scan_lines(b"a,b\n1,2\n3,4\n"), vec![1, 2, 3]);
    assert_eq!(scan_lines(b"a,b\r\n1,2\r\n3,4\r\n"), vec![1, 2, 3]);
    assert_eq!(scan_lines(b"a,b\n\n1,2\n\r\n3,4"), vec![1, 3, 5]);
    assert_eq!(scan_lines(b"a,b\n\"x\ny\",2\n3,4\n"), vec![1, 2, 4]);
    assert_eq!(scan_lines(b"a,b\n\"x\"\"\ny\",2\n3,4\n"), vec![1, 2, 4]);
    // A quote inside an unquoted field is literal; after a closing quote too.
    assert_eq!(
        scan_lines(b"a,b\nx\"y,2\n\"q\"r,4\n5,6\n"),
        vec![1, 2, 3, 4]
    );
}

#[test]
fn an_unclosed_quote_stops_at_the_cap() {
    let mut text = b"a,b\n1,\"never closed\n".to_vec();
    text.extend(std::iter::repeat_n(b'x', MAX_RECORD_BYTES + 10));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(RecordScanner::new(&text[..]));
    let mut record = csv::ByteRecord::new();
    assert!(reader.read_byte_record(&mut record).unwrap());
    assert!(reader.read_byte_record(&mut record).is_err());
    assert_eq!(reader.get_ref().overflow, Some((2, true)));
}

#[test]
fn yuan_to_fen() {
    assert_eq!(parse_yuan("1234.50"), Ok(123_450));
    assert_eq!(parse_yuan("1234.5"), Ok(123_450));
    assert_eq!(parse_yuan("1234"), Ok(123_400));
    assert_eq!(parse_yuan(" 0.01 "), Ok(1));
    assert_eq!(parse_yuan(""), Ok(0));
    assert_eq!(parse_yuan("-5"), Ok(-500));
    for bad in [
        "1,000", "NaN", "nan", "1e3", "1.234", "12.", ".5", "abc", "１２", "inf", "--1",
    ] {
        assert_eq!(parse_yuan(bad), Err(BadAmount), "{bad}");
    }
}

#[test]
fn gbk_decodes_across_chunk_boundaries() {
    let text = "户主,张三,𠀀,€\n".repeat(20_000);
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(&text);
    assert!(!unmappable);
    // One byte at a time from the inner reader exercises every split.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    for step in [1, 7, 65_536] {
        let mut out = String::new();
        GbkToUtf8::new(Trickle(&bytes, step))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text, "step {step}");
    }
}

fn sniff(bytes: &[u8], choice: EncodingChoice) -> Result<(Encoding, String), String> {
    match decode(io::Cursor::new(bytes.to_vec()), choice) {
        Ok((e, mut r)) => {
            let mut s = String::new();
            r.read_to_string(&mut s).map_err(|e| e.to_string())?;
            Ok((e, s))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[test]
fn encodings_are_told_apart() {
    assert_eq!(
        sniff("名,x\n".as_bytes(), EncodingChoice::Auto).unwrap(),
        (Encoding::Utf8, "名,x\n".into())
    );
    assert_eq!(
        sniff(b"\xEF\xBB\xBFa,b\n", EncodingChoice::Auto).unwrap(),
        (Encoding::Utf8, "a,b\n".into())
    );
    let (gbk, _, _) = encoding_rs::GBK.encode("姓名,地址\n张三,常州\n");
    assert_eq!(
        sniff(&gbk, EncodingChoice::Auto).unwrap(),
        (Encoding::Gbk, "姓名,地址\n张三,常州\n".into())
    );
    // ASCII for longer than one sample, then GBK.
    let mut late = "a,b\n".repeat(40_000).into_bytes();
    late.extend_from_slice(&gbk);
    assert_eq!(sniff(&late, EncodingChoice::Auto).unwrap().0, Encoding::Gbk);
    let random: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(sniff(&random, EncodingChoice::Auto)
        .unwrap_err()
        .starts_with("unrecognised_encoding"));
    assert!(sniff(b"\xFF\xFEa\0", EncodingChoice::Auto)
        .unwrap_err()
        .starts_with("utf16"));
}

#[test]
fn header_problems_are_listed() {
    let rec = csv::ByteRecord::from(vec![
        "household_external_id",
        "地址",
        "name",
        "colour",
        "name",
    ]);
    let err = Header::parse(&rec).unwrap_err();
    let codes: Vec<&str> = err.details.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        [
            "missing_column",
            "missing_column",
            "unknown_column",
            "duplicate_column"
        ]
    );
    assert!(err.details[0].message.contains("id_number"));
    assert!(err.details[2].message.contains('4'));
    assert!(!err.to_string().contains("colour"));
    let full = csv::ByteRecord::from(header_names());
    assert!(Header::parse(&full).is_ok());
}

#[test]
fn columns_are_in_declaration_order() {
    for (i, c) in COLUMNS.iter().enumerate() {
        assert_eq!(c.col as usize, i, "{}", c.name);
        // The household's own columns come first, then the member's.
        let household = i < COLUMNS.iter().position(|c| c.col == Col::Name).unwrap();
        let own = c.col == Col::HouseholdExternalId;
        assert_eq!(
            HOUSEHOLD_COLS.contains(&c.col),
            household && !own,
            "{}",
            c.name
        );
    }
}

fn write_fixture(name: &str, bytes: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/households")
        .join(name);
    std::fs::write(path, bytes).unwrap();
}

/// `sample-gbk.csv` is `sample-utf8.csv` encoded as GBK. `JIUZHU_WRITE_FIXTURES=1 cargo test
/// -p jiuzhu-server sample_files` rewrites it after the UTF-8 sample changes.
#[test]
fn sample_files_match() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/households");
    let utf8 = std::fs::read_to_string(dir.join("sample-utf8.csv")).unwrap();
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&utf8);
    assert!(!unmappable, "the sample must be GBK-representable");
    if std::env::var("JIUZHU_WRITE_FIXTURES").is_ok() {
        write_fixture("sample-gbk.csv", &gbk);
    }
    assert_eq!(
        std::fs::read(dir.join("sample-gbk.csv")).unwrap(),
        gbk.to_vec()
    );
    assert_eq!(
        sniff(&gbk, EncodingChoice::Auto).unwrap(),
        (Encoding::Gbk, utf8.clone())
    );
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(utf8.as_bytes());
    let mut record = csv::ByteRecord::new();
    assert!(reader.read_byte_record(&mut record).unwrap());
    assert!(Header::parse(&record).is_ok());
}
