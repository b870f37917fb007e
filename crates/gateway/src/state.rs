//! What every handler shares: service clients, the token verifier, the store-slug cache and the
//! cache of encoded public reads.

use crate::product_views::ProductViews;
use crate::read_cache::ReadCache;
use mercato_proto::identity::{GetStoreRequest, Store, get_store_request};
use mercato_proto::subjects;
use mercato_runtime::bus::{Delivery, SharedBus};
use mercato_runtime::clients::analytics::AnalyticsClient;
use mercato_runtime::clients::catalog::CatalogClient;
use mercato_runtime::clients::identity::IdentityClient;
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::clients::notifications::NotificationsClient;
use mercato_runtime::clients::orders::OrdersClient;
use mercato_runtime::clients::realtime::RealtimeClient;
use mercato_runtime::config::{AuthSettings, HttpSettings};
use mercato_runtime::error::ServiceError;
use mercato_runtime::files::FileAccess;
use mercato_runtime::inbox;
use mercato_runtime::jwks::KeyedVerifier;
use mercato_runtime::pressure::Pressure;
use mercato_runtime::ratelimit::RateLimiter;
use mercato_runtime::shutdown::Shutdown;
use prost::Message;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Where the gateway sends WebSocket clients when the realtime service runs elsewhere.
#[derive(Clone, Debug)]
pub struct RealtimeForward {
    /// Base URLs of the realtime replicas (`http://host:port`); tried in turn.
    pub upstreams: Vec<String>,
    /// Presented to the replicas when the internal token is configured.
    pub internal_token: Option<String>,
    /// Opens the connections to them: under mutual TLS with this process's certificate.
    pub dialer: mercato_runtime::tls::Dialer,
    /// The replicas' heartbeat interval; a client silent for three is dropped.
    pub heartbeat: Duration,
    /// Cancelled when this gateway begins to stop: relayed clients are told to reconnect.
    pub stop: mercato_runtime::shutdown::Shutdown,
}

/// The services the gateway calls.
pub struct Upstreams {
    pub identity: IdentityClient,
    pub catalog: CatalogClient,
    pub inventory: InventoryClient,
    pub orders: OrdersClient,
    pub realtime: RealtimeClient,
    pub analytics: AnalyticsClient,
    pub notifications: NotificationsClient,
}

/// Shared gateway state; cheap to clone.
#[derive(Clone)]
pub struct GatewayState {
    inner: Arc<Inner>,
}

struct Inner {
    identity: IdentityClient,
    catalog: CatalogClient,
    inventory: InventoryClient,
    orders: OrdersClient,
    realtime: RealtimeClient,
    analytics: AnalyticsClient,
    notifications: NotificationsClient,
    /// `None` when the realtime service runs in this process and serves `/v1/realtime` itself.
    forward: Option<RealtimeForward>,
    /// Which realtime replica the next WebSocket client tries first.
    next_upstream: AtomicUsize,
    verifier: KeyedVerifier,
    stores: moka::future::Cache<String, Store>,
    limiter: Arc<dyn RateLimiter>,
    rate_limit_per_second: u32,
    sign_ups_per_second: u32,
    trusted_proxies: Arc<[ipnet::IpNet]>,
    reads: Arc<ReadCache>,
    /// Product page views counted here, published on the bus every `http.product_views_flush`.
    views: Arc<ProductViews>,
    pressure: Pressure,
    /// Exports' downloads and product images; `None` in tests that serve no files.
    files: Option<FileAccess>,
}

