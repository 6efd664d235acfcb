//! SQL lives in `src/db/`: no other file of the server names diesel's table definitions
//! (`schema::`), branches on the backend (`AnyConnection::Sqlite` / `::Postgresql`,
//! `each_backend!`) or writes SQL text (`sql_query`). Services and handlers call
//! `db::repo::<table>` functions instead (ARCHITECTURE.md, "What may import what").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// What only `src/db/` may write.
const DB_ONLY: &[&str] = &[
    "schema::",
    "AnyConnection::Sqlite",
    "AnyConnection::Postgresql",
    "each_backend!",
    "sql_query(",
];

/// Files outside `src/db/` that still may, each with the reason. Keep this list short: a file
/// leaves it when its rows move into `db/repo/`.
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "audit.rs",
        "the audit chain's rows move into db/repo/audit.rs with the audit work (issue 21)",
    ),
    (
        "bench_seed.rs",
        "benchmark data, leaving the product for a feature or crate of its own (issue 20 §3)",
    ),
    (
        "exports/bench_seed.rs",
        "benchmark data, leaving the product for a feature or crate of its own (issue 20 §3)",
    ),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The lines of `text` that write what only `db/` may, outside comments.
fn offending_lines(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            !code.starts_with("//") && DB_ONLY.iter().any(|p| code.contains(p))
        })
        .map(|(i, line)| (i + 1, line.trim().to_owned()))
        .collect()
}

#[test]
fn only_db_writes_sql_or_branches_on_the_backend() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 100, "found only {} files", files.len());
    let mut found = Vec::new();
    for file in &files {
        let relative = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if relative.starts_with("db/") || EXCEPTIONS.iter().any(|(f, _)| *f == relative) {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (line, code) in offending_lines(&text) {
            found.push(format!("src/{relative}:{line}: {code}"));
        }
    }
    assert!(
        found.is_empty(),
        "outside src/db/, move these into a db::repo function:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_sees_each_kind_of_offence() {
    let sample = "use crate::db::schema::households;\n\
                  // schema:: in a comment is fine\n\
                  if let AnyConnection::Postgresql(pg) = conn {}\n\
                  match conn { AnyConnection::Sqlite(c) => {} }\n\
                  each_backend!(conn, c => q.load(c))\n\
                  diesel::sql_query(\"SELECT 1\")\n\
                  let ok = repo::households::find(conn, id);\n";
    let lines: Vec<usize> = offending_lines(sample)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(lines, vec![1, 3, 4, 5, 6]);
}
