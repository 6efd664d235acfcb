//! Photos on the server: bodies streamed to disk under a size cap and a pace limit, processed by
//! `jiuzhu-photos` (sniff, EXIF, strip, renditions, hashes) off the async workers with a bounded
//! number in flight, stored content-addressed, and recorded under the phone's UUID.

pub mod checks;
pub mod sweep;
pub mod uploads;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use chrono::NaiveDateTime;
use futures_util::StreamExt;
use jiuzhu_photos::store::{PhotoStore, Store, StoreConfig};
use jiuzhu_photos::{Limits, PhotoError, ProcessedPhoto};
use jiuzhu_proto::photo::{Photo, PhotoExif};
use jiuzhu_proto::ErrorCode;
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;

use crate::config::PhotoSettings;
use crate::database::Database;
use crate::db::repo::photos::PhotoRow;
use crate::error::{ApiError, ApiResult};

/// What the photo endpoints share.
pub struct PhotoService {
    pub store: Store,
    pub limits: Limits,
    /// Where bodies land before processing, and where partial uploads wait.
    pub spool: PathBuf,
    permits: Arc<Semaphore>,
    idle: Duration,
    total: Duration,
}

impl PhotoService {
    pub fn open(settings: &PhotoSettings, data_dir: &Path) -> anyhow::Result<Self> {
        let config = settings
            .store
            .clone()
            .unwrap_or_else(|| StoreConfig::Filesystem {
                root: data_dir.join("photos"),
            });
        let store = Store::open(&config).map_err(|e| anyhow::anyhow!("photo store: {e}"))?;
        let spool = data_dir.join("uploads");
        std::fs::create_dir_all(&spool)?;
        let in_flight = settings.max_in_flight.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        });
        Ok(Self {
            store,
            limits: Limits {
                max_bytes: settings.max_bytes,
                ..Limits::default()
            },
            spool,
            permits: Arc::new(Semaphore::new(in_flight.max(1))),
            idle: Duration::from_secs(settings.idle_timeout_secs),
            total: Duration::from_secs(settings.body_timeout_secs),
        })
    }

    /// A fresh spool path for one body.
    pub fn temp_path(&self) -> PathBuf {
        self.spool.join(format!("{}.tmp", uuid::Uuid::new_v4()))
    }

    /// Streams a request body onto the end of `file`, at most `limit` bytes, giving up when the
    /// client goes quiet for the idle timeout or the whole takes longer than the total one.
    /// Returns the bytes written; on a timeout, `Err` carries how many were written before it,
    /// so a resumable upload can keep them.
    pub async fn receive(
        &self,
        payload: &mut actix_web::web::Payload,
        file: &mut tokio::fs::File,
        limit: u64,
    ) -> Result<u64, (ApiError, u64)> {
        let deadline = tokio::time::Instant::now() + self.total;
        let mut written = 0u64;
        loop {
            let next = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + self.idle),
                payload.next(),
            )
            .await;
            let chunk = match next {
                Err(_) => return Err((too_slow(), written)),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err((
                        ApiError::bad_request(
                            ErrorCode::BadRequest,
                            "无法读取请求体",
                            e.to_string(),
                        ),
                        written,
                    ))
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            if written + chunk.len() as u64 > limit {
                return Err((too_large(limit), written));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| (ApiError::internal(e), written))?;
            written += chunk.len() as u64;
        }
        file.flush()
            .await
            .map_err(|e| (ApiError::internal(e), written))?;
        Ok(written)
    }

    /// Decodes, strips and renders the file at `path` (off the async workers, a bounded number
    /// at once, within the time limit), then stores the three objects, after a note of their
    /// keys under `photo_id` that the caller removes once the photo's row is committed (see
    /// [`sweep`]).
    pub async fn process_and_store(
        &self,
        path: &Path,
        photo_id: &str,
    ) -> ApiResult<(ProcessedPhoto, jiuzhu_photos::store::StoredPhoto)> {
        // The permit goes with the work: a photo that ran out of time still holds its place
        // until its thread ends, so retries of slow photos cannot pile up beyond the cap.
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(ApiError::internal)?;
        let processed = jiuzhu_photos::process_file_async_holding(
            path.to_path_buf(),
            self.limits.clone(),
            permit,
        )
        .await
        .map_err(photo_error)?;
        let keys = jiuzhu_photos::store::keys_for(&processed);
        let (spool, id) = (self.spool.clone(), photo_id.to_owned());
        tokio::task::spawn_blocking(move || sweep::write_note(&spool, &id, &keys))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        let stored = jiuzhu_photos::store::save(&self.store, &processed)
            .await
            .map_err(photo_error)?;
        Ok((processed, stored))
    }

    /// Bytes of a stored object.
    pub async fn get(&self, key: &str) -> ApiResult<Option<bytes::Bytes>> {
        let key = jiuzhu_photos::store::ObjectKey::parse(key).map_err(photo_error)?;
        self.store.get(&key).await.map_err(photo_error)
    }
}

