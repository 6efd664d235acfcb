//! Shrink-on-load at 1/8 for sequential (baseline) Huffman JPEGs, reading only what that scale needs.
//!
//! At 1/8 scale every 8×8 block becomes one pixel: the block's DC coefficient. Every AC coefficient
//! must still be walked over in the entropy-coded data, but only its code length and run matter, not
//! its value: this decoder skips each one with a single table lookup (code plus extra bits) and keeps
//! no coefficient block, no dequantisation and no IDCT. jpeg-decoder decodes and stores all 64
//! coefficients of every block and runs its 1×1 IDCT on helper threads, which is most of the cost of a
//! 12 MP thumbnail.
//!
//! The output is meant to be the pixels jpeg-decoder gives at the same scale: the same DC rounding, the
//! same "fancy" chroma upsampling and the same colour conversion (its portable fixed-point formula,
//! which its SIMD path matches within one level). The unit tests compare the two.
//!
//! Anything outside the common case returns `None` and the caller decodes with jpeg-decoder as before:
//! progressive or arithmetic coding, 12-bit samples, colour spaces other than YCbCr and gray,
//! subsampling other than 1× or 2× per axis, several scans, and every irregularity in the data (a bad
//! code, a run past the block, a missing or misnumbered restart marker, a missing end marker). Corrupt
//! files therefore get exactly the error or the salvage jpeg-decoder gives them.

use crate::render::pixels::{Channels, Pixels};

/// Bits looked up at once. Every code of the usual tables is at most this long.
const LUT_BITS: u32 = 10;
const LUT_SIZE: usize = 1 << LUT_BITS;

/// Decodes a baseline JPEG (already stripped and checked by the container walk) at 1/8 scale, or
/// `None` when the file is not the simple case this handles (see the module documentation).
pub(crate) fn decode_eighth(bytes: &[u8]) -> Option<Pixels> {
    let planes = decode_planes(bytes)?;
    planes.to_pixels()
}

/// For the fuzz target ([`crate::fuzzing`]): the samples before colour conversion (as jpeg-decoder
/// gives them with `ColorTransform::RGB`) and the final pixels, or `None` as [`decode_eighth`].
pub(crate) fn decode_eighth_with_samples(bytes: &[u8]) -> Option<(Vec<u8>, Pixels)> {
    let planes = decode_planes(bytes)?;
    Some((planes.upsampled()?, planes.to_pixels()?))
}

/// One component of the frame, as declared in SOF and used by the scan.
#[derive(Debug, Clone, Copy)]
struct Component {
    id: u8,
    h: usize,
    v: usize,
    /// The quantiser of the DC coefficient.
    dc_quant: i32,
    dc_table: usize,
    ac_table: usize,
}

/// The DC values of every block, one plane per component, with the sizes jpeg-decoder uses.
#[derive(Debug)]
struct Planes {
    width: usize,
    height: usize,
    h_max: usize,
    v_max: usize,
    components: Vec<Component>,
    /// Per component, `stride × rows` samples (whole MCUs).
    samples: Vec<Vec<u8>>,
    strides: Vec<usize>,
}

/// What the header segments before the scan declared.
#[derive(Default)]
struct Header {
    /// DC quantiser of each of the four table slots.
    dc_quant: [Option<i32>; 4],
    dc_tables: [Option<DcTable>; 2],
    ac_tables: [Option<AcTable>; 2],
    frame: Option<Frame>,
    restart_interval: usize,
    jfif: bool,
    adobe_transform: Option<u8>,
}

fn be16(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 2)?;
    Some(usize::from(u16::from_be_bytes([b[0], b[1]])))
}

