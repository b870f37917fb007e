//! Every refused range, the forms that embed a refused IPv4 address, and what stays allowed.

use super::super::policy::{self, all_ranges, refusal};
use super::super::{Outbound, OutboundError};
use ipnet::IpNet;
use mercato_runtime::config::WebhookSettings;
use std::net::IpAddr;

const REFUSED: &[&str] = &[
    "127.0.0.1",
    "127.255.255.254",
    "::1",
    "0.0.0.0",
    "::",
    "0.1.2.3",
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "100.64.0.1",
    "100.127.255.255",
    "169.254.169.254",
    "169.254.0.1",
    "fe80::1",
    "febf::1",
    "fc00::1",
    "fd12:3456::1",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.10",
    "198.51.100.7",
    "203.0.113.99",
    "2001:db8::1",
    "198.18.0.1",
    "198.19.255.255",
    "192.0.0.8",
    "fec0::1",
    "100::1",
    // IPv6 forms that end at a refused IPv4 address.
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "::192.168.0.1",
    "64:ff9b::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:0001::1",
    "2002:c0a8:0101::",
    "2002:a9fe:a9fe::1",
    // Not global unicast.
    "4000::1",
];

const PUBLIC: &[&str] = &[
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "172.32.0.1",
    "100.128.0.1",
    "192.169.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001::1",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:0808:0808::1",
];

fn ip(s: &str) -> IpAddr {
    s.parse().expect("a test address")
}

#[test]
fn every_range_in_the_tables_parses() {
    for range in all_ranges() {
        assert!(range.parse::<IpNet>().is_ok(), "{range}");
    }
}

#[test]
fn every_non_public_address_is_refused_with_its_range_named() {
    for addr in REFUSED {
        let why = refusal(ip(addr), &[]);
        assert!(why.is_some(), "{addr} should be refused");
        let why = why.unwrap_or_default();
        assert!(why.starts_with(&ip(addr).to_string()), "{addr}: {why}");
    }
    let why = refusal(ip("169.254.169.254"), &[]).unwrap_or_default();
    assert!(why.contains("metadata"), "{why}");
    let why = refusal(ip("::ffff:127.0.0.1"), &[]).unwrap_or_default();
    assert!(why.contains("IPv4-mapped") && why.contains("loopback"), "{why}");
}

#[test]
fn public_addresses_and_their_embedding_forms_are_allowed() {
    for addr in PUBLIC {
        assert_eq!(refusal(ip(addr), &[]), None, "{addr} should be allowed");
    }
}

#[test]
fn an_allowed_range_lets_its_addresses_through_and_only_those() {
    let allowed: Vec<IpNet> = vec!["127.0.0.0/8".parse().expect("range")];
    assert_eq!(refusal(ip("127.0.0.1"), &allowed), None);
    assert_eq!(refusal(ip("::ffff:127.0.0.1"), &allowed), None);
    assert!(refusal(ip("10.0.0.1"), &allowed).is_some());
    assert!(refusal(ip("::1"), &allowed).is_some());
}

fn outbound(allow_http: bool, allowed: &[&str]) -> Outbound {
    let settings = WebhookSettings {
        allow_http,
        allowed_ranges: allowed.iter().map(|r| r.parse().expect("range")).collect(),
        ..WebhookSettings::default()
    };
    Outbound::new(&settings).expect("outbound")
}

fn check(outbound: &Outbound, url: &str) -> Result<(), OutboundError> {
    outbound.check_url(&url.parse().expect("url"))
}

#[test]
fn only_https_is_accepted_unless_http_is_allowed() {
    let strict = outbound(false, &[]);
    assert!(check(&strict, "https://example.com/hook").is_ok());
    assert!(matches!(
        check(&strict, "http://example.com/hook"),
        Err(OutboundError::Refused(_))
    ));
    for url in [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
    ] {
        assert!(
            matches!(check(&strict, url), Err(OutboundError::Refused(_))),
            "{url}"
        );
    }
    assert!(check(&outbound(true, &[]), "http://example.com:8080/hook").is_ok());
}

#[test]
fn urls_with_credentials_are_refused() {
    let strict = outbound(false, &[]);
    for url in [
        "https://user@example.com/",
        "https://user:pw@example.com/",
        "https://:pw@example.com/",
    ] {
        assert!(
            matches!(check(&strict, url), Err(OutboundError::Refused(_))),
            "{url}"
        );
    }
}

#[test]
fn address_literals_are_checked_when_registering() {
    let strict = outbound(false, &[]);
    for url in [
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:10.0.0.1]/",
        "https://0x7f000001/",
        "https://2130706433/",
    ] {
        assert!(
            matches!(check(&strict, url), Err(OutboundError::Refused(_))),
            "{url}"
        );
    }
    assert!(check(&strict, "https://8.8.8.8:8443/").is_ok());
    assert!(check(&outbound(false, &["127.0.0.1/32"]), "https://127.0.0.1:9/").is_ok());
}

#[test]
fn the_embedded_address_of_each_ipv6_form_is_found() {
    let cases = [
        ("::ffff:1.2.3.4", "IPv4-mapped"),
        ("::1.2.3.4", "IPv4-compatible"),
        ("64:ff9b::1.2.3.4", "NAT64"),
        ("2002:0102:0304::", "6to4"),
    ];
    for (addr, form) in cases {
        let IpAddr::V6(v6) = ip(addr) else {
            panic!("{addr} is IPv6")
        };
        assert_eq!(
            policy::embedded_v4(v6),
            Some((form, "1.2.3.4".parse().expect("v4"))),
            "{addr}"
        );
    }
}
