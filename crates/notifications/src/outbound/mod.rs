//! The one HTTP client that leaves the platform (webhook deliveries).
//!
//! # Layout
//!
//! - `policy`: which schemes and addresses may be reached (the non-public ranges refused unless
//!   in `allowed_ranges`, IPv6 forms embedding an IPv4 address judged by that address).
//! - `connect`: resolving a host, checking every address, connecting to a checked one.
//! - `tls`: rustls (ring) with the system's roots, loaded once.
//! - `pool`: opening HTTP/1.1 connections and keeping idle ones per origin.
//! - `redirect`: which redirects are followed (307/308, up to `max_redirects`, 0 by default).
//! - `response`: reading at most `max_response_bytes` of a body.
//!
//! # Invariants
//!
//! - A request only ever travels on a connection opened to an address that passed the policy
//!   after resolution; the name is resolved once per connection, so a second answer (DNS
//!   rebinding) is never used. Every redirect target goes through the same check.
//! - `connect_timeout` bounds DNS + TCP + TLS; `timeout` bounds the whole attempt, redirects
//!   included; nothing beyond `max_response_bytes` is read, and such a connection is closed.
//! - [`OutboundError::Refused`] is the policy's answer (permanent), [`OutboundError::Failed`]
//!   anything worth retrying.

mod connect;
mod policy;
mod pool;
mod reason;
mod redirect;
mod response;
mod tls;

#[cfg(test)]
mod tests;

use connect::Origin;
use mercato_runtime::config::WebhookSettings;
use pool::{Conn, Pool};
use redirect::Next;
use std::time::{Duration, Instant};
use tls::Tls;

/// A POST to send.
#[derive(Clone, Debug)]
pub struct OutboundRequest {
    pub url: url::Url,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: bytes_body::Body,
}

/// Bodies are shared between attempts without copying.
pub mod bytes_body {
    pub type Body = std::sync::Arc<[u8]>;
}

/// What came back.
#[derive(Clone, Debug)]
pub struct OutboundResponse {
    pub status: u16,
    /// The first bytes of the body (at most `max_response_bytes`).
    pub body: Vec<u8>,
    pub took: Duration,
}

/// Why no response came. Its text (`Display`) may be shown to the endpoint's owner: it names
/// no address a name resolved to and no resolver message, since those would let a tenant map
/// the platform's internal network; [`OutboundError::detail`] has them, for the server's log.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// The URL or an address it resolved to is not allowed (a permanent refusal).
    #[error("refused: {0}")]
    Refused(Reason),
    /// DNS, connecting, TLS, a timeout or a broken response: worth retrying.
    #[error("{0}")]
    Failed(Reason),
}

pub use reason::Reason;

impl OutboundError {
    pub(crate) fn refused(public: impl Into<String>) -> OutboundError {
        OutboundError::Refused(Reason::public(public))
    }

    pub(crate) fn failed(public: impl Into<String>) -> OutboundError {
        OutboundError::Failed(Reason::public(public))
    }

    /// The full reason, addresses and resolver messages included: for the server's log only.
    pub fn detail(&self) -> &str {
        match self {
            OutboundError::Refused(r) | OutboundError::Failed(r) => r.detail(),
        }
    }
}

/// Idle connections kept per origin; deliveries to one receiver in flight at once beyond this
/// open connections that are closed after use.
const MAX_IDLE_PER_ORIGIN: usize = 256;

/// Sent unless the caller names itself.
const USER_AGENT: &str = concat!("Mercato-Webhooks/", env!("CARGO_PKG_VERSION"));

/// The outbound client.
pub struct Outbound {
    settings: WebhookSettings,
    tls: Tls,
    pool: std::sync::Arc<Pool>,
}

/// One response as the redirect logic needs it.
struct Hop {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

impl Outbound {
    pub fn new(settings: &WebhookSettings) -> anyhow::Result<Self> {
        Ok(Outbound {
            settings: settings.clone(),
            tls: Tls::default(),
            pool: Pool::new(MAX_IDLE_PER_ORIGIN),
        })
    }

    /// Whether `url` may be registered: its scheme (https, or http when allowed) and, if it is
    /// an address literal, that address. Names are checked again at every delivery.
    pub fn check_url(&self, url: &url::Url) -> Result<(), OutboundError> {
        policy::check_url_shape(url, self.settings.allow_http).map_err(OutboundError::refused)?;
        if let Some(ip) = policy::literal_ip(url)
            && let Some(why) = policy::refusal(ip, &self.settings.allowed_ranges)
        {
            return Err(OutboundError::refused(why));
        }
        Ok(())
    }

