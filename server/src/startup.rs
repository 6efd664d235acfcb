//! Building the application on a listener: pool, migrations, shared state, routes, middleware.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::{Server, Service};
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::header;
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, App, HttpMessage, HttpServer};
use futures_util::FutureExt;
use jiuzhu_proto::ErrorCode;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::PasswordHasher;
use crate::config::{Secrets, Settings};
use crate::domain::geo::GridIndex;
use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry::{Metrics, PrivacyRootSpan};
use crate::{db, grid_index, routes};

pub struct Application {
    addr: std::net::SocketAddr,
    /// Serving HTTPS.
    secure: bool,
    port: u16,
    server: Server,
    state: Arc<AppState>,
    /// The audit journal's sealer and checkpoint writer: stopped with the server, which then
    /// runs its last tick itself.
    auditor: tokio::task::JoinHandle<()>,
}

/// Turns transparent huge pages off for this process (Linux; elsewhere nothing to do). Where the
/// kernel's THP setting is `always`, every fresh stretch of the allocator's heap faults in as a
/// 2 MiB page, zeroed whole, however little of it a request touches: the slowest answers of a
/// fresh server's sync storm (figures in `bench/results/history-to-2026-11.md`, session 10). The
/// command-line imports, which are about throughput, keep the machine's setting.
pub fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::warn!(error = %e, "transparent huge pages stay on");
    }
}

/// The content security policy of `/docs` (Swagger UI sets styles inline).
const DOCS_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

/// Opens the database, applies migrations and builds the shared state (no listener yet).
pub fn build_state(settings: Settings, secrets: Secrets) -> anyhow::Result<Arc<AppState>> {
    settings.check().map_err(|e| anyhow::anyhow!(e))?;
    let audit = crate::audit::Auditor::new(&secrets.audit_key, &settings.data_dir, &settings.audit)
        .map_err(|e| anyhow::anyhow!("audit key: {e}"))?;
    let (backend, pool) = db::connect(&settings.database_url(), settings.db_pool_size)?;
    let (lookup, fingerprint) = {
        let mut conn = pool.get()?;
        db::migrate(&mut conn)?;
        if backend == db::Backend::Postgres && db::app_role::can_rewrite_audit(&mut conn)? {
            tracing::warn!(
                "the database role owns the audit log and could disable its guards: serve as a \
                 role granted by `jiuzhu migrate --app-role` (docs/operations.md)"
            );
        }
        audit
            .start(&mut conn)
            .map_err(|e| anyhow::anyhow!("audit checkpoint: {e}"))?;
        // Another instance may be loading the same table at this moment: then it has won.
        if let Err(e) = db::write_transaction(&mut conn, |conn| {
            crate::rules::evaluate::load_default_table(conn, db::now())
        }) {
            tracing::warn!(error = %e, "the default rule table was not loaded here");
        }
        grid_index::load(&mut conn).map_err(|e| anyhow::anyhow!("loading grids: {e}"))?
    };
    let calendar = crate::calendar::Calendar::load(settings.discovery.calendar_file.as_deref())
        .map_err(|e| anyhow::anyhow!("working-day calendar: {e}"))?;
    let sms = crate::citizens::SmsSender::from_settings(&settings.discovery, &settings.data_dir);
    let hasher = PasswordHasher::new(
        settings.password_hash_concurrency,
        Duration::from_millis(settings.password_queue_timeout_ms),
    )
    .map_err(|e| anyhow::anyhow!("password hasher: {e}"))?;
    let cipher = secrets.field_cipher(&settings.data_key_id);
    let photos = crate::photos::PhotoService::open(&settings.photos, &settings.data_dir)?;
    let group_commit = match backend {
        db::Backend::Sqlite => Some(db::group_commit::GroupCommit::start(pool.clone(), 64)?),
        db::Backend::Postgres => None,
    };
    let cursors = crate::changes::CursorSigner::new(&secrets.token_pepper);
    Ok(Arc::new(AppState {
        database: crate::database::Database::new(pool, group_commit, audit.key().clone()),
        backend,
        settings,
        secrets,
        cipher,
        cursors,
        definitions: Default::default(),
        hasher,
        grids: GridIndex::new(lookup, fingerprint),
        forms: crate::forms::FormCache::default(),
        photos,
        rules: Default::default(),
        calendar,
        sms,
        audit,
        metrics: Metrics::new()?,
    }))
}

