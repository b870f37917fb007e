//! Failing fast and recovering, over real gRPC: an inventory client in front of a test upstream
//! served by the runtime's own HTTP/2 server (so `grpc-timeout` is read as in production). The
//! upstream is down (a closed port), slow, or failing on purpose; the client's breaker, retries,
//! concurrency limit and deadline are observed from outside.

use mercato_proto::inventory::inventory_server::{Inventory, InventoryServer};
use mercato_proto::inventory::*;
use mercato_runtime::clients::balanced_channel;
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::resilience::breaker::{BreakerSettings, BreakerState};
use mercato_runtime::resilience::{ResilienceSettings, deadline};
use mercato_runtime::shutdown::Shutdown;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tonic::{Request, Response, Status};

/// A test upstream: `get_stock` and `adjust_stock` fail `unavailable` while `failures_left` lasts,
/// then sleep `delay` and answer with the time the caller's deadline left them (in
/// `available_total`, milliseconds), or — given `next` — ask the next hop and return its answer.
#[derive(Default)]
struct Upstream {
    calls: AtomicU32,
    failures_left: AtomicU32,
    delay: Duration,
    next: Option<InventoryClient>,
}

impl Upstream {
    async fn answer(&self) -> Result<StockLevels, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let failing = self
            .failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if failing.is_ok() {
            return Err(Status::unavailable("failing on purpose"));
        }
        tokio::time::sleep(self.delay).await;
        if let Some(next) = &self.next {
            return next
                .get_stock(GetStockRequest::default())
                .await
                .map_err(Status::from);
        }
        let left = deadline::current().map(|d| d.saturating_duration_since(Instant::now()));
        Ok(StockLevels {
            available_total: left.map_or(-1, |l| l.as_millis() as i64),
            ..Default::default()
        })
    }
}