fn too_slow() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        ErrorCode::RequestTimeout,
        "上传过慢，请在网络较好时重试（可断点续传）",
        "the body arrived too slowly; retry, or use a resumable upload",
    )
}

pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::PayloadTooLarge,
        "照片过大",
        format!("the photo exceeds {limit} bytes"),
    )
}

/// The pipeline's refusals as API errors: the upload's fault is a 4xx with its own code.
pub fn photo_error(e: PhotoError) -> ApiError {
    match e {
        PhotoError::TooLarge { limit, .. } => too_large(limit),
        PhotoError::UnsupportedType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "只接受 JPEG、PNG、WebP 照片",
            "only JPEG, PNG and WebP photos are accepted",
        ),
        PhotoError::HeicUnsupported => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "暂不支持 HEIC 照片，请将相机格式设为“兼容性最佳”",
            "HEIC photos are not supported: set the camera to \"Most Compatible\" (JPEG)",
        ),
        e if e.is_client_error() => {
            let code = e.code();
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidPhoto,
                "照片无法安全读取",
                format!("the photo cannot be read safely ({code})"),
            );
            err.add_detail(jiuzhu_proto::error::FieldError {
                field: "body".into(),
                code: code.into(),
                message: e.to_string(),
            });
            err
        }
        e @ (PhotoError::Timeout(_) | PhotoError::Storage(_)) => ApiError::unavailable(e),
        e => ApiError::internal(e),
    }
}

/// Splits a 64-bit hash into the four 16-bit bands the near-duplicate index uses.
pub fn bands(hash: i64) -> [i32; 4] {
    let h = hash as u64;
    [0, 1, 2, 3].map(|i| ((h >> (i * 16)) & 0xffff) as i32)
}

/// The photo's row, before it is attached to a visit: scoped to its owner's unit.
pub fn row(
    id: &str,
    owner: &str,
    owner_path: &str,
    p: &ProcessedPhoto,
    stored: &jiuzhu_photos::store::StoredPhoto,
    now: NaiveDateTime,
) -> PhotoRow {
    let phash = p.perceptual_hash.to_i64();
    let [b0, b1, b2, b3] = bands(phash);
    // A capture time without its own offset is Asia/Shanghai's.
    let china = crate::domain::time::offset();
    let taken = p
        .metadata
        .gps_time
        .or_else(|| p.metadata.captured_at.map(|c| c.to_utc(china)));
    PhotoRow {
        id: id.to_owned(),
        owner_id: owner.to_owned(),
        org_path: owner_path.to_owned(),
        media_type: p.media_type.mime().to_owned(),
        sha256: p.sha256.to_hex(),
        phash,
        phash_b0: b0,
        phash_b1: b1,
        phash_b2: b2,
        phash_b3: b3,
        width: p.width as i32,
        height: p.height as i32,
        byte_size: p.size as i64,
        exif_lat: p.metadata.position.map(|g| g.latitude),
        exif_lon: p.metadata.position.map(|g| g.longitude),
        exif_taken_at: taken.map(|t| t.naive_utc()),
        exif_make: p.metadata.make.clone(),
        exif_model: p.metadata.model.clone(),
        original_key: stored.original.as_str().to_owned(),
        display_key: stored.display.as_str().to_owned(),
        thumb_key: stored.thumbnail.as_str().to_owned(),
        visit_id: None,
        household_id: None,
        created_at: now,
    }
}