fn decode_planes(data: &[u8]) -> Option<Planes> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut header = Header::default();
    let mut pos = 2;
    loop {
        if *data.get(pos)? != 0xFF {
            return None;
        }
        while *data.get(pos)? == 0xFF {
            pos += 1;
        }
        let marker = *data.get(pos)?;
        pos += 1;
        let len = be16(data, pos)?;
        if len < 2 {
            return None;
        }
        let payload = data.get(pos + 2..pos + len)?;
        pos += len;
        match marker {
            // Baseline and extended sequential Huffman frames.
            0xC0 | 0xC1 => {
                if header.frame.is_some() {
                    return None;
                }
                header.frame = Some(parse_frame(payload)?);
            }
            // Every other frame type (progressive, lossless, arithmetic, hierarchical) and DNL.
            0xC2..=0xC3 | 0xC5..=0xCF | 0xDC | 0xDE | 0xDF => return None,
            0xC4 => parse_dht(payload, &mut header)?,
            0xDB => parse_dqt(payload, &mut header)?,
            0xDD => {
                if payload.len() != 2 {
                    return None;
                }
                header.restart_interval = be16(payload, 0)?;
            }
            0xE0 => header.jfif |= payload.starts_with(b"JFIF\0"),
            0xEE => {
                if payload.len() >= 12 && payload.starts_with(b"Adobe\0") {
                    // 0 unknown (RGB), 1 YCbCr, 2 YCCK; jpeg-decoder refuses anything else.
                    if payload[11] > 2 {
                        return None;
                    }
                    header.adobe_transform = Some(payload[11]);
                }
            }
            0xDA => return decode_scan(data, pos, payload, &header),
            // Other APPn and comments.
            0xE1..=0xED | 0xEF | 0xFE => {}
            _ => return None,
        }
    }
}

/// (width, height, [(id, h, v, quant slot)]) of an 8-bit frame of one or three components.
type Frame = (usize, usize, Vec<(u8, usize, usize, usize)>);

fn parse_frame(p: &[u8]) -> Option<Frame> {
    if p.len() < 6 || p[0] != 8 {
        return None;
    }
    let height = be16(p, 1)?;
    let width = be16(p, 3)?;
    let count = usize::from(p[5]);
    if width == 0 || height == 0 || !(count == 1 || count == 3) || p.len() != 6 + 3 * count {
        return None;
    }
    let mut components: Vec<(u8, usize, usize, usize)> = Vec::with_capacity(count);
    for c in p[6..].chunks_exact(3) {
        let (h, v, tq) = (
            usize::from(c[1] >> 4),
            usize::from(c[1] & 15),
            usize::from(c[2]),
        );
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
            return None;
        }
        if components.iter().any(|&(id, ..)| id == c[0]) {
            return None;
        }
        components.push((c[0], h, v, tq));
    }
    Some((width, height, components))
}

fn parse_dqt(mut p: &[u8], header: &mut Header) -> Option<()> {
    while !p.is_empty() {
        let (precision, slot) = (usize::from(p[0] >> 4), usize::from(p[0] & 15));
        if precision > 1 || slot > 3 {
            return None;
        }
        let size = 64 * (precision + 1);
        let table = p.get(1..1 + size)?;
        // jpeg-decoder refuses a zero anywhere in the table.
        let values: Vec<u16> = if precision == 0 {
            table.iter().map(|&b| u16::from(b)).collect()
        } else {
            table
                .chunks_exact(2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]))
                .collect()
        };
        if values.contains(&0) {
            return None;
        }
        header.dc_quant[slot] = Some(i32::from(values[0]));
        p = &p[1 + size..];
    }
    Some(())
}

fn parse_dht(mut p: &[u8], header: &mut Header) -> Option<()> {
    while !p.is_empty() {
        let (class, slot) = (p[0] >> 4, usize::from(p[0] & 15));
        if class > 1 || slot > 1 {
            return None;
        }
        let counts: [u8; 16] = p.get(1..17)?.try_into().ok()?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        if total == 0 || total > 256 {
            return None;
        }
        let values = p.get(17..17 + total)?;
        let codes = Canonical::new(&counts, values)?;
        if class == 0 {
            header.dc_tables[slot] = Some(DcTable::new(codes)?);
        } else {
            header.ac_tables[slot] = Some(AcTable::new(codes));
        }
        p = &p[17 + total..];
    }
    Some(())
}

/// A canonical Huffman code (JPEG Annex C) and the slow, bit-by-bit way to decode it.
#[derive(Clone)]
struct Canonical {
    /// (code, length, symbol) of every symbol, in code order.
    codes: Vec<(u16, u32, u8)>,
    /// Largest code of each length 1..=16 (index = length), or -1.
    max_code: [i32; 17],
    /// Symbol index of a code of each length, minus that length's first code.
    delta: [i32; 17],
    values: Vec<u8>,
}

