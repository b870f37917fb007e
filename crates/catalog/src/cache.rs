//! Products in the tiered cache, as prost-encoded `Product`s keyed by id, plus slug → id keys.
//!
//! Writers delete the keys they touched right after commit; every replica evicts its L1 copy
//! when the product's event arrives. The time-to-live is only a backstop.

use crate::domain::ProductId;
use bytes::Bytes;
use mercato_proto::catalog as pb;
use mercato_runtime::cache::{Cache, TieredCache};
use mercato_runtime::ids::StoreId;
use prost::Message;
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(300);

/// The product cache of one service.
#[derive(Clone)]
pub(crate) struct ProductCache {
    cache: Arc<TieredCache>,
}

fn id_key(store: &StoreId, id: &str) -> String {
    format!("product:{store}:{id}")
}

fn slug_key(store: &StoreId, slug: &str) -> String {
    format!("product-slug:{store}:{slug}")
}

impl ProductCache {
    pub(crate) fn new(cache: Arc<TieredCache>) -> Self {
        ProductCache { cache }
    }

    pub(crate) async fn by_id(&self, store: &StoreId, id: &ProductId) -> Option<pb::Product> {
        let bytes = self.cache.get(&id_key(store, &id.to_string())).await?;
        let product = pb::Product::decode(bytes).ok()?;
        // Keys embed the store id, but check anyway: a cache must never leak across tenants.
        (product.store_id == store.to_string()).then_some(product)
    }

    /// The id a slug pointed to when cached; the caller checks the product still has that slug.
    pub(crate) async fn id_for_slug(&self, store: &StoreId, slug: &str) -> Option<ProductId> {
        let bytes = self.cache.get(&slug_key(store, slug)).await?;
        std::str::from_utf8(&bytes).ok()?.parse().ok()
    }

    pub(crate) async fn put(&self, store: &StoreId, product: &pb::Product) {
        let bytes = Bytes::from(product.encode_to_vec());
        self.cache.set(&id_key(store, &product.id), bytes, TTL).await;
        let id = Bytes::from(product.id.clone().into_bytes());
        self.cache.set(&slug_key(store, &product.slug), id, TTL).await;
    }

    /// Drops a product's keys in L1 and L2; writers call this right after commit.
    pub(crate) async fn invalidate(&self, store: &StoreId, id: &ProductId, slugs: &[&str]) {
        self.cache.delete(&id_key(store, &id.to_string())).await;
        for slug in slugs {
            self.cache.delete(&slug_key(store, slug)).await;
        }
    }

    /// Drops a product from L1 and L2 when a replica learns of a change by event. Deleting L2
    /// again (the writer already did) is idempotent and closes the window in which a reader
    /// that loaded the old row before the commit stored it back after the writer's delete.
    /// A stale slug → id entry is harmless: readers check the slug of what it points to.
    pub(crate) async fn evict_on_event(&self, store: &StoreId, id: &str) {
        self.cache.delete(&id_key(store, id)).await;
    }
}
