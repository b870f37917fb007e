//! Search synonyms use cases: the store's staff set them (stored in the catalog database) and
//! every search applies them at query time.
//!
//! Each replica keeps a store's groups for [`TTL`]: the replica that took a change drops its
//! copy at once, the others serve the old groups for at most that long. Synonyms change rarely
//! and a search should not cost a database read.

use crate::domain::Synonyms;
use crate::service::{CatalogService, store_id};
use mercato_proto::catalog as pb;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use std::sync::Arc;
use std::time::Duration;

/// How long a replica serves a store's groups before reading them again.
pub(crate) const TTL: Duration = Duration::from_secs(10);

/// Stores' synonym groups as this replica last read them.
pub(crate) type SynonymCache = moka::future::Cache<StoreId, Arc<Synonyms>>;

pub(crate) fn new_cache() -> SynonymCache {
    moka::future::Cache::builder()
        .max_capacity(10_000)
        .time_to_live(TTL)
        .build()
}

impl CatalogService {
    pub(crate) async fn get_synonyms(
        &self,
        req: pb::GetSynonymsRequest,
    ) -> Result<pb::Synonyms, ServiceError> {
        let store = store_id(&req.store_id)?;
        Ok(to_proto(&self.store.synonyms(&store).await?))
    }

    pub(crate) async fn set_synonyms(
        &self,
        req: pb::SetSynonymsRequest,
    ) -> Result<pb::Synonyms, ServiceError> {
        let store = store_id(&req.store_id)?;
        let groups: Vec<Vec<String>> = req.groups.into_iter().map(|g| g.words).collect();
        let synonyms = Synonyms::parse(&groups)?;
        self.store.set_synonyms(&store, &synonyms).await?;
        self.synonyms.invalidate(&store).await;
        Ok(to_proto(&synonyms))
    }

    /// The store's groups, through this replica's cache.
    pub(crate) async fn synonyms_of(&self, store: &StoreId) -> Result<Arc<Synonyms>, ServiceError> {
        if let Some(cached) = self.synonyms.get(store).await {
            return Ok(cached);
        }
        let read = Arc::new(self.store.synonyms(store).await?);
        self.synonyms.insert(*store, read.clone()).await;
        Ok(read)
    }
}

fn to_proto(s: &Synonyms) -> pb::Synonyms {
    pb::Synonyms {
        groups: s
            .groups()
            .iter()
            .map(|words| pb::SynonymGroup { words: words.clone() })
            .collect(),
    }
}
