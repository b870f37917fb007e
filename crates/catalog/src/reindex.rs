//! Re-indexing as a job (`search.reindex`): this replica rebuilds a store's search index while
//! search answers from the current one, reporting progress, and asks every other replica to do
//! the same (`search_reindex_requested`).
//!
//! The rebuild reads the store's products page by page and writes them all in one commit
//! ([`crate::search::SearchIndex::rebuild`]): readers see the old documents until then. Versions
//! keep a product changed meanwhile current, and products the index holds but the pages did not
//! show (deleted, unpublished, or moved between pages by a concurrent delete) are looked up one
//! by one, so the index ends as the database is.

use crate::domain::{CategoryId, CategoryRecord, ProductId, Sort};
use crate::search::{Change, IndexedProduct};
use crate::service::{CatalogService, store_id};
use crate::store::ProductQuery;
use mercato_proto::catalog::ReindexSearchRequest;
use mercato_proto::common::Role;
use mercato_proto::events::SearchReindexRequested;
use mercato_proto::jobs::{Job, JobRequest};
use mercato_proto::subjects::catalog::SEARCH_REINDEX_REQUESTED;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use mercato_runtime::jobs::{JobContext, JobError, JobHandler, JobOutput, KindPolicy, NewJob};
use mercato_runtime::outbox;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The job's kind.
pub const KIND: &str = "search.reindex";
/// Products read per round trip.
const PAGE: i64 = 500;
/// The failpoint the crash tests use: the process aborts after the first page's progress.
pub const FAILPOINT_AFTER_PAGE: &str = "catalog.reindex_after_page";

const POLICY: KindPolicy = KindPolicy {
    kind: KIND,
    max_attempts: 3,
    concurrency: 2,
    per_store: 1,
    backoff_base: Duration::from_secs(1),
    backoff_max: Duration::from_secs(60),
    // Short, so that a crashed worker's re-index is taken over within seconds.
    lease: Duration::from_secs(10),
};

/// The re-index jobs this replica ran, so that it skips their `search_reindex_requested` (it
/// already rebuilt). Bounded: only the latest ones matter, the event follows within seconds.
#[derive(Default)]
pub(crate) struct RanHere(Mutex<Vec<String>>);

impl RanHere {
    const KEPT: usize = 64;

    fn remember(&self, job_id: &str) {
        let mut ids = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if ids.len() == Self::KEPT {
            ids.remove(0);
        }
        ids.push(job_id.to_owned());
    }

    pub(crate) fn contains(&self, job_id: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|id| id == job_id)
    }
}

/// The `search.reindex` job's handler.
pub(crate) fn handlers(service: &Arc<CatalogService>) -> Vec<Arc<dyn JobHandler>> {
    vec![service.reindex_handler()]
}

struct ReindexHandler {
    service: Arc<CatalogService>,
}

#[async_trait::async_trait]
impl JobHandler for ReindexHandler {
    fn policy(&self) -> KindPolicy {
        POLICY
    }

    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError> {
        let store = StoreId::parse("store_id", &job.store_id).map_err(|e| JobError::Permanent(e.message))?;
        let indexed = self.service.rebuild_store_index(&store, Some(job)).await?;
        self.service.ask_replicas_to_reindex(&store, &job.id).await?;
        Ok(JobOutput {
            summary: format!("{indexed} product{} indexed", if indexed == 1 { "" } else { "s" }),
            items: indexed as i64,
            file: None,
        })
    }
}

fn retryable(e: impl std::fmt::Display) -> JobError {
    JobError::Retryable(e.to_string())
}

impl CatalogService {
    /// The `search.reindex` handler alone, for a runner of the catalog's jobs that has no files
    /// or inventory (tests; the process registers [`CatalogService::job_handlers`]).
    pub fn reindex_handler(self: &Arc<Self>) -> Arc<dyn JobHandler> {
        Arc::new(ReindexHandler {
            service: self.clone(),
        })
    }

    /// Enqueues a `search.reindex` of the store, or answers the one already queued or running.
    pub(crate) async fn reindex_search(&self, req: ReindexSearchRequest) -> Result<Job, ServiceError> {
        let store = store_id(&req.store_id)?;
        let caller = req.caller.unwrap_or_default();
        if !matches!(caller.role(), Role::Owner | Role::Staff) {
            return Err(ServiceError::forbidden(
                "only the store's owner and staff may re-index",
            ));
        }
        let queue = self.jobs.queue();
        let store_key = store.to_string();
        let requested_by = caller.user_id.clone();
        let answer = self
            .db
            .write("reindex_search", move |tx| {
                // The newest re-index of the store: answered while it is pending; once it ended,
                // its id keys the next one, so concurrent requests still make only one job.
                let latest: Option<(String, String)> = tx.query_opt(
                    "SELECT id, status FROM jobs WHERE store_id = $1 AND kind = $2 \
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                    &[&store_key, &KIND],
                )?;
                let dedupe_key = match latest {
                    Some((id, status)) if status == "queued" || status == "running" => {
                        return Ok::<_, ServiceError>(Err(id));
                    }
                    Some((id, _)) => format!("after:{id}"),
                    None => "first".to_owned(),
                };
                let job = NewJob {
                    kind: KIND,
                    store_id: store_key,
                    input: serde_json::json!({}),
                    requested_by,
                    dedupe_key: Some(dedupe_key),
                    max_attempts: POLICY.max_attempts,
                };
                Ok(Ok(queue.enqueue(tx, &job)?))
            })
            .await?;
        match answer {
            Ok(job) => {
                self.jobs.wake();
                Ok(job)
            }
            Err(pending) => {
                self.jobs
                    .get(JobRequest {
                        store_id: store.to_string(),
                        caller: Some(caller),
                        job_id: pending,
                    })
                    .await
            }
        }
    }

