//! A typed async HTTP client for `/api/v1`.

mod work;

pub use work::{HouseholdQuery, Submitted, TaskQuery, VisitQuery};

use jiuzhu_proto::auth::{LoginRequest, RefreshRequest, TokenPair};
use jiuzhu_proto::geo::{Crs, LocateResponse};
use jiuzhu_proto::org::{CreateOrgUnit, ImportReport, OrgKind, OrgUnit};
use jiuzhu_proto::page::Page;
use jiuzhu_proto::user::{CreateUser, UpdateUser, User};
use jiuzhu_proto::{ErrorBody, ErrorCode, OrgUnitId, UserId};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What can go wrong with a call, classified so that an outbox knows whether to try again.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("network error: {0}")]
    Network(#[from] reqwest::Error),
    #[error("{status}: {}", body.message)]
    Api {
        status: StatusCode,
        body: ErrorBody,
        retry_after: Option<u64>,
    },
    #[error("unexpected response ({status}): {text}")]
    Unexpected { status: StatusCode, text: String },
}

impl ClientError {
    /// Network failures, 5xx and 429 are worth retrying; other 4xx are not.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Network(_) => true,
            ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
        }
    }

    /// The server's error code, when it sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { body, .. } => Some(body.error),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } | ClientError::Unexpected { status, .. } => {
                Some(*status)
            }
            ClientError::Network(e) => e.status(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// Filters for listing org units.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OrgUnitQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<OrgUnitId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<OrgKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// How long a connection may take to open.
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// How long the server may stay silent during a request before the request fails.
pub const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    /// The device token the last log-in returned (see [`Client::login`]).
    device_token: Option<String>,
}

impl Client {
    /// A client for the server at `base` (e.g. `http://127.0.0.1:8080`).
    ///
    /// A connection is given [`CONNECT_TIMEOUT`] to open and each read [`READ_TIMEOUT`] to bring
    /// bytes: a network that swallows packets (a lift, a basement, a captive portal) fails the
    /// request so the outbox can retry, instead of hanging it. There is no limit on a whole
    /// request, which would cut off a slow photo upload that is still moving.
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: base.into().trim_end_matches('/').to_owned(),
            token: None,
            device_token: None,
        }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
    }

    /// The device token of this device's last successful log-in: keep it (with the care a
    /// password needs) and give it back with [`Client::set_device_token`] after a restart, so that
    /// strangers' failed log-ins, which lock the account, do not lock out this device.
    pub fn device_token(&self) -> Option<&str> {
        self.device_token.as_deref()
    }

    pub fn set_device_token(&mut self, token: Option<String>) {
        self.device_token = token;
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// A request to `/api/v1{path}` carrying the bearer token, for calls this client has no
    /// method for yet.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        req
    }

    async fn decode<T: DeserializeOwned>(res: Response) -> Result<T> {
        let status = res.status();
        if status.is_success() {
            return Ok(res.json().await?);
        }
        Err(Self::error(res).await)
    }

    /// Turns a non-2xx response into a `ClientError`.
    pub async fn error(res: Response) -> ClientError {
        let status = res.status();
        let retry_after = res
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok());
        let text = match res.text().await {
            Ok(t) => t,
            Err(e) => return ClientError::Network(e),
        };
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => ClientError::Api {
                status,
                body,
                retry_after,
            },
            Err(_) => ClientError::Unexpected { status, text },
        }
    }

    async fn send<T: DeserializeOwned>(&self, req: RequestBuilder) -> Result<T> {
        Self::decode(req.send().await?).await
    }

    /// Logs in and keeps the access token for later calls. Sends the device token of an earlier
    /// log-in, if any, and keeps the new one the server returns.
    pub async fn login(
        &mut self,
        username: &str,
        password: &str,
        device_id: Option<&str>,
    ) -> Result<TokenPair> {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
            device_id: device_id.map(str::to_owned),
            device_token: self.device_token.clone(),
            second_factor_code: None,
        };
        let pair: TokenPair = self
            .send(self.request(Method::POST, "/auth/login").json(&body))
            .await?;
        self.token = Some(pair.access_token.clone());
        if pair.device_token.is_some() {
            self.device_token = pair.device_token.clone();
        }
        Ok(pair)
    }

    /// Rotates the refresh token and keeps the new access token.
    pub async fn refresh(
        &mut self,
        refresh_token: &str,
        device_id: Option<&str>,
    ) -> Result<TokenPair> {
        let body = RefreshRequest {
            refresh_token: refresh_token.into(),
            device_id: device_id.map(str::to_owned),
        };
        let pair: TokenPair = self
            .send(self.request(Method::POST, "/auth/refresh").json(&body))
            .await?;
        self.token = Some(pair.access_token.clone());
        Ok(pair)
    }

    pub async fn logout(&self) -> Result<()> {
        let res = self.request(Method::POST, "/auth/logout").send().await?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(Self::error(res).await)
        }
    }

    pub async fn me(&self) -> Result<User> {
        self.send(self.request(Method::GET, "/me")).await
    }

    pub async fn users(&self, after: Option<&str>, limit: Option<i64>) -> Result<Page<User>> {
        let mut req = self.request(Method::GET, "/users");
        if let Some(after) = after {
            req = req.query(&[("after", after)]);
        }
        if let Some(limit) = limit {
            req = req.query(&[("limit", limit)]);
        }
        self.send(req).await
    }

    pub async fn create_user(&self, body: &CreateUser) -> Result<User> {
        self.send(self.request(Method::POST, "/users").json(body))
            .await
    }

    pub async fn update_user(&self, id: UserId, body: &UpdateUser) -> Result<User> {
        self.send(
            self.request(Method::PATCH, &format!("/users/{id}"))
                .json(body),
        )
        .await
    }

    pub async fn org_units(&self, query: &OrgUnitQuery) -> Result<Page<OrgUnit>> {
        self.send(self.request(Method::GET, "/org-units").query(query))
            .await
    }

    pub async fn org_unit(&self, id: OrgUnitId) -> Result<OrgUnit> {
        self.send(self.request(Method::GET, &format!("/org-units/{id}")))
            .await
    }

    pub async fn create_org_unit(&self, body: &CreateOrgUnit) -> Result<OrgUnit> {
        self.send(self.request(Method::POST, "/org-units").json(body))
            .await
    }

    /// Imports a GeoJSON FeatureCollection of units.
    pub async fn import_org_units(
        &self,
        crs: Crs,
        geojson: impl Into<reqwest::Body>,
    ) -> Result<ImportReport> {
        let crs = match crs {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        };
        self.send(
            self.request(Method::POST, "/org-units/import")
                .query(&[("crs", crs)])
                .header(reqwest::header::CONTENT_TYPE, "application/geo+json")
                .body(geojson),
        )
        .await
    }

    pub async fn locate(&self, lat: f64, lon: f64, crs: Crs) -> Result<LocateResponse> {
        let crs = match crs {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        };
        self.send(self.request(Method::GET, "/geo/locate").query(&[
            ("lat", lat.to_string()),
            ("lon", lon.to_string()),
            ("crs", crs.to_owned()),
        ]))
        .await
    }
}
