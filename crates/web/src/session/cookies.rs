//! Reading the `Cookie` header and writing `Set-Cookie` values with the flags every session
//! cookie carries.

use axum::http::{HeaderMap, HeaderValue, header};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The access token (a JWT of at most 15 minutes).
pub const ACCESS: &str = "mercato_access";
/// The rotating refresh token.
pub const REFRESH: &str = "mercato_refresh";
/// The anonymous cart: `<cart id>~<cart token>`.
pub const CART: &str = "mercato_cart";
/// The CSRF double-submit token, the same for the whole site (`Path=/`).
pub const CSRF: &str = "mercato_csrf";

/// How long the session and cart cookies are kept: the refresh token's default lifetime
/// (`auth.refresh_token_ttl`); an older refresh token is refused anyway.
pub const SESSION_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// The first value of cookie `name` in the request's `Cookie` headers. Browsers send the
/// cookie of the longest matching path first, so a store's own cookie wins over another.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly` and `SameSite=Lax` always (no script reads a session, and
/// a cross-site POST does not carry it), `Secure` when the request came over TLS, scoped to
/// `path`. `max_age` `None` deletes the cookie.
pub fn set(name: &str, value: &str, path: &str, max_age: Option<Duration>, secure: bool) -> HeaderValue {
    let age = max_age.map_or(0, |d| d.as_secs());
    let value = if max_age.is_some() { value } else { "" };
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("mercato_invalid=; Max-Age=0"))
}

/// Whether `value` can be a cookie value as written (RFC 6265 cookie-octets): tokens the API
/// gives are, but a value from elsewhere is checked before it is set.
pub fn is_cookie_safe(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';' | b'\\'))
}

/// The cookies a request's handlers changed, sent with its answer by `protect`.
#[derive(Clone, Default)]
pub struct Jar(Arc<Mutex<Vec<HeaderValue>>>);

impl Jar {
    pub fn push(&self, value: HeaderValue) {
        self.0.lock().expect("cookie jar").push(value);
    }

    pub fn take(&self) -> Vec<HeaderValue> {
        std::mem::take(&mut *self.0.lock().expect("cookie jar"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_cookie_is_http_only_same_site_lax_and_scoped_to_its_path() {
        let v = set("mercato_access", "abc", "/s/demo", Some(SESSION_MAX_AGE), false);
        let v = v.to_str().unwrap();
        assert!(v.contains("HttpOnly") && v.contains("SameSite=Lax") && v.contains("Path=/s/demo"));
        assert!(!v.contains("Secure"));
        let v = set("mercato_access", "abc", "/s/demo", None, true);
        assert!(
            v.to_str()
                .unwrap()
                .contains("Max-Age=0; HttpOnly; SameSite=Lax; Secure")
        );
    }

    #[test]
    fn the_first_cookie_of_a_name_is_read() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; mercato_cart=x~y; mercato_cart=z"),
        );
        assert_eq!(get(&headers, "mercato_cart"), Some("x~y"));
        assert_eq!(get(&headers, "nope"), None);
    }
}
