//! The address a request came from: the peer's, or — only when the peer is a proxy the
//! operator trusts (`http.trusted_proxies`) — the client that proxy names in `Forwarded`
//! (RFC 7239) or `X-Forwarded-For`. From anyone else those headers are ignored: a client can
//! write whatever it likes in them.

use crate::state::GatewayState;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

/// The client's address as a handler argument; `None` when the connection's peer is unknown
/// (a request that did not come through the server loop).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<GatewayState> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &GatewayState) -> Result<Self, Infallible> {
        Ok(ClientIp(of(
            &parts.headers,
            &parts.extensions,
            state.trusted_proxies(),
        )))
    }
}

/// The client's address from a request's headers and the peer the server loop recorded.
pub fn of(headers: &HeaderMap, extensions: &Extensions, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    client_ip(headers, peer, trusted)
}

/// The client's address, if the connection's peer is known.
pub fn client_ip(headers: &HeaderMap, peer: Option<IpAddr>, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    if !is_trusted(peer, trusted) {
        return Some(peer);
    }
    // Each proxy appends the address it received from, so the list is read from the right: the
    // first address that is not a trusted proxy is the client. An entry that is not an address
    // ("unknown", an obfuscated name) ends the walk: nothing left of it can be believed.
    let mut nearest = peer;
    for hop in forwarded_chain(headers).iter().rev() {
        let Some(ip) = hop else {
            return Some(nearest);
        };
        if !is_trusted(*ip, trusted) {
            return Some(*ip);
        }
        nearest = *ip;
    }
    Some(nearest)
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The addresses a request passed through, oldest first, from `Forwarded` when present, else
/// from `X-Forwarded-For`; `None` for an entry that is not an address.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let forwarded: Vec<&str> = header_values(headers, "forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|line| line.split(','))
            .map(|element| {
                element
                    .split(';')
                    .find_map(|pair| {
                        let (name, value) = pair.trim().split_once('=')?;
                        name.trim().eq_ignore_ascii_case("for").then_some(value.trim())
                    })
                    .and_then(node_ip)
            })
            .collect();
    }
    header_values(headers, "x-forwarded-for")
        .iter()
        .flat_map(|line| line.split(','))
        .map(|entry| node_ip(entry.trim()))
        .collect()
}

fn header_values<'h>(headers: &'h HeaderMap, name: &str) -> Vec<&'h str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// An address from a node: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn node_ip(node: &str) -> Option<IpAddr> {
    let node = node.trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    node.parse()
        .ok()
        .or_else(|| node.rsplit_once(':').and_then(|(ip, _port)| ip.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn forwarding_headers_are_ignored_unless_the_peer_is_a_trusted_proxy() {
        let spoofed = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(
            client_ip(&spoofed, Some(ip("198.51.100.7")), &trusted),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(&spoofed, Some(ip("198.51.100.7")), &[]),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(client_ip(&spoofed, None, &trusted), None);
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = Some(ip("10.0.0.2"));
        // The client wrote a false first entry; the proxies appended the truth after it.
        let xff = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.0.0.1")]);
        assert_eq!(client_ip(&xff, peer, &trusted), Some(ip("203.0.113.9")));
        let rfc = headers(&[(
            "forwarded",
            r#"for=1.2.3.4, for="[2001:db8::17]:4711";proto=https, for=10.0.0.1:80"#,
        )]);
        assert_eq!(client_ip(&rfc, peer, &trusted), Some(ip("2001:db8::17")));
        // `Forwarded` wins over `X-Forwarded-For` when both are present.
        let both = headers(&[
            ("forwarded", "for=198.51.100.3"),
            ("x-forwarded-for", "203.0.113.9"),
        ]);
        assert_eq!(client_ip(&both, peer, &trusted), Some(ip("198.51.100.3")));
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk_at_the_nearest_known_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("forwarded", "for=203.0.113.9, for=unknown, for=10.0.0.1")]);
        assert_eq!(
            client_ip(&h, Some(ip("10.0.0.2")), &trusted),
            Some(ip("10.0.0.1"))
        );
        let none = headers(&[]);
        assert_eq!(
            client_ip(&none, Some(ip("10.0.0.2")), &trusted),
            Some(ip("10.0.0.2"))
        );
    }
}
