//! The catalog service: its parts, how it starts, and how it reports readiness.

use crate::cache::ProductCache;
use crate::domain::{CategoryId, CategoryLookup, CategoryRecord, ProductId, Sort};
use crate::listing_cache::ListingCache;
use crate::search::{Change, IndexedProduct, SearchIndex};
use crate::store::{CatalogStore, MIGRATIONS, ProductQuery, SqlCatalogStore};
use mercato_runtime::cache::TieredCache;
use mercato_runtime::db::Db;
use mercato_runtime::error::ServiceError;
use mercato_runtime::files::FileStore;
use mercato_runtime::ids::StoreId;
use mercato_runtime::jobs::Jobs;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Products read per round trip while rebuilding the index.
const REINDEX_PAGE: i64 = 500;

/// The catalog service; one per process, shared behind an `Arc`.
pub struct CatalogService {
    /// Where products and categories live; every write also appends its event there.
    pub(crate) store: Arc<dyn CatalogStore>,
    /// Kept for readiness probes, and for the writes that are not the store's (re-index jobs).
    pub(crate) db: Db,
    /// Products by id and slug, in front of the store.
    pub(crate) cache: ProductCache,
    pub(crate) listings: ListingCache,
    /// This replica's search index, fed by events after the start-up rebuild.
    pub(crate) index: Arc<SearchIndex>,
    /// Stores' search synonyms, read again after `synonyms::TTL`.
    pub(crate) synonyms: crate::synonyms::SynonymCache,
    /// Wakes the outbox relay after a commit, so events leave at once instead of at its next poll.
    outbox_waker: Arc<Notify>,
    /// The catalog's background jobs (image sizes, the products export, re-indexing).
    pub(crate) jobs: Jobs,
    /// Where product images are kept; attached by the process (`attach_files`) before it serves.
    pub(crate) files: std::sync::OnceLock<FileStore>,
    /// The re-index jobs this replica ran (it skips their `search_reindex_requested`).
    pub(crate) reindexed_here: crate::reindex::RanHere,
    /// The product images table (`store::images`).
    pub(crate) images: crate::store::ImageStore,
}

impl CatalogService {
    /// Migrates the database and builds this replica's search index from it.
    pub async fn new(
        db: Db,
        cache: Arc<TieredCache>,
        outbox_waker: Arc<Notify>,
    ) -> anyhow::Result<Arc<CatalogService>> {
        db.migrate("catalog", MIGRATIONS).await?;
        let jobs = Jobs::new("catalog", db.clone(), outbox_waker.clone());
        let service = CatalogService {
            store: Arc::new(SqlCatalogStore::new(db.clone())),
            images: crate::store::ImageStore::new(db.clone()),
            db,
            cache: ProductCache::new(cache),
            listings: ListingCache::new(),
            index: Arc::new(SearchIndex::new()?),
            synonyms: crate::synonyms::new_cache(),
            outbox_waker,
            jobs,
            files: std::sync::OnceLock::new(),
            reindexed_here: Default::default(),
        };
        let indexed = service.reindex().await?;
        tracing::info!(products = indexed, "catalog search index built");
        Ok(Arc::new(service))
    }

    /// Gives the service the deployment's file store (product images); before this, image
    /// uploads are refused as unavailable. A second call changes nothing.
    pub fn attach_files(&self, files: FileStore) {
        let _ = self.files.set(files);
    }

    /// The catalog's job handlers (`app/services.rs` registers them on its runner): image sizes,
    /// the products export (with stock from inventory) and re-indexing.
    pub fn job_handlers(
        self: &Arc<Self>,
        files: &FileStore,
        settings: &mercato_runtime::config::FilesSettings,
        inventory: Option<&mercato_runtime::clients::inventory::InventoryClient>,
    ) -> Vec<Arc<dyn mercato_runtime::jobs::JobHandler>> {
        let mut handlers = crate::images::handlers(self, files);
        handlers.extend(crate::exports::handlers(self, files, settings, inventory));
        handlers.extend(crate::reindex::handlers(self));
        handlers
    }

    /// Whether the database answers.
    /// This service's jobs: its runner and the job RPCs.
    pub fn jobs(&self) -> &mercato_runtime::jobs::Jobs {
        &self.jobs
    }

    pub async fn ready(&self) -> bool {
        self.db.ping().await
    }

    /// Reads every product and indexes those newer than what the index holds; returns how many
    /// changed the index. Run at start-up, and again once the event subscription is live to
    /// catch what changed in between.
    pub(crate) async fn reindex(&self) -> anyhow::Result<usize> {
        let mut applied = 0;
        for store in self.store.store_ids().await? {
            let categories: HashMap<CategoryId, CategoryRecord> = self
                .store
                .categories(&store)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            let mut offset = 0;
            loop {
                let query = ProductQuery {
                    categories: None,
                    public_only: true,
                    sort: Sort::Newest,
                    limit: REINDEX_PAGE,
                    offset,
                };
                let (page, _) = self.store.products(&store, &query).await?;
                let changes: Vec<Change> = page
                    .iter()
                    .map(|p| {
                        let category = p.category_id.and_then(|c| categories.get(&c));
                        Change::Upsert(IndexedProduct::from_record(p, category))
                    })
                    .collect();
                let index = self.index.clone();
                applied += tokio::task::spawn_blocking(move || index.apply(changes)).await??;
                if (page.len() as i64) < REINDEX_PAGE {
                    break;
                }
                offset += REINDEX_PAGE;
            }
        }
        Ok(applied)
    }

    /// Called after a transaction that appended an event has committed.
    pub(crate) fn committed(&self) {
        self.outbox_waker.notify_one();
    }

    /// After a product write commits: drop its cache keys, then wake the relay. The cache goes
    /// first so that no replica can act on the event while L2 still holds the old product, and
    /// it runs in its own task so that a caller who gives up (a timeout, a dropped gRPC call)
    /// cannot leave the cache stale.
    pub(crate) async fn after_commit(&self, store: StoreId, id: ProductId, slugs: Vec<String>) {
        self.listings.invalidate(&store);
        let cache = self.cache.clone();
        let waker = self.outbox_waker.clone();
        let task = tokio::spawn(async move {
            let slugs: Vec<&str> = slugs.iter().map(String::as_str).collect();
            cache.invalidate(&store, &id, &slugs).await;
            waker.notify_one();
        });
        let _ = task.await;
    }

    /// Resolves a category reference (an id or a slug) within a store; empty means none.
    pub(crate) async fn lookup_category(
        &self,
        store: &StoreId,
        key: &str,
    ) -> Result<CategoryLookup, ServiceError> {
        if key.is_empty() {
            return Ok(CategoryLookup::None);
        }
        if let Ok(id) = key.parse::<CategoryId>()
            && let Some(c) = self.store.category_by_id(store, &id).await?
        {
            return Ok(CategoryLookup::Found(c));
        }
        Ok(match self.store.category_by_slug(store, key).await? {
            Some(c) => CategoryLookup::Found(c),
            None => CategoryLookup::Unknown,
        })
    }
}

/// Parses the tenant id every request carries.
pub(crate) fn store_id(s: &str) -> Result<StoreId, ServiceError> {
    StoreId::parse("store_id", s)
}
