//! `PUT /photos/{id}`: a whole photo in one body.

use actix_web::{put, web, HttpResponse};
use jiuzhu_proto::photo::Photo;
use jiuzhu_proto::ErrorBody;

use crate::auth::Caller;
use crate::domain::roles;
use crate::error::{ApiError, ApiResult};
use crate::photos;
use crate::routes::parse_id;
use crate::state::AppState;

/// Upload a photo under the phone's UUID. The body streams to disk (never held whole), is capped
/// (20 MB by default) and must keep arriving; the type is decided by its bytes. EXIF position,
/// time, orientation, make and model are read, then every piece of metadata is stripped. The same
/// id with the same bytes answers 200 (a replay); with other bytes, 409.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The photo's UUID, made by the phone")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses(
        (status = 201, description = "Stored", body = Photo),
        (status = 200, description = "Stored before (a replay)", body = Photo),
        (status = 408, description = "The body arrived too slowly", body = ErrorBody),
        (status = 409, description = "The id is taken by other bytes", body = ErrorBody),
        (status = 413, description = "Too large", body = ErrorBody),
        (status = 415, description = "Not JPEG, PNG or WebP (HEIC included)", body = ErrorBody),
        (status = 422, description = "Corrupt, truncated, too many pixels, or a decoding bomb", body = ErrorBody),
    )
)]
#[put("/photos/{id}")]
pub async fn put_photo(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require(roles::PHOTO_TAKERS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let state = state.into_inner();
    let spool = state.photos.temp_path();
    let mut file = tokio::fs::File::create(&spool)
        .await
        .map_err(ApiError::internal)?;
    let limit = state.photos.limits.max_bytes;
    let received = state.photos.receive(&mut payload, &mut file, limit).await;
    drop(file);
    if let Err((e, _)) = received {
        let _ = tokio::fs::remove_file(&spool).await;
        return Err(e);
    }
    let owner = caller.user_id.to_string();
    let (photo, created) = photos::ingest(
        &state.database,
        &state.photos,
        &owner,
        &caller.org_path,
        id,
        &spool,
    )
    .await?;
    Ok(if created {
        HttpResponse::Created().json(photo)
    } else {
        HttpResponse::Ok().json(photo)
    })
}
