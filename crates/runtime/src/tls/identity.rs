//! Who a peer is: the services whose DNS name (`<service>.mercato.internal`) its verified
//! certificate carries.

use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// The private DNS domain service identities live in; never resolved, only named in certificates.
pub const DOMAIN: &str = "mercato.internal";

/// Every service that can hold a certificate, in the order roles are listed.
pub const SERVICES: [&str; 9] = [
    "gateway",
    "identity",
    "catalog",
    "inventory",
    "payments",
    "orders",
    "realtime",
    "analytics",
    "notifications",
];

/// The DNS name a service's certificate carries, e.g. `payments.mercato.internal`.
pub fn dns_name(service: &str) -> String {
    format!("{service}.{DOMAIN}")
}

/// The services a verified peer certificate speaks for (a process running several roles has one
/// name per role); empty when it names none, or names every one through a wildcard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerServices(Vec<&'static str>);

impl PeerServices {
    /// Reads the end-entity certificate of a chain the TLS handshake has already verified.
    pub fn of(certificate: &CertificateDer<'_>) -> Self {
        let Ok(cert) = webpki::EndEntityCert::try_from(certificate) else {
            return PeerServices::default();
        };
        let valid_for = |name: String| {
            ServerName::try_from(name).is_ok_and(|n| cert.verify_is_valid_for_subject_name(&n).is_ok())
        };
        // A wildcard (`*.mercato.internal`) would match every service: such a certificate is
        // nobody, not everybody.
        if valid_for(dns_name("no-such-service")) {
            return PeerServices::default();
        }
        PeerServices(SERVICES.into_iter().filter(|s| valid_for(dns_name(s))).collect())
    }

    /// A peer speaking for exactly these services (tests, and callers already known).
    pub fn named(services: &[&'static str]) -> Self {
        PeerServices(services.to_vec())
    }

    pub fn names(&self) -> &[&'static str] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for PeerServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return f.write_str("a peer naming no service");
        }
        f.write_str(&self.0.join("+"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::issue::DevCa;
    use tokio_rustls::rustls::pki_types::pem::PemObject;

    fn peer(ca: &DevCa, names: &[&str]) -> PeerServices {
        let issued = ca.issue(names).unwrap();
        PeerServices::of(&CertificateDer::from_pem_slice(issued.cert_pem.as_bytes()).unwrap())
    }

    #[test]
    fn a_certificate_speaks_for_the_services_it_names() {
        let ca = DevCa::generate("test").unwrap();
        assert_eq!(peer(&ca, &["orders"]), PeerServices::named(&["orders"]));
        assert_eq!(
            peer(&ca, &["payments", "orders"]),
            PeerServices::named(&["payments", "orders"])
        );
    }

    #[test]
    fn a_wildcard_or_a_foreign_name_is_nobody() {
        let ca = DevCa::generate("test").unwrap();
        assert!(peer(&ca, &["*"]).is_empty());
        assert!(peer(&ca, &["shop.example"]).is_empty());
    }
}
