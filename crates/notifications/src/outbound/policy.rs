//! Where outbound requests may go: the URL's scheme and the addresses its host resolves to.
//!
//! An address is refused when it is not a public unicast address (loopback, private,
//! link-local including the cloud metadata address, CGNAT, multicast, documentation and the
//! other special-purpose ranges of the IANA registries), or when it is an IPv6 form that embeds
//! such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) — unless the operator allowed
//! a range containing it (`allowed_ranges`).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges refused, with the words a refusal names them by. Order matters only for the
/// name given (the first match).
const BLOCKED_V4: &[(&str, &str)] = &[
    ("255.255.255.255/32", "broadcast"),
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "\"this network\" (0.0.0.0/8)"),
    ("10.0.0.0/8", "private (10.0.0.0/8)"),
    ("100.64.0.0/10", "carrier-grade NAT (100.64.0.0/10)"),
    ("127.0.0.0/8", "loopback (127.0.0.0/8)"),
    ("169.254.169.254/32", "cloud metadata (169.254.169.254)"),
    ("169.254.0.0/16", "link-local (169.254.0.0/16)"),
    ("172.16.0.0/12", "private (172.16.0.0/12)"),
    ("192.0.0.0/24", "IETF protocol assignments (192.0.0.0/24)"),
    ("192.0.2.0/24", "documentation (192.0.2.0/24)"),
    ("192.88.99.0/24", "6to4 relay anycast (192.88.99.0/24)"),
    ("192.168.0.0/16", "private (192.168.0.0/16)"),
    ("198.18.0.0/15", "benchmarking (198.18.0.0/15)"),
    ("198.51.100.0/24", "documentation (198.51.100.0/24)"),
    ("203.0.113.0/24", "documentation (203.0.113.0/24)"),
    ("224.0.0.0/4", "multicast (224.0.0.0/4)"),
    ("240.0.0.0/4", "reserved (240.0.0.0/4)"),
];

/// IPv6 ranges refused outright (the forms embedding an IPv4 address are judged by that address;
/// see [`embedded_v4`]).
const BLOCKED_V6: &[(&str, &str)] = &[
    ("::/128", "unspecified (::)"),
    ("::1/128", "loopback (::1)"),
    ("100::/64", "discard-only (100::/64)"),
    ("64:ff9b:1::/48", "local-use NAT64 (64:ff9b:1::/48)"),
    ("2001::/23", "IETF protocol assignments (2001::/23)"),
    ("2001:db8::/32", "documentation (2001:db8::/32)"),
    ("3fff::/20", "documentation (3fff::/20)"),
    ("fc00::/7", "unique local (fc00::/7)"),
    ("fe80::/10", "link-local (fe80::/10)"),
    ("fec0::/10", "site-local (fec0::/10)"),
    ("ff00::/8", "multicast (ff00::/8)"),
];

/// Why `ip` may not be reached, or `None` when it may. `allowed` are the operator's ranges.
pub fn refusal(ip: IpAddr, allowed: &[IpNet]) -> Option<String> {
    if allowed.iter().any(|range| range.contains(&ip)) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) => v4_refusal(v4).map(|why| format!("{ip} is {why}")),
        IpAddr::V6(v6) => v6_refusal(v6, allowed).map(|why| format!("{ip} is {why}")),
    }
}

fn v4_refusal(ip: Ipv4Addr) -> Option<String> {
    BLOCKED_V4
        .iter()
        .find(|(range, _)| parse_v4(range).contains(&ip))
        .map(|(_, name)| (*name).to_owned())
}

fn v6_refusal(ip: Ipv6Addr, allowed: &[IpNet]) -> Option<String> {
    if let Some((form, v4)) = embedded_v4(ip) {
        if allowed.iter().any(|range| range.contains(&IpAddr::V4(v4))) {
            return None;
        }
        return v4_refusal(v4).map(|why| format!("the {form} form of {v4}, which is {why}"));
    }
    if let Some((_, name)) = BLOCKED_V6.iter().find(|(range, _)| parse_v6(range).contains(&ip)) {
        return Some((*name).to_owned());
    }
    // Everything outside 2000::/3 is unassigned or special-purpose.
    if !parse_v6("2000::/3").contains(&ip) {
        return Some("outside global unicast (2000::/3)".to_owned());
    }
    None
}

/// The IPv4 address an IPv6 address stands for, and the name of the form: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated), NAT64 (`64:ff9b::a.b.c.d`)
/// and 6to4 (`2002:aabb:ccdd::/48`). A request to any of these may end at that IPv4 address.
pub fn embedded_v4(ip: Ipv6Addr) -> Option<(&'static str, Ipv4Addr)> {
    let o = ip.octets();
    let last = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    let seg = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(("IPv4-mapped", v4));
    }
    if seg[..6] == [0; 6] && u32::from(last) > 1 {
        return Some(("IPv4-compatible", last));
    }
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(("NAT64", last));
    }
    if seg[0] == 0x2002 {
        return Some(("6to4", Ipv4Addr::new(o[2], o[3], o[4], o[5])));
    }
    None
}

fn parse_v4(range: &str) -> Ipv4Net {
    // The table is constant and covered by a test that parses every entry.
    range.parse().unwrap_or_else(|_| Ipv4Net::default())
}

fn parse_v6(range: &str) -> Ipv6Net {
    range.parse().unwrap_or_else(|_| Ipv6Net::default())
}

/// Whether `url` names a place requests may go, before any address is known: the scheme
/// (`https`, or `http` when `allow_http`), a host, and no user name or password.
pub fn check_url_shape(url: &url::Url, allow_http: bool) -> Result<(), String> {
    match url.scheme() {
        "https" => {}
        "http" if allow_http => {}
        "http" => return Err("http URLs are not allowed (use https)".to_owned()),
        other => return Err(format!("the {other:?} scheme is not allowed (use https)")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("URLs with a user name or password are not allowed".to_owned());
    }
    if url.host().is_none() {
        return Err("the URL has no host".to_owned());
    }
    Ok(())
}

/// The address literal in `url`'s host, if it is one.
pub fn literal_ip(url: &url::Url) -> Option<IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(_) => None,
    }
}

#[cfg(test)]
pub(super) fn all_ranges() -> impl Iterator<Item = &'static str> {
    BLOCKED_V4
        .iter()
        .chain(BLOCKED_V6.iter())
        .map(|(range, _)| *range)
}
