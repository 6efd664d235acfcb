//! Photos: real camera and phone JPEGs in, metadata out; resumable uploads across a restart;
//! scope on the way out; photo checks on visits; and the broken files of ../shared/data.

use std::path::PathBuf;

use chrono::Utc;
use jiuzhu_mobile_api::Client;
use jiuzhu_proto::household::Relation;
use jiuzhu_proto::photo::{Photo, Upload};
use jiuzhu_proto::task::{CreateTask, TaskKind};
use jiuzhu_proto::visit::FlagCode;
use jiuzhu_tests::{both_backends, spawn_app, spawn_app_with, Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Digest;

use crate::households::{coordinator_grid, household, id_number, member};
use jiuzhu_tests::fixtures::post_json;

/// A real photo of `../shared/data/photos` (`rel` below it), as bytes.
pub(crate) fn sample(rel: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/data/photos")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn put(client: &Client, id: uuid::Uuid, bytes: Vec<u8>) -> (StatusCode, Value) {
    let res = client
        .request(Method::PUT, &format!("/photos/{id}"))
        .header("content-type", "image/jpeg")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn get(client: &Client, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let res = client.request(Method::GET, path).send().await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn inspect(bytes: &[u8]) -> jiuzhu_photos::InspectedPhoto {
    jiuzhu_photos::inspect(bytes.to_vec(), &jiuzhu_photos::Limits::default()).unwrap()
}

async fn photos_in_and_out(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let worker = app.login("worker1").await;
    let other = app.login("worker2").await;

    // A Nikon photo with GPS: the position and time are read, then stripped.
    let id = uuid::Uuid::new_v4();
    let bytes = sample("gps/DSCN0010.jpg");
    let (status, body) = put(&worker, id, bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let photo: Photo = serde_json::from_value(body).unwrap();
    assert_eq!(photo.media_type, "image/jpeg");
    assert_eq!(photo.byte_size as usize, bytes.len());
    assert_eq!(photo.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    let (lat, lon) = (photo.exif.lat.unwrap(), photo.exif.lon.unwrap());
    assert!(
        (43.0..44.0).contains(&lat) && (11.0..12.0).contains(&lon),
        "{lat} {lon}"
    );
    assert!(photo.exif.taken_at.is_some());
    assert_eq!(photo.exif.make.as_deref(), Some("NIKON"));
    // Again: a replay; the same id for other bytes: refused.
    let (status, _) = put(&worker, id, bytes.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put(&worker, id, sample("gps/DSCN0012.jpg")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "idempotency_conflict");

    // What comes back carries no metadata and is not sniffable as anything else.
    for (path, max_side) in [
        (format!("/photos/{id}"), 4000),
        (format!("/photos/{id}/display"), 1600),
        (format!("/photos/{id}/thumb"), 400),
    ] {
        let (status, headers, served) = get(&worker, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["content-type"], "image/jpeg");
        let seen = inspect(&served);
        assert!(seen.metadata.position.is_none(), "{path}");
        assert!(seen.metadata.make.is_none(), "{path}");
        assert!(!served.windows(6).any(|w| w == b"Exif\0\0"), "{path}");
        let (w, h) = seen.upright_size();
        assert!(w.max(h) <= max_side, "{path}: {w}x{h}");
    }
    // Another worker cannot see it.
    let (status, _, _) = get(&other, &format!("/photos/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Orientation: a portrait photo stored sideways with orientation 6 comes out upright.
    let id = uuid::Uuid::new_v4();
    let (status, body) = put(&worker, id, sample("orientation/portrait_6.jpg")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, _, thumb) = get(&worker, &format!("/photos/{id}/thumb")).await;
    let (w, h) = inspect(&thumb).upright_size();
    assert!(h > w, "{w}x{h}");

    // Broken and hostile files: a clear 4xx, never a 5xx.
    let mut zip = b"PK\x03\x04".to_vec();
    zip.extend_from_slice(&[0u8; 64]);
    let mut truncated = sample("mobile/jolla.jpg");
    truncated.truncate(truncated.len() / 3);
    let cases: Vec<(&str, Vec<u8>, StatusCode)> = vec![
        ("empty", Vec::new(), StatusCode::UNPROCESSABLE_ENTITY),
        (
            "svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"/>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "html",
            b"<!DOCTYPE html><script>alert(1)</script>".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        ("zip", zip, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ("truncated", truncated, StatusCode::UNPROCESSABLE_ENTITY),
    ];
    for (name, bytes, want) in cases {
        let (status, body) = put(&worker, uuid::Uuid::new_v4(), bytes).await;
        assert_eq!(status, want, "{name}: {body}");
    }
    for name in [
        "invalid/corrupted.jpg",
        "invalid/image00971.jpg",
        "invalid/image01088.jpg",
        "invalid/image01137.jpg",
        "invalid/image01551.jpg",
        "invalid/image01713.jpg",
        "invalid/image01980.jpg",
        "invalid/image02206.jpg",
        "exif-quirks/30-type_error.jpg",
        "exif-quirks/33-type_error.jpg",
        "exif-quirks/35-empty.jpg",
        "exif-quirks/42_IndexError.jpg",
    ] {
        let (status, body) = put(&worker, uuid::Uuid::new_v4(), sample(name)).await;
        assert!(
            status == StatusCode::CREATED || status.is_client_error(),
            "{name}: {status} {body}"
        );
    }
    // Coordinators do not upload.
    let coordinator = app.login("coordinator").await;
    let (status, _) = put(
        &coordinator,
        uuid::Uuid::new_v4(),
        sample("gps/DSCN0012.jpg"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

both_backends!(photos_in_and_out, photos_in_and_out);

async fn too_large(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.photos.max_bytes = 100_000).await else {
        return;
    };
    app.load_demo().await;
    let worker = app.login("worker1").await;
    let (status, body) = put(&worker, uuid::Uuid::new_v4(), sample("mobile/jolla.jpg")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, _) = post_json(
        &worker,
        "/uploads",
        json!({"photo_id": uuid::Uuid::new_v4(), "length": 200_000, "sha256": "00".repeat(32)}),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

both_backends!(photo_size_cap, too_large);

async fn patch(
    client: &Client,
    upload: uuid::Uuid,
    offset: u64,
    bytes: Vec<u8>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let res = client
        .request(Method::PATCH, &format!("/uploads/{upload}"))
        .header("Upload-Offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    (status, headers, res.json().await.unwrap_or(Value::Null))
}

async fn offset_of(client: &Client, upload: uuid::Uuid) -> (StatusCode, Option<u64>) {
    let res = client
        .request(Method::HEAD, &format!("/uploads/{upload}"))
        .send()
        .await
        .unwrap();
    let offset = res
        .headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (res.status(), offset)
}

async fn resumable(backend: Backend) {
    let Some(mut app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let worker = app.login("worker1").await;
    let bytes = sample("mobile/jolla.jpg");
    let photo_id = uuid::Uuid::new_v4();
    let (status, body) = post_json(
        &worker,
        "/uploads",
        json!({"photo_id": photo_id, "length": bytes.len(), "sha256": hex::encode(sha2::Sha256::digest(&bytes))}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let upload: Upload = serde_json::from_value(body).unwrap();
    assert_eq!(upload.offset, 0);

    // The first part, then the server restarts: the committed part survives.
    let half = bytes.len() / 2;
    let (status, headers, _) = patch(&worker, upload.id, 0, bytes[..half].to_vec()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers["upload-offset"], half.to_string().as_str());
    app.stop().await;
    app.start_again().await;
    assert_eq!(
        offset_of(&worker, upload.id).await,
        (StatusCode::OK, Some(half as u64))
    );

    // A wrong offset is refused and told the right one; someone else's upload is not found.
    let (status, headers, body) = patch(&worker, upload.id, 10, bytes[10..20].to_vec()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"], "offset_mismatch");
    assert_eq!(headers["upload-offset"], half.to_string().as_str());
    let other = app.login("worker2").await;
    assert_eq!(offset_of(&other, upload.id).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = patch(&other, upload.id, half as u64, bytes[half..].to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Past the declared length: refused, nothing kept.
    let mut long = bytes[half..].to_vec();
    long.extend_from_slice(b"extra");
    let (status, _, _) = patch(&worker, upload.id, half as u64, long).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(offset_of(&worker, upload.id).await.1, Some(half as u64));

    // The rest completes it: a photo, checked against the declared checksum.
    let (status, _, body) = patch(&worker, upload.id, half as u64, bytes[half..].to_vec()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let photo: Photo = serde_json::from_value(body).unwrap();
    assert_eq!(photo.id, photo_id);
    let (w, h) = (photo.width, photo.height);
    assert_eq!(w.max(h), 3264);
    assert_eq!(offset_of(&worker, upload.id).await.0, StatusCode::NOT_FOUND);

    // A checksum that does not match: refused, no photo.
    let bad_id = uuid::Uuid::new_v4();
    let (_, body) = post_json(
        &worker,
        "/uploads",
        json!({"photo_id": bad_id, "length": bytes.len(), "sha256": "ab".repeat(32)}),
    )
    .await;
    let upload: Upload = serde_json::from_value(body).unwrap();
    let (status, _, body) = patch(&worker, upload.id, 0, bytes.clone()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"], "checksum_mismatch");
    let (status, _, _) = get(&worker, &format!("/photos/{bad_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

both_backends!(resumable_upload, resumable);

async fn task_for(
    app: &TestApp,
    coordinator: &Client,
    worker: &Client,
    n: u32,
) -> (jiuzhu_proto::task::Task, f64, f64) {
    let (_, lat, lon) = coordinator_grid(app).await;
    let h = coordinator
        .create_household(&household(
            &format!("{n} 号"),
            lat,
            lon,
            vec![member(
                "户主",
                Relation::Head,
                &id_number(&format!("32040219700101{n:03}")),
            )],
        ))
        .await
        .unwrap();
    let task = coordinator
        .create_task(&CreateTask {
            kind: TaskKind::Visit,
            household_id: h.id,
            form_key: "snap".into(),
            assignee_id: Some(worker.me().await.unwrap().id),
            due_date: (Utc::now() + chrono::Duration::days(3)).date_naive(),
            priority: 0,
            note: String::new(),
        })
        .await
        .unwrap();
    (task, lat, lon)
}

async fn photo_checks(backend: Backend) {
    let Some(app) = spawn_app(backend).await else {
        return;
    };
    app.load_demo().await;
    let admin = app.login("admin").await;
    admin
        .create_form(
            &serde_json::from_value(json!({
                "key": "snap", "title": {"zh": "拍照", "en": "Snap"}, "version": 1,
                "fields": [{"name": "house_photo", "label": {"zh": "住房照片", "en": "Home"}, "kind": "photo", "required": true}]
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    let coordinator = app.login("coordinator").await;
    let worker = app.login("worker1").await;
    let (task1, lat, lon) = task_for(&app, &coordinator, &worker, 1).await;
    let (task2, _, _) = task_for(&app, &coordinator, &worker, 2).await;

    // The Nikon photo was taken in Italy years ago: far away, and before the task existed.
    let first = uuid::Uuid::new_v4();
    put(&worker, first, sample("gps/DSCN0010.jpg")).await;
    let v1 = worker
        .submit_visit(&jiuzhu_tests::fixtures::photo_visit(
            &task1, "snap", lat, lon, first,
        ))
        .await
        .unwrap()
        .visit;
    let codes: Vec<FlagCode> = v1.flags.iter().map(|f| f.code).collect();
    assert!(codes.contains(&FlagCode::PhotoFar), "{codes:?}");
    assert!(codes.contains(&FlagCode::PhotoTimeMismatch), "{codes:?}");
    assert!(codes.contains(&FlagCode::PhotoBeforeTask), "{codes:?}");
    assert!(!codes.contains(&FlagCode::DuplicatePhoto), "{codes:?}");
    // Attached: the coordinator in scope sees it now; it cannot serve a second visit.
    let (status, _, _) = get(&coordinator, &format!("/photos/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    let e = worker
        .submit_visit(&jiuzhu_tests::fixtures::photo_visit(
            &task2, "snap", lat, lon, first,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));

    // The same bytes under a new id, for another household: a duplicate.
    let copy = uuid::Uuid::new_v4();
    put(&worker, copy, sample("gps/DSCN0010.jpg")).await;
    let v2 = worker
        .submit_visit(&jiuzhu_tests::fixtures::photo_visit(
            &task2, "snap", lat, lon, copy,
        ))
        .await
        .unwrap()
        .visit;
    let dup = v2
        .flags
        .iter()
        .find(|f| f.code == FlagCode::DuplicatePhoto)
        .expect("duplicate flagged");
    assert_eq!(dup.evidence["other_photo_ids"][0], first.to_string());
    // Photo ids that do not exist or are someone else's are refused.
    let (task3, _, _) = task_for(&app, &coordinator, &worker, 3).await;
    let e = worker
        .submit_visit(&jiuzhu_tests::fixtures::photo_visit(
            &task3,
            "snap",
            lat,
            lon,
            uuid::Uuid::new_v4(),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    let theirs = uuid::Uuid::new_v4();
    let other = app.login("worker2").await;
    put(&other, theirs, sample("gps/DSCN0012.jpg")).await;
    let e = worker
        .submit_visit(&jiuzhu_tests::fixtures::photo_visit(
            &task3, "snap", lat, lon, theirs,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
}

both_backends!(visit_photo_checks, photo_checks);

async fn slow_body(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(app) = spawn_app_with(backend, |s| s.photos.idle_timeout_secs = 1).await else {
        return;
    };
    app.load_demo().await;
    let worker = app.login("worker1").await;
    let token = worker.token().unwrap().to_owned();
    // A body that trickles in a byte every two seconds is given up, not waited on for ever.
    let mut conn = tokio::net::TcpStream::connect(("127.0.0.1", app.port))
        .await
        .unwrap();
    let head = format!(
        "PUT /api/v1/photos/{} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n",
        uuid::Uuid::new_v4()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    for b in sample("gps/DSCN0010.jpg").into_iter().take(10) {
        if conn.write_all(&[b]).await.is_err() {
            break;
        }
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(std::time::Duration::from_secs(2), conn.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Ok(_) => break,
            Err(_) => {}
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

both_backends!(slow_body_is_dropped, slow_body);

async fn uploads_expire(backend: Backend) {
    let Some(app) = spawn_app_with(backend, |s| s.photos.upload_expiry_secs = 1).await else {
        return;
    };
    app.load_demo().await;
    let worker = app.login("worker1").await;
    let bytes = sample("gps/DSCN0012.jpg");
    let (_, body) = post_json(
        &worker,
        "/uploads",
        json!({"photo_id": uuid::Uuid::new_v4(), "length": bytes.len(), "sha256": hex::encode(sha2::Sha256::digest(&bytes))}),
    )
    .await;
    let upload: Upload = serde_json::from_value(body).unwrap();
    let (status, _, _) = patch(&worker, upload.id, 0, bytes[..1000].to_vec()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let part = app.state.photos.part_path(&upload.id.to_string());
    assert!(part.exists());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    // Expired: gone for the phone at once, and swept from disk by the job.
    assert_eq!(offset_of(&worker, upload.id).await.0, StatusCode::NOT_FOUND);
    let (status, _, _) = patch(&worker, upload.id, 1000, bytes[1000..].to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        jiuzhu_server::jobs::expire_uploads(&app.state)
            .await
            .unwrap(),
        1
    );
    assert!(!part.exists());
}

both_backends!(expired_uploads_are_swept, uploads_expire);
