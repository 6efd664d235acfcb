//! The bodies of the fuzz targets: one function per target, taking the fuzzer's bytes.
//!
//! Each calls the code the server runs on what a client sends, and asserts what must hold for any
//! input where checking it is cheap. Bad input must end in an error the server answers with a 4xx:
//! a panic, a 5xx-class error, a hang or an unbounded allocation is a finding. The same functions
//! run under libFuzzer (`fuzz/fuzz_targets/`, `cargo +nightly fuzz`) and over the committed corpus
//! in `cargo test` (`tests/replay.rs`), so every input that once found a bug stays a test.

use std::sync::{Mutex, OnceLock};

use chrono::NaiveDate;
use jiuzhu_photos::{Limits, MediaType, PhotoError};
use jiuzhu_proto::form::{FormDefinition, ValidationOutcome};
use serde_json::{json, Value as Json};

/// A target: its corpus folder's and fuzz binary's name, and its body.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("id_number", id_number),
    ("form_expr", form_expr),
    ("form_validate", form_validate),
    ("photo_intake", photo_intake),
    ("jpeg_dc", jpeg_dc),
    ("exif", exif),
    ("geojson_import", geojson_import),
    ("csv_import", csv_import),
];

// ------------------------------------------------------------------------------------------------
// ID numbers

/// `IdNumber::parse` (every ID number typed, imported or matched) and `mask_phone`.
pub fn id_number(data: &[u8]) {
    use jiuzhu_server::domain::id_number::{mask_phone, IdNumber};
    let text = String::from_utf8_lossy(data);
    if let Ok(parsed) = IdNumber::parse(&text) {
        let id = parsed.id;
        let canonical = id.as_str();
        assert_eq!(canonical.len(), 18);
        assert!(canonical[..17].bytes().all(|b| b.is_ascii_digit()));
        assert!(matches!(canonical.as_bytes()[17], b'0'..=b'9' | b'X'));
        // The canonical form is a fixed point of parsing.
        let again = IdNumber::parse(canonical).map(|p| p.id);
        assert_eq!(again.as_ref().map(IdNumber::as_str), Ok(canonical));
        // The birth date is the one the digits spell (1970-01-01 is a birth date like any other:
        // the first long run found the earlier check, "not the default date", wrong on it).
        assert_eq!(
            id.birth_date().format("%Y%m%d").to_string(),
            canonical[6..14]
        );
        assert_eq!(id.region_code(), &canonical[..6]);
        let masked = id.masked();
        assert_eq!(masked.len(), 18);
        assert_eq!(masked.get(6..14), Some("********"));
        let _ = id.gender();
    }
    let masked = mask_phone(&text);
    assert_eq!(masked.chars().count(), text.chars().count());
}

// ------------------------------------------------------------------------------------------------
// The form engine

/// The day forms are validated on, fixed so that a corpus input behaves the same every day.
fn fixed_today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap_or_default()
}

fn field(name: &str, kind: &str) -> Json {
    json!({"name": name, "label": {"zh": name, "en": name}, "kind": kind})
}

fn choices(mut f: Json) -> Json {
    f["choices"] = json!([
        {"value": "a", "label": {"zh": "甲", "en": "A"}},
        {"value": "b", "label": {"zh": "乙", "en": "B"}},
        {"value": "c", "label": {"zh": "丙", "en": "C"}}
    ]);
    f
}

/// A field of every kind an expression can refer to, at the top level and in a repeat, so that
/// references of every type resolve.
fn expression_fields() -> Vec<Json> {
    let mut members = vec![
        field("age", "integer"),
        field("income", "decimal"),
        field("name", "text"),
        field("born", "date"),
        choices(field("health", "select_one")),
    ];
    let mut jobs = field("jobs", "repeat");
    jobs["fields"] = json!([field("wage", "integer")]);
    members.push(jobs);
    let mut repeat = field("members", "repeat");
    repeat["fields"] = Json::Array(members);
    vec![
        field("n", "integer"),
        field("d", "decimal"),
        field("t", "text"),
        field("b", "boolean"),
        field("dt", "date"),
        choices(field("s1", "select_one")),
        choices(field("sm", "select_multiple")),
        field("gps", "geopoint"),
        field("pic", "photo"),
        repeat,
    ]
}

