//! The web front ends, served from `web/` inside the binary: the console at `/`, the grid worker's
//! app at `/field/`, the citizen's page at `/h5/`. Release builds embed the files (rust-embed);
//! debug builds read them from disk on every request, so a page edit shows on reload.
//!
//! Pages name their scripts and styles under a versioned prefix (`__V__` in the HTML becomes
//! `/v/<build>`), and every import inside `web/` is relative, so a whole build's assets can be
//! cached for good while the HTML, which names the build, is never cached.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

#[derive(rust_embed::RustEmbed)]
#[folder = "../web/"]
#[exclude = "node_modules/*"]
#[exclude = "e2e/*"]
#[exclude = "tools/*"]
#[exclude = "package.json"]
#[exclude = "package-lock.json"]
#[exclude = "*.test.mjs"]
#[exclude = ".gitignore"]
struct Assets;

/// The policy of every page: scripts and everything else from this origin only, no inline script,
/// no framing. Government networks are closed, so nothing may come from elsewhere anyway.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; \
font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The three front ends: the path they answer at and their page under `web/`.
const PAGES: [(&str, &str); 3] = [
    ("/", "console/index.html"),
    ("/field/", "field/index.html"),
    ("/h5/", "h5/index.html"),
];

/// The build's version: a hash over every embedded file's own hash, in name order. In debug
/// builds the files change under a running server, so the version is `dev` and nothing is cached.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        if cfg!(debug_assertions) {
            return "dev".to_owned();
        }
        let mut names: Vec<_> = Assets::iter().collect();
        names.sort();
        let mut hasher = Sha256::new();
        for name in names {
            if let Some(file) = Assets::get(&name) {
                hasher.update(name.as_bytes());
                hasher.update(file.metadata.sha256_hash());
            }
        }
        hex::encode(&hasher.finalize()[..6])
    })
}

/// The phone app's shell: every embedded file a page of `app` (`field` or `h5`) may load, as the
/// versioned URLs it loads them by, derived from what is embedded so no list goes stale. The
/// console's own folder and the large map and chart libraries (the phone app draws its grid
/// without them) are left out.
pub fn shell(app: &str) -> Vec<String> {
    let prefix = format!("/v/{}/", version());
    let mut files: Vec<String> = Assets::iter()
        .filter(|name| {
            let own = name.starts_with(&format!("{app}/"));
            let shared = name.starts_with("shared/") || name.starts_with("vendor/");
            let heavy = name.contains("maplibre") || name.contains("echarts");
            (own || shared) && !heavy && !name.ends_with(".md") && !name.ends_with("sw.js")
        })
        .map(|name| format!("{prefix}{name}"))
        .collect();
    files.sort();
    files.insert(0, format!("/{app}/"));
    files
}

/// Registers the pages and the versioned assets.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for (path, file) in PAGES {
        cfg.route(path, web::get().to(move |req: HttpRequest| page(req, file)));
    }
    cfg.service(web::redirect("/field", "/field/"))
        .service(web::redirect("/h5", "/h5/"))
        .route("/v/{version}/{path:.*}", web::get().to(asset))
        // A service worker controls only the pages under its own folder, so the phone app's
        // worker and manifest are served beside its page, unversioned and never cached.
        .route("/field/shell.json", web::get().to(shell_list))
        .route("/h5/shell.json", web::get().to(shell_list))
        .route("/field/{file}", web::get().to(app_file))
        .route("/h5/{file}", web::get().to(app_file));
}

async fn page(req: HttpRequest, file: &'static str) -> Result<HttpResponse, ApiError> {
    let body = Assets::get(file).ok_or_else(ApiError::not_found)?;
    let text = String::from_utf8_lossy(&body.data).replace("__V__", &format!("/v/{}", version()));
    Ok(respond(
        &req,
        file,
        text.into_bytes().into(),
        Caching::Never,
    ))
}