impl Canonical {
    fn new(counts: &[u8; 16], values: &[u8]) -> Option<Self> {
        let mut codes = Vec::with_capacity(values.len());
        let mut max_code = [-1i32; 17];
        let mut delta = [0i32; 17];
        let mut code = 0u32;
        let mut k = 0usize;
        for length in 1..=16u32 {
            let count = usize::from(counts[length as usize - 1]);
            if count > 0 {
                delta[length as usize] = k as i32 - code as i32;
            }
            for _ in 0..count {
                if code >= 1 << length {
                    return None;
                }
                codes.push((u16::try_from(code).ok()?, length, *values.get(k)?));
                code += 1;
                k += 1;
            }
            if count > 0 {
                max_code[length as usize] = code as i32 - 1;
            }
            code <<= 1;
        }
        Some(Self {
            codes,
            max_code,
            delta,
            values: values.to_vec(),
        })
    }

    /// (symbol, code length) of the code at the top of `bits`, for codes longer than the lookup.
    fn decode_long(&self, bits: u64) -> Option<(u8, u32)> {
        let top = (bits >> 48) as i32;
        for length in (LUT_BITS + 1)..=16 {
            let code = top >> (16 - length);
            if code <= self.max_code[length as usize] {
                let index = usize::try_from(code + self.delta[length as usize]).ok()?;
                return Some((*self.values.get(index)?, length));
            }
        }
        None
    }
}

/// DC table: lookup gives (code length, magnitude category); 0 = a longer code.
const DC_INVALID: u16 = u16::MAX;

struct DcTable {
    lut: Box<[u16; LUT_SIZE]>,
    codes: Canonical,
}

impl DcTable {
    fn new(codes: Canonical) -> Option<Self> {
        let mut lut = Box::new([0u16; LUT_SIZE]);
        for &(code, length, symbol) in &codes.codes {
            if length <= LUT_BITS {
                let shift = LUT_BITS - length;
                let start = usize::from(code) << shift;
                // A category above 11 is refused when met (by falling back, as jpeg-decoder refuses it).
                let entry = if symbol > 11 {
                    DC_INVALID
                } else {
                    (length as u16) | (u16::from(symbol) << 8)
                };
                lut[start..start + (1 << shift)].fill(entry);
            }
        }
        Some(Self { lut, codes })
    }
}

/// AC table: one lookup gives everything needed to skip a coefficient.
struct AcTable {
    /// Bits 0–7: code length plus extra bits (the whole entry 0 = a code longer than the lookup);
    /// bits 8–15: how far the coefficient index moves (run + 1, or 16 for ZRL); bit 16: end of
    /// block; bit 17: ZRL. [`AC_INVALID`]: a symbol left to jpeg-decoder.
    lut: Box<[u32; LUT_SIZE]>,
    codes: Canonical,
}

const EOB: u32 = 1 << 16;
const ZRL: u32 = 1 << 17;
const AC_INVALID: u32 = u32::MAX;

/// The lookup entry of an AC symbol with a code of `length` bits.
fn ac_entry(symbol: u8, length: u32) -> u32 {
    let (run, size) = (u32::from(symbol >> 4), u32::from(symbol & 15));
    match (run, size) {
        (0, 0) => length | EOB,
        (15, 0) => length | (16 << 8) | ZRL,
        // EOBn only exists in progressive scans; jpeg-decoder reads it anyway, so leave it to it.
        (_, 0) => AC_INVALID,
        _ => (length + size) | ((run + 1) << 8),
    }
}

impl AcTable {
    fn new(codes: Canonical) -> Self {
        let mut lut = Box::new([0u32; LUT_SIZE]);
        for &(code, length, symbol) in &codes.codes {
            if length <= LUT_BITS {
                let shift = LUT_BITS - length;
                let start = usize::from(code) << shift;
                lut[start..start + (1 << shift)].fill(ac_entry(symbol, length));
            }
        }
        Self { lut, codes }
    }
}

