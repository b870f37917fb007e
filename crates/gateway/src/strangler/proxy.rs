//! Passing a request to the legacy shop and its answer back: method, path and query, headers
//! without the hop-by-hop ones (RFC 9110 §7.6.1), status; bodies streamed both ways. The
//! client's `Host` is kept (the legacy shop serves its own site under it) and `X-Forwarded-*`
//! say who asked.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{CONNECTION, HeaderName};
use axum::http::{HeaderMap, HeaderValue, Uri};
use axum::response::Response;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mercato_runtime::error::{ErrorCode, ServiceError};
use std::net::IpAddr;
use std::time::Duration;

/// A pooled HTTP/1.1 client for legacy shops.
pub type LegacyClient = Client<HttpConnector, Body>;

/// A client keeping idle connections to each legacy shop.
pub fn client(timeout: Duration) -> LegacyClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(timeout));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(50))
        .build(connector)
}

/// Headers that belong to one connection, never forwarded.
const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes the hop-by-hop headers, those the `Connection` header names included.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    for name in named.iter().chain(&HOP_BY_HOP.map(HeaderName::from_static)) {
        headers.remove(name);
    }
}

/// Sends `request` to the legacy shop at `base` (`http://host[:port]/`) and streams its answer;
/// the head must come within `timeout` (504), a failure to connect is 503.
pub async fn forward(
    client: &LegacyClient,
    base: &str,
    mut request: Request,
    client_ip: Option<IpAddr>,
    timeout: Duration,
) -> Result<Response, ServiceError> {
    let path_only = request.uri().path().to_owned();
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    let target: Uri = format!("{}{}", base.trim_end_matches('/'), path)
        .parse()
        .map_err(|_| ServiceError::new(ErrorCode::InvalidRequest, "request target cannot be forwarded"))?;
    let host = request.headers().get(axum::http::header::HOST).cloned();
    *request.uri_mut() = target;
    *request.version_mut() = axum::http::Version::HTTP_11;
    let headers = request.headers_mut();
    strip_hop_by_hop(headers);
    headers.remove(super::decide::OVERRIDE);
    // Mercato's credentials never reach the legacy shop: bearer tokens (Mercato's; the legacy
    // shop's REST clients use Basic) and the cookies of Mercato's own pages (a shadowed request
    // to one of its paths).
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case("bearer "));
    if bearer {
        headers.remove(axum::http::header::AUTHORIZATION);
    }
    if super::decide::is_mercato_path(&path_only) {
        headers.remove(axum::http::header::COOKIE);
    }
    if let Some(ip) = client_ip
        && let Ok(value) = HeaderValue::from_str(&ip.to_string())
    {
        headers.insert("x-forwarded-for", value);
    }
    if let Some(host) = host {
        headers.insert("x-forwarded-host", host);
    }
    let answer = tokio::time::timeout(timeout, client.request(request))
        .await
        .map_err(|_| ServiceError::new(ErrorCode::Timeout, "the legacy shop did not answer in time"))?
        .map_err(|e| {
            tracing::warn!(error = %e, upstream = base, "legacy shop unreachable");
            ServiceError::unavailable("the legacy shop is unreachable")
        })?;
    let (mut parts, body) = answer.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    Ok(Response::from_parts(parts, Body::new(body)))
}
