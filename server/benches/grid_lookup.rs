//! Point → grid lookup speed over the demo city's real-boundary grids and over 10,000 synthetic grids,
//! with the same polygons and points written out for `bench/shapely_strtree.py` to run against.

use std::error::Error;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use geo::{Coord, LineString, MultiPolygon, Polygon};
use jiuzhu_server::domain::geo::{
    parse_boundary, subdivide_district, BoundaryLimits, Crs, DemoKind, GridEntry, GridLookup,
    LatLon,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const POINTS: usize = 1_000_000;
const SEED: u64 = 20_240_601;
/// Passes over the million points for the per-point figure written to disk; the fastest is kept, as
/// the others only add scheduler noise.
const PASSES: usize = 7;

struct Dataset {
    name: &'static str,
    lookup: GridLookup<usize>,
    points: Vec<LatLon>,
}

fn shared_data() -> PathBuf {
    match std::env::var_os("JIUZHU_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data")),
    }
}

fn bench_data_dir() -> PathBuf {
    match std::env::var_os("JIUZHU_BENCH_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/bench-data")),
    }
}

/// The demo city's grids: 天宁区 (GCJ-02 in the data file) in WGS-84, subdivided.
fn demo_grids() -> Result<Vec<MultiPolygon<f64>>, Box<dyn Error>> {
    let path = shared_data().join("boundaries/320400_full.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let geojson::GeoJson::FeatureCollection(fc) = text.parse::<geojson::GeoJson>()? else {
        return Err(format!("{} is not a FeatureCollection", path.display()).into());
    };
    let geometry = fc
        .features
        .into_iter()
        .find(|f| f.property("adcode").and_then(|v| v.as_i64()) == Some(320402))
        .and_then(|f| f.geometry)
        .ok_or("no geometry for 320402")?;
    let district = parse_boundary(&geometry, Crs::Gcj02, &BoundaryLimits::default())?;
    Ok(subdivide_district("320402", &district)
        .into_iter()
        .filter(|u| u.kind == DemoKind::Grid)
        .map(|u| u.boundary)
        .collect())
}

/// A 100 × 100 tessellation of a 50 km × 45 km area around Changzhou. Corners are jittered and every
/// edge gets a jittered midpoint shared by both cells beside it, so cells are irregular octagons that
/// still tile exactly, as grids drawn on a map do.
fn synthetic_grids(rng: &mut StdRng) -> Vec<MultiPolygon<f64>> {
    const N: usize = 100;
    let (x0, y0, w, h) = (119.70, 31.55, 0.53, 0.40);
    let (cw, ch) = (w / N as f64, h / N as f64);
    // Only inner corners and inner edges move, so the outline stays the rectangle.
    let inner = |k: usize| k > 0 && k < N;
    let corners: Vec<Vec<Coord<f64>>> = (0..=N)
        .map(|j| {
            (0..=N)
                .map(|i| {
                    let mut c = Coord {
                        x: x0 + i as f64 * cw,
                        y: y0 + j as f64 * ch,
                    };
                    if inner(i) && inner(j) {
                        c.x += rng.random_range(-0.3..0.3) * cw;
                        c.y += rng.random_range(-0.3..0.3) * ch;
                    }
                    c
                })
                .collect()
        })
        .collect();
    let midpoint = |a: Coord<f64>, b: Coord<f64>| Coord {
        x: (a.x + b.x) / 2.0,
        y: (a.y + b.y) / 2.0,
    };
    // Midpoint of the edge from corner (i, j) to (i + 1, j), pushed up or down; and of the edge
    // from (i, j) to (i, j + 1), pushed left or right. Small pushes keep every cell simple.
    let h_mid: Vec<Vec<Coord<f64>>> = (0..=N)
        .map(|j| {
            (0..N)
                .map(|i| {
                    let mut m = midpoint(corners[j][i], corners[j][i + 1]);
                    if inner(j) {
                        m.y += rng.random_range(-0.15..0.15) * ch;
                    }
                    m
                })
                .collect()
        })
        .collect();
    let v_mid: Vec<Vec<Coord<f64>>> = (0..N)
        .map(|j| {
            (0..=N)
                .map(|i| {
                    let mut m = midpoint(corners[j][i], corners[j + 1][i]);
                    if inner(i) {
                        m.x += rng.random_range(-0.15..0.15) * cw;
                    }
                    m
                })
                .collect()
        })
        .collect();
    let mut grids = Vec::with_capacity(N * N);
    for j in 0..N {
        for i in 0..N {
            let ring = vec![
                corners[j][i],
                h_mid[j][i],
                corners[j][i + 1],
                v_mid[j][i + 1],
                corners[j + 1][i + 1],
                h_mid[j + 1][i],
                corners[j + 1][i],
                v_mid[j][i],
            ];
            grids.push(MultiPolygon::new(vec![Polygon::new(
                LineString::new(ring),
                vec![],
            )]));
        }
    }
    grids
}