/// The entropy-coded bits, with byte stuffing removed. Past a marker it reads zeros, as jpeg-decoder.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    /// Left-aligned: the next bit is bit 63. Bits below the `count` valid ones are zero.
    acc: u64,
    count: u32,
    marker: Option<u8>,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            acc: 0,
            count: 0,
            marker: None,
        }
    }

    /// Makes at least 32 bits available (more than one code plus its extra bits).
    #[inline(always)]
    fn ensure(&mut self) -> Option<()> {
        if self.count >= 32 {
            return Some(());
        }
        if self.marker.is_none() {
            if let Some(word) = self
                .data
                .get(self.pos..self.pos + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
            {
                let word = u64::from_be_bytes(word);
                let inverted = !word;
                let has_ff = inverted.wrapping_sub(0x0101_0101_0101_0101)
                    & !inverted
                    & 0x8080_8080_8080_8080;
                if has_ff == 0 {
                    let take = (63 - self.count) >> 3;
                    let kept = word & (u64::MAX << (64 - 8 * take));
                    self.acc |= kept >> self.count;
                    self.count += 8 * take;
                    self.pos += take as usize;
                    return Some(());
                }
            }
        }
        self.fill_slowly()
    }

    /// Byte by byte, until more than 56 bits are held, as jpeg-decoder's reader does.
    #[cold]
    fn fill_slowly(&mut self) -> Option<()> {
        while self.count <= 56 {
            let byte = if self.marker.is_some() {
                0
            } else {
                let byte = *self.data.get(self.pos)?;
                if byte == 0xFF {
                    let mut next = *self.data.get(self.pos + 1)?;
                    if next == 0 {
                        self.pos += 2;
                    } else {
                        let mut at = self.pos + 1;
                        while next == 0xFF {
                            at += 1;
                            next = *self.data.get(at)?;
                        }
                        if next == 0 {
                            return None;
                        }
                        self.marker = Some(next);
                        self.pos = at + 1;
                        continue;
                    }
                } else {
                    self.pos += 1;
                }
                byte
            };
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
        Some(())
    }

    #[inline(always)]
    fn peek_lut(&self) -> usize {
        (self.acc >> (64 - LUT_BITS)) as usize
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) -> Option<()> {
        if n > self.count {
            return None;
        }
        self.acc = if n >= 64 { 0 } else { self.acc << n };
        self.count -= n;
        Some(())
    }

    /// The next `n` (1..=16) bits as a number.
    #[inline(always)]
    fn take(&mut self, n: u32) -> Option<u32> {
        let value = (self.acc >> (64 - n)) as u32;
        self.consume(n)?;
        Some(value)
    }

    /// Called where a restart marker must come: drops the padding bits and reads the marker.
    fn restart(&mut self, expected: u8) -> Option<()> {
        self.fill_slowly()?;
        if self.marker.take()? != 0xD0 + expected {
            return None;
        }
        self.acc = 0;
        self.count = 0;
        Some(())
    }
}

/// F.2.2.1: the DC difference of the next block.
#[inline(always)]
fn decode_dc(bits: &mut Bits<'_>, table: &DcTable) -> Option<i16> {
    bits.ensure()?;
    let entry = table.lut[bits.peek_lut()];
    if entry == DC_INVALID {
        return None;
    }
    let (length, size) = if entry != 0 {
        (u32::from(entry & 0xFF), u32::from(entry >> 8))
    } else {
        let (symbol, length) = table.codes.decode_long(bits.acc)?;
        (length, u32::from(symbol))
    };
    if size > 11 {
        return None;
    }
    bits.consume(length)?;
    if size == 0 {
        return Some(0);
    }
    let raw = bits.take(size)?;
    // F.12 EXTEND: a leading 0 bit means a negative difference.
    let value = if raw < 1 << (size - 1) {
        raw as i32 - (1 << size) + 1
    } else {
        raw as i32
    };
    i16::try_from(value).ok()
}

/// Skips the 63 AC coefficients of one block.
#[inline(always)]
fn skip_ac(bits: &mut Bits<'_>, table: &AcTable) -> Option<()> {
    let mut k = 1u32;
    loop {
        bits.ensure()?;
        let mut entry = table.lut[bits.peek_lut()];
        if entry == 0 {
            let (symbol, length) = table.codes.decode_long(bits.acc)?;
            entry = ac_entry(symbol, length);
        }
        if entry == AC_INVALID {
            return None;
        }
        bits.consume(entry & 0xFF)?;
        if entry & EOB != 0 {
            return Some(());
        }
        let step = (entry >> 8) & 0xFF;
        k += step;
        if k >= 64 {
            // A coefficient past index 63 is something jpeg-decoder handles its own way; a run of 16
            // zeros reaching the end it simply ends the block on.
            return (k == 64 || entry & ZRL != 0).then_some(());
        }
    }
}

fn decode_scan(data: &[u8], start: usize, sos: &[u8], header: &Header) -> Option<Planes> {
    let (width, height, declared) = header.frame.as_ref()?;
    let (width, height) = (*width, *height);
    let count = usize::from(*sos.first()?);
    if count != declared.len() || sos.len() != 4 + 2 * count {
        return None;
    }
    let mut components = Vec::with_capacity(count);
    for (i, &(id, h, v, tq)) in declared.iter().enumerate() {
        let (scan_id, tables) = (sos[1 + 2 * i], sos[2 + 2 * i]);
        let (dc_table, ac_table) = (usize::from(tables >> 4), usize::from(tables & 15));
        if scan_id != id || dc_table > 1 || ac_table > 1 {
            return None;
        }
        header.dc_tables[dc_table].as_ref()?;
        header.ac_tables[ac_table].as_ref()?;
        components.push(Component {
            id,
            h,
            v,
            dc_quant: header.dc_quant[tq]?,
            dc_table,
            ac_table,
        });
    }
    // Spectral selection 0..=63, no successive approximation: a sequential scan.
    if sos[1 + 2 * count..] != [0, 63, 0] {
        return None;
    }
    let (h_max, v_max) = if count == 1 {
        // One component is never interleaved: an MCU is one block whatever the sampling says.
        if (components[0].h, components[0].v) != (1, 1) {
            return None;
        }
        (1, 1)
    } else {
        let h_max = components.iter().map(|c| c.h).max()?;
        let v_max = components.iter().map(|c| c.v).max()?;
        let blocks: usize = components.iter().map(|c| c.h * c.v).sum();
        if blocks > 10
            || components
                .iter()
                .any(|c| h_max % c.h != 0 || v_max % c.v != 0)
        {
            return None;
        }
        (h_max, v_max)
    };
    let mcus_x = width.div_ceil(8 * h_max);
    let mcus_y = height.div_ceil(8 * v_max);
    let strides: Vec<usize> = components.iter().map(|c| mcus_x * c.h).collect();
    let mut samples: Vec<Vec<u8>> = components
        .iter()
        .zip(&strides)
        .map(|(c, &stride)| vec![0u8; stride * mcus_y * c.v])
        .collect();
    let dc_tables: Vec<&DcTable> = components
        .iter()
        .map(|c| header.dc_tables[c.dc_table].as_ref())
        .collect::<Option<_>>()?;
    let ac_tables: Vec<&AcTable> = components
        .iter()
        .map(|c| header.ac_tables[c.ac_table].as_ref())
        .collect::<Option<_>>()?;

    let mut bits = Bits::new(data, start);
    let mut predictors = [0i16; 3];
    let mut until_restart = header.restart_interval;
    let mut next_restart = 0u8;
    for mcu_y in 0..mcus_y {
        for mcu_x in 0..mcus_x {
            if header.restart_interval > 0 {
                if until_restart == 0 {
                    bits.restart(next_restart)?;
                    predictors = [0; 3];
                    next_restart = (next_restart + 1) % 8;
                    until_restart = header.restart_interval;
                }
                until_restart -= 1;
            }
            for (i, c) in components.iter().enumerate() {
                let plane = &mut samples[i];
                let stride = strides[i];
                for by in 0..c.v {
                    let row = (mcu_y * c.v + by) * stride + mcu_x * c.h;
                    for bx in 0..c.h {
                        let diff = decode_dc(&mut bits, dc_tables[i])?;
                        predictors[i] = predictors[i].wrapping_add(diff);
                        skip_ac(&mut bits, ac_tables[i])?;
                        // jpeg-decoder's 1×1 IDCT: (DC × Q + 128 × 8) / 8, clamped.
                        let value = (i32::from(predictors[i]) * c.dc_quant + 1024) / 8;
                        plane[row + bx] = value.clamp(0, 255) as u8;
                    }
                }
            }
        }
    }
    // The scan must end cleanly at the end of the image, as the container walk left it.
    bits.fill_slowly()?;
    if bits.marker != Some(0xD9) {
        return None;
    }
    // YCbCr only: what jpeg-decoder would call RGB, CMYK-less Adobe or the "big gamut" variants falls back.
    if count == 3 {
        let ids: Vec<u8> = components.iter().map(|c| c.id).collect();
        let ycbcr = match ids[..] {
            [1, 2, 3] => true,
            [1, 34, 35] | [82, 71, 66] | [114, 103, 98] => false,
            _ => header.jfif || header.adobe_transform.is_none_or(|t| t == 1),
        };
        if !ycbcr {
            return None;
        }
    }
    Some(Planes {
        width,
        height,
        h_max,
        v_max,
        components,
        samples,
        strides,
    })
}

impl Planes {
    fn out_size(&self) -> (usize, usize) {
        (self.width.div_ceil(8), self.height.div_ceil(8))
    }

    /// The components upsampled to the output size and interleaved, before colour conversion.
    fn upsampled(&self) -> Option<Vec<u8>> {
        let (out_w, out_h) = self.out_size();
        if out_w < 2 || out_h < 2 {
            return None;
        }
        let n = self.components.len();
        let mut out = vec![0u8; out_w * out_h * n];
        let mut line = vec![0u8; out_w + 2 * self.h_max * 8];
        for (i, c) in self.components.iter().enumerate() {
            // The component's own size at 1/8, as jpeg-decoder computes it.
            let size_w = (self.width * c.h).div_ceil(self.h_max * 8);
            let size_h = (self.height * c.v).div_ceil(self.v_max * 8);
            let (h2, v2) = match (self.h_max / c.h, self.v_max / c.v) {
                (1, 1) => (false, false),
                (2, 1) => (true, false),
                (1, 2) => (false, true),
                (2, 2) => (true, true),
                _ => return None,
            };
            if line.len() < size_w * 2 {
                line.resize(size_w * 2, 0);
            }
            let plane = &self.samples[i];
            let stride = self.strides[i];
            for row in 0..out_h {
                let (near, far) = if v2 {
                    let near = row / 2;
                    let far = if row % 2 == 0 {
                        near.saturating_sub(1)
                    } else {
                        (near + 1).min(size_h - 1)
                    };
                    (near, far)
                } else {
                    (row, row)
                };
                let near = plane.get(near * stride..near * stride + size_w)?;
                let far = plane.get(far * stride..far * stride + size_w)?;
                upsample_row(near, far, h2, v2, &mut line);
                let out_row = &mut out[row * out_w * n..(row + 1) * out_w * n];
                for (o, &s) in out_row.chunks_exact_mut(n).zip(&line[..out_w]) {
                    o[i] = s;
                }
            }
        }
        Some(out)
    }

    fn to_pixels(&self) -> Option<Pixels> {
        let (out_w, out_h) = self.out_size();
        let mut data = self.upsampled()?;
        let channels = if self.components.len() == 1 {
            Channels::Gray
        } else {
            for p in data.chunks_exact_mut(3) {
                let (r, g, b) = ycbcr_to_rgb(p[0], p[1], p[2]);
                p.copy_from_slice(&[r, g, b]);
            }
            Channels::Rgb
        };
        Pixels::new(
            u32::try_from(out_w).ok()?,
            u32::try_from(out_h).ok()?,
            channels,
            data,
        )
    }
}

/// One output row of a component from its nearest and second-nearest input rows: jpeg-decoder's
/// (and libjpeg's) triangle filter.
fn upsample_row(near: &[u8], far: &[u8], h2: bool, v2: bool, out: &mut [u8]) {
    let w = near.len();
    match (h2, v2) {
        (false, false) => out[..w].copy_from_slice(near),
        (false, true) => {
            for ((o, &a), &b) in out.iter_mut().zip(near).zip(far) {
                *o = ((3 * u32::from(a) + u32::from(b) + 2) >> 2) as u8;
            }
        }
        (true, false) => {
            if w == 1 {
                out[0] = near[0];
                out[1] = near[0];
                return;
            }
            out[0] = near[0];
            out[1] = ((u32::from(near[0]) * 3 + u32::from(near[1]) + 2) >> 2) as u8;
            for i in 1..w - 1 {
                let sample = 3 * u32::from(near[i]) + 2;
                out[i * 2] = ((sample + u32::from(near[i - 1])) >> 2) as u8;
                out[i * 2 + 1] = ((sample + u32::from(near[i + 1])) >> 2) as u8;
            }
            out[(w - 1) * 2] =
                ((u32::from(near[w - 1]) * 3 + u32::from(near[w - 2]) + 2) >> 2) as u8;
            out[(w - 1) * 2 + 1] = near[w - 1];
        }
        (true, true) => {
            if w == 1 {
                let value = ((3 * u32::from(near[0]) + u32::from(far[0]) + 2) >> 2) as u8;
                out[0] = value;
                out[1] = value;
                return;
            }
            let mut t1 = 3 * u32::from(near[0]) + u32::from(far[0]);
            out[0] = ((t1 + 2) >> 2) as u8;
            for i in 1..w {
                let t0 = t1;
                t1 = 3 * u32::from(near[i]) + u32::from(far[i]);
                out[i * 2 - 1] = ((3 * t0 + t1 + 8) >> 4) as u8;
                out[i * 2] = ((3 * t1 + t0 + 8) >> 4) as u8;
            }
            out[w * 2 - 1] = ((t1 + 2) >> 2) as u8;
        }
    }
}

/// ITU-R BT.601 in 20-bit fixed point, jpeg-decoder's portable formula (after libjpeg-turbo).
fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> (u8, u8, u8) {
    const SHIFT: i32 = 20;
    const HALF: i32 = 1 << (SHIFT - 1);
    let fixed = |x: f32| (x * (1 << SHIFT) as f32 + 0.5) as i32;
    let y = i32::from(y) * (1 << SHIFT) + HALF;
    let cb = i32::from(cb) - 128;
    let cr = i32::from(cr) - 128;
    let clamp = |v: i32| (v >> SHIFT).clamp(0, 255) as u8;
    (
        clamp(y + fixed(1.402) * cr),
        clamp(y - fixed(0.344_14) * cb - fixed(0.714_14) * cr),
        clamp(y + fixed(1.772) * cb),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    /// A deterministic picture with smooth areas, edges and noise.
    fn picture(width: u32, height: u32, channels: usize, seed: u64) -> Vec<u8> {
        let mut state = seed | 1;
        let mut out = Vec::with_capacity((width * height) as usize * channels);
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let noise = (state >> 58) as i64 - 32;
                    let base = i64::from((x * (3 + c as u32) + y * 2) % 256);
                    let edge = if (x / 13 + y / 11) % 3 == 0 { 90 } else { 0 };
                    out.push((base + edge + noise).clamp(0, 255) as u8);
                }
            }
        }
        out
    }

    fn encode(
        width: u32,
        height: u32,
        gray: bool,
        sampling: SamplingFactor,
        restart: u16,
        optimized: bool,
    ) -> Vec<u8> {
        let channels = if gray { 1 } else { 3 };
        let pixels = picture(width, height, channels, u64::from(width * 31 + height));
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, 88);
        encoder.set_sampling_factor(sampling);
        encoder.set_restart_interval(restart);
        encoder.set_optimized_huffman_tables(optimized);
        let color = if gray {
            ColorType::Luma
        } else {
            ColorType::Rgb
        };
        encoder
            .encode(&pixels, width as u16, height as u16, color)
            .unwrap();
        out
    }

    /// jpeg-decoder at 1/8: (the components upsampled and interleaved, the final pixels).
    fn reference(jpeg: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
        let run = |raw: bool| {
            let mut decoder = jpeg_decoder::Decoder::new(jpeg);
            decoder.read_info().map_err(|e| e.to_string())?;
            let info = decoder.info().ok_or("no info")?;
            if raw {
                decoder.set_color_transform(jpeg_decoder::ColorTransform::RGB);
            }
            let (w, h) = (
                info.width.div_ceil(8).max(1),
                info.height.div_ceil(8).max(1),
            );
            decoder.scale(w, h).map_err(|e| e.to_string())?;
            decoder.decode().map_err(|e| e.to_string())
        };
        let guarded = |raw: bool| {
            std::panic::catch_unwind(|| run(raw)).unwrap_or_else(|_| Err("panicked".into()))
        };
        Ok((guarded(true)?, guarded(false)?))
    }

    /// Ours against jpeg-decoder: identical before colour conversion, within `tolerance` after it
    /// (jpeg-decoder converts most pixels with SIMD that rounds slightly differently).
    fn assert_same_as_jpeg_decoder(jpeg: &[u8], what: &str) {
        let planes = decode_planes(jpeg).unwrap_or_else(|| panic!("{what}: not decoded"));
        let (raw, rgb) = reference(jpeg).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(planes.upsampled().unwrap(), raw, "{what}: samples differ");
        let ours = planes.to_pixels().unwrap();
        assert_eq!(ours.data.len(), rgb.len(), "{what}");
        let worst = ours
            .data
            .iter()
            .zip(&rgb)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(worst <= 1, "{what}: colour differs by {worst}");
    }

    #[test]
    fn gives_jpeg_decoders_pixels_for_every_common_layout() {
        let samplings = [
            SamplingFactor::F_1_1,
            SamplingFactor::F_2_1,
            SamplingFactor::F_1_2,
            SamplingFactor::F_2_2,
        ];
        // jpeg-encoder's optimised-table builder trips its own debug assertion ("zero size
        // code") on some of these images, so optimised tables are encoded in release builds only.
        const OPTIMIZED: &[bool] = if cfg!(debug_assertions) {
            &[false]
        } else {
            &[false, true]
        };
        for (width, height) in [
            (16, 16),
            (203, 157),
            (157, 203),
            (64, 48),
            (47, 9),
            (331, 250),
        ] {
            for restart in [0, 1, 3, 7] {
                for &optimized in OPTIMIZED {
                    for sampling in samplings {
                        let jpeg = encode(width, height, false, sampling, restart, optimized);
                        let what = format!(
                            "{width}×{height} {sampling:?} restart {restart} optimized {optimized}"
                        );
                        if optimized {
                            // jpeg-encoder then writes one scan per component: left to jpeg-decoder.
                            assert!(decode_planes(&jpeg).is_none(), "{what}");
                        } else {
                            assert_same_as_jpeg_decoder(&jpeg, &what);
                        }
                    }
                    let jpeg = encode(width, height, true, samplings[0], restart, optimized);
                    let what =
                        format!("{width}×{height} gray restart {restart} optimized {optimized}");
                    // jpeg-encoder's optimised tables with restarts can put a coefficient past the
                    // end of a block, which we leave to jpeg-decoder; all other cases are ours.
                    if !optimized || decode_planes(&jpeg).is_some() {
                        assert_same_as_jpeg_decoder(&jpeg, &what);
                    }
                }
            }
        }
    }

    #[test]
    fn leaves_other_layouts_to_jpeg_decoder() {
        let four = encode(203, 157, false, SamplingFactor::F_4_1, 0, false);
        assert!(decode_planes(&four).is_none());
        let mut progressive = Vec::new();
        let mut encoder = Encoder::new(&mut progressive, 88);
        encoder.set_progressive(true);
        let pixels = picture(64, 64, 3, 7);
        encoder.encode(&pixels, 64, 64, ColorType::Rgb).unwrap();
        assert!(decode_planes(&progressive).is_none());
    }

    /// The real photos (stripped as the pipeline strips them): each one we decode gives jpeg-decoder's
    /// pixels, and the phone photo is one of them.
    #[test]
    fn gives_jpeg_decoders_pixels_for_the_real_photos() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/photos");
        let mut ours = Vec::new();
        for folder in std::fs::read_dir(&root).unwrap() {
            for file in std::fs::read_dir(folder.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let upload = std::fs::read(&path).unwrap();
                let Ok(stripped) = crate::container::strip(
                    crate::MediaType::Jpeg,
                    &upload,
                    &crate::Limits::default(),
                ) else {
                    continue;
                };
                if decode_planes(&stripped.bytes).is_some() {
                    assert_same_as_jpeg_decoder(&stripped.bytes, &path.display().to_string());
                    ours.push(path.file_name().unwrap().to_string_lossy().into_owned());
                }
            }
        }
        assert!(ours.iter().any(|f| f == "jolla.jpg"), "{ours:?}");
    }

    /// Damaged scan data: whenever we accept a file, jpeg-decoder accepts it too and gives the same
    /// samples; everything else is left to it.
    #[test]
    fn accepts_damaged_data_only_where_jpeg_decoder_does_and_agrees() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut random = move |below: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % below as u64) as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for restart in [0, 2] {
            let jpeg = encode(96, 80, false, SamplingFactor::F_2_2, restart, false);
            let scan = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap() + 14;
            for round in 0..600 {
                let mut damaged = jpeg.clone();
                match round % 3 {
                    0 => {
                        let at = scan + random(jpeg.len() - scan - 2);
                        damaged[at] ^= 1 << random(8);
                    }
                    1 => {
                        let at = scan + random(jpeg.len() - scan - 2);
                        damaged[at] = [0xFF, 0x00, 0xD0, 0xD9][random(4)];
                    }
                    _ => {
                        let cut = scan + random(jpeg.len() - scan - 2);
                        damaged.truncate(cut);
                        damaged.extend_from_slice(&[0xFF, 0xD9]);
                    }
                }
                match decode_planes(&damaged) {
                    Some(planes) => {
                        accepted += 1;
                        let (raw, _) = reference(&damaged)
                            .unwrap_or_else(|e| panic!("round {round}: we accept, it says {e}"));
                        assert_eq!(planes.upsampled().unwrap(), raw, "round {round}");
                    }
                    None => refused += 1,
                }
            }
        }
        assert!(
            accepted > 0 && refused > 0,
            "{accepted} accepted, {refused} refused"
        );
    }
}
