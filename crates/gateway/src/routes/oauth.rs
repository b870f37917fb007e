//! The RFC 6749 token endpoint, RFC 7009 token revocation and the public signing keys.
//!
//! Errors here follow RFC 6749 section 5.2 (`{"error": …, "error_description": …}`) rather than
//! problem+json, because OAuth2 client libraries expect that shape.

use crate::client_addr::ClientIp;
use crate::dto::{JwksView, OAuthErrorView, TokenForm, TokenView};
use crate::dto_accounts::RevokeForm;
use crate::state::GatewayState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use mercato_proto::identity::{GetJwksRequest, RevokeTokenRequest, TokenRequest};
use mercato_runtime::error::{ErrorCode, ServiceError};

/// Issue tokens: `password`, `refresh_token` or `client_credentials` grant.
#[utoipa::path(post, path = "/v1/oauth/token", tag = "oauth",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenView, description = "The tokens (RFC 6749 section 5.1); never cached",
               headers(("Cache-Control" = String, description = "`no-store`"))),
              (status = 400, body = OAuthErrorView, description = "RFC 6749 section 5.2: `invalid_request`, `invalid_grant` or `unsupported_grant_type`. The right password of a disabled account is `invalid_grant` with `code` `account_disabled` (a wrong one gets the plain `invalid_grant` whatever the account's state)"),
              (status = 401, body = OAuthErrorView, description = "RFC 6749 section 5.2: `invalid_client`"),
              (status = 429, body = OAuthErrorView, description = "`slow_down`: too many failed sign-ins for this account or from this address (the same answer whether or not the account exists); retry after `Retry-After` seconds",
               headers(("Retry-After" = u64, description = "Seconds until the lock ends"))),
              (status = 503, body = OAuthErrorView, description = "`temporarily_unavailable`: every password check slot and its queue are busy; retry after `Retry-After` seconds",
               headers(("Retry-After" = u64, description = "Seconds to wait")))))]
pub async fn issue_token(
    State(state): State<GatewayState>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: TokenForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => return oauth_error(ErrorCode::InvalidRequest, "the body must be form-encoded", None),
    };
    let (basic_id, basic_secret) = match basic_credentials(&headers) {
        Ok(credentials) => credentials.unwrap_or_default(),
        // Read as absent, an unusable header would be answered "missing parameter client_id".
        Err(message) => return oauth_error(ErrorCode::InvalidClient, message, None),
    };
    let request = TokenRequest {
        grant_type: form.grant_type.unwrap_or_default(),
        username: form.username.unwrap_or_default(),
        password: form.password.unwrap_or_default(),
        store: form.store.unwrap_or_default(),
        refresh_token: form.refresh_token.unwrap_or_default(),
        client_id: form.client_id.unwrap_or(basic_id),
        client_secret: form.client_secret.unwrap_or(basic_secret),
        client_ip: client.map(|ip| ip.to_string()).unwrap_or_default(),
    };
    match state.identity().issue_token(request).await {
        Ok(t) => {
            let view = TokenView {
                access_token: t.access_token,
                token_type: t.token_type,
                expires_in: t.expires_in,
                refresh_token: Some(t.refresh_token).filter(|r| !r.is_empty()),
            };
            let mut response = axum::Json(view).into_response();
            // RFC 6749 section 5.1: token responses must not be cached.
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => oauth_error(e.code, &e.message, retry_after(&e)),
    }
}

/// Revoke a refresh token (RFC 7009): sign out.
#[utoipa::path(post, path = "/v1/oauth/revoke", tag = "oauth",
    request_body(content = RevokeForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Done (RFC 7009 section 2.2): when `token` is a refresh token, it and every token of its family (those it was rotated from and into) refresh no more. Any other value — unknown, expired, already revoked, or an access token, which lives until it expires — gets the same answer",
               headers(("Cache-Control" = String, description = "`no-store`"))),
              (status = 400, body = OAuthErrorView, description = "RFC 6749 section 5.2 `invalid_request`: the body is not form-encoded or has no `token`")))]