    /// Sends `request`, following allowed redirects, within the attempt's `timeout`.
    pub async fn post(&self, request: &OutboundRequest) -> Result<OutboundResponse, OutboundError> {
        let started = Instant::now();
        self.check_url(&request.url)?;
        let limit = self.settings.timeout;
        let hop = tokio::time::timeout(limit, self.follow(request))
            .await
            .map_err(|_| OutboundError::failed(format!("no complete response within {limit:?}")))??;
        Ok(OutboundResponse {
            status: hop.status,
            body: hop.body,
            took: started.elapsed(),
        })
    }

    async fn follow(&self, request: &OutboundRequest) -> Result<Hop, OutboundError> {
        let mut url = request.url.clone();
        let mut hops = 0;
        loop {
            let hop = self.send(&url, request).await?;
            let next = redirect::next(
                &url,
                hop.status,
                hop.location.as_deref(),
                hops,
                self.settings.max_redirects,
                self.settings.allow_http,
            )?;
            match next {
                Next::Done => return Ok(hop),
                Next::Follow(target) => {
                    url = target;
                    hops += 1;
                }
            }
        }
    }

    /// One request to `url` on a pooled or new connection. A pooled connection that fails
    /// before answering (the receiver closed it while idle) is replaced by a new one, once.
    async fn send(&self, url: &url::Url, request: &OutboundRequest) -> Result<Hop, OutboundError> {
        let origin = Origin::of(url)?;
        if let Some(conn) = self.pool.take(&origin).await {
            match self.exchange(&origin, conn, url, request).await {
                Err(Exchange::BeforeResponse(_)) => {}
                Err(Exchange::After(e)) => return Err(e),
                Ok(hop) => return Ok(hop),
            }
        }
        let conn = self.open(&origin).await?;
        self.exchange(&origin, conn, url, request)
            .await
            .map_err(Exchange::into_error)
    }

    async fn open(&self, origin: &Origin) -> Result<Conn, OutboundError> {
        let s = &self.settings;
        pool::open(origin, &s.allowed_ranges, &self.tls, s.connect_timeout).await
    }

    async fn exchange(
        &self,
        origin: &Origin,
        mut conn: Conn,
        url: &url::Url,
        request: &OutboundRequest,
    ) -> Result<Hop, Exchange> {
        let req = build_request(url, request).map_err(Exchange::After)?;
        let response = conn.sender.send_request(req).await.map_err(|e| {
            Exchange::BeforeResponse(OutboundError::Failed(Reason::private(
                format!("sending to {} failed: {e}", origin.host),
                format!("sending to {} ({}) failed: {e}", origin.host, conn.addr),
            )))
        })?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response::read_capped(response.into_body(), self.settings.max_response_bytes)
            .await
            .map_err(Exchange::After)?;
        if body.complete {
            self.pool.put(origin, conn);
        }
        Ok(Hop {
            status,
            location,
            body: body.bytes,
        })
    }
}

/// How an exchange failed: before any response (retried on a new connection when the failed
/// one was pooled) or after.
enum Exchange {
    BeforeResponse(OutboundError),
    After(OutboundError),
}

impl Exchange {
    fn into_error(self) -> OutboundError {
        match self {
            Exchange::BeforeResponse(e) | Exchange::After(e) => e,
        }
    }
}

/// The POST for `url`: origin-form target, `Host`, the caller's headers, the shared body.
fn build_request(
    url: &url::Url,
    request: &OutboundRequest,
) -> Result<http::Request<http_body_util::Full<bytes::Bytes>>, OutboundError> {
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_owned(),
    };
    let mut builder = http::Request::post(target).header(http::header::HOST, host);
    if !request
        .headers
        .iter()
        .any(|(name, _)| name == http::header::USER_AGENT)
    {
        builder = builder.header(http::header::USER_AGENT, USER_AGENT);
    }
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let body = bytes::Bytes::from_owner(SharedBody(request.body.clone()));
    builder
        .body(http_body_util::Full::new(body))
        .map_err(|e| OutboundError::refused(format!("the request cannot be built: {e}")))
}

/// Lets `Bytes` borrow the shared body without copying it.
struct SharedBody(bytes_body::Body);

impl AsRef<[u8]> for SharedBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