/// Chains the audit journal and signs the audit head (when due) every second while the server
/// runs. The journal's batches go through the grouped writes (`audit::seal_batch`).
fn spawn_auditor(state: std::sync::Weak<AppState>, tick: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(tick).await;
            let Some(state) = state.upgrade() else { break };
            if let Err(e) = audit_tick(&state).await {
                tracing::warn!(error = %e, "audit journal not sealed or checkpoint not written");
            }
        }
    })
}

async fn audit_tick(state: &Arc<AppState>) -> crate::error::ApiResult<()> {
    if state.db(crate::audit::journal_waiting).await? {
        loop {
            let st = state.clone();
            let sealed = state
                .tx_grouped(move |conn| crate::audit::seal_batch(conn, st.audit.key()))
                .await?;
            if sealed < crate::audit::SEAL_BATCH {
                break;
            }
        }
    }
    let st = state.clone();
    state
        .db(move |conn| st.audit.checkpoint(conn, false))
        .await?;
    Ok(())
}

/// The TLS configuration from the certificate and key files, when both are set.
fn tls_config(settings: &Settings) -> anyhow::Result<Option<rustls::ServerConfig>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) else {
        if settings.tls_cert.is_some() || settings.tls_key.is_some() {
            anyhow::bail!("TLS needs both a certificate and a key (tls_cert, tls_key)");
        }
        return Ok(None);
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| anyhow::anyhow!("reading the TLS certificate {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("reading the TLS certificate {}: {e}", cert.display()))?;
    if chain.is_empty() {
        anyhow::bail!("no certificate in {}", cert.display());
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| anyhow::anyhow!("reading the TLS key {}: {e}", key.display()))?;
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| anyhow::anyhow!("TLS: {e}"))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| anyhow::anyhow!("TLS certificate and key: {e}"))?;
    Ok(Some(config))
}

fn json_error(err: JsonPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    let e = match &err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::new(
                actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                "请求体过大",
                "the request body is too large",
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::UnsupportedMediaType,
            "需要 application/json",
            "expected Content-Type: application/json",
        ),
        // Well-formed JSON of the wrong shape is invalid content (422, from the code); JSON that
        // does not parse is a malformed request (400).
        JsonPayloadError::Deserialize(de) if de.is_data() => {
            let text = de.to_string();
            if text.starts_with("unknown field") {
                ApiError::bad_request(ErrorCode::UnknownField, "包含未知字段", text)
            } else {
                ApiError::bad_request(ErrorCode::ValidationFailed, "字段类型或取值错误", text)
            }
        }
        JsonPayloadError::Deserialize(de) => {
            ApiError::bad_request(ErrorCode::InvalidJson, "JSON 格式错误", de.to_string())
        }
        other => ApiError::bad_request(ErrorCode::InvalidJson, "无法读取请求体", other.to_string()),
    };
    e.into()
}

fn query_error(err: QueryPayloadError, _: &actix_web::HttpRequest) -> actix_web::Error {
    let text = err.to_string();
    // A query string is always readable: what fails is its content (422).
    let code = if text.contains("unknown field") {
        ErrorCode::UnknownField
    } else {
        ErrorCode::ValidationFailed
    };
    ApiError::bad_request(code, "查询参数有误", text).into()
}