    /// Rebuilds the store's documents in this replica's index from the database; returns how
    /// many products it holds. With a job, reports progress (and stops when it is cancelled).
    pub(crate) async fn rebuild_store_index(
        &self,
        store: &StoreId,
        job: Option<&JobContext>,
    ) -> Result<usize, JobError> {
        let categories: HashMap<CategoryId, CategoryRecord> = self
            .store
            .categories(store)
            .await
            .map_err(retryable)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut changes = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = 0;
        loop {
            let query = ProductQuery {
                categories: None,
                public_only: true,
                sort: Sort::Newest,
                limit: PAGE,
                offset,
            };
            let (page, total) = self.store.products(store, &query).await.map_err(retryable)?;
            for p in &page {
                if seen.insert(p.id.to_string()) {
                    let category = p.category_id.and_then(|c| categories.get(&c));
                    changes.push(Change::Upsert(IndexedProduct::from_record(p, category)));
                }
            }
            if let Some(job) = job {
                job.progress(changes.len() as i64, total as i64).await?;
                mercato_runtime::failpoint::hit(FAILPOINT_AFTER_PAGE);
            }
            if (page.len() as i64) < PAGE {
                break;
            }
            offset += PAGE;
        }
        let indexed = changes.len();
        changes.extend(self.stale_documents(store, &seen).await?);
        let index = self.index.clone();
        tokio::task::spawn_blocking(move || index.rebuild(changes))
            .await
            .map_err(retryable)?
            .map_err(retryable)?;
        Ok(indexed)
    }

    /// What to do with the documents of the store the pages did not show: each is looked up,
    /// and indexed again if public, removed otherwise.
    async fn stale_documents(
        &self,
        store: &StoreId,
        seen: &HashSet<String>,
    ) -> Result<Vec<Change>, JobError> {
        let index = self.index.clone();
        let store_key = store.to_string();
        let held = tokio::task::spawn_blocking(move || index.store_product_ids(&store_key))
            .await
            .map_err(retryable)?
            .map_err(retryable)?;
        let mut changes = Vec::new();
        for id in held.into_iter().filter(|id| !seen.contains(id)) {
            let product = match id.parse::<ProductId>() {
                Ok(pid) => self.store.product(store, &pid).await.map_err(retryable)?,
                Err(_) => None,
            };
            changes.push(match product {
                Some(p) if p.status.is_public() => {
                    let category = match p.category_id {
                        Some(c) => self.store.category_by_id(store, &c).await.map_err(retryable)?,
                        None => None,
                    };
                    Change::Upsert(IndexedProduct::from_record(&p, category.as_ref()))
                }
                Some(p) => Change::Delete {
                    product_id: id,
                    version: p.version,
                },
                None => Change::Delete {
                    version: self.index.version_of(&id).unwrap_or(0),
                    product_id: id,
                },
            });
        }
        Ok(changes)
    }

    /// Publishes `search_reindex_requested` through the outbox, so that the other replicas
    /// rebuild the store too; this one skips it.
    async fn ask_replicas_to_reindex(&self, store: &StoreId, job_id: &str) -> Result<(), JobError> {
        self.reindexed_here.remember(job_id);
        let event = outbox::envelope(
            &store.to_string(),
            SEARCH_REINDEX_REQUESTED,
            1,
            &SearchReindexRequested {
                job_id: job_id.to_owned(),
            },
        );
        self.db
            .write("search_reindex_requested", move |tx| outbox::append(tx, &event))
            .await?;
        self.committed();
        Ok(())
    }

    /// A `search_reindex_requested` from the bus: rebuild the store here unless this replica
    /// ran the job. In its own task, so the fanout consumer goes on applying product events.
    pub(crate) fn on_reindex_requested(self: &Arc<Self>, store: StoreId, job_id: String) {
        if self.reindexed_here.contains(&job_id) {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move {
            match service.rebuild_store_index(&store, None).await {
                Ok(n) => tracing::info!(%store, job_id, products = n, "search index rebuilt on request"),
                Err(e) => tracing::error!(%store, job_id, error = %e, "search index rebuild failed"),
            }
        });
    }
}
