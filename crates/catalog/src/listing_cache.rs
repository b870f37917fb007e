//! Listing pages cached per replica, dropped wholesale for a store whenever one of its products
//! changes.
//!
//! Every page key carries the store's generation, read before the database is queried. A
//! change bumps the generation, so a page computed from data older than the change is stored
//! under a generation no reader asks for any more; it ages out. Writers bump on commit and every
//! replica bumps on the product's event, so other replicas lag a change by the event's delivery.

use mercato_proto::catalog as pb;
use mercato_runtime::ids::StoreId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A backstop only: generations do the invalidation.
const TTL: Duration = Duration::from_secs(60);
const MAX_PAGES: u64 = 20_000;

/// What identifies one listing page besides its store.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(crate) struct PageKey {
    /// Drafts and archived products too (the store's staff), or active ones only.
    pub include_hidden: bool,
    pub category: String,
    pub sort: String,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Clone)]
pub(crate) struct ListingCache {
    pages: moka::future::Cache<(StoreId, u64, PageKey), Arc<pb::ListProductsResponse>>,
    generations: Arc<Mutex<HashMap<StoreId, u64>>>,
}

impl ListingCache {
    pub(crate) fn new() -> Self {
        ListingCache {
            pages: moka::future::Cache::builder()
                .max_capacity(MAX_PAGES)
                .time_to_live(TTL)
                .build(),
            generations: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The store's current generation; read it before querying the database.
    pub(crate) fn generation(&self, store: &StoreId) -> u64 {
        *self
            .generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(store)
            .unwrap_or(&0)
    }

    /// Makes every cached page of the store unreachable.
    pub(crate) fn invalidate(&self, store: &StoreId) {
        *self
            .generations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(*store)
            .or_insert(0) += 1;
    }

    pub(crate) async fn get(
        &self,
        store: &StoreId,
        generation: u64,
        key: &PageKey,
    ) -> Option<Arc<pb::ListProductsResponse>> {
        self.pages.get(&(*store, generation, key.clone())).await
    }

    pub(crate) async fn put(
        &self,
        store: &StoreId,
        generation: u64,
        key: PageKey,
        page: pb::ListProductsResponse,
    ) {
        self.pages.insert((*store, generation, key), Arc::new(page)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PageKey {
        PageKey {
            include_hidden: false,
            category: String::new(),
            sort: "newest".into(),
            page: 1,
            per_page: 20,
        }
    }

    #[tokio::test]
    async fn a_change_hides_pages_cached_before_it() {
        let cache = ListingCache::new();
        let store = StoreId::new();
        let generation = cache.generation(&store);
        cache
            .put(&store, generation, key(), pb::ListProductsResponse::default())
            .await;
        assert!(
            cache
                .get(&store, cache.generation(&store), &key())
                .await
                .is_some()
        );
        cache.invalidate(&store);
        assert!(
            cache
                .get(&store, cache.generation(&store), &key())
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_page_read_before_a_change_is_never_served_after_it() {
        let cache = ListingCache::new();
        let store = StoreId::new();
        let before = cache.generation(&store);
        cache.invalidate(&store); // the write commits while the reader queries
        cache
            .put(&store, before, key(), pb::ListProductsResponse::default())
            .await;
        assert!(
            cache
                .get(&store, cache.generation(&store), &key())
                .await
                .is_none()
        );
    }
}
