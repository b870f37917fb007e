//! The TLS side of a service port: a rustls server configuration requiring a client certificate
//! of the platform's CA, rebuilt whenever the CA, certificate or key file changes.

use super::reload::{Reloading, chain, key, roots};
use crate::config::TlsFiles;
use crate::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{ServerConfig, crypto::ring, version::TLS13};

/// The current server configuration of a port, swapped whole when the files change; each new
/// connection is accepted with the configuration current at that moment.
#[derive(Clone)]
pub struct ServerTls {
    config: Reloading<ServerConfig>,
}

impl ServerTls {
    /// Reads the files; fails when any is missing or invalid (a process does not start on a
    /// broken identity).
    pub fn load(files: &TlsFiles) -> anyhow::Result<Self> {
        Ok(ServerTls {
            config: Reloading::load(files, "server", server_config)?,
        })
    }

    /// An acceptor with the configuration current now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.current())
    }

    /// Looks at the files every `every` until `stop`, and swaps in a new configuration when one
    /// of them changed (a change that does not load yet keeps the old one).
    pub fn watch(&self, files: TlsFiles, every: Duration, stop: Shutdown) -> tokio::task::JoinHandle<()> {
        self.config.watch(files, every, stop)
    }
}

/// TLS 1.3 only, ALPN h2 (gRPC) and http/1.1 (probes, WebSockets), a client certificate
/// required and verified against the CA file alone.
fn server_config(files: &TlsFiles) -> anyhow::Result<ServerConfig> {
    let provider = Arc::new(ring::default_provider());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots(&files.ca)?), Arc::clone(&provider))
            .build()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain(&files.cert)?, key(&files.key)?)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}
