//! The OpenAPI document: the shared parts here, the paths from the router itself, the API-wide
//! conventions (error statuses, public operations) in `conventions`.

mod conventions;

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Jiuzhu 救助 API",
        description = "Smart social assistance: org hierarchy, accounts, households, visits, findings and applications. \
                       Errors are `{\"error\": code, \"message\": \"中文 / English\"}`.",
        version = "1"
    ),
    modifiers(&BearerAuth),
    components(schemas(jiuzhu_proto::ErrorBody, jiuzhu_proto::ErrorCode)),
    tags(
        (name = "auth", description = "Log-in and tokens"),
        (name = "users", description = "Accounts"),
        (name = "org", description = "Org hierarchy and boundaries"),
        (name = "geo", description = "Coordinates and point → grid lookup"),
        (name = "households", description = "The household registry (一户一档)"),
        (name = "forms", description = "Versioned form definitions"),
        (name = "tasks", description = "Visit, verification and re-check tasks"),
        (name = "sync", description = "Per-worker incremental sync"),
        (name = "visits", description = "Visit reports, their checks and review"),
        (name = "photos", description = "Photo uploads (whole and resumable) and downloads"),
        (name = "exports", description = "Streaming CSV and GeoJSON exports of data in scope"),
        (name = "audit", description = "The audit log of writes and sensitive reads, in scope"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as the router builds it (the same list of services the server mounts), with the
/// API-wide conventions applied to every operation (`conventions`).
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(crate::routes::api))
        .split_for_parts();
    // The conventions are written over the JSON form, which is what clients read; a document
    // that does not round-trip is a bug of ours, caught by the tests below.
    match serde_json::to_value(&api)
        .map(|mut doc| {
            conventions::apply(&mut doc);
            doc
        })
        .and_then(serde_json::from_value)
    {
        Ok(doc) => doc,
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI conventions could not be applied");
            api
        }
    }
}

/// The document's paths as route patterns, with the methods each serves: what a request that
/// no route took is answered (405 with `Allow` for a known path, else 404).
pub struct Routes(Vec<(actix_web::dev::ResourceDef, String)>);

impl Routes {
    pub fn from_document(doc: &utoipa::openapi::OpenApi) -> Self {
        let json = serde_json::to_value(doc).unwrap_or_default();
        let routes = json["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, item)| {
                        let methods: Vec<String> = item
                            .as_object()
                            .map(|ops| {
                                ops.keys()
                                    .filter(|m| {
                                        matches!(
                                            m.as_str(),
                                            "get"
                                                | "put"
                                                | "post"
                                                | "delete"
                                                | "options"
                                                | "head"
                                                | "patch"
                                                | "trace"
                                        )
                                    })
                                    .map(|m| m.to_uppercase())
                                    .collect()
                            })
                            .unwrap_or_default();
                        (
                            actix_web::dev::ResourceDef::new(path.as_str()),
                            methods.join(", "),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self(routes)
    }

    /// The methods served at `path` (`GET, POST`), or `None` when no route has that path.
    pub fn allowed(&self, path: &str) -> Option<&str> {
        // Of two patterns that match (`/households/conflicts` and `/households/{id}`), the one
        // with fewer parameters is the route.
        self.0
            .iter()
            .filter(|(def, _)| def.is_match(path))
            .min_by_key(|(def, _)| def.pattern().map_or(0, |p| p.matches('{').count()))
            .map(|(_, methods)| methods.as_str())
    }
}

/// Pretty JSON, as committed in `proto/openapi.json`.
pub fn document_json() -> Result<String, serde_json::Error> {
    document().to_pretty_json().map(|mut s| {
        s.push('\n');
        s
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::Value;

    fn doc() -> Value {
        serde_json::to_value(super::document()).unwrap()
    }

    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    match (k.as_str(), child) {
                        ("$ref", Value::String(r)) => out.push(r),
                        _ => refs(child, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|c| refs(c, out)),
            _ => {}
        }
    }

    /// A `$ref` that points nowhere breaks client generators (it did for three query enums).
    #[test]
    fn every_ref_resolves() {
        let doc = doc();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 100);
        let dangling: Vec<&str> = found
            .into_iter()
            .filter(|r| {
                r.strip_prefix('#')
                    .is_none_or(|pointer| doc.pointer(pointer).is_none())
            })
            .collect();
        assert!(dangling.is_empty(), "dangling: {dangling:?}");
    }

    /// Every operation says whether it needs a token, and documents the statuses of the
    /// conventions that apply to it.
    #[test]
    fn every_operation_declares_security_and_the_common_statuses() {
        let doc = doc();
        assert_eq!(doc["servers"][0]["url"], "/");
        let mut public = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let security = op["security"].as_array().expect("security is declared");
                let responses = op["responses"].as_object().unwrap();
                if security.is_empty() {
                    public.push(format!("{method} {path}"));
                } else {
                    for status in ["401", "403", "503"] {
                        assert!(responses.contains_key(status), "{method} {path}: {status}");
                    }
                }
                if op.get("requestBody").is_some() {
                    for status in ["400", "413", "415", "422"] {
                        assert!(responses.contains_key(status), "{method} {path}: {status}");
                    }
                }
            }
        }
        public.sort();
        assert_eq!(
            public,
            [
                "get /api/v1/demo/sms-code",
                "post /api/v1/auth/login",
                "post /api/v1/auth/refresh",
                "post /api/v1/citizen/register",
                "post /api/v1/citizen/verify",
            ]
        );
    }
}
