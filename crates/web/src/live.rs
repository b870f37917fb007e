//! `GET /s/{store}/live` and `GET /admin/{store}/live`: the realtime WebSocket
//! (docs/realtime-protocol.md) for pages, which never see a token. The upgrade request must
//! come from a page of this site (`Origin`); its cookies are dropped and the session's access
//! token goes on as `Authorization: Bearer`, and the same request — its path rewritten to
//! `/v1/realtime` — is handed to the process's router. So it works in both topologies: in the
//! embedded one the realtime service serves it, in the distributed one the gateway relays it.

use crate::session::Session;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;

pub async fn proxy(session: Session, mut request: Request) -> Response {
    let headers = request.headers();
    if !headers.contains_key(header::ORIGIN) || !crate::session::same_origin(headers) {
        return (StatusCode::FORBIDDEN, "live updates are for this site's pages").into_response();
    }
    *request.uri_mut() = Uri::from_static("/v1/realtime");
    let headers = request.headers_mut();
    headers.remove(header::COOKIE);
    headers.remove(header::AUTHORIZATION);
    if let Some(token) = session.access_token()
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        headers.insert(header::AUTHORIZATION, value);
    }
    session
        .api()
        .router()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {})
}
