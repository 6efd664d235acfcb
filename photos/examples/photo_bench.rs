//! Photo pipeline benchmark against `vipsthumbnail`, side by side in one run (see bench/photos.sh).
//!
//! ```text
//! photo_bench generate OUT.jpg                 # the reproducible 12 MP phone-size JPEG
//! photo_bench compare FILE [ROUNDS] [BATCH]    # interleaved rounds, medians and ratios
//! photo_bench once FILE thumb|display|full     # one photo, for /usr/bin/time -v (peak RSS)
//! ```
//!
//! Each round runs, one after the other on the same file: ours making the 400 px thumbnail (read,
//! sniff, SHA-256, EXIF, strip, decode at scale, resize, orient, encode, dHash), vipsthumbnail -s 400
//! on BATCH copies of the file in one invocation (so its start-up is shared, as ours is), ours making
//! the 1600 px display copy, vipsthumbnail -s 1600, and ours making both from one decode (what the
//! server runs). vips writes quality 82 and strips metadata, like ours. Figures are per photo:
//! wall-clock time and CPU time (user + system; vips may use several threads).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/photos/synthetic.rs"]
mod synthetic;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use jiuzhu_photos::{inspect, process_file, Limits, DISPLAY_LONG_SIDE, THUMBNAIL_LONG_SIDE};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate") => generate(Path::new(&args[1])),
        Some("compare") => {
            let rounds = args.get(2).map_or(15, |s| s.parse().unwrap());
            let batch = args.get(3).map_or(10, |s| s.parse().unwrap());
            compare(Path::new(&args[1]), rounds, batch);
        }
        Some("once") => once(Path::new(&args[1]), &args[2]),
        _ => {
            eprintln!(
                "usage: photo_bench generate OUT | compare FILE [ROUNDS] [BATCH] | once FILE MODE"
            );
            std::process::exit(2);
        }
    }
}

/// 4000×3000, quality 90, 4:2:0: the shape of a 12 MP phone photo.
fn generate(out: &Path) {
    let (w, h) = (4000, 3000);
    let rgb = synthetic::synthetic_rgb(w, h, 20_261_128);
    let mut jpeg = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    std::fs::write(out, &jpeg).unwrap();
    println!("{}: {w}x{h}, {} bytes", out.display(), jpeg.len());
}

#[derive(Clone, Copy)]
enum Mode {
    Thumb,
    Display,
    Full,
}

/// One photo through our pipeline, from the file on disk.
fn ours(path: &Path, mode: Mode) -> usize {
    let limits = Limits::default();
    match mode {
        Mode::Full => {
            let p = process_file(path, &limits).unwrap();
            p.display.jpeg.len() + p.thumbnail.jpeg.len() + p.original.len()
        }
        Mode::Thumb | Mode::Display => {
            let side = if matches!(mode, Mode::Thumb) {
                THUMBNAIL_LONG_SIDE
            } else {
                DISPLAY_LONG_SIDE
            };
            let inspected = inspect(std::fs::read(path).unwrap(), &limits).unwrap();
            let (renditions, hash) = inspected.render(&[side], &limits).unwrap();
            renditions[0].jpeg.len() + inspected.original().len() + (hash.0 & 1) as usize
        }
    }
}

fn once(path: &Path, mode: &str) {
    let mode = match mode {
        "thumb" => Mode::Thumb,
        "display" => Mode::Display,
        "full" => Mode::Full,
        other => panic!("unknown mode {other}"),
    };
    println!("{} bytes out", ours(path, mode));
}

/// (own user+system, children's user+system) CPU seconds so far, from /proc/self/stat.
fn cpu_seconds(ticks_per_second: f64) -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<f64> = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // After the command name: state is field 0, utime 11, stime 12, cutime 13, cstime 14.
    (
        (fields[11] + fields[12]) / ticks_per_second,
        (fields[13] + fields[14]) / ticks_per_second,
    )
}

struct Sample {
    wall_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
}

impl Sample {
    fn new() -> Self {
        Self {
            wall_ms: Vec::new(),
            cpu_ms: Vec::new(),
        }
    }

    fn median(values: &[f64]) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }
}

