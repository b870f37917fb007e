//! The security headers of every response, owned by this one layer of the edge.
//!
//! - Every response: `X-Content-Type-Options: nosniff`, so a browser never runs a JSON body or
//!   a text answer as script or styles.
//! - Every HTML page (the storefront and admin of `mercato-web`, Swagger UI at `/docs`): one
//!   strict `Content-Security-Policy` — nothing loads but this origin's own scripts, styles,
//!   images and API (and its WebSockets), no inline code at all (the pages have none: their
//!   scripts and styles are files), no plugins, no `<base>` rewriting, forms only to this
//!   origin, and `frame-ancestors 'none'` — plus `X-Frame-Options: DENY` for browsers that
//!   predate `frame-ancestors`, `Referrer-Policy: strict-origin-when-cross-origin` and
//!   `Cross-Origin-Opener-Policy: same-origin`.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

const CROSS_ORIGIN_OPENER_POLICY: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

/// The policy of every HTML page. `connect-src 'self'` admits this origin's WebSockets too
/// (CSP Level 3; the pages' live parts use `/s/{store}/live` and `/admin/{store}/live`).
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Adds the headers to the response of every request (see the module documentation).
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let html = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        );
        headers.insert(
            CROSS_ORIGIN_OPENER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_allows_no_inline_code_and_nothing_from_elsewhere() {
        assert!(!PAGE_POLICY.contains("unsafe-inline") && !PAGE_POLICY.contains("unsafe-eval"));
        assert!(!PAGE_POLICY.contains("'sha256-") && !PAGE_POLICY.contains("http"));
        assert!(PAGE_POLICY.starts_with("default-src 'none'"));
        assert!(PAGE_POLICY.contains("script-src 'self';") && PAGE_POLICY.contains("style-src 'self';"));
        assert!(PAGE_POLICY.contains("frame-ancestors 'none'"));
        HeaderValue::from_static(PAGE_POLICY);
    }
}
