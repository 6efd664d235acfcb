//! Where photo bytes live: a small content-addressed store with a filesystem backend (default, under
//! the data directory) and an S3-compatible backend (object_store), chosen by [`StoreConfig`].
//!
//! Keys name the bytes' SHA-256, so storing the same bytes twice writes them once; a put is
//! idempotent and a retried upload costs nothing. Because objects are shared by content, the server
//! must only delete a key that no photo row references any more.

mod fs;
mod key;
mod s3;

use std::future::Future;
use std::path::PathBuf;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub use fs::FsStore;
pub use key::{ObjectKey, ObjectKind};
pub use s3::{S3Config, S3Store};

use crate::{PhotoError, ProcessedPhoto};

/// A blob store for photos. Implementations must make `put` atomic (a reader sees all of an object
/// or none) and idempotent, and `delete` of a missing key a success.
pub trait PhotoStore: Send + Sync {
    fn put(
        &self,
        key: &ObjectKey,
        bytes: Bytes,
    ) -> impl Future<Output = Result<(), PhotoError>> + Send;
    fn get(
        &self,
        key: &ObjectKey,
    ) -> impl Future<Output = Result<Option<Bytes>, PhotoError>> + Send;
    fn exists(&self, key: &ObjectKey) -> impl Future<Output = Result<bool, PhotoError>> + Send;
    fn delete(&self, key: &ObjectKey) -> impl Future<Output = Result<(), PhotoError>> + Send;
}

/// Which backend, from the server's settings (`[photos.store]`).
///
/// ```toml
/// backend = "filesystem"
/// root = "/var/lib/jiuzhu/photos"
/// ```
/// or `backend = "s3"` with the fields of [`S3Config`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case")]
pub enum StoreConfig {
    Filesystem { root: PathBuf },
    S3(S3Config),
}

/// The configured backend. An enum rather than `dyn PhotoStore`, so the trait keeps plain async
/// methods and each backend difference is written once, in the match below.
#[derive(Debug, Clone)]
pub enum Store {
    Filesystem(FsStore),
    S3(S3Store),
}

impl Store {
    /// Opens the backend (creates the root directory; builds the S3 client without contacting it).
    pub fn open(config: &StoreConfig) -> Result<Self, PhotoError> {
        Ok(match config {
            StoreConfig::Filesystem { root } => Self::Filesystem(FsStore::open(root.clone())?),
            StoreConfig::S3(s3) => Self::S3(S3Store::open(s3)?),
        })
    }
}

impl PhotoStore for Store {
    async fn put(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), PhotoError> {
        match self {
            Self::Filesystem(s) => s.put(key, bytes).await,
            Self::S3(s) => s.put(key, bytes).await,
        }
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Bytes>, PhotoError> {
        match self {
            Self::Filesystem(s) => s.get(key).await,
            Self::S3(s) => s.get(key).await,
        }
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, PhotoError> {
        match self {
            Self::Filesystem(s) => s.exists(key).await,
            Self::S3(s) => s.exists(key).await,
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), PhotoError> {
        match self {
            Self::Filesystem(s) => s.delete(key).await,
            Self::S3(s) => s.delete(key).await,
        }
    }
}

/// The keys of a stored photo's three objects, for the photo's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPhoto {
    pub original: ObjectKey,
    pub display: ObjectKey,
    pub thumbnail: ObjectKey,
}

/// The content-addressed keys [`save`] stores a photo's three objects under.
pub fn keys_for(photo: &ProcessedPhoto) -> StoredPhoto {
    StoredPhoto {
        original: ObjectKey::for_content(
            ObjectKind::Original,
            &photo.original,
            photo.media_type.extension(),
        ),
        display: ObjectKey::for_content(ObjectKind::Display, &photo.display.jpeg, "jpg"),
        thumbnail: ObjectKey::for_content(ObjectKind::Thumbnail, &photo.thumbnail.jpeg, "jpg"),
    }
}

/// Stores the stripped original and both renditions under content-addressed keys.
pub async fn save(
    store: &impl PhotoStore,
    photo: &ProcessedPhoto,
) -> Result<StoredPhoto, PhotoError> {
    let keys = keys_for(photo);
    store.put(&keys.original, photo.original.clone()).await?;
    store.put(&keys.display, photo.display.jpeg.clone()).await?;
    store
        .put(&keys.thumbnail, photo.thumbnail.jpeg.clone())
        .await?;
    Ok(keys)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn config_chooses_the_backend_and_never_writes_the_secret_back() {
        let config: StoreConfig = serde_json::from_value(serde_json::json!({
            "backend": "s3",
            "bucket": "photos",
            "endpoint": "http://127.0.0.1:9000",
            "access_key_id": "id",
            "secret_access_key": "very-secret",
            "allow_http": true
        }))
        .unwrap();
        let StoreConfig::S3(ref s3) = config else {
            panic!("{config:?}")
        };
        assert_eq!(
            (s3.bucket.as_str(), s3.region.as_str()),
            ("photos", "us-east-1")
        );
        let written = serde_json::to_string(&config).unwrap();
        assert!(!written.contains("very-secret"), "{written}");
        assert!(!format!("{config:?}").contains("very-secret"));
        assert!(matches!(Store::open(&config), Ok(Store::S3(_))));
        let unknown = serde_json::from_value::<StoreConfig>(serde_json::json!({"backend": "ftp"}));
        assert!(unknown.is_err());
    }
}