impl GatewayState {
    /// `limiter` counts requests per client (`http.rate_limit_per_second`; 0 turns limits off).
    pub fn new(
        upstreams: Upstreams,
        forward: Option<RealtimeForward>,
        auth: &AuthSettings,
        http: &HttpSettings,
        limiter: Arc<dyn RateLimiter>,
        files: Option<FileAccess>,
    ) -> Self {
        let Upstreams {
            identity,
            catalog,
            inventory,
            orders,
            realtime,
            analytics,
            notifications,
        } = upstreams;
        // Shared by the replicas (they forward realtime clients with it), so that each gives an
        // anonymous visitor the same key.
        let views_secret = forward.as_ref().and_then(|f| f.internal_token.clone());
        GatewayState {
            inner: Arc::new(Inner {
                verifier: KeyedVerifier::for_settings(auth, identity.clone()),
                identity,
                catalog,
                inventory,
                orders,
                realtime,
                analytics,
                notifications,
                forward,
                next_upstream: AtomicUsize::new(0),
                stores: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(crate::STORE_CACHE_TTL)
                    .build(),
                limiter,
                rate_limit_per_second: http.rate_limit_per_second,
                sign_ups_per_second: http.sign_ups_per_second,
                trusted_proxies: http.trusted_proxies.clone().into(),
                reads: Arc::default(),
                views: Arc::new(ProductViews::new(
                    http.product_views_flush,
                    views_secret.as_deref(),
                )),
                pressure: Pressure::start(http.max_scheduling_delay),
                files,
            }),
        }
    }

    /// The file store and link signer, when this process serves files.
    pub fn files(&self) -> Option<&FileAccess> {
        self.inner.files.as_ref()
    }

    pub fn identity(&self) -> &IdentityClient {
        &self.inner.identity
    }

    pub fn catalog(&self) -> &CatalogClient {
        &self.inner.catalog
    }

    pub fn inventory(&self) -> &InventoryClient {
        &self.inner.inventory
    }

    pub fn orders(&self) -> &OrdersClient {
        &self.inner.orders
    }

    pub fn realtime(&self) -> &RealtimeClient {
        &self.inner.realtime
    }

    pub fn analytics(&self) -> &AnalyticsClient {
        &self.inner.analytics
    }

    pub fn notifications(&self) -> &NotificationsClient {
        &self.inner.notifications
    }

    pub fn verifier(&self) -> &KeyedVerifier {
        &self.inner.verifier
    }

    /// Whether `/v1/realtime` is forwarded to realtime replicas in other processes.
    pub fn forwards_realtime(&self) -> bool {
        self.inner.forward.is_some()
    }

    /// The realtime replicas to forward WebSocket clients to, starting with the next in turn;
    /// `None` when this process serves `/v1/realtime` itself.
    pub fn realtime_upstreams(&self) -> Option<(Vec<String>, &RealtimeForward)> {
        let forward = self.inner.forward.as_ref()?;
        let mut order = forward.upstreams.clone();
        if !order.is_empty() {
            let first = self.inner.next_upstream.fetch_add(1, Ordering::Relaxed) % order.len();
            order.rotate_left(first);
        }
        Some((order, forward))
    }

    /// Whether the CPU has room for another request (`http.max_scheduling_delay`).
    pub fn pressure(&self) -> &Pressure {
        &self.inner.pressure
    }

    /// Encoded public catalog reads.
    pub fn reads(&self) -> &ReadCache {
        &self.inner.reads
    }

    /// The product page views counted here and not yet published.
    pub(crate) fn product_views(&self) -> &ProductViews {
        &self.inner.views
    }

    /// Follows the catalog's events (every gateway sees each one), dropping a store's cached
    /// reads when its catalog changes, and identity's `store_changed`, dropping the store from
    /// the slug cache (a renamed or re-zoned store is served fresh within the bus's delay, not
    /// the cache's minute). Call before the outbox relays start. Also starts publishing the
    /// product views this gateway counts on `bus` (`product_views`), until `shutdown` and once
    /// more then.
    pub async fn follow_catalog(&self, bus: SharedBus, shutdown: Shutdown) -> anyhow::Result<()> {
        self.inner.views.clone().start(bus.clone(), shutdown.clone());
        let stores = self.inner.stores.clone();
        inbox::run_consumer(
            bus.clone(),
            subjects::identity::STORE_CHANGED,
            Delivery::Fanout,
            shutdown.clone(),
            move |event| {
                let stores = stores.clone();
                async move {
                    let changed = mercato_proto::events::StoreChanged::decode(event.payload.as_slice())?;
                    stores.invalidate(&changed.slug).await;
                    Ok(())
                }
            },
        )
        .await?;
        let reads = self.inner.reads.clone();
        inbox::run_consumer(
            bus,
            subjects::catalog::ALL,
            Delivery::Fanout,
            shutdown,
            move |event| {
                reads.invalidate_on_event(&event.store_id);
                async { Ok(()) }
            },
        )
        .await
    }

