//! The one middleware every web request passes: a state-changing request must come from a
//! page of this site (its `Origin`, or `Referer`, names this host) and carry the CSRF token of
//! its `mercato_csrf` cookie in its `csrf` form field (double submit; a file upload's in its
//! `action` query, so that its body need not be read here); the cookies handlers
//! changed go out with the answer; personal pages are not kept by shared caches.

use super::cookies::{self, Jar};
use crate::WebState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

/// The largest form body a page accepts.
const FORM_LIMIT: usize = 256 * 1024;

pub async fn protect(State(_): State<WebState>, mut request: Request, next: Next) -> Response {
    let jar = Jar::default();
    request.extensions_mut().insert(jar.clone());
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        request = match checked(request).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        };
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for cookie in jar.take() {
        headers.append(header::SET_COOKIE, cookie);
    }
    let html = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-cache"),
        );
    }
    response
}

/// The request, its form body read and put back, when it is same-origin and its CSRF token
/// matches; else the refusal.
async fn checked(request: Request) -> Result<Request, Response> {
    if !same_origin(request.headers()) {
        return Err(refused("This form came from another site, so it was not sent."));
    }
    let content_type = request.headers().get(header::CONTENT_TYPE);
    let form = content_type.is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if content_type.is_some_and(|v| v.as_bytes().starts_with(b"multipart/form-data")) {
        return checked_upload(request).await;
    }
    if !form {
        return Err(refused("This request was not sent by a form of this site."));
    }
    let expected = cookies::get(request.headers(), cookies::CSRF).map(str::to_owned);
    let (parts, body) = request.into_parts();
    let bytes = match http_body_util::Limited::new(body, FORM_LIMIT).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response());
        }
    };
    let presented = form_urlencoded_value(&bytes, "csrf");
    let valid = match (expected, presented) {
        (Some(expected), Some(presented)) => constant_time_eq(expected.as_bytes(), presented.as_bytes()),
        _ => false,
    };
    if !valid {
        return Err(refused(
            "This page has expired. Go back, reload the page and try again.",
        ));
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A file upload (`multipart/form-data`, same origin already checked): its body is not read
/// here — it may be megabytes, which its route limits — so its token rides in the form's
/// `action` query (`?csrf=…`) and is checked against the cookie the same way.
async fn checked_upload(request: Request) -> Result<Request, Response> {
    let expected = cookies::get(request.headers(), cookies::CSRF).map(str::to_owned);
    let presented = request
        .uri()
        .query()
        .and_then(|q| form_urlencoded_value(q.as_bytes(), "csrf"));
    match (expected, presented) {
        (Some(expected), Some(presented)) if constant_time_eq(expected.as_bytes(), presented.as_bytes()) => {
            Ok(request)
        }
        _ => Err(refused(
            "This page has expired. Go back, reload the page and try again.",
        )),
    }
}

/// Whether the request's `Origin` (else `Referer`) names this host. Without either header
/// (older browsers, privacy settings) the CSRF token alone decides; `Origin: null` (a sandboxed
/// frame, a redirect from elsewhere) is refused. Only the host and port are compared: behind a
/// TLS-terminating proxy this process may not know the scheme the browser used.
pub(crate) fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .map(|v| v.to_str().unwrap_or("null"));
    match source {
        None => true,
        Some(source) => {
            let authority = source
                .split_once("://")
                .map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or_default());
            matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
        }
    }
}

/// The first value of `name` in a form body.
fn form_urlencoded_value(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A 403 page saying why, in words.
fn refused(message: &'static str) -> Response {
    let page = crate::page::Refused { message };
    let mut response = crate::page::render(&page);
    *response.status_mut() = StatusCode::FORBIDDEN;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_this_hosts_origin_or_referer_may_post() {
        assert!(same_origin(&headers(&[
            ("host", "shop.test"),
            ("origin", "https://shop.test")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "shop.test:8080"),
            ("referer", "http://shop.test:8080/s/a/cart")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "shop.test"),
            ("origin", "https://evil.test")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "shop.test"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "shop.test"),
            ("origin", "https://shop.test.evil.test")
        ])));
        assert!(same_origin(&headers(&[("host", "shop.test")])));
    }

    #[test]
    fn the_csrf_field_is_read_from_a_form_body() {
        assert_eq!(
            form_urlencoded_value(b"a=1&csrf=x%2By&b=2", "csrf").as_deref(),
            Some("x+y")
        );
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
    }
}
