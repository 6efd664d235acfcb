//! The OpenAPI document: the shared parts here, the paths from the router itself.

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

/// The document as the router builds it (the same list of services the server mounts).
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .service(utoipa_actix_web::scope("/api/v1").configure(crate::routes::api))
        .split_for_parts();
    api
}

/// Pretty JSON, as committed in `proto/openapi.json`.
pub fn document_json() -> Result<String, serde_json::Error> {
    document().to_pretty_json().map(|mut s| {
        s.push('\n');
        s
    })
}