/// Answer sets for the expression forms: nothing, ordinary values, and the extremes (overflow,
/// huge and tiny decimals, empty strings, many instances).
fn expression_answers() -> Vec<Json> {
    vec![
        json!({}),
        json!({
            "n": 42, "d": 2.5, "t": "张三 abc", "b": true, "dt": "1950-02-28", "s1": "b",
            "sm": ["a", "c"], "gps": {"lat": 31.8, "lon": 119.9},
            "pic": "0190c3a4-1111-7000-8000-000000000001",
            "members": [
                {"age": 70, "income": 1200.5, "name": "王", "born": "1955-01-01", "health": "a",
                 "jobs": [{"wage": 3}, {"wage": 4}]},
                {"age": 0, "income": 0.0, "name": "", "born": "2024-02-29", "health": "c", "jobs": []}
            ]
        }),
        json!({
            "n": i64::MAX, "d": 1.7e308, "t": "", "b": false, "dt": "0001-01-01", "s1": "c",
            "sm": [], "members": [
                {"age": i64::MIN, "income": -1.7e308, "jobs": [{"wage": i64::MAX}, {"wage": i64::MAX}]},
                {"age": i64::MAX, "income": 5e-324, "born": "9999-12-31"}
            ]
        }),
    ]
}

fn expression_form(fields: Vec<Json>) -> Option<jiuzhu_proto::form::CompiledForm> {
    let definition = json!({
        "key": "fuzz", "title": {"zh": "模糊", "en": "Fuzz"}, "version": 1, "fields": fields
    });
    let definition: FormDefinition = serde_json::from_value(definition).ok()?;
    definition.check().ok()
}

/// The expression language: the parser (`check_syntax`), the checker (references, types, cycles)
/// and the evaluator, with the input as a `calculate`, a `relevant` and a `constraint`, at the top
/// level and inside a repeat.
pub fn form_expr(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let syntax_ok = jiuzhu_proto::form::check_syntax(src).is_ok();
    let answers = expression_answers();
    let with = |f: Json| {
        let mut fields = expression_fields();
        fields.push(f);
        fields
    };
    let mut calc = field("x", "calculate");
    calc["calculate"] = Json::from(src);
    let mut relevant = field("r", "text");
    relevant["relevant"] = Json::from(src);
    let mut constraint = field("c", "integer");
    constraint["constraint"] = Json::from(src);
    let mut nested = expression_fields();
    if let Some(members) = nested.iter_mut().find(|f| f["name"] == "members") {
        if let Some(inner) = members["fields"].as_array_mut() {
            inner.push(calc.clone());
        }
    }
    let forms = [with(calc), with(relevant), with(constraint), nested];
    for (i, fields) in forms.into_iter().enumerate() {
        let Some(form) = expression_form(fields) else {
            continue;
        };
        assert!(
            syntax_ok,
            "a form compiled with an expression that does not parse"
        );
        for a in &answers {
            let mut a = a.clone();
            if i == 2 {
                a["c"] = json!(7);
            }
            if i == 1 {
                a["r"] = json!("x");
            }
            let outcome = validated(&form, &a);
            if i == 0 {
                assert!(
                    outcome.calculated.contains_key("x"),
                    "a calculation is missing from the outcome"
                );
            }
        }
    }
}

/// Validates twice (it must be deterministic), checks the bounds of the outcome, and checks that
/// the cleaned answers (without what was dropped as not relevant) validate the same way.
fn validated(form: &jiuzhu_proto::form::CompiledForm, answers: &Json) -> ValidationOutcome {
    let outcome = form.validate_at(answers, fixed_today());
    assert!(outcome.errors.len() <= jiuzhu_proto::form::MAX_ERRORS + 1);
    assert_eq!(outcome, form.validate_at(answers, fixed_today()));
    if !outcome.dropped.is_empty() {
        let cleaned = outcome.cleaned(answers);
        let again = form.validate_at(&cleaned, fixed_today());
        assert!(
            again.dropped.is_empty(),
            "cleaned answers still hold irrelevant ones"
        );
        assert_eq!(again.errors, outcome.errors, "cleaning changed the errors");
        assert_eq!(again.calculated, outcome.calculated);
    }
    outcome
}

