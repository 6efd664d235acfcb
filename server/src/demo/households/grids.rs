//! Where the demo households live: each grid's share of them (denser near the old centre) and
//! what its addresses look like (an estate named after the community, two roads of 天宁区).

use super::rng::Rng;
use crate::domain::geo::GridEntry;
use crate::domain::geo::GridKey;

/// A grid households can be put in, with what its addresses look like.
#[derive(Debug, Clone)]
pub(super) struct DemoGrid {
    /// Index into the lookup's grids.
    pub(super) entry: usize,
    pub(super) bounds: geo::Rect<f64>,
    pub(super) estate: String,
    pub(super) roads: [&'static str; 2],
    pub(super) buildings: u64,
    /// Estates built after 2000 have lifts and more floors than the 1980s 新村.
    pub(super) tall: bool,
}

impl DemoGrid {
    /// A flat in the grid's estate, or on one of its two roads.
    pub(super) fn address(&self, rng: &mut Rng) -> String {
        let g = self;
        let floors = if g.tall { 18 } else { 6 };
        let floor = rng.range(1, floors);
        let room = rng.range(1, if g.tall { 4 } else { 2 });
        if rng.chance(0.7) {
            let building = rng.range(1, g.buildings as i64);
            let unit = rng.range(1, if g.tall { 2 } else { 4 });
            format!("天宁区{}{building}幢{unit}单元{floor}{room:02}室", g.estate)
        } else {
            let road = g.roads[rng.below(2) as usize];
            let number = rng.range(1, 399);
            format!("天宁区{road}{number}号{floor}{room:02}室")
        }
    }
}

/// Roads of 天宁区.
const ROADS: &[&str] = &[
    "延陵东路",
    "和平北路",
    "关河东路",
    "劳动东路",
    "东横街",
    "青洋北路",
    "竹林北路",
    "飞龙东路",
    "中吴大道",
    "北塘河路",
    "红梅南路",
    "兰陵北路",
    "博爱路",
    "丽华北路",
    "晋陵北路",
    "健身路",
    "常澄路",
    "永宁北路",
];

pub(super) const ESTATE_SUFFIXES: &[&str] = &["新村", "花苑", "家园", "小区", "公寓"];

/// 红梅公园, the old city centre (WGS-84): households thin out away from it.
const CENTRE: (f64, f64) = (119.9636, 31.7790);

pub(super) fn density(rng: &mut Rng, g: &GridEntry<GridKey>, bounds: geo::Rect<f64>) -> f64 {
    let area = geo::Area::unsigned_area(&g.boundary);
    let c = bounds.center();
    let km_x = (c.x - CENTRE.0) * 111.32 * CENTRE.1.to_radians().cos();
    let km_y = (c.y - CENTRE.1) * 110.57;
    let km = (km_x * km_x + km_y * km_y).sqrt();
    area * (0.35 + (-km / 5.0).exp()) * (0.6 + 0.8 * rng.unit())
}

pub(super) fn describe_grid(
    rng: &mut Rng,
    entry: usize,
    g: &GridEntry<GridKey>,
    bounds: geo::Rect<f64>,
) -> DemoGrid {
    // "红梅新村社区第3网格" → "红梅新村"; a repeated community name, "丽华新村2村", gives "丽华新村",
    // and its estate is told apart as "丽华新村二区".
    let community = g.key.name.split("社区").next().unwrap_or_default();
    let (base, round) = match community.find(|c: char| c.is_ascii_digit()) {
        Some(at) => (&community[..at], community[at..].trim_end_matches('村')),
        None => (community, ""),
    };
    let base = if base.is_empty() { "天宁" } else { base };
    let mut estate = if ["新村", "苑", "花园", "新城", "家园"]
        .iter()
        .any(|s| base.ends_with(s))
    {
        base.to_owned()
    } else {
        format!("{base}{}", rng.pick(ESTATE_SUFFIXES))
    };
    if !round.is_empty() {
        const NUMERALS: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
        let n: usize = round.parse().unwrap_or(0);
        match NUMERALS.get(n).filter(|s| !s.is_empty()) {
            Some(numeral) => estate.push_str(&format!("{numeral}区")),
            None => estate.push_str(&format!("{round}区")),
        }
    }
    DemoGrid {
        entry,
        bounds,
        estate,
        roads: [rng.pick(ROADS), rng.pick(ROADS)],
        buildings: rng.range(8, 60) as u64,
        tall: rng.chance(0.4),
    }
}

#[cfg(test)]
mod tests {
    use geo::MultiPolygon;

    use super::*;

    #[test]
    fn estates_are_named_after_their_community() {
        let estate = |name: &str| {
            let g = GridEntry {
                key: GridKey {
                    id: "g".into(),
                    name: name.into(),
                },
                code: "320402001001001".into(),
                boundary: MultiPolygon::new(vec![]),
            };
            let bounds = geo::Rect::new((0.0, 0.0), (1.0, 1.0));
            describe_grid(&mut Rng::new(1), 0, &g, bounds).estate
        };
        assert_eq!(estate("红梅新村社区第3网格"), "红梅新村");
        assert_eq!(estate("丽华新村2村社区第1网格"), "丽华新村二区");
        assert_eq!(estate("凤凰新城社区第12网格"), "凤凰新城");
        let suffixed = estate("雕庄社区第2网格");
        assert!(
            ESTATE_SUFFIXES
                .iter()
                .any(|s| suffixed == format!("雕庄{s}")),
            "{suffixed}"
        );
    }
}
