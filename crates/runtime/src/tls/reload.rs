//! Re-reading this process's TLS files when they change, for the server side of its port and
//! the client side of its calls alike (cert-manager renews certificates in the mounted Secret; a
//! development cluster re-runs `certs init`), and the readers of those PEM files.

use crate::config::TlsFiles;
use crate::shutdown::Shutdown;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};
use tokio_rustls::rustls::RootCertStore;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// How often the files are looked at: a renewed certificate is used within this.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(5);

/// What is built from the TLS files (a server configuration, a client identity), rebuilt and
/// swapped whole when one of them changes; each handshake takes the value current at that moment.
pub(crate) struct Reloading<T> {
    current: Arc<RwLock<Arc<T>>>,
    build: fn(&TlsFiles) -> anyhow::Result<T>,
    /// Which side of the connections it serves (`server`, `client`), for the log lines.
    side: &'static str,
}

impl<T> Clone for Reloading<T> {
    fn clone(&self) -> Self {
        Reloading {
            current: Arc::clone(&self.current),
            build: self.build,
            side: self.side,
        }
    }
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Builds the first value; fails when any file is missing or invalid (a process does not
    /// start on a broken identity).
    pub(crate) fn load(
        files: &TlsFiles,
        side: &'static str,
        build: fn(&TlsFiles) -> anyhow::Result<T>,
    ) -> anyhow::Result<Self> {
        Ok(Reloading {
            current: Arc::new(RwLock::new(Arc::new(build(files)?))),
            build,
            side,
        })
    }

    /// The value built from the files as they were at the last change that loaded.
    pub(crate) fn current(&self) -> Arc<T> {
        Arc::clone(&self.current.read().expect("not poisoned"))
    }

    /// Looks at the files every `every` until `stop`, and swaps in a new value when one of them
    /// changed. A change that does not load (a half-written renewal) keeps the old value, is
    /// logged, and is tried again at the next look.
    pub(crate) fn watch(
        &self,
        files: TlsFiles,
        every: Duration,
        stop: Shutdown,
    ) -> tokio::task::JoinHandle<()> {
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
                let side = this.side;
                match (this.build)(&files) {
                    Ok(value) => {
                        *this.current.write().expect("not poisoned") = Arc::new(value);
                        seen = now;
                        tracing::info!(side, cert = %files.cert.display(), "reloaded the TLS certificate");
                    }
                    Err(e) => tracing::warn!(side, "the changed TLS files do not load yet: {e:#}"),
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