/// Answer validation: `{"form": <definition>, "answers": <answers>, "today": "YYYY-MM-DD"}`, the
/// shape of the conformance cases (fixtures/forms/conformance). The definition goes through the
/// same check as `POST /forms`; a definition that passes validates the answers.
pub fn form_validate(data: &[u8]) {
    let Ok(input) = serde_json::from_slice::<Json>(data) else {
        return;
    };
    let Ok(definition) = serde_json::from_value::<FormDefinition>(input["form"].clone()) else {
        return;
    };
    let checked = definition.check();
    // What the API stores and sends back reads back as the same definition.
    if let Ok(text) = serde_json::to_string(&definition) {
        let back: Result<FormDefinition, _> = serde_json::from_str(&text);
        if let Ok(back) = back {
            assert_eq!(back.check().is_ok(), checked.is_ok());
        }
    }
    let form = match checked {
        Ok(form) => form,
        Err(errors) => {
            assert!(!errors.is_empty());
            assert!(errors.len() <= jiuzhu_proto::form::MAX_ERRORS + 1);
            return;
        }
    };
    let today = input["today"]
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .unwrap_or_else(fixed_today);
    let outcome = form.validate_at(&input["answers"], today);
    assert!(outcome.errors.len() <= jiuzhu_proto::form::MAX_ERRORS + 1);
    if !outcome.dropped.is_empty() {
        let cleaned = outcome.cleaned(&input["answers"]);
        let again = form.validate_at(&cleaned, today);
        assert!(
            again.dropped.is_empty(),
            "cleaned answers still hold irrelevant ones"
        );
        assert_eq!(again.errors, outcome.errors, "cleaning changed the errors");
    }
}

// ------------------------------------------------------------------------------------------------
// Photos

/// Limits for fuzzing: the server's, with fewer pixels and a smaller decode allocation so that an
/// execution stays short; the code paths are the same.
fn photo_limits() -> Limits {
    Limits {
        max_pixels: 4_000_000,
        max_alloc: 16 * 1024 * 1024,
        ..Limits::default()
    }
}

/// The whole intake of an upload (`process_bytes`: sniff, container walk, EXIF, strip, decode,
/// renditions, perceptual hash).
pub fn photo_intake(data: &[u8]) {
    let limits = photo_limits();
    match jiuzhu_photos::process_bytes(data.to_vec(), &limits) {
        Ok(photo) => {
            assert!(photo.width > 0 && photo.height > 0);
            assert!(
                photo.display.width.max(photo.display.height) <= jiuzhu_photos::DISPLAY_LONG_SIDE
            );
            assert!(
                photo.thumbnail.width.max(photo.thumbnail.height)
                    <= jiuzhu_photos::THUMBNAIL_LONG_SIDE
            );
            assert_eq!(
                jiuzhu_photos::sniff(&photo.display.jpeg).ok(),
                Some(MediaType::Jpeg)
            );
            // Stripping leaves nothing to strip: the stored original passes intake again, with
            // no metadata left in it and the same picture size.
            let again = jiuzhu_photos::inspect(photo.original.to_vec(), &limits);
            let again = match again {
                Ok(a) => a,
                Err(e) => panic!("the stripped original is refused: {e}"),
            };
            assert_eq!(again.media_type, photo.media_type);
            assert_eq!(again.metadata, jiuzhu_photos::PhotoMetadata::default());
            assert_eq!(again.original(), &photo.original[..]);
        }
        Err(e) => refused_as_client_error(&e),
    }
}

fn refused_as_client_error(e: &PhotoError) {
    assert!(
        e.is_client_error(),
        "a bad upload must be the client's error (4xx), got {} ({e})",
        e.code()
    );
}

