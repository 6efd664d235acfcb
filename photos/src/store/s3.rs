//! The S3-compatible backend (AWS S3, MinIO, Ceph RGW, Alibaba OSS in S3 mode, …) through object_store.

use std::sync::Arc;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{ObjectKey, PhotoStore};
use crate::PhotoError;

/// Settings of the S3 backend. Credentials left out are taken from the usual `AWS_*` environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct S3Config {
    pub bucket: String,
    #[serde(default = "default_region")]
    pub region: String,
    /// For a non-AWS service, e.g. `http://127.0.0.1:9000`.
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default, skip_serializing)]
    pub secret_access_key: Option<SecretString>,
    /// Plain HTTP to the endpoint (a service on the same host or network only).
    #[serde(default)]
    pub allow_http: bool,
    /// Prepended to every key, e.g. `jiuzhu/photos`.
    #[serde(default)]
    pub prefix: Option<String>,
}

fn default_region() -> String {
    "us-east-1".to_owned()
}

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Arc<dyn ObjectStore>,
    prefix: Option<String>,
}

impl S3Store {
    pub fn open(config: &S3Config) -> Result<Self, PhotoError> {
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(&config.bucket)
            .with_region(&config.region)
            .with_allow_http(config.allow_http);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(id) = &config.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &config.secret_access_key {
            builder = builder.with_secret_access_key(secret.expose_secret());
        }
        let client = builder.build().map_err(storage)?;
        let prefix = config
            .prefix
            .as_deref()
            .map(|p| p.trim_matches('/').to_owned())
            .filter(|p| !p.is_empty());
        Ok(Self {
            client: Arc::new(client),
            prefix,
        })
    }

    fn path(&self, key: &ObjectKey) -> Path {
        match &self.prefix {
            Some(prefix) => Path::from(format!("{prefix}/{key}")),
            None => Path::from(key.as_str()),
        }
    }
}

fn storage(error: object_store::Error) -> PhotoError {
    PhotoError::Storage(error.to_string())
}

impl PhotoStore for S3Store {
    async fn put(&self, key: &ObjectKey, bytes: Bytes) -> Result<(), PhotoError> {
        // Content-addressed: an object already there has these bytes, so skip the upload.
        if self.exists(key).await? {
            return Ok(());
        }
        self.client
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map_err(storage)?;
        Ok(())
    }

    async fn get(&self, key: &ObjectKey) -> Result<Option<Bytes>, PhotoError> {
        match self.client.get(&self.path(key)).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(storage)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(storage(e)),
        }
    }

    async fn exists(&self, key: &ObjectKey) -> Result<bool, PhotoError> {
        match self.client.head(&self.path(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(storage(e)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), PhotoError> {
        match self.client.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(storage(e)),
        }
    }
}
