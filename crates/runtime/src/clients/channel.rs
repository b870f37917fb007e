//! The gRPC channel a remote client calls through: spread over a service's replicas, in plain
//! HTTP/2 or over mutual TLS whose certificate and CA are re-read under the live channel.

use crate::tls::{Dialer, ServiceStream};
use http::{Request, Response, Uri};
use hyper_util::rt::TokioIo;
use std::task::{Context, Poll};
use std::time::Duration;
use tonic::body::Body;
use tonic::transport::{Channel, Endpoint};
use tower::balance::p2c::Balance;
use tower::buffer::Buffer;
use tower::discover::ServiceList;
use tower::load::{CompleteOnResponse, PendingRequests};
use tower::util::BoxCloneSyncService;
use tower::{BoxError, Service, ServiceExt};

/// How long opening one connection (TCP and TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Calls waiting for a replica at once, as tonic's own balanced channel allows.
const QUEUE: usize = 1024;

/// What a remote client sends its calls through: a tonic [`Channel`], or the replicas of a
/// service under mutual TLS ([`balanced_tls_channel`]).
#[derive(Clone)]
pub struct GrpcChannel(BoxCloneSyncService<Request<Body>, Response<Body>, BoxError>);

impl From<Channel> for GrpcChannel {
    fn from(channel: Channel) -> Self {
        GrpcChannel(BoxCloneSyncService::new(channel.map_err(BoxError::from)))
    }
}

impl Service<Request<Body>> for GrpcChannel {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future =
        <BoxCloneSyncService<Request<Body>, Response<Body>, BoxError> as Service<Request<Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        self.0.call(request)
    }
}

impl std::fmt::Debug for GrpcChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GrpcChannel")
    }
}

/// A gRPC channel spreading calls over every endpoint; connections are made lazily so that a
/// process can start before its upstreams.
pub fn balanced_channel(endpoints: &[String], deadline: Duration) -> anyhow::Result<Channel> {
    anyhow::ensure!(!endpoints.is_empty(), "no endpoints configured");
    let endpoints = endpoints
        .iter()
        .map(|url| endpoint(url, deadline))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Channel::balance_list(endpoints.into_iter()))
}

/// [`balanced_channel`], over mutual TLS when `tls` is given: then every endpoint must be
/// `https://`, so that no call leaves in the clear by a mistyped URL, and each connection is
/// opened by the dialer, so a reconnection presents the certificate current at that moment.
/// tonic's own TLS cannot do that (its configuration holds one certificate for good), and its
/// balancer takes only its own connector: here each replica is a lazy channel opened by the
/// dialer, and each call goes to the one of two random replicas with fewer calls in flight
/// (tower's power-of-two-choices balancer, as in tonic's). Unlike tonic's, it does not pass over
/// a replica whose connection is still being opened: calls sent there wait for it (at most
/// [`CONNECT_TIMEOUT`]), and the calls in flight steer the next ones elsewhere.
pub fn balanced_tls_channel(
    endpoints: &[String],
    deadline: Duration,
    tls: Option<&Dialer>,
) -> anyhow::Result<GrpcChannel> {
    let Some(dialer) = tls else {
        return Ok(balanced_channel(endpoints, deadline)?.into());
    };
    anyhow::ensure!(!endpoints.is_empty(), "no endpoints configured");
    let replicas = endpoints
        .iter()
        .map(|url| {
            let endpoint = endpoint(url, deadline)?;
            anyhow::ensure!(
                endpoint.uri().scheme_str() == Some("https"),
                "{url}: with services.tls every endpoint must be https://"
            );
            let channel = Channel::new(connector(dialer.clone()), endpoint);
            Ok(PendingRequests::new(channel, CompleteOnResponse::default()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let balanced = Balance::new(ServiceList::new(replicas));
    Ok(GrpcChannel(BoxCloneSyncService::new(Buffer::new(
        balanced, QUEUE,
    ))))
}

/// One replica's endpoint: calls end at `deadline`, idle connections are kept alive.
fn endpoint(url: &str, deadline: Duration) -> anyhow::Result<Endpoint> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(deadline)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30)))
}

/// Opens a replica's connections through `dialer`, within [`CONNECT_TIMEOUT`] (which tonic
/// applies only to its own connector).
fn connector(
    dialer: Dialer,
) -> impl Service<Uri, Response = TokioIo<ServiceStream>, Error = std::io::Error, Future: Send> + Send + 'static
{
    tower::service_fn(move |uri: Uri| {
        let dialer = dialer.clone();
        async move {
            let connect = dialer.connect_uri(&uri);
            match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                Ok(stream) => stream.map(TokioIo::new),
                Err(_) => Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{uri}: no connection within {CONNECT_TIMEOUT:?}"),
                )),
            }
        }
    })
}
