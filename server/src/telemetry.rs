//! Logs and metrics. Request spans carry a request id, the method and the route pattern, never the
//! raw path or query string (they may hold ID numbers or a family's location).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;

/// What the audit records written while serving one request share: the request id the tracing
/// middleware gave it, and the authenticated caller (and the device their session was opened
/// on) once the `Caller` extractor knows them.
#[derive(Debug, Default)]
pub struct RequestContext {
    request_id: Option<String>,
    actor: std::sync::OnceLock<(String, Option<String>)>,
}

tokio::task_local! {
    static REQUEST: std::sync::Arc<RequestContext>;
}

/// Runs a request's future with its context (see [`RequestContext`]).
pub async fn within_request<F: std::future::Future>(
    request_id: Option<String>,
    fut: F,
) -> F::Output {
    let ctx = std::sync::Arc::new(RequestContext {
        request_id,
        actor: Default::default(),
    });
    REQUEST.scope(ctx, fut).await
}

/// The id of the request served on this task, if any.
pub fn request_id() -> Option<String> {
    REQUEST.try_with(|r| r.request_id.clone()).ok().flatten()
}

/// The authenticated caller of the request served on this task, if any.
pub fn request_actor() -> Option<String> {
    REQUEST
        .try_with(|r| r.actor.get().map(|(id, _)| id.clone()))
        .ok()
        .flatten()
}

/// The device the caller's session was opened on, when the log-in named one.
pub fn request_device() -> Option<String> {
    REQUEST
        .try_with(|r| r.actor.get().and_then(|(_, device)| device.clone()))
        .ok()
        .flatten()
}

/// Notes who the request's caller is and their session's device (the first authenticated one
/// counts).
pub fn set_request_actor(user_id: String, device: Option<String>) {
    let _ = REQUEST.try_with(|r| r.actor.set((user_id, device)));
}

/// Installs the global subscriber: `RUST_LOG` (default `info`), text or JSON lines, on stderr
/// (stdout is for what commands print, such as `serve`'s "listening on" line). Colours only
/// when stderr is a terminal: a log file or a pipe gets plain text.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second init (tests start several servers in one process) is harmless.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Root span with a request id and the matched route pattern only.
pub struct PrivacyRootSpan;

impl RootSpanBuilder for PrivacyRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".into());
        let request_id = request
            .extensions()
            .get::<tracing_actix_web::RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        tracing::info_span!(
            "http",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    /// One access-log line per request: route pattern, status, and for errors the stable code
    /// only. Error messages can echo what the client sent (a swapped latitude that is a real
    /// location, a password sent as a number), so they never reach the log.
    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, code) = match outcome {
            Ok(res) => (
                res.status().as_u16(),
                res.response()
                    .error()
                    .and_then(|e| e.as_error::<crate::error::ApiError>())
                    .map(|e| e.code.as_str()),
            ),
            Err(e) => (
                e.as_response_error().status_code().as_u16(),
                e.as_error::<crate::error::ApiError>()
                    .map(|e| e.code.as_str()),
            ),
        };
        span.record("status", status);
        let _entered = span.enter();
        match code {
            Some(code) => tracing::info!(status, error = code, "request finished"),
            None => tracing::info!(status, "request finished"),
        }
    }
}

/// Prometheus collectors for the HTTP layer and the pool.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub pool: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("jiuzhu".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP latency by route and status",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route", "status"],
        )?;
        let pool = IntGaugeVec::new(
            Opts::new("db_pool_connections", "Database pool connections by state"),
            &["state"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool.clone()))?;
        Ok(Self {
            registry,
            requests,
            latency,
            pool,
        })
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, with the pool gauges read now.
    pub fn render(&self, pool: &crate::db::DbPool) -> String {
        let s = pool.state();
        self.pool
            .with_label_values(&["idle"])
            .set(i64::from(s.idle_connections));
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(s.connections - s.idle_connections));
        self.pool
            .with_label_values(&["max"])
            .set(i64::from(pool.max_size()));
        let mut out = String::new();
        let encoder = prometheus::TextEncoder::new();
        if let Err(e) = encoder.encode_utf8(&self.registry.gather(), &mut out) {
            tracing::warn!(error = %e, "metrics encoding failed");
        }
        out
    }
}
