//! A running catalog for tests: a fresh database, a bus, the outbox relay and the consumers.

use bytes::Bytes;
use mercato_catalog::CatalogService;
use mercato_proto::catalog::*;
use mercato_runtime::bus::{Bus, Delivery, MemoryBus, NatsBus, SharedBus, Subscription};
use mercato_runtime::cache::{MemoryCache, TieredCache};
use mercato_runtime::clients::catalog::CatalogClient;
use mercato_runtime::db::Db;
use mercato_runtime::env;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox::OutboxRelay;
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::testing::Backend;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One catalog replica with its relay; everything stops when it is dropped.
pub struct Catalog {
    pub client: CatalogClient,
    pub service: Arc<CatalogService>,
    pub db: Db,
    pub bus: SharedBus,
    pub cache: Arc<TieredCache>,
    shutdown: Shutdown,
}

impl Drop for Catalog {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub fn new_cache() -> Arc<TieredCache> {
    Arc::new(TieredCache::new(
        "catalog",
        MemoryCache::new(10_000, Duration::from_secs(300)),
        None,
    ))
}

impl Catalog {
    /// A fresh catalog on a new database of `backend`, on its own in-process bus so that
    /// consumer groups never hand one test's events to another.
    pub async fn on(backend: Backend) -> Catalog {
        Catalog::start(backend.database().await, Arc::new(MemoryBus::new())).await
    }

    /// A replica on `db` and `bus` that runs its own outbox relay.
    pub async fn start(db: Db, bus: SharedBus) -> Catalog {
        Self::start_with(db, bus, true).await
    }

    /// A replica that shares `db` with another one whose relay publishes for both.
    pub async fn replica(db: Db, bus: SharedBus) -> Catalog {
        Self::start_with(db, bus, false).await
    }

    async fn start_with(db: Db, bus: SharedBus, relay: bool) -> Catalog {
        mercato_runtime::testing::init_logs();
        let shutdown = Shutdown::new();
        let outbox = OutboxRelay::new("catalog", db.clone(), bus.clone());
        let cache = new_cache();
        let service = CatalogService::new(db.clone(), cache.clone(), outbox.waker())
            .await
            .expect("catalog starts");
        service
            .start_consumers(bus.clone(), shutdown.clone())
            .await
            .expect("consumers start");
        if relay {
            tokio::spawn(outbox.run(shutdown.clone()));
        }
        let client = CatalogClient::local(service.clone(), Duration::from_secs(10));
        Catalog {
            client,
            service,
            db,
            bus,
            cache,
            shutdown,
        }
    }

    /// Counts rows of a table with a fixed, test-controlled query.
    pub async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = self.db.query_one(sql, &[]).await.unwrap();
        n
    }

    /// Creates a product with one variant per `(sku, price)` in EUR.
    pub async fn product(
        &self,
        store: &StoreId,
        slug: &str,
        title: &str,
        category: &str,
        variants: &[(&str, i64)],
    ) -> Product {
        self.client
            .create_product(create(store, slug, title, category, variants))
            .await
            .expect("product created")
    }

    pub async fn category(&self, store: &StoreId, slug: &str, name: &str, parent: &str) -> Category {
        self.client
            .create_category(CreateCategoryRequest {
                store_id: store.to_string(),
                slug: slug.into(),
                name: name.into(),
                parent: parent.into(),
            })
            .await
            .expect("category created")
    }

    pub async fn search(&self, store: &StoreId, query: &str) -> SearchResponse {
        self.client
            .search(SearchRequest {
                store_id: store.to_string(),
                query: query.into(),
                ..Default::default()
            })
            .await
            .expect("search answers")
    }

    /// Searches until `found` holds, for at most one second.
    pub async fn search_until(
        &self,
        store: &StoreId,
        query: &str,
        found: impl Fn(&SearchResponse) -> bool,
    ) -> SearchResponse {
        let deadline = Instant::now() + Duration::from_secs(1);
        loop {
            let r = self.search(store, query).await;
            if found(&r) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "search for {query:?} did not reach the expected state within 1 s: {r:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub fn create(
    store: &StoreId,
    slug: &str,
    title: &str,
    category: &str,
    variants: &[(&str, i64)],
) -> CreateProductRequest {
    CreateProductRequest {
        store_id: store.to_string(),
        slug: slug.into(),
        title: title.into(),
        description: format!("All about {title}"),
        category: category.into(),
        variants: variants
            .iter()
            .map(|(sku, price)| VariantInput {
                sku: (*sku).into(),
                title: String::new(),
                price_minor: *price,
                currency: "EUR".into(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

pub fn code(r: Result<impl std::fmt::Debug, ServiceError>) -> ErrorCode {
    r.expect_err("the call should fail").code
}

/// Runs `check` until it returns true, for at most one second.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(1);
    while !check().await {
        assert!(Instant::now() < deadline, "{what} did not happen within 1 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The buses under test: in process always, NATS JetStream when `MERCATO_TEST_NATS_URL` is set.
pub async fn buses() -> Vec<(&'static str, SharedBus)> {
    let mut buses: Vec<(&'static str, SharedBus)> = vec![("memory", Arc::new(MemoryBus::new()))];
    if let Some(url) = env::test_url(env::TEST_NATS_URL) {
        let nats = NatsBus::connect(&url).await.expect("nats reachable");
        buses.push(("nats", Arc::new(NoSharedGroups(Arc::new(nats)))));
    }
    buses
}

/// On the shared NATS stream a test must not join the platform's durable consumer groups: it
/// would take `store_provisioned` events meant for other processes, and leave durable consumers
/// behind. Group subscriptions become ephemeral fanout ones; tests that need group semantics
/// run on the in-process bus.
struct NoSharedGroups(SharedBus);

#[async_trait::async_trait]
impl Bus for NoSharedGroups {
    async fn publish(&self, subject: &str, id: &str, payload: Bytes) -> anyhow::Result<()> {
        self.0.publish(subject, id, payload).await
    }

    async fn subscribe(&self, filter: &str, _delivery: Delivery) -> anyhow::Result<Subscription> {
        self.0.subscribe(filter, Delivery::Fanout).await
    }

    async fn signal(&self, subject: &str, payload: Bytes) -> anyhow::Result<()> {
        self.0.signal(subject, payload).await
    }

    async fn subscribe_signals(&self, filter: &str) -> anyhow::Result<Subscription> {
        self.0.subscribe_signals(filter).await
    }

    async fn ready(&self) -> bool {
        self.0.ready().await
    }
}
