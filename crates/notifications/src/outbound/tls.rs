//! TLS for `https` endpoints: rustls with the ring provider, trusting the system's root
//! certificates (loaded once, on the first `https` request, so `http`-only setups never need
//! them), HTTP/1.1 offered by ALPN, and the URL's host name as SNI.

use super::OutboundError;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// The client configuration, or why there is none (no root certificate could be loaded).
#[derive(Default)]
pub struct Tls {
    config: OnceLock<Result<Arc<ClientConfig>, String>>,
}

impl Tls {
    /// Wraps `tcp` in TLS for `host` (a name, or an address literal).
    pub async fn connect(&self, host: &str, tcp: TcpStream) -> Result<TlsStream<TcpStream>, OutboundError> {
        let config = self
            .config
            .get_or_init(client_config)
            .clone()
            .map_err(OutboundError::failed)?;
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| OutboundError::refused(format!("{host:?} is not a valid TLS name: {e}")))?;
        TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| OutboundError::failed(format!("TLS with {host} failed: {e}")))
    }
}

fn client_config() -> Result<Arc<ClientConfig>, String> {
    let roots = native_roots()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn native_roots() -> Result<RootCertStore, String> {
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(loaded.certs);
    if added == 0 {
        let errors: Vec<String> = loaded.errors.iter().map(ToString::to_string).collect();
        tracing::error!(
            ?errors,
            "no root certificate could be loaded; https webhooks fail"
        );
        return Err(format!(
            "no root certificate could be loaded from the system ({})",
            errors.join("; ")
        ));
    }
    Ok(roots)
}
