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
use std::sync::{Arc, Mutex, OnceLock};
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

/// Idle connections kept in all; beyond, the longest idle is closed.
const MAX_IDLE: usize = 2048;

/// Idle connections per origin, swept every [`IDLE_FOR`] of closed and expired ones (so an
/// origin no longer used, e.g. a deleted endpoint's, keeps nothing open).
pub struct Pool {
    idle: Mutex<Idle>,
    max_idle_per_origin: usize,
    /// Set once the sweeper runs (started on first use, inside the runtime).
    sweeper: OnceLock<()>,
}

#[derive(Default)]
struct Idle {
    by_origin: HashMap<Origin, Vec<Conn>>,
    count: usize,
}

impl Pool {
    pub fn new(max_idle_per_origin: usize) -> Arc<Pool> {
        Arc::new(Pool {
            idle: Mutex::new(Idle::default()),
            max_idle_per_origin,
            sweeper: OnceLock::new(),
        })
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pop(&self, origin: &Origin) -> Option<Conn> {
        let mut idle = self.lock();
        let conns = idle.by_origin.get_mut(origin)?;
        let conn = conns.pop();
        if conns.is_empty() {
            idle.by_origin.remove(origin);
        }
        if conn.is_some() {
            idle.count -= 1;
        }
        conn
    }

    /// Keeps `conn` for the next request to `origin` (its response was read to the end).
    pub fn put(self: &Arc<Self>, origin: &Origin, mut conn: Conn) {
        if conn.sender.is_closed() {
            return;
        }
        self.sweeper.get_or_init(|| self.start_sweeper());
        conn.idle_since = Instant::now();
        let evicted;
        {
            let mut idle = self.lock();
            let conns = idle.by_origin.entry(origin.clone()).or_default();
            if conns.len() >= self.max_idle_per_origin {
                return;
            }
            conns.push(conn);
            idle.count += 1;
            evicted = (idle.count > MAX_IDLE).then(|| idle.evict_oldest()).flatten();
        }
        drop(evicted);
    }

    fn start_sweeper(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pool = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut every = tokio::time::interval(IDLE_FOR);
            every.tick().await;
            loop {
                every.tick().await;
                match pool.upgrade() {
                    Some(pool) => pool.sweep(),
                    None => return,
                }
            }
        });
    }

    /// Closes idle connections the peer closed or that idled longer than [`IDLE_FOR`].
    pub fn sweep(&self) {
        let mut gone = Vec::new();
        {
            let mut idle = self.lock();
            for conns in idle.by_origin.values_mut() {
                let (keep, drop): (Vec<Conn>, Vec<Conn>) = conns
                    .drain(..)
                    .partition(|c| !c.sender.is_closed() && c.idle_since.elapsed() <= IDLE_FOR);
                *conns = keep;
                gone.extend(drop);
            }
            idle.by_origin.retain(|_, conns| !conns.is_empty());
            idle.count = idle.by_origin.values().map(Vec::len).sum();
        }
        drop(gone);
    }

    /// Idle connections kept (tests).
    #[cfg(test)]
    pub fn idle_count(&self) -> usize {
        self.lock().count
    }
}

impl Idle {
    /// Removes the connection idle longest (each origin's first is its oldest).
    fn evict_oldest(&mut self) -> Option<Conn> {
        let origin = self
            .by_origin
            .iter()
            .filter_map(|(origin, conns)| conns.first().map(|c| (origin, c.idle_since)))
            .min_by_key(|(_, since)| *since)
            .map(|(origin, _)| origin.clone())?;
        let conns = self.by_origin.get_mut(&origin)?;
        let conn = conns.remove(0);
        if conns.is_empty() {
            self.by_origin.remove(&origin);
        }
        self.count -= 1;
        Some(conn)
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