    pub fn limiter(&self) -> &dyn RateLimiter {
        &*self.inner.limiter
    }

    /// The per-client limit, or `None` when limits are off.
    pub fn rate_limit_per_second(&self) -> Option<u32> {
        Some(self.inner.rate_limit_per_second).filter(|l| *l > 0)
    }

    /// Store provisionings and customer sign-ups per second per client address
    /// (`http.sign_ups_per_second`), or `None` when that limit is off.
    pub fn sign_ups_per_second(&self) -> Option<u32> {
        Some(self.inner.sign_ups_per_second).filter(|l| *l > 0)
    }

    /// Proxies whose forwarding headers name the client (`http.trusted_proxies`).
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.inner.trusted_proxies
    }

    /// Fetches the signing keys from identity, at most once per interval unless `force`d
    /// (start-up only; the request path never forces, so bad tokens cannot drive fetches).
    pub async fn refresh_keys(&self, force: bool) -> Result<(), ServiceError> {
        self.inner.verifier.refresh(force).await
    }

    /// Drops a store from the slug cache, so that the next request reads it from identity.
    pub(crate) async fn forget_store(&self, slug: &str) {
        self.inner.stores.invalidate(slug).await;
    }

    /// The store with this slug; 404 when there is none. Found stores are cached briefly.
    /// Handlers get their store from `access::StoreScope`, the one caller of this.
    pub(crate) async fn store_by_slug(&self, slug: &str) -> Result<Store, ServiceError> {
        if let Some(store) = self.inner.stores.get(slug).await {
            return Ok(store);
        }
        if slug.is_empty() || slug.len() > 64 {
            return Err(ServiceError::not_found("store"));
        }
        let store = self
            .inner
            .identity
            .get_store(GetStoreRequest {
                key: Some(get_store_request::Key::Slug(slug.to_owned())),
            })
            .await?;
        self.inner.stores.insert(slug.to_owned(), store.clone()).await;
        Ok(store)
    }
}

#[cfg(test)]
impl GatewayState {
    /// A gateway whose upstreams are all unreachable (connections are made lazily, so nothing
    /// is dialled until a handler calls one), knowing the stores given.
    pub(crate) async fn for_tests(stores: &[Store]) -> Self {
        use mercato_runtime::clients::balanced_channel;
        let settings = mercato_runtime::config::Settings::default();
        let deadline = Duration::from_secs(1);
        let channel = || balanced_channel(&["http://127.0.0.1:1".to_owned()], deadline).unwrap();
        let upstreams = Upstreams {
            identity: IdentityClient::remote(channel(), deadline, None).unwrap(),
            catalog: CatalogClient::remote(channel(), deadline, None).unwrap(),
            inventory: InventoryClient::remote(channel(), deadline, None).unwrap(),
            orders: OrdersClient::remote(channel(), deadline, None).unwrap(),
            realtime: RealtimeClient::remote(channel(), deadline, None).unwrap(),
            analytics: AnalyticsClient::remote(channel(), deadline, None).unwrap(),
            notifications: NotificationsClient::remote(channel(), deadline, None).unwrap(),
        };
        let limiter = Arc::new(mercato_runtime::ratelimit::MemoryRateLimiter::default());
        let state = GatewayState::new(upstreams, None, &settings.auth, &settings.http, limiter, None);
        for store in stores {
            state.inner.stores.insert(store.slug.clone(), store.clone()).await;
        }
        state
    }
}
