//! Resumable uploads for weak networks: `POST /uploads`, `HEAD /uploads/{id}`,
//! `PATCH /uploads/{id}` (with `Upload-Offset`).

use std::collections::HashSet;
use std::sync::Mutex;

use actix_web::http::StatusCode;
use actix_web::{head, patch, post, web, HttpRequest, HttpResponse};
use jiuzhu_proto::photo::{CreateUpload, Photo, Upload};
use jiuzhu_proto::{ErrorBody, ErrorCode};

use crate::auth::Caller;
use crate::db::repo::photos::{self as repo, UploadRow};
use crate::domain::roles;
use crate::error::{ApiError, ApiResult};
use crate::photos::{self, uploads::open_at};
use crate::routes::parse_id;
use crate::state::AppState;

pub const OFFSET: &str = "Upload-Offset";
pub const LENGTH: &str = "Upload-Length";

/// Uploads with a PATCH in progress on this instance: a second PATCH at the same time would write
/// the same file, so it is refused.
static BUSY: Mutex<Option<HashSet<String>>> = Mutex::new(None);

struct Busy(String);

impl Busy {
    fn take(id: &str) -> ApiResult<Self> {
        let mut guard = BUSY.lock().unwrap_or_else(|p| p.into_inner());
        let set = guard.get_or_insert_with(HashSet::new);
        if !set.insert(id.to_owned()) {
            return Err(ApiError::conflict(
                ErrorCode::OffsetMismatch,
                "该上传正在进行中",
                "another request is appending to this upload",
            ));
        }
        Ok(Busy(id.to_owned()))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut guard = BUSY.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(set) = guard.as_mut() {
            set.remove(&self.0);
        }
    }
}

fn to_api(u: &UploadRow) -> ApiResult<Upload> {
    let bad = || ApiError::internal(anyhow::anyhow!("unreadable upload row"));
    Ok(Upload {
        id: u.id.parse().map_err(|_| bad())?,
        photo_id: u.photo_id.parse().map_err(|_| bad())?,
        length: u.length as u64,
        offset: u.committed as u64,
        expires_at: u.expires_at.and_utc(),
    })
}