#[tonic::async_trait]
impl Inventory for Upstream {
    async fn import_stock(
        &self,
        _: Request<mercato_proto::imports::ImportStockRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn import_checksums(
        &self,
        _: Request<mercato_proto::imports::ChecksumsRequest>,
    ) -> Result<Response<mercato_proto::imports::ChecksumsReply>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn imported_records(
        &self,
        _: Request<mercato_proto::imports::RecordsRequest>,
    ) -> Result<Response<mercato_proto::imports::StockRecords>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn get_import_progress(
        &self,
        _: Request<mercato_proto::imports::ImportProgressRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportProgress>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn get_stock(&self, _: Request<GetStockRequest>) -> Result<Response<StockLevels>, Status> {
        self.answer().await.map(Response::new)
    }
    async fn adjust_stock(&self, _: Request<AdjustStockRequest>) -> Result<Response<StockLevel>, Status> {
        self.answer().await.map(|_| Response::new(StockLevel::default()))
    }
    async fn set_stock(&self, _: Request<SetStockRequest>) -> Result<Response<StockLevel>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn reserve(&self, _: Request<ReserveRequest>) -> Result<Response<ReserveResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn commit(&self, _: Request<CommitRequest>) -> Result<Response<Reservation>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn release(&self, _: Request<ReleaseRequest>) -> Result<Response<Reservation>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn restock(&self, _: Request<RestockRequest>) -> Result<Response<Reservation>, Status> {
        Err(Status::unimplemented("not used"))
    }
}

/// Serves `upstream` on `listener` as a service process does (gRPC routes behind
/// `observe_grpc_server`, on the runtime's server) until the returned token is cancelled.
fn serve(listener: tokio::net::TcpListener, upstream: Arc<Upstream>) -> Shutdown {
    let router = tonic::service::Routes::new(InventoryServer::from_arc(upstream))
        .into_axum_router()
        .layer(axum::middleware::from_fn(
            mercato_runtime::http::observe_grpc_server,
        ));
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    tokio::spawn(async move { mercato_runtime::http::serve(listener, router, stop).await });
    shutdown
}

async fn started(upstream: Upstream) -> (SocketAddr, Arc<Upstream>, Shutdown) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = Arc::new(upstream);
    (addr, upstream.clone(), serve(listener, upstream))
}

fn client(addr: SocketAddr, timeout: Duration, settings: ResilienceSettings) -> InventoryClient {
    let channel = balanced_channel(&[format!("http://{addr}")], timeout).unwrap();
    InventoryClient::remote(channel, timeout, None)
        .unwrap()
        .with_resilience(settings)
}

fn quick_cool_down() -> ResilienceSettings {
    ResilienceSettings {
        breaker: BreakerSettings {
            cool_down: Duration::from_millis(300),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn a_down_upstream_opens_the_breaker_calls_then_fail_fast_and_it_recovers_when_back() {
    // A port nothing listens on.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let client = client(addr, Duration::from_secs(2), quick_cool_down());
    for _ in 0..5 {
        let error = client
            .adjust_stock(AdjustStockRequest::default())
            .await
            .unwrap_err();
        assert_eq!(error.code, ErrorCode::Unavailable);
    }
    assert_eq!(client.upstream().breaker_state(), BreakerState::Open);

    let started_at = Instant::now();
    let error = client.get_stock(GetStockRequest::default()).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Unavailable);
    assert_eq!(
        error.retry_after(),
        Some(1),
        "an open breaker says when to come back"
    );
    assert!(
        started_at.elapsed() < Duration::from_millis(20),
        "fails fast: {:?}",
        started_at.elapsed()
    );

    // The upstream comes back on the same port; after the cool-down one probe closes the breaker.
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let _server = serve(listener, Arc::new(Upstream::default()));
    tokio::time::sleep(Duration::from_millis(350)).await;
    client
        .get_stock(GetStockRequest::default())
        .await
        .expect("the probe reaches it");
    assert_eq!(client.upstream().breaker_state(), BreakerState::Closed);
}

#[tokio::test]
async fn idempotent_calls_are_retried_and_others_are_sent_once() {
    let upstream = Upstream {
        failures_left: AtomicU32::new(2),
        ..Default::default()
    };
    let (addr, upstream, _server) = started(upstream).await;
    let client = client(addr, Duration::from_secs(2), ResilienceSettings::default());
    client
        .get_stock(GetStockRequest::default())
        .await
        .expect("the third attempt answers");
    assert_eq!(upstream.calls.load(Ordering::SeqCst), 3);

    upstream.failures_left.store(1, Ordering::SeqCst);
    let error = client
        .adjust_stock(AdjustStockRequest::default())
        .await
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Unavailable);
    assert_eq!(
        upstream.calls.load(Ordering::SeqCst),
        4,
        "adjust_stock is not retried"
    );
}

#[tokio::test]
async fn the_retry_budget_caps_retries_when_everything_fails() {
    let upstream = Upstream {
        failures_left: AtomicU32::new(u32::MAX),
        ..Default::default()
    };
    let (addr, upstream, _server) = started(upstream).await;
    // A breaker that never opens, so that only the budget limits the retries.
    let settings = ResilienceSettings {
        breaker: BreakerSettings {
            consecutive_failures: u32::MAX,
            minimum_calls: u64::MAX,
            ..Default::default()
        },
        ..Default::default()
    };
    let client = client(addr, Duration::from_secs(2), settings);
    for _ in 0..100 {
        client.get_stock(GetStockRequest::default()).await.unwrap_err();
    }
    // 100 requests: 10 % of them plus the reserve of 10 may be retried, not 200.
    assert_eq!(upstream.calls.load(Ordering::SeqCst), 100 + 10 + 10);
}

#[tokio::test]
async fn a_call_over_the_concurrency_limit_is_refused_at_once() {
    let upstream = Upstream {
        delay: Duration::from_millis(300),
        ..Default::default()
    };
    let (addr, _upstream, _server) = started(upstream).await;
    let settings = ResilienceSettings {
        max_in_flight: 2,
        ..Default::default()
    };
    let client = client(addr, Duration::from_secs(2), settings);
    let slow = (0..2).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.get_stock(GetStockRequest::default()).await })
    });
    let slow: Vec<_> = slow.collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started_at = Instant::now();
    let error = client.get_stock(GetStockRequest::default()).await.unwrap_err();
    assert_eq!(error.code, ErrorCode::Unavailable);
    assert_eq!(error.retry_after(), Some(1));
    assert!(
        started_at.elapsed() < Duration::from_millis(100),
        "{:?}",
        started_at.elapsed()
    );
    for call in slow {
        call.await.unwrap().expect("the calls holding the slots answer");
    }
    assert_eq!(
        client.upstream().breaker_state(),
        BreakerState::Closed,
        "a refusal is not a failure"
    );
}

#[tokio::test]
async fn the_callers_deadline_travels_two_hops_and_the_slow_hop_is_cut_off() {
    let (far, _, _far_server) = started(Upstream::default()).await;
    let near = Upstream {
        next: Some(client(far, Duration::from_secs(5), ResilienceSettings::default())),
        ..Default::default()
    };
    let (near, _, _near_server) = started(near).await;
    let client = client(near, Duration::from_secs(5), ResilienceSettings::default());

    // Both clients allow 5 s, but the caller will wait only 400 ms: the second hop knows it.
    let levels = deadline::scope(
        Instant::now() + Duration::from_millis(400),
        client.get_stock(GetStockRequest::default()),
    )
    .await
    .unwrap();
    assert!(
        (1..=400).contains(&levels.available_total),
        "{} ms left two hops down",
        levels.available_total
    );

    // A hop slower than the deadline: the caller gets `timeout` at its deadline, not after 5 s.
    let (slow, slow_upstream, _slow_server) = started(Upstream {
        delay: Duration::from_secs(3),
        ..Default::default()
    })
    .await;
    let client = self::client(slow, Duration::from_secs(5), ResilienceSettings::default());
    let started_at = Instant::now();
    let error = deadline::scope(
        Instant::now() + Duration::from_millis(200),
        client.get_stock(GetStockRequest::default()),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Timeout);
    assert!(
        started_at.elapsed() < Duration::from_millis(400),
        "{:?}",
        started_at.elapsed()
    );
    assert_eq!(
        slow_upstream.calls.load(Ordering::SeqCst),
        1,
        "a timeout is not retried"
    );
}
