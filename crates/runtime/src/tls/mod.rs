//! Mutual TLS between services (ADR 0008): every service port of the distributed topology
//! speaks TLS 1.3 and admits only peers presenting a certificate of the platform's CA; the
//! certificate's DNS name `<service>.mercato.internal` is the caller's identity, and the
//! [`CALLERS`] table says which services may call which.
//!
//! - [`ServerTls`]: the acceptor of a service port; [`ClientTls`]: what a process presents when
//!   it calls another service. Both re-read their files when they change (`reload`).
//! - [`Dialer`]: connections to another service's port under that identity, for gRPC channels
//!   and for what is not gRPC (the WebSocket relay to realtime replicas).
//! - [`PeerServices`]: who is calling, read from the verified client certificate.
//! - [`authorize`]: the gRPC middleware refusing callers the table does not admit.
//! - [`issue`]: a development CA and per-service certificates (`mercato certs init`, tests).

mod callers;
mod client;
mod dial;
mod identity;
pub mod issue;
mod reload;
mod server;

pub use callers::{CALLERS, authorize, authorize_http, may_call};
pub use client::ClientTls;
pub use dial::{Dialer, ServiceStream};
pub use identity::{DOMAIN, PeerServices, SERVICES, dns_name};
pub use reload::RELOAD_INTERVAL;
pub use server::ServerTls;
