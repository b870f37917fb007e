//! The caller's side of mutual TLS: the certificate this process presents and the CA it checks
//! callees against, re-read when their files change. Every connection it opens (gRPC channels,
//! the WebSocket relay's dialer) asks for them at its handshake, so a renewal reaches live
//! clients without rebuilding them.

use super::reload::{Reloading, chain, key, roots};
use crate::config::TlsFiles;
use crate::shutdown::Shutdown;
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::client::{ResolvesClientCert, Resumption, WebPkiServerVerifier};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{
    ClientConfig, DigitallySignedStruct, Error, SignatureScheme, crypto::ring, version::TLS13,
};

/// This process's identity as a caller, shared by all of its clients and swapped whole when the
/// files change (see [`ClientTls::watch`]).
#[derive(Clone)]
pub struct ClientTls {
    identity: Reloading<Identity>,
}

/// One loaded version of the files.
struct Identity {
    /// The certificate chain with its key (checked to match: a renewal whose key is not written
    /// yet does not load).
    certified: Arc<CertifiedKey>,
    /// Checks a callee's certificate against the CA file.
    callees: Arc<WebPkiServerVerifier>,
}

impl ClientTls {
    /// Reads the files; fails when any is missing or invalid (a process does not start on a
    /// broken identity).
    pub fn load(files: &TlsFiles) -> anyhow::Result<Self> {
        Ok(ClientTls {
            identity: Reloading::load(files, "client", identity)?,
        })
    }

    /// Looks at the files every `every` until `stop`, and swaps in the new identity when one of
    /// them changed (a change that does not load yet keeps the old one, with a warning).
    pub fn watch(&self, files: TlsFiles, every: Duration, stop: Shutdown) -> tokio::task::JoinHandle<()> {
        self.identity.watch(files, every, stop)
    }

    /// TLS 1.3 offering `alpn`, presenting the certificate current at each handshake and checking
    /// the callee against the CA current then.
    pub(crate) fn config(&self, alpn: &[u8]) -> anyhow::Result<Arc<ClientConfig>> {
        let current = Arc::new(Current(self.identity.clone()));
        let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_protocol_versions(&[&TLS13])?
            .dangerous()
            .with_custom_certificate_verifier(Arc::clone(&current) as Arc<dyn ServerCertVerifier>)
            .with_client_cert_resolver(current);
        config.alpn_protocols = vec![alpn.to_vec()];
        // A resumed session would carry the identity of the handshake that made its ticket, so
        // a renewal would not be seen by the callee; connections are long-lived, so the full
        // handshake costs little.
        config.resumption = Resumption::disabled();
        Ok(Arc::new(config))
    }
}

fn identity(files: &TlsFiles) -> anyhow::Result<Identity> {
    let provider = Arc::new(ring::default_provider());
    let certified = CertifiedKey::from_der(chain(&files.cert)?, key(&files.key)?, &provider)
        .map_err(|e| anyhow::anyhow!("{} and {}: {e}", files.cert.display(), files.key.display()))?;
    let callees =
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots(&files.ca)?), provider).build()?;
    Ok(Identity {
        certified: Arc::new(certified),
        callees,
    })
}

/// What rustls asks at each handshake, answered from the identity current then: the certificate
/// to present, and whether the callee's is valid. Only the verifier is swapped, never the checks:
/// it is rustls's own WebPKI verifier built from the CA file.
struct Current(Reloading<Identity>);

impl std::fmt::Debug for Current {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the current client identity")
    }
}

impl ResolvesClientCert for Current {
    fn resolve(&self, _root_hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.current().certified))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl ServerCertVerifier for Current {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.0.current().callees.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0
            .current()
            .callees
            .verify_tls12_signature(message, cert, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.0
            .current()
            .callees
            .verify_tls13_signature(message, cert, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.current().callees.supported_verify_schemes()
    }
}
