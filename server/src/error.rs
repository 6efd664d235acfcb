//! The API error: a stable code, a bilingual message, and a cause that is logged but never sent.
//!
//! Doctrine: the data layer returns `QueryResult`; handlers turn everything into `ApiError`; a 5xx
//! answers with an opaque body and logs the cause chain; a 4xx says exactly what was wrong.

use std::borrow::Cow;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use jiuzhu_proto::error::FieldError;
use jiuzhu_proto::{ErrorBody, ErrorCode};

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub status: StatusCode,
    zh: Cow<'static, str>,
    en: Cow<'static, str>,
    details: Vec<FieldError>,
    retry_after: Option<u64>,
    cause: Option<anyhow::Error>,
}

pub type ApiResult<T> = Result<T, ApiError>;

/// One field's problem, with a `中文 / English` message.
pub fn field_error(field: impl Into<String>, code: &str, zh: &str, en: &str) -> FieldError {
    FieldError {
        field: field.into(),
        code: code.into(),
        message: format!("{zh} / {en}"),
    }
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: ErrorCode,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            code,
            status,
            zh: zh.into(),
            en: en.into(),
            details: Vec::new(),
            retry_after: None,
            cause: None,
        }
    }

    /// A problem with what the client sent. The status follows the code (`input_status`): 400
    /// when the request cannot be read at all, 422 when it can but its content is invalid.
    pub fn bad_request(
        code: ErrorCode,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(input_status(code), code, zh, en)
    }

    pub fn validation(details: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ValidationFailed,
            "请求内容有误",
            "the request has invalid fields",
        );
        e.details = details;
        e
    }

    /// A 422 about one field, with a bilingual message.
    pub fn invalid(field: &str, code: &str, zh: &str, en: &str) -> Self {
        Self::validation(vec![field_error(field, code, zh, en)])
    }

    /// Adds a field-level detail.
    pub fn add_detail(&mut self, detail: FieldError) {
        self.details.push(detail);
    }

    /// Missing, and also what an object outside the caller's scope looks like.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "未找到",
            "not found",
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "请先登录",
            "authentication required",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "无权执行此操作",
            "your role may not do this",
        )
    }

    pub fn conflict(
        code: ErrorCode,
        zh: impl Into<Cow<'static, str>>,
        en: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(StatusCode::CONFLICT, code, zh, en)
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "请求过于频繁，请稍后再试",
            "too many requests, try again later",
        );
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    pub fn busy(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Busy,
            "服务繁忙，请稍后再试",
            "the server is busy, try again later",
        );
        e.retry_after = Some(retry_after_secs.max(1));
        e
    }

    /// A failure of ours: logged with its cause, answered with an opaque 500.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "服务器内部错误",
            "internal server error",
        );
        e.cause = Some(cause.into());
        e
    }

    pub fn unavailable(cause: impl Into<anyhow::Error>) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            "服务暂不可用",
            "service unavailable",
        );
        e.cause = Some(cause.into());
        e.retry_after = Some(1);
        e
    }

    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code,
            message: format!("{} / {}", self.zh, self.en),
            details: self.details.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.en)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            match &self.cause {
                Some(cause) => tracing::error!(code = %self.code, error = ?cause, "request failed"),
                None => tracing::error!(code = %self.code, "request failed"),
            }
        }
        let mut res = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        res.json(self.body())
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::not_found(),
            other => Self::internal(other),
        }
    }
}

impl From<r2d2::Error> for ApiError {
    fn from(e: r2d2::Error) -> Self {
        Self::unavailable(e)
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        Self::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

/// The one status of a problem with the client's input, across the API:
/// - 400: the request is malformed: a body that is not JSON (or not UTF-8, or cut short), a
///   header or an opaque token (cursor, page key) that cannot be read (`invalid_json`,
///   `bad_request`);
/// - 422: the request is well-formed but its content is invalid: a JSON body of the wrong shape
///   (a wrong type, a missing or unknown field), a query value that does not fit, a value out of
///   range, a bad ID number, a rule of the domain broken (`validation_failed`, `unknown_field`
///   and the specific codes).
pub fn input_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest | ErrorCode::InvalidJson => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// True when a database error is a unique-constraint violation (on either backend).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(
        e,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One status per kind of problem: only a request that cannot be read is a 400.
    #[test]
    fn input_problems_take_their_status_from_the_code() {
        for code in [ErrorCode::BadRequest, ErrorCode::InvalidJson] {
            assert_eq!(
                ApiError::bad_request(code, "读", "read").status,
                StatusCode::BAD_REQUEST
            );
        }
        for code in [
            ErrorCode::UnknownField,
            ErrorCode::ValidationFailed,
            ErrorCode::InvalidCoordinate,
            ErrorCode::InvalidUsername,
            ErrorCode::InvalidPassword,
            ErrorCode::VerificationFailed,
        ] {
            assert_eq!(
                ApiError::bad_request(code, "值", "value").status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{code}"
            );
        }
    }
}