/// Every JSON body the API takes is an object (but department records, which may be an array), but serde also reads a struct from an array of
/// its fields in order (`[null, null]` would be a PATCH that changes nothing, `["why"]` a reveal
/// with a reason). So a JSON body that starts as an array is refused before any handler: 422,
/// well-formed JSON of the wrong shape. The bytes read to see it are put back for the extractor.
async fn json_bodies_are_objects(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    use futures_util::StreamExt;
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    // Department records may come as a JSON array (`/imports/{source}?format=json`): the only
    // operations whose body is an array.
    if json && !req.path().starts_with("/api/v1/imports/") {
        let mut payload = req.take_payload();
        let mut seen = bytes::BytesMut::new();
        let mut first = None;
        while first.is_none() {
            match payload.next().await {
                Some(Ok(chunk)) => {
                    first = chunk.iter().copied().find(|b| !b.is_ascii_whitespace());
                    seen.extend_from_slice(&chunk);
                }
                Some(Err(e)) => {
                    return Ok(req.error_response(ApiError::bad_request(
                        ErrorCode::BadRequest,
                        "无法读取请求体",
                        e.to_string(),
                    )))
                }
                None => break,
            }
        }
        if first == Some(b'[') {
            // Answered here (not as an `Err`), so the layers outside add the API's headers.
            return Ok(req.error_response(ApiError::bad_request(
                ErrorCode::ValidationFailed,
                "请求体须为 JSON 对象",
                "the body must be a JSON object",
            )));
        }
        let seen = seen.freeze();
        let body: std::pin::Pin<
            Box<
                dyn futures_util::Stream<
                    Item = Result<bytes::Bytes, actix_web::error::PayloadError>,
                >,
            >,
        > = Box::pin(futures_util::stream::once(async move { Ok(seen) }).chain(payload));
        req.set_payload(actix_web::dev::Payload::from(body));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// A request no route took: 405 with `Allow` when the path is the API's but the method is not
/// one it takes, else 404.
fn not_routed(
    routes: &crate::openapi::Routes,
    req: &actix_web::HttpRequest,
) -> actix_web::HttpResponse {
    use actix_web::ResponseError;
    let method = req.method().as_str();
    match routes.allowed(req.path()) {
        Some(methods) if !methods.split(", ").any(|m| m == method) => {
            let mut res = ApiError::new(
                actix_web::http::StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "不支持此请求方法",
                format!("this path takes {methods}"),
            )
            .error_response();
            if let Ok(value) = header::HeaderValue::from_str(methods) {
                res.headers_mut().insert(header::ALLOW, value);
            }
            res
        }
        _ => ApiError::not_found().error_response(),
    }
}

impl Application {
    /// Resolves secrets, opens the database and binds `settings.bind` (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let secrets = Secrets::resolve(&settings)?;
        Self::build_with(settings, secrets).await
    }

    pub async fn build_with(settings: Settings, secrets: Secrets) -> anyhow::Result<Self> {
        let bind = settings.bind.clone();
        let state = {
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || {
                let _entered = span.enter();
                build_state(settings, secrets)
            })
            .await??
        };
        let listener = TcpListener::bind(&bind)?;
        Self::on_listener(state, listener)
    }

    pub fn on_listener(state: Arc<AppState>, listener: TcpListener) -> anyhow::Result<Self> {
        let addr = listener.local_addr()?;
        let port = addr.port();
        let data = web::Data::from(state.clone());
        let settings = &state.settings;
        let json_limit = settings.json_limit_bytes;
        let spec = crate::openapi::document();
        let routes = Arc::new(crate::openapi::Routes::from_document(&spec));
        let server = HttpServer::new(move || {
            let metrics = data.metrics.clone();
            let routes = routes.clone();
            // The document is mounted before the `/api/v1` scope, which answers 404 for every
            // path under it that it does not know.
            App::new()
                .service(SwaggerUi::new("/docs/{_:.*}").url("/api/v1/openapi.json", spec.clone()))
                .into_utoipa_app()
                .app_data(data.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(json_limit)
                        .error_handler(json_error),
                )
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()),
                )
                .service(utoipa_actix_web::scope("/api/v1").configure(routes::api))
                .into_app()
                .service(routes::ops::healthz)
                .service(routes::ops::readyz)
                .service(routes::ops::metrics)
                .service(actix_web::web::redirect("/docs", "/docs/"))
                .configure(crate::web::configure)
                .default_service(web::to(move |req: actix_web::HttpRequest| {
                    let routes = routes.clone();
                    async move { not_routed(&routes, &req) }
                }))
                // Inside the metrics and the API headers below, so its refusals get both.
                .wrap(actix_web::middleware::from_fn(json_bodies_are_objects))
                .wrap_fn(move |req, srv| {
                    let started = Instant::now();
                    let method = req.method().to_string();
                    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                    let metrics = metrics.clone();
                    let api = req.path().starts_with("/api/");
                    let docs = req.path().starts_with("/docs");
                    let request_id = req
                        .extensions()
                        .get::<tracing_actix_web::RequestId>()
                        .map(|id| id.to_string());
                    crate::telemetry::within_request(request_id, srv.call(req)).map(
                        move |mut res| {
                            let status = match &res {
                                Ok(r) => r.status().as_u16(),
                                Err(e) => e.as_response_error().status_code().as_u16(),
                            };
                            metrics.observe(
                                &method,
                                &route,
                                status,
                                started.elapsed().as_secs_f64(),
                            );
                            // API answers carry personal data: never stored by a browser or proxy,
                            // and never a document of their own.
                            if let (true, Ok(r)) = (api, &mut res) {
                                let headers = r.headers_mut();
                                if !headers.contains_key(header::CACHE_CONTROL) {
                                    headers.insert(
                                        header::CACHE_CONTROL,
                                        header::HeaderValue::from_static("no-store"),
                                    );
                                }
                                if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
                                    headers.insert(
                                        header::CONTENT_SECURITY_POLICY,
                                        header::HeaderValue::from_static(
                                            "default-src 'none'; frame-ancestors 'none'",
                                        ),
                                    );
                                }
                            }
                            // The API's reference page (Swagger UI): its own scripts and styles,
                            // the document from here, nothing from elsewhere.
                            if let (true, Ok(r)) = (docs, &mut res) {
                                r.headers_mut().insert(
                                    header::CONTENT_SECURITY_POLICY,
                                    header::HeaderValue::from_static(DOCS_POLICY),
                                );
                            }
                            res
                        },
                    )
                })
                .wrap(
                    // Every answer, API and pages alike: no type sniffing, no framing, no referrer.
                    DefaultHeaders::new()
                        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                        .add((header::X_FRAME_OPTIONS, "DENY"))
                        .add((header::REFERRER_POLICY, "no-referrer")),
                )
                // Browsers ask for gzip (a map's households, a phone's sync on a weak network);
                // the phone SDK and the benchmark clients do not, and get plain bodies. Answers
                // compressed already (the web assets) are left alone.
                .wrap(actix_web::middleware::Compress::default())
                .wrap(TracingLogger::<PrivacyRootSpan>::new())
        })
        .shutdown_timeout(settings.shutdown_timeout_secs);
        let tls = tls_config(settings)?;
        let secure = tls.is_some();
        let mut server = match tls {
            Some(config) => server.listen_rustls_0_23(listener, config)?,
            None => server.listen(listener)?,
        };
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        let server = server.run();
        crate::jobs::spawn_grid_watcher(Arc::downgrade(&state), Duration::from_secs(5));
        crate::jobs::spawn(Arc::downgrade(&state));
        let auditor = spawn_auditor(Arc::downgrade(&state), Duration::from_secs(1));
        Ok(Self {
            addr,
            secure,
            port,
            server,
            state,
            auditor,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `https` when serving TLS, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "https"
        } else {
            "http"
        }
    }

    /// The address listened on, as a host for a URL (IPv6 in brackets).
    pub fn host(&self) -> String {
        match self.addr {
            std::net::SocketAddr::V4(a) => a.ip().to_string(),
            std::net::SocketAddr::V6(a) => format!("[{}]", a.ip()),
        }
    }

    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// A handle that can stop the server gracefully.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (in-flight requests get `shutdown_timeout_secs` to finish).
    /// The audit journal is chained and the head signed at the end, so records of the last
    /// moments are covered.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        self.auditor.abort();
        let state = self.state.clone();
        if let Err(e) = self.state.db(move |conn| state.audit.finish(conn)).await {
            tracing::warn!(error = %e, "audit checkpoint not written at shutdown");
        }
        served
    }
}
