//! What every handler shares: service clients, the token verifier and the store-slug cache.

use mercato_proto::identity::{GetJwksRequest, GetStoreRequest, Store, get_store_request};
use mercato_runtime::auth::TokenVerifier;
use mercato_runtime::clients::catalog::CatalogClient;
use mercato_runtime::clients::identity::IdentityClient;
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::clients::orders::OrdersClient;
use mercato_runtime::config::AuthSettings;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ratelimit::RateLimiter;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The minimum time between two JWKS fetches triggered by an unknown key id, so that tokens
/// with made-up key ids cannot turn the gateway into a load generator against identity.
const JWKS_REFRESH_INTERVAL: Duration = Duration::from_secs(5);

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
    verifier: TokenVerifier,
    stores: moka::future::Cache<String, Store>,
    limiter: Arc<dyn RateLimiter>,
    rate_limit_per_second: u32,
    /// When the keys were last fetched. An async mutex, so that concurrent requests with a new
    /// key id wait for one fetch instead of each starting their own.
    last_jwks_fetch: tokio::sync::Mutex<Option<Instant>>,
}

impl GatewayState {
    /// `limiter` counts requests per client; `rate_limit_per_second` of 0 turns limits off.
    pub fn new(
        identity: IdentityClient,
        catalog: CatalogClient,
        inventory: InventoryClient,
        orders: OrdersClient,
        auth: &AuthSettings,
        limiter: Arc<dyn RateLimiter>,
        rate_limit_per_second: u32,
    ) -> Self {
        GatewayState {
            inner: Arc::new(Inner {
                identity,
                catalog,
                inventory,
                orders,
                verifier: TokenVerifier::new(&auth.issuer, &auth.audience),
                stores: moka::future::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(crate::STORE_CACHE_TTL)
                    .build(),
                last_jwks_fetch: tokio::sync::Mutex::new(None),
                limiter,
                rate_limit_per_second,
            }),
        }
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

    pub fn verifier(&self) -> &TokenVerifier {
        &self.inner.verifier
    }

    pub fn limiter(&self) -> &dyn RateLimiter {
        &*self.inner.limiter
    }

    /// The per-client limit, or `None` when limits are off.
    pub fn rate_limit_per_second(&self) -> Option<u32> {
        Some(self.inner.rate_limit_per_second).filter(|l| *l > 0)
    }

    /// Fetches the signing keys from identity, at most once per interval unless `force`d
    /// (start-up only; the request path never forces, so bad tokens cannot drive fetches).
    pub async fn refresh_keys(&self, force: bool) -> Result<(), ServiceError> {
        let mut last = self.inner.last_jwks_fetch.lock().await;
        if !force && last.is_some_and(|t| t.elapsed() < JWKS_REFRESH_INTERVAL) {
            return Ok(());
        }
        *last = Some(Instant::now());
        let jwks = self.inner.identity.get_jwks(GetJwksRequest {}).await?;
        self.inner.verifier.set_keys(&jwks);
        Ok(())
    }

    /// The store with this slug; 404 when there is none. Found stores are cached briefly.
    pub async fn store_by_slug(&self, slug: &str) -> Result<Store, ServiceError> {
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
