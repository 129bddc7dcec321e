//! The grafana.com error envelope, `{code, message, requestId}`, and Grafana's own,
//! `{message, messageId, statusCode, traceID}`, for answers that come from a stack's Grafana
//! through the proxy.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header::RETRY_AFTER},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// An error answered the way grafana.com answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The `Retry-After` header's text.
    pub retry_after: Option<String>,
    /// Answered by a stack's Grafana (through the proxy) rather than by grafana.com.
    pub from_grafana: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            from_grafana: false,
        }
    }

    /// An error of a stack's Grafana, whose envelope names the code `messageId`.
    pub fn grafana(
        status: StatusCode,
        message_id: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            from_grafana: true,
            ..Self::new(status, message_id, message)
        }
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidCredentials",
            "Login Required or invalid credentials",
        )
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "Forbidden", "Forbidden")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{what} not found"),
        )
    }

    /// 409 `Conflict`: the request collides with existing state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "Conflict", message)
    }

    /// 409 `InvalidArgument`: grafana.com reports validation errors as 409.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "InvalidArgument", message)
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.to_string());
        self
    }

    /// A `Retry-After` header with exactly this text, such as `1e30` or an HTTP date.
    pub fn with_retry_after_text(mut self, text: &str) -> Self {
        self.retry_after = Some(text.to_string());
        self
    }

    /// The error a server failure of `status` answers with.
    pub fn server(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailable",
            StatusCode::BAD_GATEWAY => "BadGateway",
            StatusCode::GATEWAY_TIMEOUT => "GatewayTimeout",
            _ => "InternalServerError",
        };
        let message = status
            .canonical_reason()
            .unwrap_or("Internal Server Error")
            .to_owned();
        Self::new(status, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.from_grafana {
            true => json!({
                "message": self.message,
                "messageId": self.code,
                "statusCode": self.status.as_u16(),
                "traceID": "",
            }),
            false => json!({
                "code": self.code,
                "message": self.message,
                "requestId": uuid::Uuid::new_v4().to_string(),
            }),
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(value) = self
            .retry_after
            .and_then(|text| HeaderValue::from_str(&text).ok())
        {
            response.headers_mut().insert(RETRY_AFTER, value);
        }
        response
    }
}
