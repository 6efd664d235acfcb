//! Where each CSV record starts (the line numbers people see) and the cap on a record's size.

use std::collections::VecDeque;
use std::io::{self, Read};

use super::MAX_RECORD_BYTES;

/// Mirrors the CSV reader's quoting rules byte by byte to know where each record starts (the line
/// numbers reported to people; the CSV reader's own count lags on CRLF files and blank lines) and
/// to stop a record that grows past [`MAX_RECORD_BYTES`] (an unclosed quote would otherwise
/// swallow the rest of the file into one field, in memory).
pub(super) struct RecordScanner<R> {
    inner: R,
    state: ScanState,
    line: u64,
    record_len: usize,
    /// Start lines of records the CSV reader has not taken yet (it reads ahead by a buffer).
    starts: VecDeque<u64>,
    /// The line of the record that grew too long, once that happened.
    pub(super) overflow: Option<(u64, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    RecordStart,
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

impl<R: Read> RecordScanner<R> {
    pub(super) fn new(inner: R) -> Self {
        Self {
            inner,
            state: ScanState::RecordStart,
            line: 1,
            record_len: 0,
            starts: VecDeque::new(),
            overflow: None,
        }
    }

    /// The start line of the next record the CSV reader hands out.
    pub(super) fn next_start(&mut self) -> Option<u64> {
        self.starts.pop_front()
    }

    fn scan(&mut self, bytes: &[u8]) -> Result<(), ()> {
        use ScanState::*;
        for &b in bytes {
            let terminator = b == b'\n' || b == b'\r';
            if self.state == RecordStart {
                if terminator {
                    self.line += u64::from(b == b'\n');
                    continue;
                }
                self.starts.push_back(self.line);
                self.record_len = 0;
                self.state = FieldStart;
            }
            self.record_len += 1;
            if self.record_len > MAX_RECORD_BYTES {
                let start = self.starts.back().copied().unwrap_or(self.line);
                let quoted = matches!(self.state, Quoted);
                self.overflow = Some((start, quoted));
                return Err(());
            }
            self.line += u64::from(b == b'\n');
            self.state = match (self.state, b) {
                // A quote opens a quoted field only at the start of the field.
                (FieldStart, b'"') => Quoted,
                (Quoted, b'"') => QuoteInQuoted,
                (Quoted, _) => Quoted,
                // `""` inside quotes is an escaped quote.
                (QuoteInQuoted, b'"') => Quoted,
                (_, b',') => FieldStart,
                _ if terminator => RecordStart,
                // Anything else (including a quote inside an unquoted field, or text after a
                // closing quote) is literal, as the CSV reader takes it.
                _ => Unquoted,
            };
        }
        Ok(())
    }
}

impl<R: Read> Read for RecordScanner<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.overflow.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record too long",
            ));
        }
        let n = self.inner.read(buf)?;
        if self.scan(&buf[..n]).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "record too long",
            ));
        }
        Ok(n)
    }
}
