//! Which side answers a request: the `x-mercato-route` header when it names one, else the
//! route's target; a split route sends a fixed share of clients to Mercato, each client always
//! to the same side (by the `mercato_route` cookie the gateway sets, else the client address).

use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use mercato_runtime::config::{RouteRule, Target};
use sha2::{Digest, Sha256};
use std::net::IpAddr;

/// The header that overrides a route's choice (`legacy` or `mercato`), for testing a page on
/// either side.
pub const OVERRIDE: &str = "x-mercato-route";
/// The cookie that keeps a client on its side of a split.
pub const COOKIE_NAME: &str = "mercato_route";

/// The two systems a request can go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Legacy,
    Mercato,
}

impl Side {
    /// The name used in metrics, headers and the owner's views.
    pub fn name(self) -> &'static str {
        match self {
            Side::Legacy => "legacy",
            Side::Mercato => "mercato",
        }
    }

    /// The other side (the shadow's).
    pub fn other(self) -> Side {
        match self {
            Side::Legacy => Side::Mercato,
            Side::Mercato => Side::Legacy,
        }
    }
}

/// Who a client is for a split: its cookie's value, or one made from its address (which the
/// response then sets as the cookie, `true`).
pub fn client_key(headers: &HeaderMap, address: Option<IpAddr>) -> (String, bool) {
    if let Some(key) = cookie(headers) {
        return (key.to_owned(), false);
    }
    let seed = address.map_or_else(|| uuid::Uuid::new_v4().to_string(), |a| a.to_string());
    let digest = Sha256::digest(seed.as_bytes());
    let key: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    (key, true)
}

/// The `mercato_route` cookie's value, when well formed.
fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The `Set-Cookie` value that keeps `key` (a year; the whole site).
pub fn set_cookie(key: &str) -> String {
    format!("{COOKIE_NAME}={key}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax")
}

/// The side for this request.
pub fn choose(rule: &RouteRule, headers: &HeaderMap, key: &str, allow_override: bool) -> Side {
    match headers.get(OVERRIDE).and_then(|v| v.to_str().ok()) {
        Some("legacy") if allow_override => return Side::Legacy,
        Some("mercato") if allow_override => return Side::Mercato,
        _ => {}
    }
    match rule.to {
        Target::Legacy => Side::Legacy,
        Target::Mercato => Side::Mercato,
        Target::Split if bucket(key) < u64::from(rule.percent.unwrap_or(0)) => Side::Mercato,
        Target::Split => Side::Legacy,
    }
}

/// Whether `path` is one of Mercato's own (its API, token endpoint, shop, admin, docs and
/// assets, probes): always answered by Mercato, never by the legacy shop.
pub fn is_mercato_path(path: &str) -> bool {
    const OWN: [&str; 5] = ["/v1/", "/s/", "/admin/", "/docs/", "/assets/"];
    const EXACT: [&str; 6] = [
        "/admin",
        "/docs",
        "/openapi.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ];
    OWN.iter().any(|p| path.starts_with(p)) || EXACT.contains(&path)
}

/// The client's place in 0..100, the same for every route: raising a percentage only moves
/// clients from the legacy shop to Mercato, never back.
fn bucket(key: &str) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % 100
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn split(percent: u8) -> RouteRule {
        RouteRule {
            prefix: "/".into(),
            to: Target::Split,
            percent: Some(percent),
            shadow: false,
            ignore: vec![],
            unordered: vec![],
        }
    }

    #[test]
    fn a_split_sends_about_its_share_and_each_client_always_the_same_way() {
        let headers = HeaderMap::new();
        let to_mercato = (0..10_000)
            .filter(|i| choose(&split(30), &headers, &format!("client-{i}"), true) == Side::Mercato)
            .count();
        assert!((2_800..3_200).contains(&to_mercato), "{to_mercato}");
        for i in 0..100 {
            let key = format!("client-{i}");
            let side = choose(&split(30), &headers, &key, true);
            assert_eq!(choose(&split(30), &headers, &key, true), side);
            if side == Side::Mercato {
                assert_eq!(
                    choose(&split(60), &headers, &key, true),
                    Side::Mercato,
                    "raising keeps it"
                );
            }
        }
    }

    #[test]
    fn mercatos_own_paths_are_told_apart_from_the_legacy_shops() {
        for own in [
            "/v1/stores/acme/imports/woocommerce",
            "/s/acme/p/shirt",
            "/admin/acme",
            "/readyz",
        ] {
            assert!(is_mercato_path(own), "{own}");
        }
        for legacy in [
            "/product/shirt/",
            "/shop/",
            "/",
            "/wp-json/wc/v3/products",
            "/sale",
        ] {
            assert!(!is_mercato_path(legacy), "{legacy}");
        }
    }

    #[test]
    fn the_header_overrides_and_the_cookie_names_the_client() {
        let mut headers = HeaderMap::new();
        headers.insert(OVERRIDE, HeaderValue::from_static("mercato"));
        assert_eq!(choose(&split(0), &headers, "k", true), Side::Mercato);
        assert_eq!(
            choose(&split(0), &headers, "k", false),
            Side::Legacy,
            "ignored unless the operator allows it"
        );
        headers.insert(COOKIE, HeaderValue::from_static("a=b; mercato_route=abc-1"));
        assert_eq!(client_key(&headers, None), ("abc-1".to_owned(), false));
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        let (key, new) = client_key(&HeaderMap::new(), address);
        assert!(new);
        assert_eq!(
            client_key(&HeaderMap::new(), address).0,
            key,
            "an address is one client"
        );
    }
}
