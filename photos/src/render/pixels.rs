//! An 8-bit interleaved pixel buffer and the two whole-image operations the renditions need:
//! flattening transparency onto white and turning the image upright.

use crate::exif::Orientation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Channels {
    Gray,
    Rgb,
    Rgba,
}

impl Channels {
    pub(crate) fn count(self) -> usize {
        match self {
            Self::Gray => 1,
            Self::Rgb => 3,
            Self::Rgba => 4,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: Channels,
    pub data: Vec<u8>,
}

impl Pixels {
    /// `None` when `data` is shorter than the size says (the buffer is trimmed when longer).
    pub(crate) fn new(
        width: u32,
        height: u32,
        channels: Channels,
        mut data: Vec<u8>,
    ) -> Option<Self> {
        let len = width as usize * height as usize * channels.count();
        if data.len() < len {
            return None;
        }
        data.truncate(len);
        Some(Self {
            width,
            height,
            channels,
            data,
        })
    }

    /// RGBA composited over white, as RGB (JPEG has no transparency).
    pub(crate) fn flatten(self) -> Self {
        if self.channels != Channels::Rgba {
            return self;
        }
        let mut rgb = Vec::with_capacity(self.data.len() / 4 * 3);
        for p in self.data.chunks_exact(4) {
            let a = u32::from(p[3]);
            for &c in &p[..3] {
                let v = (u32::from(c) * a + 255 * (255 - a) + 127) / 255;
                rgb.push(u8::try_from(v).unwrap_or(u8::MAX));
            }
        }
        Self {
            width: self.width,
            height: self.height,
            channels: Channels::Rgb,
            data: rgb,
        }
    }

    /// The image as it should be seen, given the EXIF orientation of the stored pixels.
    pub(crate) fn oriented(self, orientation: Orientation) -> Self {
        let o = orientation.value();
        if o <= 1 || o > 8 {
            return self;
        }
        let (w, h) = (self.width as usize, self.height as usize);
        let n = self.channels.count();
        let (out_w, out_h) = if orientation.swaps_axes() {
            (h, w)
        } else {
            (w, h)
        };
        let mut out = vec![0u8; self.data.len()];
        for y in 0..out_h {
            for x in 0..out_w {
                // Where output pixel (x, y) comes from in the stored image.
                let (sx, sy) = match o {
                    2 => (w - 1 - x, y),
                    3 => (w - 1 - x, h - 1 - y),
                    4 => (x, h - 1 - y),
                    5 => (y, x),
                    6 => (y, h - 1 - x),
                    7 => (w - 1 - y, h - 1 - x),
                    _ => (w - 1 - y, x),
                };
                let src = (sy * w + sx) * n;
                let dst = (y * out_w + x) * n;
                out[dst..dst + n].copy_from_slice(&self.data[src..src + n]);
            }
        }
        Self {
            width: out_w as u32,
            height: out_h as u32,
            channels: self.channels,
            data: out,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// A 3×2 gray image whose pixel values are their raster index.
    fn sample() -> Pixels {
        Pixels::new(3, 2, Channels::Gray, vec![0, 1, 2, 3, 4, 5]).unwrap()
    }

    #[test]
    fn each_orientation_maps_corners_as_exif_defines() {
        // Stored:  0 1 2      Orientation 6 means "rotate 90° clockwise to view".
        //          3 4 5
        let cases: [(u8, (u32, u32), &[u8]); 8] = [
            (1, (3, 2), &[0, 1, 2, 3, 4, 5]),
            (2, (3, 2), &[2, 1, 0, 5, 4, 3]),
            (3, (3, 2), &[5, 4, 3, 2, 1, 0]),
            (4, (3, 2), &[3, 4, 5, 0, 1, 2]),
            (5, (2, 3), &[0, 3, 1, 4, 2, 5]),
            (6, (2, 3), &[3, 0, 4, 1, 5, 2]),
            (7, (2, 3), &[5, 2, 4, 1, 3, 0]),
            (8, (2, 3), &[2, 5, 1, 4, 0, 3]),
        ];
        for (o, size, expected) in cases {
            let out = sample().oriented(Orientation::from_exif(u32::from(o)));
            assert_eq!((out.width, out.height), size, "orientation {o}");
            assert_eq!(out.data, expected, "orientation {o}");
        }
    }

    #[test]
    fn transparency_becomes_white() {
        let p = Pixels::new(2, 1, Channels::Rgba, vec![10, 20, 30, 255, 10, 20, 30, 0])
            .unwrap()
            .flatten();
        assert_eq!(p.data, [10, 20, 30, 255, 255, 255]);
    }
}
