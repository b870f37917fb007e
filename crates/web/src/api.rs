//! The in-process client of the REST API: each call is a request to the process's own router
//! (`tower::ServiceExt::oneshot`), so the pages go through the same routes, checks, rate limits
//! and answers as any other client, without a socket.

use crate::session::Client;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceExt;

/// The process's REST router, called in process.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

impl Api {
    pub(crate) fn new(router: Router) -> Api {
        Api { router }
    }

    /// The router itself, for requests that are not JSON calls (the WebSocket upgrade).
    pub(crate) fn router(&self) -> Router {
        self.router.clone()
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        self.call(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }

    fn call(&self, method: Method, path: &str) -> Call<'_> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .expect("a request line from a path");
        Call {
            api: self,
            request,
            body: Body::empty(),
        }
    }
}

/// One API call being built.
pub struct Call<'a> {
    api: &'a Api,
    request: Request<Body>,
    body: Body,
}

impl Call<'_> {
    /// Sends the access token, when there is one.
    pub fn bearer(self, token: Option<&str>) -> Self {
        match token.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok()) {
            Some(value) => self.header(header::AUTHORIZATION, value),
            None => self,
        }
    }

    /// Presents the browser's address (and what trusted proxies said of it) as the API's own
    /// clients present theirs, so that rate limits and fraud checks see the real client.
    pub fn client(mut self, client: &Client) -> Self {
        client.forward(&mut self.request);
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.request.headers_mut().insert(name, value);
        self
    }

    /// A header from text; a value that is not a valid header is left out.
    pub fn header_str(self, name: &'static str, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(value) => self.header(HeaderName::from_static(name), value),
            Err(_) => self,
        }
    }

    /// A JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Self {
        let bytes = serde_json::to_vec(body).expect("a serializable body");
        self.body = Body::from(bytes);
        self.header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
    }

    /// A form body (`application/x-www-form-urlencoded`: the token endpoint's).
    pub fn form(mut self, body: &impl Serialize) -> Self {
        let text = serde_urlencoded::to_string(body).expect("a form body");
        self.body = Body::from(text);
        self.header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        )
    }

    /// A body passed on as it came, with its type (a page's multipart upload form).
    pub fn raw(mut self, content_type: HeaderValue, body: bytes::Bytes) -> Self {
        self.body = Body::from(body);
        self.header(header::CONTENT_TYPE, content_type)
    }

    /// Sends the call and decodes a successful answer as `T`.
    pub async fn send<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        let (status, bytes) = self.exchange().await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            tracing::error!(error = %e, %status, "the API answered a shape the web does not read");
            ApiError::unexpected(status)
        })
    }

    /// Sends the call; the answer's body is not needed.
    pub async fn send_empty(self) -> Result<(), ApiError> {
        self.exchange().await.map(|_| ())
    }

    async fn exchange(self) -> Result<(StatusCode, bytes::Bytes), ApiError> {
        let (parts, _) = self.request.into_parts();
        let request = Request::from_parts(parts, self.body);
        let response = self
            .api
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|_| ApiError::unexpected(status))?;
        if status.is_success() {
            Ok((status, bytes))
        } else {
            Err(ApiError::from_answer(status, &bytes))
        }
    }
}

/// A refusal of the API: its status, stable `code`, human `detail` and the fields it names.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// The problem's `code` (`validation_failed`, `payment_declined`, …) or the OAuth error.
    pub code: String,
    pub detail: String,
    /// Per-field errors (`errors` of a problem document): field path → message.
    pub fields: Vec<FieldError>,
}

/// One field a refusal names.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(serde::Deserialize)]
struct Problem {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    errors: Vec<FieldError>,
    /// RFC 6749 error bodies (the token endpoint) say `error` and `error_description`.
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl ApiError {
    fn from_answer(status: StatusCode, body: &[u8]) -> ApiError {
        match serde_json::from_slice::<Problem>(body) {
            Ok(p) => ApiError {
                status,
                code: p.code.or(p.error).unwrap_or_default(),
                detail: p.detail.or(p.error_description).unwrap_or_default(),
                fields: p.errors,
            },
            Err(_) => ApiError::unexpected(status),
        }
    }

    fn unexpected(status: StatusCode) -> ApiError {
        ApiError {
            status,
            code: String::new(),
            detail: String::new(),
            fields: Vec::new(),
        }
    }

    /// The message the API gave for `field` (or a field under it, such as `address.city`).
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| {
                f.field == field
                    || f.field
                        .strip_prefix(field)
                        .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
            })
            .map(|f| f.message.as_str())
    }

    pub fn is_not_found(&self) -> bool {
        self.status == StatusCode::NOT_FOUND
    }

    /// Whether the caller's token was refused (expired, revoked): the page asks to sign in.
    pub fn is_unauthenticated(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }

    /// A sentence a shopper or merchant can act on, never the raw document.
    pub fn plain_message(&self) -> String {
        match self.status.as_u16() {
            401 => "Please sign in again.".to_owned(),
            403 => "You are not allowed to do that.".to_owned(),
            404 => "We could not find that.".to_owned(),
            429 => "Too many attempts. Wait a moment and try again.".to_owned(),
            500..=599 => "Something went wrong on our side. Please try again in a moment.".to_owned(),
            _ if !self.detail.is_empty() => sentence(&self.detail),
            _ => "That did not work. Please check the form and try again.".to_owned(),
        }
    }
}

/// The API's messages are lower case without a period (STYLE.md); a page shows sentences.
pub fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut text = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => return String::new(),
    };
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.detail)
    }
}
