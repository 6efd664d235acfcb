//! The server's module graph: no import cycle between its top-level modules, and nothing below the
//! HTTP layer imports `routes`. The layers are in ARCHITECTURE.md ("Inside the server: layers").
//!
//! A small reader rather than a tool: every `crate::<module>` path in `server/src` (in `use`
//! lines, in `use crate::{a, b}` groups, written inline, and `super::` paths that climb to the
//! crate root) is an edge from the file's top-level module (`src/<module>.rs` or
//! `src/<module>/…`) to `<module>`. Comments are left out; test code counts like any other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The modules that may import `routes`: the assembly layer, and `routes` itself.
const MAY_IMPORT_ROUTES: &[&str] = &["routes", "startup", "web", "openapi", "cli", "main"];

/// `module -> module it imports -> files that do`.
type Graph = BTreeMap<String, BTreeMap<String, BTreeSet<String>>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text without `//` comments (line and doc comments), so that a doc link is not an import.
/// String literals are kept whole: a `//` inside one (a URL) does not start a comment.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let bytes = line.as_bytes();
        let mut in_string = false;
        let mut end = bytes.len();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if in_string => i += 1,
                b'"' => in_string = !in_string,
                b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => {
                    end = i;
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        out.push_str(&line[..end]);
        out.push('\n');
    }
    out
}

fn ident_at(text: &str, from: usize) -> &str {
    let rest = &text[from..];
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..end]
}

fn word_start(text: &str, at: usize) -> bool {
    at == 0
        || !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The top-level modules a file's code names, given its module path inside the crate.
fn imports(text: &str, module_path: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        if !word_start(text, at) {
            continue;
        }
        let after = at + "crate::".len();
        if text[after..].starts_with('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the first segment of each top-level item.
            let mut depth = 0;
            let mut item_start = true;
            for (i, c) in text[after..].char_indices() {
                match c {
                    '{' => {
                        depth += 1;
                        item_start = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start && depth == 1 => {
                        found.insert(ident_at(text, after + i).to_owned());
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            found.insert(ident_at(text, after).to_owned());
        }
    }
    // `super::` chains that climb to the crate root name a top-level module next.
    for (at, _) in text.match_indices("super::") {
        if !word_start(text, at) || text[..at].ends_with("super::") {
            continue;
        }
        let mut depth = 0;
        let mut next = at;
        while text[next..].starts_with("super::") {
            depth += 1;
            next += "super::".len();
        }
        if depth == module_path.len() {
            found.insert(ident_at(text, next).to_owned());
        }
    }
    found
}

/// A path component as a module name: `visits.rs` is `visits`.
fn segment(c: std::path::Component<'_>) -> String {
    c.as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

fn module_graph(src: &Path) -> Graph {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| f.strip_prefix(src).ok())
        .filter_map(|rel| rel.components().next())
        .map(segment)
        .collect();
    let mut graph = Graph::new();
    for file in &files {
        let Ok(rel) = file.strip_prefix(src) else {
            continue;
        };
        let mut path: Vec<String> = rel.components().map(segment).collect();
        if path.last().is_some_and(|last| last == "mod") {
            path.pop();
        }
        if path == ["lib"] {
            continue;
        }
        let top = path[0].clone();
        let text = std::fs::read_to_string(file)
            .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        for target in imports(&without_comments(&text), &path) {
            if target != top && modules.contains(&target) {
                graph
                    .entry(top.clone())
                    .or_default()
                    .entry(target)
                    .or_default()
                    .insert(rel.display().to_string());
            }
        }
    }
    graph
}

/// One cycle of the graph, if there is one, as the modules along it (the first repeated last).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match marks.get(node) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let from = stack.iter().position(|n| n == node).unwrap_or(0);
                let mut cycle = stack[from..].to_vec();
                cycle.push(node.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(node.to_owned(), Mark::Open);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(cycle) = visit(next, graph, marks, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
            return Some(cycle);
        }
    }
    None
}

fn describe(graph: &Graph, cycle: &[String]) -> String {
    cycle
        .windows(2)
        .map(|w| {
            let files: Vec<&str> = graph[&w[0]][&w[1]].iter().map(String::as_str).collect();
            format!("{} -> {}  ({})", w[0], w[1], files.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// `server/src`, or the folder `JIUZHU_LAYERS_SRC` names (to read another checkout's tree).
fn server_src() -> PathBuf {
    match std::env::var_os("JIUZHU_LAYERS_SRC") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
    }
}

#[test]
fn no_import_cycle_between_the_servers_modules() {
    let graph = module_graph(&server_src());
    assert!(
        graph.len() > 20,
        "the reader found too few modules: {graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "import cycle between the server's modules:\n  {}",
            describe(&graph, &cycle)
        );
    }
}

#[test]
fn only_the_assembly_layer_imports_routes() {
    let graph = module_graph(&server_src());
    let offenders: Vec<String> = graph
        .iter()
        .filter(|(module, _)| !MAY_IMPORT_ROUTES.contains(&module.as_str()))
        .filter_map(|(module, targets)| {
            let files = targets.get("routes")?;
            Some(format!(
                "{module} ({})",
                files.iter().cloned().collect::<Vec<_>>().join(", ")
            ))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "modules below the HTTP layer import `routes`: {}",
        offenders.join("; ")
    );
}

/// The reader itself: each way of naming a module is an edge, comments and strings are not.
#[test]
fn the_reader_sees_every_form_of_import() {
    let text = without_comments(
        "use crate::db::{self, AnyConnection};\n\
         use crate::{audit, auth::Caller, domain::{geo, roles}};\n\
         let x = crate::rules::evaluate::household(conn);\n\
         macro_rules! m { () => { $crate::scope::Scope::everything() } }\n\
         // crate::routes::users in a comment\n\
         /// [`crate::state::AppState`] in a doc comment\n\
         let url = \"postgres://host\"; let y = crate::tasks::x;\n\
         use super::super::photos::PhotoService;\n\
         use super::sibling;\n",
    );
    let deep = vec!["visits".to_owned(), "verify".to_owned()];
    let found = imports(&text, &deep);
    let expected: BTreeSet<String> = [
        "db", "audit", "auth", "domain", "rules", "scope", "tasks", "photos",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(found, expected);

    let mut graph = Graph::new();
    for (a, b) in [
        ("state", "citizens"),
        ("citizens", "auth"),
        ("auth", "state"),
        ("db", "error"),
    ] {
        graph
            .entry(a.to_owned())
            .or_default()
            .entry(b.to_owned())
            .or_default()
            .insert(format!("{a}.rs"));
    }
    let cycle = find_cycle(&graph).unwrap_or_default();
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4, "{cycle:?}");
    graph.get_mut("auth").map(|m| m.remove("state"));
    assert_eq!(find_cycle(&graph), None);
}