/// Start a resumable upload: the photo's id, its length and its SHA-256.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    request_body = CreateUpload,
    responses(
        (status = 201, description = "Started: PATCH from offset 0", body = Upload),
        (status = 413, description = "Longer than the photo size limit", body = ErrorBody),
        (status = 422, description = "Bad length or checksum", body = ErrorBody),
    )
)]
#[post("/uploads")]
pub async fn create_upload(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<CreateUpload>,
) -> ApiResult<HttpResponse> {
    caller.require(roles::PHOTO_TAKERS)?;
    let input = body.into_inner();
    let state = state.into_inner();
    if input.length == 0 {
        return Err(ApiError::invalid(
            "length",
            "empty",
            "长度不能为 0",
            "the length must be positive",
        ));
    }
    if input.length > state.photos.limits.max_bytes {
        return Err(photos::too_large(state.photos.limits.max_bytes));
    }
    let sha = input.sha256.to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid(
            "sha256",
            "invalid_checksum",
            "校验值须为 64 位十六进制 SHA-256",
            "sha256 must be 64 hex characters",
        ));
    }
    let now = crate::db::now();
    let row = UploadRow {
        id: uuid::Uuid::new_v4().to_string(),
        owner_id: caller.user_id.to_string(),
        photo_id: input.photo_id.to_string(),
        length: input.length as i64,
        sha256: sha,
        committed: 0,
        created_at: now,
        expires_at: now + chrono::Duration::seconds(state.settings.photos.upload_expiry_secs),
    };
    let upload = to_api(&row)?;
    let owner_path = caller.org_path.clone();
    state
        .tx(move |conn| {
            repo::insert_upload(conn, &row)?;
            crate::audit::journal(
                conn,
                crate::audit::AuditEntry {
                    actor_id: Some(&row.owner_id),
                    action: "upload.create",
                    entity: "photo",
                    entity_id: &row.photo_id,
                    org_path: &owner_path,
                    detail: serde_json::json!({ "upload_id": row.id, "length": row.length }),
                },
                crate::audit::Outcome::Success,
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::Created().json(upload))
}

async fn find(
    state: &std::sync::Arc<AppState>,
    caller: &Caller,
    id: uuid::Uuid,
) -> ApiResult<UploadRow> {
    let owner = caller.user_id.to_string();
    state
        .db(move |conn| {
            Ok(repo::find_upload(
                conn,
                &id.to_string(),
                &owner,
                crate::db::now(),
            )?)
        })
        .await?
        .ok_or_else(ApiError::not_found)
}

/// How much of the upload the server holds (`Upload-Offset`) of how much (`Upload-Length`).
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Upload id")),
    responses(
        (status = 200, description = "Headers Upload-Offset and Upload-Length"),
        (status = 404, description = "No such upload of yours, or expired"),
    )
)]
#[head("/uploads/{id}")]
pub async fn upload_offset(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: uuid::Uuid = parse_id(&path)?;
    let state = state.into_inner();
    let up = find(&state, &caller, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((OFFSET, up.committed.to_string()))
        .insert_header((LENGTH, up.length.to_string()))
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}

fn offset_mismatch(committed: i64) -> ApiResult<HttpResponse> {
    let body = ErrorBody {
        error: ErrorCode::OffsetMismatch,
        message: format!("续传位置不符，应从 {committed} 开始 / continue at offset {committed}"),
        details: Vec::new(),
    };
    Ok(HttpResponse::build(StatusCode::CONFLICT)
        .insert_header((OFFSET, committed.to_string()))
        .json(body))
}

/// Append bytes at `Upload-Offset`, which must equal the committed offset (else 409 with the
/// right one). Bytes are durable before the offset moves. The last byte checks the checksum and
/// turns the upload into a photo (201, or 200 if that photo exists with these bytes); before
/// that, 204 with the new `Upload-Offset`. A body cut off by a timeout keeps what arrived.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "Upload id"),
        ("Upload-Offset" = u64, Header, description = "Where these bytes start"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 201, description = "Complete: the photo", body = Photo),
        (status = 200, description = "Complete: the photo was stored before", body = Photo),
        (status = 204, description = "Appended; headers carry the new offset"),
        (status = 404, description = "No such upload of yours, or expired", body = ErrorBody),
        (status = 409, description = "Wrong offset (the header says the right one)", body = ErrorBody),
        (status = 413, description = "Past the declared length", body = ErrorBody),
        (status = 422, description = "Checksum mismatch, or not a readable photo", body = ErrorBody),
    )
)]
#[patch("/uploads/{id}")]
pub async fn append_upload(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> ApiResult<HttpResponse> {
    caller.require(roles::PHOTO_TAKERS)?;
    let id: uuid::Uuid = parse_id(&path)?;
    let offset: i64 = req
        .headers()
        .get(OFFSET)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .filter(|v: &i64| *v >= 0)
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::BadRequest,
                "缺少 Upload-Offset 头",
                "the Upload-Offset header is missing or invalid",
            )
        })?;
    let state = state.into_inner();
    let key = id.to_string();
    let _busy = Busy::take(&key)?;
    let up = find(&state, &caller, id).await?;
    if offset != up.committed {
        return offset_mismatch(up.committed);
    }
    let part = state.photos.part_path(&key);
    let mut file = open_at(&part, up.committed as u64)
        .await
        .map_err(ApiError::internal)?;
    let room = (up.length - up.committed) as u64;
    let received = state.photos.receive(&mut payload, &mut file, room).await;
    let (written, failure) = match received {
        Ok(n) => (n, None),
        // A slow or broken connection keeps what arrived; a body past the length keeps nothing.
        Err((e, n))
            if e.status == StatusCode::REQUEST_TIMEOUT || e.code == ErrorCode::BadRequest =>
        {
            (n, Some(e))
        }
        Err((e, _)) => return Err(e),
    };
    file.sync_all().await.map_err(ApiError::internal)?;
    drop(file);
    let to = up.committed + written as i64;
    if written > 0 {
        let (k, from) = (key.clone(), up.committed);
        let (owner, path, photo) = (
            caller.user_id.to_string(),
            caller.org_path.clone(),
            up.photo_id.clone(),
        );
        let moved = state
            .tx(move |conn| {
                let moved = repo::advance_upload(conn, &k, from, to)?;
                if moved {
                    crate::audit::journal(
                        conn,
                        crate::audit::AuditEntry {
                            actor_id: Some(&owner),
                            action: "upload.append",
                            entity: "photo",
                            entity_id: &photo,
                            org_path: &path,
                            detail: serde_json::json!({ "upload_id": k, "from": from, "to": to }),
                        },
                        crate::audit::Outcome::Success,
                    )?;
                }
                Ok(moved)
            })
            .await?;
        if !moved {
            return Err(ApiError::conflict(
                ErrorCode::OffsetMismatch,
                "该上传已被其他请求推进",
                "another request moved this upload on",
            ));
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if to < up.length {
        return Ok(HttpResponse::NoContent()
            .insert_header((OFFSET, to.to_string()))
            .insert_header((LENGTH, up.length.to_string()))
            .finish());
    }
    // Complete: check the whole, then it becomes a photo, and only then is the upload gone, so
    // a crash or a server-side failure while the photo is processed leaves the upload (with every
    // byte acknowledged) to be finished by the next PATCH.
    let photo_id: uuid::Uuid = up
        .photo_id
        .parse()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("unreadable upload row")))?;
    let owner = caller.user_id.to_string();
    let forget = |state: std::sync::Arc<AppState>, k: String| async move {
        state
            .tx(move |conn| {
                repo::delete_upload(conn, &k)?;
                Ok(())
            })
            .await
    };
    // Finished before: the photo's row was committed, and then the server stopped.
    let pid = up.photo_id.clone();
    let stored = state
        .db(move |conn| Ok(repo::find(conn, &pid)?))
        .await?
        .filter(|p| p.owner_id == owner && p.sha256 == up.sha256);
    if let Some(stored) = stored {
        forget(state.clone(), key.clone()).await?;
        let _ = tokio::fs::remove_file(&part).await;
        return Ok(HttpResponse::Ok().json(photos::to_api(&stored)?));
    }
    let sha = photos::file_sha256(&part).await?;
    if sha != up.sha256 {
        forget(state.clone(), key.clone()).await?;
        let _ = tokio::fs::remove_file(&part).await;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ChecksumMismatch,
            "文件校验值不符，请重新上传",
            "the bytes do not match the declared SHA-256; upload again",
        ));
    }
    // `ingest` removes the file it is given whatever happens: give it a second name, so that
    // when it fails for a reason of the server's (a timeout, the database) the upload stays
    // whole, and the next PATCH at the end finishes it.
    let spooled = state.photos.temp_path();
    tokio::fs::hard_link(&part, &spooled)
        .await
        .map_err(ApiError::internal)?;
    let ingested = photos::ingest(
        &state.database,
        &state.photos,
        &owner,
        &caller.org_path,
        photo_id,
        &spooled,
    )
    .await;
    let (photo, created) = match ingested {
        Err(e) if e.status.is_server_error() => return Err(e),
        done => {
            forget(state.clone(), key.clone()).await?;
            let _ = tokio::fs::remove_file(&part).await;
            done?
        }
    };
    Ok(if created {
        HttpResponse::Created().json(photo)
    } else {
        HttpResponse::Ok().json(photo)
    })
}
