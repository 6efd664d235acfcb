//! PostgreSQL's `COPY … FROM STDIN (FORMAT csv)` for the large tables of bulk imports: no
//! statement to parse and plan per few hundred rows, no per-value bind. Every text is quoted, so
//! an empty string stays an empty string and an unquoted empty field is NULL.

use std::fmt::Write as _;

use diesel::result::Error;

/// A quoted text field.
pub fn text(line: &mut String, value: &str) {
    line.push('"');
    for c in value.chars() {
        if c == '"' {
            line.push('"');
        }
        line.push(c);
    }
    line.push_str("\",");
}

/// bytea in its hex input form (`\x…`); CSV gives the backslash no meaning.
pub fn bytea(line: &mut String, value: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    line.push_str("\\x");
    for b in value {
        line.push(char::from(HEX[usize::from(b >> 4)]));
        line.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    line.push(',');
}

/// A text field, or NULL.
pub fn optional(line: &mut String, value: Option<&str>) {
    match value {
        Some(v) => text(line, v),
        None => line.push(','),
    }
}

/// A number, date or other text that needs no quoting.
pub fn plain(line: &mut String, value: impl std::fmt::Display) {
    let _ = write!(line, "{value},");
}

/// Ends a row.
pub fn end(line: &mut String) {
    line.pop();
    line.push('\n');
}

/// Timestamps as PostgreSQL reads them.
pub const TIMESTAMP: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// Writes `rows` rows, each filled by `fill`.
pub fn write_all(
    out: &mut dyn std::io::Write,
    rows: usize,
    mut fill: impl FnMut(usize, &mut String),
) -> Result<(), Error> {
    let mut line = String::with_capacity(1024);
    for i in 0..rows {
        line.clear();
        fill(i, &mut line);
        end(&mut line);
        out.write_all(line.as_bytes())
            .map_err(|e| Error::SerializationError(Box::new(e)))?;
    }
    Ok(())
}
