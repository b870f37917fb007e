//! The security headers of every response, owned by this one layer of the edge.
//!
//! - Every response: `X-Content-Type-Options: nosniff`, so a browser never runs a JSON body or
//!   a text answer as script or styles.
//! - Every HTML page (the storefront at `/`, Swagger UI at `/docs`): a strict
//!   `Content-Security-Policy` — nothing loads but this origin's own scripts, styles, images
//!   and API, inline code only when its hash is allowed (the storefront's inline `<script>` and
//!   `<style>`, hashed from the page itself when the process starts, so editing the page cannot
//!   silently break it), no plugins, no `<base>` rewriting, forms only to this origin, and
//!   `frame-ancestors 'none'` — plus `X-Frame-Options: DENY` for browsers that predate
//!   `frame-ancestors`, `Referrer-Policy: strict-origin-when-cross-origin` and
//!   `Cross-Origin-Opener-Policy: same-origin`.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

const CROSS_ORIGIN_OPENER_POLICY: HeaderName = HeaderName::from_static("cross-origin-opener-policy");

/// The policy of every HTML page.
static PAGE_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&page_policy(crate::web::PAGE)).expect("the policy is visible ASCII")
});

/// Adds the headers to the response of every request (see the module documentation).
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let html = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html {
        headers.insert(CONTENT_SECURITY_POLICY, PAGE_POLICY.clone());
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

/// The content security policy, allowing the inline scripts and styles of `page` by hash.
fn page_policy(page: &str) -> String {
    let sources = |tag: &str| {
        inline_blocks(page, tag)
            .map(|block| {
                format!(
                    " 'sha256-{}'",
                    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(block))
                )
            })
            .collect::<String>()
    };
    format!(
        "default-src 'none'; script-src 'self'{scripts}; style-src 'self'{styles}; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        scripts = sources("script"),
        styles = sources("style"),
    )
}

/// The contents of each `<tag>…</tag>` without attributes in `page`: the inline code a policy
/// must allow (a `<script src=…>` loads a file and needs no hash).
fn inline_blocks<'a>(page: &'a str, tag: &str) -> impl Iterator<Item = &'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut rest = page;
    std::iter::from_fn(move || {
        let start = rest.find(&open)? + open.len();
        let len = rest[start..].find(&close)?;
        let block = &rest[start..start + len];
        rest = &rest[start + len + close.len()..];
        Some(block)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_storefronts_inline_script_and_style_by_hash_and_nothing_else_inline() {
        let policy = page_policy(crate::web::PAGE);
        let scripts: Vec<_> = inline_blocks(crate::web::PAGE, "script").collect();
        let styles: Vec<_> = inline_blocks(crate::web::PAGE, "style").collect();
        assert_eq!(
            (scripts.len(), styles.len()),
            (1, 1),
            "the storefront's inline blocks"
        );
        assert!(scripts[0].contains("addEventListener"));
        let script_src = policy.split("; ").find(|d| d.starts_with("script-src")).unwrap();
        assert_eq!(script_src.matches("'sha256-").count(), 1, "{script_src}");
        assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"));
        assert!(policy.contains("frame-ancestors 'none'") && policy.starts_with("default-src 'none'"));
        // Inline event handlers and javascript: URLs cannot be allowed by hash: the page must
        // attach its handlers from its script.
        let page = crate::web::PAGE.to_ascii_lowercase();
        assert!(!page.contains("javascript:"));
        for handler in [
            " onclick=",
            " onload=",
            " onchange=",
            " oninput=",
            " onsubmit=",
            " style=",
        ] {
            assert!(!page.contains(handler), "{handler} in the storefront page");
        }
    }

    #[test]
    fn a_known_block_hashes_as_browsers_compute_it() {
        // The example of CSP Level 3, section 8.3: `<script>alert('Hello, world.');</script>`.
        let policy = page_policy("<script>alert('Hello, world.');</script>");
        assert!(
            policy.contains("'sha256-qznLcsROx4GACP2dm0UCKCzCG+HiZ1guq6ZZDob/Tng='"),
            "{policy}"
        );
    }
}