pub fn to_api(r: &PhotoRow) -> ApiResult<Photo> {
    let bad = || ApiError::internal(anyhow::anyhow!("unreadable photo row"));
    Ok(Photo {
        id: r.id.parse().map_err(|_| bad())?,
        media_type: r.media_type.clone(),
        width: r.width as u32,
        height: r.height as u32,
        byte_size: r.byte_size as u64,
        sha256: r.sha256.clone(),
        exif: PhotoExif {
            lat: r.exif_lat,
            lon: r.exif_lon,
            taken_at: r.exif_taken_at.map(|t| t.and_utc()),
            make: r.exif_make.clone(),
            model: r.exif_model.clone(),
        },
        visit_id: r
            .visit_id
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|_| bad())?,
        created_at: r.created_at.and_utc(),
    })
}

/// SHA-256 of a file, hex, off the async workers.
pub async fn file_sha256(path: &Path) -> ApiResult<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use sha2::Digest;
        use std::io::Read;
        let mut file = std::fs::File::open(path)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hex::encode(hasher.finalize()))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

fn id_clash() -> ApiError {
    ApiError::conflict(
        ErrorCode::IdempotencyConflict,
        "该照片编号已用于另一张照片",
        "this photo id was already used for different bytes",
    )
}

/// Turns a spooled body into a stored photo under `id`. The same id with the same bytes from the
/// same owner is a replay (`false`); with other bytes or another owner, a 409. The spool file is
/// removed whatever happens.
pub async fn ingest(
    db: &Database,
    service: &PhotoService,
    owner: &str,
    owner_path: &str,
    id: uuid::Uuid,
    path: &Path,
) -> ApiResult<(Photo, bool)> {
    let result = ingest_inner(db, service, owner, owner_path, id, path).await;
    let _ = tokio::fs::remove_file(path).await;
    result
}

async fn ingest_inner(
    db: &Database,
    service: &PhotoService,
    owner: &str,
    owner_path: &str,
    id: uuid::Uuid,
    path: &Path,
) -> ApiResult<(Photo, bool)> {
    let key = id.to_string();
    let k = key.clone();
    let existing = db
        .run(move |conn| Ok(crate::db::repo::photos::find(conn, &k)?))
        .await?;
    if let Some(existing) = existing {
        let sha = file_sha256(path).await?;
        return if existing.owner_id == owner && existing.sha256 == sha {
            Ok((to_api(&existing)?, false))
        } else {
            Err(id_clash())
        };
    }
    let (processed, stored) = service.process_and_store(path, &key).await?;
    let row = row(
        &key,
        owner,
        owner_path,
        &processed,
        &stored,
        crate::db::now(),
    );
    let owner = owner.to_owned();
    let result = db
        .tx(move |conn| {
            // A concurrent upload of the same id may have won the race.
            if let Some(existing) = crate::db::repo::photos::find(conn, &row.id)? {
                return if existing.owner_id == owner && existing.sha256 == row.sha256 {
                    Ok((to_api(&existing)?, false))
                } else {
                    Err(id_clash())
                };
            }
            crate::db::repo::photos::insert(conn, &row)?;
            crate::audit::journal(
                conn,
                crate::audit::AuditEntry {
                    actor_id: Some(&owner),
                    action: "photo.store",
                    entity: "photo",
                    entity_id: &row.id,
                    org_path: &row.org_path,
                    detail: serde_json::json!({ "sha256": row.sha256 }),
                },
                crate::audit::Outcome::Success,
            )?;
            Ok((to_api(&row)?, true))
        })
        .await;
    // Committed (or refused as a clash, whose objects the sweep checks): the note has done its
    // job only when a row now names the objects.
    if result.is_ok() {
        let _ = tokio::fs::remove_file(sweep::note_path(&service.spool, &key)).await;
    }
    result
}