fn random_points(
    grids: &[MultiPolygon<f64>],
    rng: &mut StdRng,
) -> Result<Vec<LatLon>, Box<dyn Error>> {
    let mut all = MultiPolygon::new(Vec::new());
    for g in grids {
        all.0.extend(g.0.iter().cloned());
    }
    let b = geo::BoundingRect::bounding_rect(&all).ok_or("no grids")?;
    (0..POINTS)
        .map(|_| {
            let lon = rng.random_range(b.min().x..b.max().x);
            let lat = rng.random_range(b.min().y..b.max().y);
            LatLon::new(lat, lon).map_err(Into::into)
        })
        .collect()
}

fn dataset(
    name: &'static str,
    grids: Vec<MultiPolygon<f64>>,
    rng: &mut StdRng,
) -> Result<Dataset, Box<dyn Error>> {
    let points = random_points(&grids, rng)?;
    let dir = bench_data_dir();
    std::fs::create_dir_all(&dir)?;
    let mut wkt = String::new();
    for g in &grids {
        write_wkt(&mut wkt, g)?;
        wkt.push('\n');
    }
    std::fs::write(dir.join(format!("{name}_grids.wkt")), wkt)?;
    let raw: Vec<u8> = points
        .iter()
        .flat_map(|p| [p.lon().to_le_bytes(), p.lat().to_le_bytes()])
        .flatten()
        .collect();
    std::fs::write(dir.join(format!("{name}_points.f64")), raw)?;
    // Codes in line order, so the grid on line i is key i and border ties go the same way in both runs.
    let entries = grids
        .into_iter()
        .enumerate()
        .map(|(i, boundary)| GridEntry {
            key: i,
            code: format!("{i:06}"),
            boundary,
        })
        .collect();
    let started = Instant::now();
    let lookup = GridLookup::new(entries);
    eprintln!(
        "{name}: {} grids indexed in {:?}",
        lookup.len(),
        started.elapsed()
    );
    Ok(Dataset {
        name,
        lookup,
        points,
    })
}

fn write_wkt(out: &mut String, mp: &MultiPolygon<f64>) -> std::fmt::Result {
    out.push_str("MULTIPOLYGON (");
    for (pi, polygon) in mp.0.iter().enumerate() {
        out.push_str(if pi == 0 { "(" } else { ", (" });
        for (ri, ring) in std::iter::once(polygon.exterior())
            .chain(polygon.interiors())
            .enumerate()
        {
            out.push_str(if ri == 0 { "(" } else { ", (" });
            for (ci, c) in ring.0.iter().enumerate() {
                // `{}` prints the shortest text that parses back to the same f64.
                write!(out, "{}{} {}", if ci == 0 { "" } else { ", " }, c.x, c.y)?;
            }
            out.push(')');
        }
        out.push(')');
    }
    out.push(')');
    Ok(())
}

fn locate_all(d: &Dataset) -> usize {
    d.points
        .iter()
        .filter(|p| d.lookup.locate(**p).is_some())
        .count()
}

/// The per-point figure for BENCHMARKS.md and the answers shapely's are checked against.
fn record(d: &Dataset) -> Result<(), Box<dyn Error>> {
    let answers: Vec<i32> = d
        .points
        .iter()
        .map(|p| d.lookup.locate(*p).map_or(-1, |g| g.key as i32))
        .collect();
    let hits = answers.iter().filter(|a| **a >= 0).count();
    let mut best = Duration::MAX;
    for _ in 0..PASSES {
        let started = Instant::now();
        black_box(locate_all(d));
        best = best.min(started.elapsed());
    }
    let ns = best.as_secs_f64() * 1e9 / d.points.len() as f64;
    println!(
        "{}: {:.1} ns/point over {} points, {} grids, {hits} hits",
        d.name,
        ns,
        d.points.len(),
        d.lookup.len()
    );
    let dir = bench_data_dir();
    let raw: Vec<u8> = answers.iter().flat_map(|a| a.to_le_bytes()).collect();
    std::fs::write(dir.join(format!("{}_rust_answers.i32", d.name)), raw)?;
    let summary = serde_json::json!({
        "name": d.name,
        "grids": d.lookup.len(),
        "points": d.points.len(),
        "hits": hits,
        "passes": PASSES,
        "ns_per_point": ns,
    });
    std::fs::write(
        dir.join(format!("{}_rust.json", d.name)),
        summary.to_string(),
    )?;
    Ok(())
}

fn build() -> Result<Vec<Dataset>, Box<dyn Error>> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let demo = dataset("demo", demo_grids()?, &mut rng)?;
    let synthetic = dataset("synthetic", synthetic_grids(&mut rng), &mut rng)?;
    let sets = vec![demo, synthetic];
    for d in &sets {
        record(d)?;
    }
    Ok(sets)
}

fn grid_lookup(c: &mut Criterion) {
    let sets = match build() {
        Ok(sets) => sets,
        Err(e) => {
            eprintln!("grid_lookup bench setup failed: {e}");
            std::process::exit(1);
        }
    };
    let mut group = c.benchmark_group("grid_lookup");
    group.sample_size(10);
    group.throughput(Throughput::Elements(POINTS as u64));
    for d in &sets {
        group.bench_function(format!("{}_1M_points", d.name), |b| {
            b.iter(|| locate_all(d))
        });
    }
    group.finish();
}

criterion_group!(benches, grid_lookup);
criterion_main!(benches);
