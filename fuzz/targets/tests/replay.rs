//! Replays the committed corpus (`fuzz/corpus/<target>/`) through every target, as `cargo test`
//! does on every CI run: each input a fuzzer kept, including each one that once found a bug, must
//! still pass. A panic fails the test even where the code under test catches it (the photo
//! pipeline turns a decoder panic into a refusal; a fuzzer would still report it).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// Set by the panic hook, whichever thread panicked: the replays run one at a time (`ONE_AT_A_TIME`)
/// so that a panic is charged to the input being replayed.
static PANICKED: AtomicBool = AtomicBool::new(false);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn note_every_panic() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, Ordering::SeqCst);
            previous(info);
        }));
    });
}

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no corpus for {target} at {}: {e}", dir.display()))
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    files.retain(|p| p.is_file());
    files.sort();
    assert!(!files.is_empty(), "the corpus of {target} is empty");
    files
}

fn replay(target: &str) {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    note_every_panic();
    let run = jiuzhu_fuzz_targets::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("no target {target}"));
    let mut failed = Vec::new();
    for path in corpus(target) {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        PANICKED.store(false, Ordering::SeqCst);
        let outcome = std::panic::catch_unwind(|| run(&data));
        if outcome.is_err() || PANICKED.load(Ordering::SeqCst) {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target} panicked on: {failed:#?}");
}

/// Every target has a corpus folder and a replay test below, and every corpus folder a target.
#[test]
fn every_target_has_a_corpus_and_a_test() {
    let names: Vec<&str> = jiuzhu_fuzz_targets::TARGETS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    for name in &names {
        corpus(name);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus");
    for entry in std::fs::read_dir(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display())) {
        let name = entry.map(|e| e.file_name()).unwrap_or_default();
        let name = name.to_string_lossy();
        assert!(
            names.contains(&name.as_ref()),
            "corpus folder {name} has no target"
        );
    }
    let tests = include_str!("replay.rs");
    for name in &names {
        assert!(
            tests.contains(&format!("fn {name}() {{\n    replay(\"{name}\")")),
            "no replay test for {name}"
        );
    }
}

#[test]
fn id_number() {
    replay("id_number")
}

#[test]
fn form_expr() {
    replay("form_expr")
}

#[test]
fn form_validate() {
    replay("form_validate")
}

#[test]
fn photo_intake() {
    replay("photo_intake")
}

#[test]
fn jpeg_dc() {
    replay("jpeg_dc")
}

#[test]
fn exif() {
    replay("exif")
}

#[test]
fn geojson_import() {
    replay("geojson_import")
}

#[test]
fn csv_import() {
    replay("csv_import")
}
