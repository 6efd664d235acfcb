//! The demo's randomness: a hand-written SplitMix64, so that the demo city is fixed by this
//! code and not by a crate version (see the module comment of `demo::households`).

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and its output is fixed by its
/// definition rather than by a crate version.
pub(super) struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

pub(super) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub(super) fn hash_str(s: &str) -> u64 {
    s.bytes()
        .fold(0u64, |h, b| mix(h.wrapping_add(GOLDEN) ^ u64::from(b)))
}

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(mix(seed))
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (0 when n is 0).
    pub(super) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in lo..=hi (lo when hi < lo).
    pub(super) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    pub(super) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Standard normal (Box–Muller).
    pub(super) fn normal(&mut self) -> f64 {
        let u = 1.0 - self.unit();
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub(super) fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    pub(super) fn weighted<'t, T>(&mut self, items: &'t [(T, u32)]) -> &'t T {
        let total: u64 = items.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (item, w) in items {
            if x < u64::from(*w) {
                return item;
            }
            x -= u64::from(*w);
        }
        &items[items.len() - 1].0
    }

    /// An age from (lowest, highest, weight) bands, uniform within a band.
    pub(super) fn age(&mut self, bands: &[(i32, i32, u32)]) -> i32 {
        let total: u64 = bands.iter().map(|b| u64::from(b.2)).sum();
        let mut x = self.below(total);
        for &(lo, hi, w) in bands {
            if x < u64::from(w) {
                return self.range(i64::from(lo), i64::from(hi)) as i32;
            }
            x -= u64::from(w);
        }
        bands.last().map_or(0, |b| b.1)
    }
}
