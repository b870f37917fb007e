//! Mutual TLS between services (ADR 0008): every service port of the distributed topology
//! speaks TLS 1.3 and admits only peers presenting a certificate of the platform's CA; the
//! certificate's DNS name `<service>.mercato.internal` is the caller's identity, and the
//! [`CALLERS`] table says which services may call which.
//!
//! - [`ServerTls`]: the acceptor of a service port, re-reading its files when they change.
//! - [`client_tls`]: what a process presents when it calls another service; [`Dialer`] the same
//!   for connections that are not gRPC (the WebSocket relay to realtime replicas).
//! - [`PeerServices`]: who is calling, read from the verified client certificate.
//! - [`authorize`]: the gRPC middleware refusing callers the table does not admit.
//! - [`issue`]: a development CA and per-service certificates (`mercato certs init`, tests).

mod callers;
mod dial;
mod identity;
pub mod issue;
mod reload;

pub use callers::{CALLERS, authorize, authorize_http, may_call};
pub use dial::{Dialer, ServiceStream};
pub use identity::{DOMAIN, PeerServices, SERVICES, dns_name};
pub use reload::{RELOAD_INTERVAL, ServerTls};

use crate::config::TlsFiles;
use tonic::transport::{Certificate, ClientTlsConfig, Identity};

/// What this process presents when it calls `callee`: its own certificate, the platform's CA as
/// the only trust anchor, and `callee`'s DNS name as the name the callee's certificate must carry
/// (whatever address the endpoint URL names). Read once, when the client is made.
pub fn client_tls(files: &TlsFiles, callee: &str) -> anyhow::Result<ClientTlsConfig> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
    };
    Ok(ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(&files.ca)?))
        .identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?))
        .domain_name(dns_name(callee)))
}
