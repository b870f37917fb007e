//! Connections to another service's port: plain TCP, or under mutual TLS this process's current
//! identity ([`ClientTls`]) and the callee's name checked. The gateway's WebSocket relay to
//! realtime replicas opens them directly; gRPC channels open theirs through one (HTTP/2).

use super::{ClientTls, dns_name};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;

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

    /// Mutual TLS to `callee` as `identity`, for HTTP/1.1 (WebSocket upgrades).
    pub fn tls(identity: &ClientTls, callee: &str) -> anyhow::Result<Self> {
        Self::speaking(identity, callee, b"http/1.1")
    }

    /// Mutual TLS to `callee` as `identity`, for gRPC (HTTP/2): the connector of a channel.
    pub fn grpc(identity: &ClientTls, callee: &str) -> anyhow::Result<Self> {
        Self::speaking(identity, callee, b"h2")
    }

    fn speaking(identity: &ClientTls, callee: &str, alpn: &[u8]) -> anyhow::Result<Self> {
        let name = ServerName::try_from(dns_name(callee))?;
        Ok(Dialer {
            tls: Some((TlsConnector::from(identity.config(alpn)?), name)),
        })
    }

    /// Connects to the host and port of `url`; under mutual TLS `url` must be `https://` or
    /// `wss://`, so that nothing leaves in the clear by a mistyped URL.
    pub async fn connect(&self, url: &str) -> io::Result<ServiceStream> {
        let uri: http::Uri = url
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: not a URL")))?;
        self.connect_uri(&uri).await
    }

    /// [`Dialer::connect`] to a parsed URL.
    pub async fn connect_uri(&self, uri: &http::Uri) -> io::Result<ServiceStream> {
        let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{uri}: {what}"));
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
