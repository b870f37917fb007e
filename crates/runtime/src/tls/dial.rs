//! Connections to another service's port for what is not gRPC (the gateway's WebSocket relay to
//! realtime replicas): plain TCP, or under mutual TLS the same identity and checks as gRPC calls.

use super::dns_name;
use super::reload::{chain, key, roots};
use crate::config::TlsFiles;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, crypto::ring, version::TLS13};

/// Opens connections to one service's replicas: plain, or presenting this process's
/// certificate and verifying the callee's name under mutual TLS.
#[derive(Clone, Default)]
pub struct Dialer {
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Dialer {
    /// Plain TCP (no `services.tls`).
    pub fn plain() -> Self {
        Dialer::default()
    }

    /// Mutual TLS to `callee` with the identity in `files` (HTTP/1.1, for WebSocket upgrades).
    pub fn tls(files: &TlsFiles, callee: &str) -> anyhow::Result<Self> {
        let mut config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_protocol_versions(&[&TLS13])?
            .with_root_certificates(roots(&files.ca)?)
            .with_client_auth_cert(chain(&files.cert)?, key(&files.key)?)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let name = ServerName::try_from(dns_name(callee))?;
        Ok(Dialer {
            tls: Some((TlsConnector::from(Arc::new(config)), name)),
        })
    }

    /// Connects to the host and port of `url`; under mutual TLS `url` must be `https://` or
    /// `wss://`, so that nothing leaves in the clear by a mistyped URL.
    pub async fn connect(&self, url: &str) -> io::Result<ServiceStream> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {what}"));
        let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let secure = matches!(uri.scheme_str(), Some("https" | "wss"));
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let tcp = TcpStream::connect((host.trim_matches(['[', ']']), port)).await?;
        tcp.set_nodelay(true)?;
        match (&self.tls, secure) {
            (None, _) => Ok(ServiceStream::Plain(tcp)),
            (Some(_), false) => Err(invalid("with services.tls every endpoint must be https://")),
            (Some((connector, name)), true) => {
                let stream = connector.connect(name.clone(), tcp).await?;
                Ok(ServiceStream::Tls(Box::new(stream)))
            }
        }
    }
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.tls {
            None => f.write_str("Dialer(plain)"),
            Some((_, name)) => write!(f, "Dialer(mutual TLS to {name:?})"),
        }
    }
}

/// A connection opened by a [`Dialer`].
pub enum ServiceStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ServiceStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServiceStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ServiceStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ServiceStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ServiceStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ServiceStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServiceStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ServiceStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ServiceStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ServiceStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
