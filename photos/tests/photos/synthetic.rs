//! A reproducible photo-like picture, shared by the tests and the benchmark
//! (`examples/photo_bench.rs` includes this file).

/// A deterministic picture with structure at several scales: gradients, a few discs and fine noise.
pub fn synthetic_rgb(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut noise = move || {
        // xorshift64*: enough for texture, reproducible everywhere.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 59) as i32
    };
    let mut out = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let fx = f64::from(x) / f64::from(width);
            let fy = f64::from(y) / f64::from(height);
            let disc = ((fx - 0.3).powi(2) + (fy - 0.4).powi(2)).sqrt() < 0.15;
            let stripes = ((fx * 40.0).sin() * (fy * 25.0).cos() * 40.0) as i32;
            let base = [
                (fx * 200.0) as i32,
                (fy * 180.0) as i32,
                ((1.0 - fx) * 150.0) as i32,
            ];
            for (c, b) in base.iter().enumerate() {
                let v = b + stripes + noise() - 16 + if disc && c == 0 { 80 } else { 0 };
                out.push(v.clamp(0, 255) as u8);
            }
        }
    }
    out
}