pub async fn revoke_token(State(state): State<GatewayState>, body: axum::body::Bytes) -> Response {
    let form: RevokeForm = match serde_urlencoded::from_bytes(&body) {
        Ok(f) => f,
        Err(_) => return oauth_error(ErrorCode::InvalidRequest, "the body must be form-encoded", None),
    };
    let request = RevokeTokenRequest {
        token: form.token.unwrap_or_default(),
    };
    match state.identity().revoke_token(request).await {
        Ok(_) => {
            let mut response = StatusCode::OK.into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => oauth_error(e.code, &e.message, None),
    }
}

/// The seconds identity asks a refused sign-in to wait (the `retry_after` field of a
/// `rate_limited` or `unavailable` answer, see the contract's `IssueToken`).
fn retry_after(e: &ServiceError) -> Option<u64> {
    e.fields
        .iter()
        .find(|f| f.field == "retry_after")
        .and_then(|f| f.message.parse().ok())
}

/// HTTP Basic client authentication (`client_secret_basic`), which RFC 6749 prefers: `None`
/// without an `Authorization: Basic` header, an error when the header is there but unusable.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Some(encoded) = value.to_str().ok().and_then(|v| v.strip_prefix("Basic ")) else {
        return Ok(None);
    };
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .and_then(|text| {
            let (id, secret) = text.split_once(':')?;
            Some(Some((id.to_owned(), secret.to_owned())))
        })
        .ok_or("the Authorization header is not HTTP Basic credentials (base64 of client_id:client_secret)")
}

/// An RFC 6749 section 5.2 error. A throttled sign-in is 429 `slow_down` and a sign-in that
/// found every password hashing slot busy 503 `temporarily_unavailable` (both registered OAuth
/// error codes), each with `Retry-After`, so clients handle them like the other errors here. A
/// disabled account is `invalid_grant`, which OAuth2 libraries treat as a refused sign-in, with
/// our `code` beside it for clients that tell the user why.
fn oauth_error(code: ErrorCode, description: &str, retry_after: Option<u64>) -> Response {
    let (status, error) = match code {
        ErrorCode::AccountDisabled => (StatusCode::BAD_REQUEST, "invalid_grant"),
        ErrorCode::RateLimited if retry_after.is_some() => (StatusCode::TOO_MANY_REQUESTS, "slow_down"),
        ErrorCode::Unavailable if retry_after.is_some() => {
            (StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        }
        ErrorCode::InvalidGrant => (StatusCode::BAD_REQUEST, "invalid_grant"),
        ErrorCode::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client"),
        ErrorCode::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
        ErrorCode::InvalidRequest | ErrorCode::ValidationFailed => {
            (StatusCode::BAD_REQUEST, "invalid_request")
        }
        // Not an OAuth error: an outage or a bug; keep the problem document.
        _ => return ServiceError::new(code, description).into_response(),
    };
    let body = OAuthErrorView {
        error: error.to_owned(),
        error_description: description.to_owned(),
        code: (code == ErrorCode::AccountDisabled).then(|| code.as_str().to_owned()),
    };
    let mut response = (status, axum::Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// The public keys access tokens are signed with.
#[utoipa::path(get, path = "/v1/.well-known/jwks.json", tag = "oauth",
    responses((status = 200, body = JwksView, description = "The JSON Web Key Set (RFC 7517) of the Ed25519 signing keys")))]
pub async fn jwks(State(state): State<GatewayState>) -> Result<axum::Json<JwksView>, ServiceError> {
    Ok(axum::Json(
        state.identity().get_jwks(GetJwksRequest {}).await?.into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn missing_basic_credentials_are_none_and_unusable_ones_an_error() {
        assert_eq!(basic_credentials(&HeaderMap::new()), Ok(None));
        assert_eq!(basic_credentials(&with_authorization("Bearer abc")), Ok(None));
        // "mc_1:s3cret"
        assert_eq!(
            basic_credentials(&with_authorization("Basic bWNfMTpzM2NyZXQ=")),
            Ok(Some(("mc_1".to_owned(), "s3cret".to_owned())))
        );
        for unusable in ["Basic !!!", "Basic bWNfMQ=="] {
            let message = basic_credentials(&with_authorization(unusable)).unwrap_err();
            assert!(message.contains("HTTP Basic"), "{unusable}: {message}");
        }
    }
}