fn compare(file: &Path, rounds: usize, batch: usize) {
    let ticks: f64 = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0);
    let work = tempfile::tempdir().unwrap();
    let copies: Vec<PathBuf> = (0..batch)
        .map(|i| {
            let p = work.path().join(format!("p{i}.jpg"));
            std::fs::copy(file, &p).unwrap();
            p
        })
        .collect();
    let out_dir = work.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();

    let names = [
        "ours 400",
        "vips -s 400",
        "vips -s 400 (1 thread)",
        "ours 1600",
        "vips -s 1600",
        "vips -s 1600 (1 thread)",
        "ours both (server path)",
    ];
    let mut samples: Vec<Sample> = names.iter().map(|_| Sample::new()).collect();
    // One untimed warm-up of each side (page cache, lazy library loading).
    ours(file, Mode::Full);
    vips(&copies[..1], 400, &out_dir, false);

    for _ in 0..rounds {
        for (i, name) in names.iter().enumerate() {
            let (cpu0, child0) = cpu_seconds(ticks);
            let started = Instant::now();
            match i {
                0 => copies.iter().for_each(|c| {
                    std::hint::black_box(ours(c, Mode::Thumb));
                }),
                1 => vips(&copies, 400, &out_dir, false),
                2 => vips(&copies, 400, &out_dir, true),
                3 => copies.iter().for_each(|c| {
                    std::hint::black_box(ours(c, Mode::Display));
                }),
                4 => vips(&copies, 1600, &out_dir, false),
                5 => vips(&copies, 1600, &out_dir, true),
                _ => copies.iter().for_each(|c| {
                    std::hint::black_box(ours(c, Mode::Full));
                }),
            }
            let wall = started.elapsed().as_secs_f64();
            let (cpu1, child1) = cpu_seconds(ticks);
            let cpu = if name.starts_with("vips") {
                child1 - child0
            } else {
                cpu1 - cpu0
            };
            samples[i].wall_ms.push(wall * 1000.0 / batch as f64);
            samples[i].cpu_ms.push(cpu * 1000.0 / batch as f64);
        }
    }

    println!(
        "{}: {rounds} rounds × {batch} photos, medians per photo",
        file.display()
    );
    println!("| run | wall ms | CPU ms |");
    println!("|---|---|---|");
    let med: Vec<(f64, f64)> = samples
        .iter()
        .map(|s| (Sample::median(&s.wall_ms), Sample::median(&s.cpu_ms)))
        .collect();
    for (name, (wall, cpu)) in names.iter().zip(&med) {
        println!("| {name} | {wall:.1} | {cpu:.1} |");
    }
    let ratio = |ours: usize, peer: usize| (med[peer].0 / med[ours].0, med[peer].1 / med[ours].1);
    let report = |label: &str, (w, c): (f64, f64)| {
        println!("{label}: {w:.2}× wall, {c:.2}× CPU (peer / ours; >1 = ours faster)")
    };
    report("400 px vs vips", ratio(0, 1));
    report("400 px vs vips 1 thread", ratio(0, 2));
    report("1600 px vs vips", ratio(3, 4));
    report("1600 px vs vips 1 thread", ratio(3, 5));
    let both_vips = (med[1].0 + med[4].0, med[1].1 + med[4].1);
    report(
        "both vs vips 400 + vips 1600",
        (both_vips.0 / med[6].0, both_vips.1 / med[6].1),
    );
}

/// One vipsthumbnail invocation over all `files`, quality 82, metadata stripped.
fn vips(files: &[PathBuf], size: u32, out_dir: &Path, one_thread: bool) {
    let mut cmd = Command::new("vipsthumbnail");
    cmd.arg("-s").arg(size.to_string());
    cmd.arg("-o")
        .arg(format!("{}/%s_{size}.jpg[Q=82,strip]", out_dir.display()));
    cmd.args(files);
    if one_thread {
        cmd.env("VIPS_CONCURRENCY", "1");
    }
    let status = cmd
        .status()
        .expect("vipsthumbnail (apt-get install libvips-tools)");
    assert!(status.success(), "vipsthumbnail failed");
}