async fn asset(
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (requested, name) = path.into_inner();
    let file = Assets::get(&name).ok_or_else(ApiError::not_found)?;
    // An old page may still ask for an old build's file: it gets today's, but not for keeps.
    let caching = if requested == version() && requested != "dev" {
        Caching::Forever
    } else {
        Caching::Never
    };
    Ok(respond(&req, &name, file.data.into_owned().into(), caching))
}

/// `GET /field/shell.json`: what the service worker precaches, and the build it belongs to.
async fn shell_list(req: HttpRequest) -> HttpResponse {
    let app = if req.path().starts_with("/h5/") {
        "h5"
    } else {
        "field"
    };
    let body = serde_json::json!({ "version": version(), "files": shell(app) });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(body)
}

async fn app_file(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let folder = req
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let name = format!("{folder}/{}", file.into_inner());
    // Only files meant to live beside a page; the rest are reached through the versioned prefix.
    if !(name.ends_with(".js") || name.ends_with(".webmanifest") || name.ends_with(".json")) {
        return Err(ApiError::not_found());
    }
    let body = Assets::get(&name).ok_or_else(ApiError::not_found)?;
    let data = String::from_utf8_lossy(&body.data).replace("__V__", &format!("/v/{}", version()));
    Ok(respond(
        &req,
        &name,
        data.into_bytes().into(),
        Caching::Never,
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Caching {
    Never,
    Forever,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// Text compresses well and phones are on weak networks; pictures are compressed already.
fn compressible(name: &str) -> bool {
    matches!(
        name.rsplit('.').next().unwrap_or_default(),
        "html" | "js" | "mjs" | "css" | "json" | "webmanifest" | "svg"
    )
}

/// Gzipped copies of the versioned assets, made once per file: the files are fixed for the life
/// of a release process. Pages are small and rewritten per build, so they are compressed per request.
fn gzipped(name: &str, data: &[u8], cache: bool) -> Option<Arc<[u8]>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<[u8]>>>> = OnceLock::new();
    let cache_map = CACHE.get_or_init(Default::default);
    if cache {
        if let Ok(map) = cache_map.lock() {
            if let Some(hit) = map.get(name) {
                return Some(hit.clone());
            }
        }
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).ok()?;
    let out: Arc<[u8]> = enc.finish().ok()?.into();
    if cache {
        if let Ok(mut map) = cache_map.lock() {
            map.insert(name.to_owned(), out.clone());
        }
    }
    Some(out)
}

fn accepts_gzip(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|e| e.trim().starts_with("gzip")))
}

fn respond(req: &HttpRequest, name: &str, data: bytes::Bytes, caching: Caching) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, content_type(name)))
        .insert_header((
            header::CACHE_CONTROL,
            match caching {
                Caching::Forever => "public, max-age=31536000, immutable",
                Caching::Never => "no-cache",
            },
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::VARY, "Accept-Encoding"));
    if compressible(name) && data.len() > 512 && accepts_gzip(req) {
        if let Some(gz) = gzipped(name, &data, caching == Caching::Forever) {
            res.insert_header((header::CONTENT_ENCODING, HeaderValue::from_static("gzip")));
            return res.body(bytes::Bytes::copy_from_slice(&gz));
        }
    }
    res.body(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_is_what_is_embedded() {
        let files = shell("field");
        assert_eq!(files.first().map(String::as_str), Some("/field/"));
        assert!(files
            .iter()
            .skip(1)
            .all(|f| f.starts_with(&format!("/v/{}/", version()))));
        assert!(!files
            .iter()
            .any(|f| f.contains("/console/") || f.contains("maplibre")));
        // Every listed file exists.
        for f in files.iter().skip(1) {
            let name = f.splitn(4, '/').nth(3).unwrap_or_default();
            assert!(Assets::get(name).is_some(), "{name}");
        }
    }

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(
            content_type("console/app.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("field/manifest.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("x.unknown"), "application/octet-stream");
    }

    #[test]
    fn the_policy_allows_no_inline_script_and_no_other_origin() {
        let script = CONTENT_SECURITY_POLICY
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap_or_default();
        assert_eq!(script, "script-src 'self'");
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("http"));
    }
}
