//! `GET /photos/{id}` (the stripped original), `/photos/{id}/display` and `/photos/{id}/thumb`.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::db::repo;
use crate::error::{ApiError, ApiResult};
use crate::routes::parse_id;
use crate::state::AppState;

#[derive(Clone, Copy)]
enum Variant {
    Original,
    Display,
    Thumb,
}

async fn serve(
    state: web::Data<AppState>,
    caller: Caller,
    id: &str,
    variant: Variant,
) -> ApiResult<HttpResponse> {
    let id: uuid::Uuid = parse_id(id)?;
    let state = state.into_inner();
    let row = state
        .db(move |conn| Ok(repo::photos::find(conn, &id.to_string())?))
        .await?
        .filter(|p| super::may_see(&caller, p))
        .ok_or_else(ApiError::not_found)?;
    let (photo_id, photo_path) = (row.id.clone(), row.org_path.clone());
    (state.clone())
        .db(move |conn| crate::audit::viewed(conn, "photo", &photo_id, &photo_path))
        .await?;
    let (key, media_type) = match variant {
        Variant::Original => (&row.original_key, row.media_type.as_str()),
        Variant::Display => (&row.display_key, "image/jpeg"),
        Variant::Thumb => (&row.thumb_key, "image/jpeg"),
    };
    let bytes = state.photos.get(key).await?.ok_or_else(|| {
        ApiError::internal(anyhow::anyhow!("photo object missing from the store"))
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type.to_owned()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400, immutable"))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .body(bytes))
}

/// The photo as uploaded, with every piece of metadata removed.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Photo id")),
    responses(
        (status = 200, description = "The bytes", content_type = "image/jpeg"),
        (status = 404, description = "No such photo you may see", body = ErrorBody),
    )
)]
#[get("/photos/{id}")]
pub async fn get_photo(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve(state, caller, &path, Variant::Original).await
}

/// The upright display copy (JPEG, long side ≤ 1600 px).
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Photo id")),
    responses(
        (status = 200, description = "The bytes", content_type = "image/jpeg"),
        (status = 404, description = "No such photo you may see", body = ErrorBody),
    )
)]
#[get("/photos/{id}/display")]
pub async fn get_display(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve(state, caller, &path, Variant::Display).await
}

/// The upright thumbnail (JPEG, long side ≤ 400 px).
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Photo id")),
    responses(
        (status = 200, description = "The bytes", content_type = "image/jpeg"),
        (status = 404, description = "No such photo you may see", body = ErrorBody),
    )
)]
#[get("/photos/{id}/thumb")]
pub async fn get_thumb(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    serve(state, caller, &path, Variant::Thumb).await
}
