//! Keep-alive HTTP/1.1 connections: opening one (resolve, check, connect, TLS, handshake under
//! the connect timeout) and keeping idle ones per origin for the next request.
//!
//! An idle connection was checked when it was opened; reusing it resolves nothing, so the
//! address it reaches is the checked one. A connection whose response was not read to its end
//! (capped, timed out, failed) is never put back: dropping it stops its task and closes it.

use super::OutboundError;
use super::connect::{self, Origin};
use super::tls::Tls;
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

/// An idle connection older than this is closed rather than reused (receivers commonly close
/// theirs after a minute or so, and a request on a connection they are closing fails).
const IDLE_FOR: Duration = Duration::from_secs(50);

/// One HTTP/1.1 connection: the request half, and the task driving the socket (aborted when
/// the connection is dropped).
pub struct Conn {
    pub sender: http1::SendRequest<Full<Bytes>>,
    task: JoinHandle<()>,
    pub addr: SocketAddr,
    idle_since: Instant,
    /// Whether this connection served a request before (a failure on it may be the receiver
    /// having closed it while idle, worth one retry on a new connection).
    pub reused: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Idle connections per origin.
pub struct Pool {
    idle: Mutex<HashMap<Origin, Vec<Conn>>>,
    max_idle_per_origin: usize,
}

impl Pool {
    pub fn new(max_idle_per_origin: usize) -> Pool {
        Pool {
            idle: Mutex::new(HashMap::new()),
            max_idle_per_origin,
        }
    }

    /// An idle connection to `origin` still open and ready, if any (newest first).
    pub async fn take(&self, origin: &Origin) -> Option<Conn> {
        loop {
            let mut conn = self.pop(origin)?;
            if conn.sender.is_closed() || conn.idle_since.elapsed() > IDLE_FOR {
                continue;
            }
            if conn.sender.ready().await.is_ok() {
                conn.reused = true;
                return Some(conn);
            }
        }
    }

    fn pop(&self, origin: &Origin) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let conns = idle.get_mut(origin)?;
        let conn = conns.pop();
        if conns.is_empty() {
            idle.remove(origin);
        }
        conn
    }

    /// Keeps `conn` for the next request to `origin` (its response was read to the end).
    pub fn put(&self, origin: &Origin, mut conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        conn.idle_since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let conns = idle.entry(origin.clone()).or_default();
        if conns.len() < self.max_idle_per_origin {
            conns.push(conn);
        }
    }

    /// Idle connections kept (tests).
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.values().map(Vec::len).sum()
    }
}

/// Opens a new connection to `origin`: every resolved address checked, the first checked one
/// that answers connected to, TLS when `https`, all within `connect_timeout`.
pub async fn open(
    origin: &Origin,
    allowed: &[IpNet],
    tls: &Tls,
    connect_timeout: Duration,
) -> Result<Conn, OutboundError> {
    let opening = async {
        let addrs = connect::resolve_checked(origin, allowed).await?;
        let tcp = connect::connect_tcp(origin, &addrs).await?;
        let addr = tcp
            .peer_addr()
            .map_err(|e| OutboundError::failed(format!("connecting to {} failed: {e}", origin.host)))?;
        if origin.https {
            let stream = tls.connect(&origin.host, tcp).await?;
            handshake(origin, stream, addr).await
        } else {
            handshake(origin, tcp, addr).await
        }
    };
    tokio::time::timeout(connect_timeout, opening)
        .await
        .map_err(|_| {
            OutboundError::failed(format!(
                "connecting to {}:{} took longer than {connect_timeout:?}",
                origin.host, origin.port
            ))
        })?
}

async fn handshake<S>(origin: &Origin, stream: S, addr: SocketAddr) -> Result<Conn, OutboundError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|e| OutboundError::failed(format!("HTTP with {} failed: {e}", origin.host)))?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "outbound connection ended");
        }
    });
    Ok(Conn {
        sender,
        task,
        addr,
        idle_since: Instant::now(),
        reused: false,
    })
}
