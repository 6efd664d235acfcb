//! The encoding of an import file: sniffed from its start (UTF-8, GBK, refused UTF-16) and decoded
//! to UTF-8 as it streams, with the bytes read counted for progress.

use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{ImportError, Refusal};
use crate::error::ApiError;

/// How much of the file decides the encoding when it starts with plain ASCII for a while.
const SNIFF_MIN: usize = 64 * 1024;
const SNIFF_MAX: usize = 4 * 1024 * 1024;

/// The encoding the caller says the file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodingChoice {
    /// A BOM or valid UTF-8 means UTF-8, anything else that decodes cleanly as GBK is GBK.
    #[default]
    Auto,
    Utf8,
    Gbk,
}

/// The encoding the file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// GBK, read with the GB18030 decoder (a superset, so four-byte characters also come through).
    Gbk,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf8",
            Encoding::Gbk => "gbk",
        }
    }
}

/// Counts the bytes read from the file, for progress and ETA.
pub(super) struct CountingReader<R> {
    pub(super) inner: R,
    pub(super) count: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Decodes GBK (GB18030) to UTF-8 chunk by chunk. Malformed sequences become U+FFFD, which GBK
/// cannot encode, so a row holding one is reported as badly encoded.
pub(super) struct GbkToUtf8<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    input_done: bool,
    output: Box<[u8]>,
    out_pos: usize,
    out_len: usize,
    finished: bool,
}

impl<R: Read> GbkToUtf8<R> {
    pub(super) fn new(inner: R) -> Self {
        const CHUNK: usize = 64 * 1024;
        Self {
            inner,
            decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
            input: vec![0; CHUNK].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            input_done: false,
            // A GBK byte never becomes more than 3 UTF-8 bytes; the decoder copes with less.
            output: vec![0; CHUNK * 3 + 16].into_boxed_slice(),
            out_pos: 0,
            out_len: 0,
            finished: false,
        }
    }
}

impl<R: Read> Read for GbkToUtf8<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.out_pos < self.out_len {
                let n = buf.len().min(self.out_len - self.out_pos);
                buf[..n].copy_from_slice(&self.output[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            if self.finished {
                return Ok(0);
            }
            if self.in_pos == self.in_len && !self.input_done {
                let n = loop {
                    match self.inner.read(&mut self.input) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                self.in_pos = 0;
                self.in_len = n;
                self.input_done = n == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.in_pos..self.in_len],
                &mut self.output,
                self.input_done,
            );
            self.in_pos += read;
            self.out_pos = 0;
            self.out_len = written;
            if self.input_done && result == encoding_rs::CoderResult::InputEmpty {
                self.finished = true;
            }
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> io::Result<bool> {
    let start = buf.len();
    buf.resize(start + want, 0);
    let mut filled = start;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => {
                buf.truncate(filled);
                return Ok(true);
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                buf.truncate(filled);
                return Err(e);
            }
        }
    }
    Ok(false)
}

pub(super) fn io_failure(e: io::Error) -> ImportError {
    ImportError::Failed(ApiError::internal(anyhow::anyhow!(
        "reading the import file: {e}"
    )))
}

/// Decides the encoding from the start of the file and returns a reader of UTF-8 text (BOM
/// stripped) that yields the whole file.
pub(crate) fn decode<R: Read + Send + 'static>(
    mut raw: R,
    choice: EncodingChoice,
) -> Result<(Encoding, Box<dyn Read + Send>), ImportError> {
    let mut prefix = Vec::new();
    let mut eof = read_full(&mut raw, &mut prefix, SNIFF_MIN).map_err(io_failure)?;
    // An ASCII start says nothing; read on to the first non-ASCII byte (bounded).
    while !eof && prefix.len() < SNIFF_MAX && prefix.is_ascii() {
        eof = read_full(&mut raw, &mut prefix, SNIFF_MIN).map_err(io_failure)?;
    }
    if prefix.starts_with(&[0xFF, 0xFE]) || prefix.starts_with(&[0xFE, 0xFF]) {
        return Err(ImportError::Refused(Refusal::new(
            "utf16_not_supported",
            "文件为 UTF-16 编码，请另存为 CSV UTF-8 / the file is UTF-16; save it as \"CSV UTF-8\" or GBK CSV",
        )));
    }
    let bom = prefix.starts_with(&[0xEF, 0xBB, 0xBF]);
    let body = if bom { &prefix[3..] } else { &prefix[..] };
    let encoding = match choice {
        _ if bom => Encoding::Utf8,
        EncodingChoice::Utf8 => Encoding::Utf8,
        EncodingChoice::Gbk => Encoding::Gbk,
        EncodingChoice::Auto => match std::str::from_utf8(body) {
            Ok(_) => Encoding::Utf8,
            // Cut in the middle of a character at the end of the sample: still UTF-8.
            Err(e) if e.error_len().is_none() && !eof => Encoding::Utf8,
            Err(_) => {
                let mut decoder = encoding_rs::GB18030.new_decoder_without_bom_handling();
                let mut out = vec![0u8; body.len() * 3 + 16];
                let (_, _, _, replaced) = decoder.decode_to_utf8(body, &mut out, eof);
                if replaced {
                    return Err(ImportError::Refused(Refusal::new(
                        "unrecognised_encoding",
                        "文件既不是 UTF-8 也不是 GBK 文本 / the file is neither UTF-8 nor GBK text",
                    )));
                }
                Encoding::Gbk
            }
        },
    };
    let mut head = io::Cursor::new(prefix);
    head.set_position(if bom { 3 } else { 0 });
    let chained = head.chain(raw);
    let reader: Box<dyn Read + Send> = match encoding {
        Encoding::Utf8 => Box::new(chained),
        Encoding::Gbk => Box::new(GbkToUtf8::new(chained)),
    };
    Ok((encoding, reader))
}