/// The hand-written 1/8 DC reader against jpeg-decoder: whenever it accepts a file, jpeg-decoder
/// must accept it too and give the same samples.
pub fn jpeg_dc(data: &[u8]) {
    let limits = Limits::default();
    let decoded = match jiuzhu_photos::fuzzing::jpeg_dc(data, &limits) {
        Ok(Some(d)) => d,
        Ok(None) => return,
        Err(e) => return refused_as_client_error(&e),
    };
    let count = decoded.width as usize * decoded.height as usize * decoded.channels;
    assert_eq!(decoded.pixels.len(), count);
    assert_eq!(decoded.samples.len(), count);
    let mut decoder = jpeg_decoder::Decoder::new(&decoded.stripped[..]);
    decoder.set_color_transform(jpeg_decoder::ColorTransform::RGB);
    let reference = decoder.read_info().ok().and_then(|()| {
        let info = decoder.info()?;
        let (w, h) = (
            info.width.div_ceil(8).max(1),
            info.height.div_ceil(8).max(1),
        );
        decoder.scale(w, h).ok()?;
        decoder.decode().ok()
    });
    match reference {
        Some(samples) => assert!(
            samples == decoded.samples,
            "the DC reader's samples differ from jpeg-decoder's"
        ),
        None => panic!("the DC reader accepts a file jpeg-decoder refuses"),
    }
}

/// EXIF reading (`exif::read`) on a TIFF block, as found after `Exif\0\0` in a JPEG's APP1.
pub fn exif(data: &[u8]) {
    let metadata = jiuzhu_photos::exif::read(data);
    if let Some(p) = metadata.position {
        assert!(p.latitude.is_finite() && p.latitude.abs() <= 90.0, "{p:?}");
        assert!(
            p.longitude.is_finite() && p.longitude.abs() <= 180.0,
            "{p:?}"
        );
    }
    assert!((1..=8).contains(&metadata.orientation.value()));
    for text in [&metadata.make, &metadata.model].into_iter().flatten() {
        assert!(text.len() <= data.len());
    }
    // What is stored is read back as the same (positions to 1e-9 degrees: serde_json's default
    // float parser may miss the last bit, a few nanometres).
    if let Ok(stored) = serde_json::to_string(&metadata) {
        let back: Result<jiuzhu_photos::PhotoMetadata, _> = serde_json::from_str(&stored);
        let Ok(mut back) = back else {
            panic!("stored metadata does not read back: {stored}");
        };
        if let (Some(b), Some(m)) = (&mut back.position, &metadata.position) {
            assert!((b.latitude - m.latitude).abs() < 1e-9, "{stored}");
            assert!((b.longitude - m.longitude).abs() < 1e-9, "{stored}");
            *b = *m;
        }
        assert_eq!(back, metadata, "{stored}");
    }
}

// ------------------------------------------------------------------------------------------------
// Imports

/// GeoJSON import of org units (`POST /org-units/import`, `jiuzhu import boundaries`), in both
/// datums files arrive in.
pub fn geojson_import(data: &[u8]) {
    use jiuzhu_server::domain::geo::{parse_boundary, to_geojson, BoundaryLimits, Crs};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = BoundaryLimits {
        max_vertices: 100_000,
    };
    for crs in [Crs::Wgs84, Crs::Gcj02] {
        match jiuzhu_server::imports::boundaries::parse_collection(text, crs, &limits) {
            Ok(specs) => {
                for spec in &specs {
                    assert!(!spec.code.is_empty());
                    assert!(!spec.name.is_empty() && spec.name.trim() == spec.name);
                    let Some(boundary) = &spec.boundary else {
                        continue;
                    };
                    for polygon in &boundary.0 {
                        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                            for c in &ring.0 {
                                assert!(c.x.is_finite() && c.x.abs() <= 180.0, "{c:?}");
                                assert!(c.y.is_finite() && c.y.abs() <= 90.0, "{c:?}");
                            }
                        }
                    }
                    // The stored boundary (WGS-84 GeoJSON) is read back by the grid index.
                    let stored = to_geojson(boundary);
                    if let Err(e) = parse_boundary(&stored, Crs::Wgs84, &limits) {
                        panic!("a stored boundary does not read back: {e}");
                    }
                }
            }
            Err(e) => assert!(e.status.is_client_error(), "{e}"),
        }
    }
}

/// A SQLite database with the demo city's org units (its grids have real boundaries), opened once
/// per process and replaced every [`CSV_RUNS_PER_DATABASE`] imports so it does not grow without
/// bound during a long run.
struct CsvDatabase {
    _dir: tempfile::TempDir,
    conn: jiuzhu_server::db::DbConn,
    cipher: jiuzhu_server::crypto::FieldCipher,
    lookup: jiuzhu_server::domain::geo::GridLookup<jiuzhu_server::domain::geo::GridKey>,
    rules: jiuzhu_server::rules::RuleBook,
    runs: u32,
}

