//! The TLS side of a service port: a rustls server configuration requiring a client certificate
//! of the platform's CA, rebuilt whenever the CA, certificate or key file changes (cert-manager
//! renews certificates in the mounted Secret; a development cluster re-runs `certs init`).

use crate::config::TlsFiles;
use crate::shutdown::Shutdown;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto::ring, version::TLS13};

/// How often the files are looked at: a renewed certificate is served within this.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// The current server configuration of a port, swapped whole when the files change; each new
/// connection is accepted with the configuration current at that moment.
#[derive(Clone)]
pub struct ServerTls {
    current: Arc<RwLock<Arc<ServerConfig>>>,
}

impl ServerTls {
    /// Reads the files; fails when any is missing or invalid (a process does not start on a
    /// broken identity).
    pub fn load(files: &TlsFiles) -> anyhow::Result<Self> {
        Ok(ServerTls {
            current: Arc::new(RwLock::new(Arc::new(server_config(files)?))),
        })
    }

    /// An acceptor with the configuration current now.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.current.read().expect("not poisoned")))
    }

    /// Looks at the files every `every` until `stop`, and swaps in a new configuration when one
    /// of them changed. A change that does not load (a half-written renewal) keeps the old
    /// configuration and is tried again at the next look.
    pub fn watch(&self, files: TlsFiles, every: Duration, stop: Shutdown) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut seen = stamps(&files);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(every) => {}
                    () = stop.cancelled() => return,
                }
                let now = stamps(&files);
                if now == seen {
                    continue;
                }
                match server_config(&files) {
                    Ok(config) => {
                        *this.current.write().expect("not poisoned") = Arc::new(config);
                        seen = now;
                        tracing::info!(cert = %files.cert.display(), "reloaded the TLS certificate");
                    }
                    Err(e) => tracing::warn!("the changed TLS files do not load yet: {e:#}"),
                }
            }
        })
    }
}

/// Modification time and length of each file, the change a renewal makes.
fn stamps(files: &TlsFiles) -> [Option<(SystemTime, u64)>; 3] {
    [&files.ca, &files.cert, &files.key].map(|path| {
        let meta = std::fs::metadata(path).ok()?;
        Some((meta.modified().ok()?, meta.len()))
    })
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

/// The trust anchors: every certificate of the CA file (two during a CA rotation).
pub(crate) fn roots(path: &Path) -> anyhow::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for cert in chain(path)? {
        roots.add(cert)?;
    }
    Ok(roots)
}

pub(crate) fn chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| anyhow::anyhow!("reading certificates from {}: {e}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
    Ok(certs)
}

pub(crate) fn key(path: &Path) -> anyhow::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| anyhow::anyhow!("reading the key {}: {e}", path.display()))
}
