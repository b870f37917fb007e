//! Re-indexing as a job (`search.reindex`): this replica rebuilds a store's search index while
//! search answers from the current one, reporting progress, and asks every other replica to do
//! the same (`search_reindex_requested`).

use crate::service::CatalogService;
use mercato_proto::catalog::ReindexSearchRequest;
use mercato_proto::jobs::Job;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::jobs::JobHandler;
use std::sync::Arc;

/// The `search.reindex` job's handler; none until re-indexing as a job lands.
pub(crate) fn handlers(service: &Arc<CatalogService>) -> Vec<Arc<dyn JobHandler>> {
    let _ = service;
    Vec::new()
}

impl CatalogService {
    pub(crate) async fn reindex_search(&self, req: ReindexSearchRequest) -> Result<Job, ServiceError> {
        let _ = req;
        Err(ServiceError::new(
            ErrorCode::Unavailable,
            "re-indexing is not available yet",
        ))
    }
}