const CSV_RUNS_PER_DATABASE: u32 = 2_000;

fn csv_database() -> Result<CsvDatabase, String> {
    use jiuzhu_server::db;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("fuzz.db");
    let url = format!("sqlite://{}", path.display());
    let (_, pool) = db::connect(&url, 1).map_err(|e| e.to_string())?;
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    db::migrate(&mut conn).map_err(|e| e.to_string())?;
    let key = |b: u8| secrecy::SecretBox::new(Box::new([b; 32]));
    let cipher = jiuzhu_server::crypto::FieldCipher::new(&key(1), &key(2), "fuzz");
    // Imports write audit records, signed with the process's key as the command line does.
    let audit = jiuzhu_server::audit::AuditKey::new(&key(3)).map_err(|e| format!("{e:?}"))?;
    jiuzhu_server::audit::install_process_key(std::sync::Arc::new(audit));
    jiuzhu_server::demo::load(
        &mut conn,
        &cipher,
        jiuzhu_server::demo::DemoSize::households(0),
    )
    .map_err(|e| format!("{e:?}"))?;
    let (lookup, _) = jiuzhu_server::grid_index::load(&mut conn).map_err(|e| e.to_string())?;
    Ok(CsvDatabase {
        _dir: dir,
        conn,
        cipher,
        lookup,
        rules: jiuzhu_server::rules::RuleBook::default(),
        runs: 0,
    })
}

/// Household CSV import (`POST /households/import`, `jiuzhu import households`) into a real
/// SQLite database, UTF-8 and GBK: the encoding is detected as the API does by default, and the
/// header is also read under each explicit encoding.
pub fn csv_import(data: &[u8]) {
    use jiuzhu_server::imports::households::{self, EncodingChoice, ImportError};
    static DATABASE: OnceLock<Mutex<Option<CsvDatabase>>> = OnceLock::new();

    for choice in [EncodingChoice::Utf8, EncodingChoice::Gbk] {
        if let Err(ImportError::Failed(e)) =
            households::check_file(std::io::Cursor::new(data.to_vec()), choice)
        {
            panic!("a file check failed as the server's fault: {e}");
        }
    }

    let lock = DATABASE.get_or_init(|| Mutex::new(None));
    let mut guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if guard
        .as_ref()
        .is_none_or(|d| d.runs >= CSV_RUNS_PER_DATABASE)
    {
        *guard = None;
        match csv_database() {
            Ok(d) => *guard = Some(d),
            Err(e) => panic!("cannot set up the import database: {e}"),
        }
    }
    let Some(database) = guard.as_mut() else {
        return;
    };
    database.runs += 1;
    // disallowed_methods: the import runs as the command line's does, over the whole tree.
    #[allow(clippy::disallowed_methods)]
    let scope = jiuzhu_server::scope::Scope::everything();
    let ctx = households::ImportContext {
        cipher: &database.cipher,
        lookup: &database.lookup,
        rules: jiuzhu_server::rules::Engine {
            book: &database.rules,
            cipher: &database.cipher,
        },
        scope: &scope,
        actor: None,
        run_id: "fuzz",
        encoding: EncodingChoice::Auto,
        runner: jiuzhu_server::imports::tuning::Runner::Job,
        readers: None,
    };
    let result = households::import(
        &mut database.conn,
        &ctx,
        std::io::Cursor::new(data.to_vec()),
        &mut |_, _| Ok(()),
    );
    match result {
        Ok(report) => {
            assert!(report.errors.len() <= households::MAX_KEPT_ERRORS);
            assert!(report.errors_total >= report.errors.len() as u64);
            assert!(report.households_created + report.households_unchanged <= report.rows_read);
            assert!(report.bytes_read <= data.len() as u64);
        }
        Err(ImportError::Refused(r)) => assert!(!r.code.is_empty()),
        Err(ImportError::Failed(e)) => panic!("an import failed as the server's fault: {e}"),
    }
}
