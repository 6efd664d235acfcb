//! The error envelope, body limits, ops endpoints and the OpenAPI document.

use jiuzhu_tests::{both_backends, spawn_app, Backend};
use reqwest::StatusCode;

async fn errors_are_stable_and_bilingual(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    let cases: Vec<(reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            admin.request(reqwest::Method::POST, "/org-units").header("content-type", "application/json").body("{\"kind\": "),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            admin.request(reqwest::Method::POST, "/org-units").json(&serde_json::json!({"kind": "grid", "code": 5, "name": "y"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            admin.request(reqwest::Method::POST, "/org-units").json(&serde_json::json!({"kind": "grid", "code": "x", "name": "y", "parent_id": null, "colour": "red"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field",
        ),
        (
            admin.request(reqwest::Method::POST, "/org-units").json(&serde_json::json!({"name": "x".repeat(400_000)})),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            admin.request(reqwest::Method::POST, "/org-units").header("content-type", "text/plain").body("{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (admin.request(reqwest::Method::GET, "/no-such-endpoint"), StatusCode::NOT_FOUND, "not_found"),
        (admin.request(reqwest::Method::GET, "/org-units/not-a-uuid"), StatusCode::NOT_FOUND, "not_found"),
        (
            admin.request(reqwest::Method::GET, "/org-units").query(&[("kind", "planet")]),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
    ];
    for (req, status, code) in cases {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status, "{code}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], code, "{body}");
        let message = body["message"].as_str().unwrap();
        // Chinese first, then English.
        let (zh, en) = message.split_once(" / ").unwrap();
        assert!(
            zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
            "{message}"
        );
        assert!(!en.is_empty());
    }

    // Sends, and gives back the status, the `Allow` header and the JSON body.
    async fn answer(req: reqwest::RequestBuilder) -> (StatusCode, String, serde_json::Value) {
        let res = req.send().await.unwrap();
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (res.status(), allow, res.json().await.unwrap_or_default())
    }

    // A known path with a method it does not take: 405, and `Allow` says which it takes.
    for (method, path) in [
        (reqwest::Method::TRACE, "/me"),
        (reqwest::Method::DELETE, "/households/conflicts"),
    ] {
        let (status, allow, body) = answer(admin.request(method, path)).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(allow, "GET", "{path}");
        assert_eq!(body["error"], "method_not_allowed", "{path}");
    }

    // A JSON body is an object: serde would read a struct from an array of its fields, and an
    // all-optional PATCH from `[null, null]` (once answered 200, changing nothing).
    let (_, _, me) = answer(admin.request(reqwest::Method::GET, "/me")).await;
    let own = format!("/users/{}", me["id"].as_str().unwrap());
    let array = admin
        .request(reqwest::Method::PATCH, &own)
        .header("content-type", "application/json")
        .body("  [null, null]");
    let (status, _, body) = answer(array).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "validation_failed");
    // An object still goes through (the bytes read to look are given back).
    let object = admin
        .request(reqwest::Method::PATCH, &own)
        .json(&serde_json::json!({"display_name": "系统管理员"}));
    assert_eq!(answer(object).await.0, StatusCode::OK);
}
both_backends!(error_envelope, errors_are_stable_and_bilingual);

async fn ops_endpoints(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", app.base)).send();
    assert_eq!(get("/healthz").await.unwrap().status(), StatusCode::OK);
    let ready = get("/readyz").await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(ready.text().await.unwrap().contains("ready"));
    // Make a request with an id in the path so the metrics must use the route pattern.
    let _ = app
        .client()
        .request(
            reqwest::Method::GET,
            "/org-units/0190c8a2-0000-7000-8000-000000000000",
        )
        .send()
        .await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("jiuzhu_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/v1/org-units/{id}\""),
        "{metrics}"
    );
    assert!(
        !metrics.contains("0190c8a2"),
        "raw path leaked into metrics"
    );
    assert!(metrics.contains("jiuzhu_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("jiuzhu_db_pool_connections{state=\"idle\"}"));
    let docs = get("/docs/").await.unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.unwrap().contains("swagger"));
    let spec: serde_json::Value = get("/api/v1/openapi.json")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["paths"]["/api/v1/geo/locate"]["get"].is_object());
}
both_backends!(ops, ops_endpoints);

/// The headers that keep answers out of caches, frames and sniffing: on a log-in (tokens), on an
/// API read, on the API's reference page and on the console.
async fn security_headers_on_every_kind_of_answer(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let http = reqwest::Client::new();
    let login = http
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&serde_json::json!({"username": "admin", "password": jiuzhu_tests::DEMO_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let h = |res: &reqwest::Response, name: &str| -> String {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    for res in [
        &login,
        &http
            .get(format!("{}/api/v1/openapi.json", app.base))
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(h(res, "cache-control"), "no-store", "{}", res.url());
        assert_eq!(
            h(res, "content-security-policy"),
            "default-src 'none'; frame-ancestors 'none'"
        );
        assert_eq!(h(res, "x-frame-options"), "DENY");
        assert_eq!(h(res, "x-content-type-options"), "nosniff");
        assert_eq!(h(res, "referrer-policy"), "no-referrer");
    }
    for page in ["/docs/", "/"] {
        let res = http
            .get(format!("{}{page}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
        let policy = h(&res, "content-security-policy");
        assert!(
            policy.starts_with("default-src 'none'") || policy.starts_with("default-src 'self'"),
            "{page}: {policy}"
        );
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{page}: {policy}"
        );
        assert!(
            !policy.contains("script-src 'unsafe-inline'"),
            "{page}: {policy}"
        );
        assert_eq!(h(&res, "x-frame-options"), "DENY", "{page}");
        assert_eq!(h(&res, "x-content-type-options"), "nosniff", "{page}");
    }
}
both_backends!(security_headers, security_headers_on_every_kind_of_answer);

/// The committed `proto/openapi.json` is what the code generates. Regenerate with
/// `cargo run -- openapi > proto/openapi.json`.
#[test]
fn committed_openapi_matches_code() {
    let generated = jiuzhu_server::openapi::document_json().unwrap();
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../proto/openapi.json"
    ))
    .unwrap_or_default();
    assert!(
        generated == committed,
        "proto/openapi.json is stale: run `cargo run -- openapi > proto/openapi.json`"
    );
}
