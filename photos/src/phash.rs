//! A 64-bit difference hash (dHash) of the upright picture, to find the same photo re-encoded,
//! resized or lightly edited and attached to another household's visit.
//!
//! Written here rather than taken from `image_hasher` because the hashes are stored and compared
//! across years: the definition below is fixed by this file, not by a dependency's version or
//! defaults. Two photos of the same scene differ in about 0–10 bits; unrelated photos in about 32.

use serde::{Deserialize, Serialize};

use crate::render::pixels::{Channels, Pixels};

/// A perceptual hash; compare with [`PerceptualHash::distance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PerceptualHash(pub u64);

impl PerceptualHash {
    /// The number of differing bits (Hamming distance), 0–64.
    pub fn distance(self, other: Self) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// The same bits as a signed integer, for a BIGINT column.
    pub fn to_i64(self) -> i64 {
        i64::from_ne_bytes(self.0.to_ne_bytes())
    }

    pub fn from_i64(value: i64) -> Self {
        Self(u64::from_ne_bytes(value.to_ne_bytes()))
    }
}

impl std::fmt::Display for PerceptualHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// dHash: the image averaged down to 9×8 gray cells (box filter over the whole area, so every pixel
/// counts), then one bit per horizontally adjacent pair: set when the left cell is brighter.
pub(crate) fn dhash(pixels: &Pixels) -> PerceptualHash {
    const W: usize = 9;
    const H: usize = 8;
    let (w, h) = (pixels.width as usize, pixels.height as usize);
    let n = pixels.channels.count();
    let mut sums = [[0u64; W]; H];
    let mut counts = [[0u64; W]; H];
    for y in 0..h {
        let cy = y * H / h.max(1);
        let row = &pixels.data[y * w * n..(y + 1) * w * n];
        for (x, p) in row.chunks_exact(n).enumerate() {
            let cx = x * W / w.max(1);
            // Rec. 601 luma in integer arithmetic, weights summing to 1000.
            let luma = match pixels.channels {
                Channels::Gray => u64::from(p[0]) * 1000,
                Channels::Rgb | Channels::Rgba => {
                    u64::from(p[0]) * 299 + u64::from(p[1]) * 587 + u64::from(p[2]) * 114
                }
            };
            sums[cy][cx] += luma;
            counts[cy][cx] += 1;
        }
    }
    let mut bits = 0u64;
    for y in 0..H {
        let cell = |x: usize| sums[y][x] / counts[y][x].max(1);
        for x in 0..W - 1 {
            bits = (bits << 1) | u64::from(cell(x) > cell(x + 1));
        }
    }
    PerceptualHash(bits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn gradient(width: u32, height: u32, f: impl Fn(u32, u32) -> u8) -> Pixels {
        let data = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Pixels::new(width, height, Channels::Gray, data).unwrap()
    }

    #[test]
    fn same_picture_at_other_sizes_hashes_alike() {
        let picture =
            |w: u32, h: u32| gradient(w, h, move |x, y| ((x * 7 / w + y * 3 / h) * 30 % 256) as u8);
        let a = dhash(&picture(400, 300));
        let b = dhash(&picture(160, 120));
        assert!(a.distance(b) <= 4, "{a} vs {b}");
        let other = dhash(&gradient(400, 300, |x, y| ((x ^ y) % 256) as u8));
        assert!(a.distance(other) > 10, "{a} vs {other}");
    }

    #[test]
    fn round_trips_through_i64() {
        let h = PerceptualHash(0xF000_0000_0000_0001);
        assert_eq!(PerceptualHash::from_i64(h.to_i64()), h);
        assert_eq!(h.distance(PerceptualHash(1)), 4);
    }
}
