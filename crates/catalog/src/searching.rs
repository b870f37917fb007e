//! The search use case: validate the request, query this replica's index off the async runtime.

use crate::search::{Hit, PRICE_BUCKETS, SearchParams, SearchResults};
use crate::service::{CatalogService, store_id};
use mercato_proto::catalog as pb;
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::ids::StoreId;

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
/// Deepest result a client may page to: collecting top documents costs memory in proportion to
/// offset + limit, so an unbounded offset would let one request exhaust the process.
const MAX_WINDOW: u32 = 10_000;

impl CatalogService {
    pub(crate) async fn search(&self, req: pb::SearchRequest) -> Result<pb::SearchResponse, ServiceError> {
        let store = store_id(&req.store_id)?;
        check(&req)?;
        let synonyms = self.synonyms_of(&store).await?;
        let mut params = search_params(&store, req);
        params.synonyms = synonyms.groups().to_vec();
        let index = self.index.clone();
        let results = tokio::task::spawn_blocking(move || index.search(&params))
            .await
            .map_err(ServiceError::internal)?
            .map_err(ServiceError::internal)?;
        Ok(response(results))
    }
}

/// Refuses negative prices, overlong queries and pages beyond [`MAX_WINDOW`], all at once.
fn check(req: &pb::SearchRequest) -> Result<(), ServiceError> {
    let mut v = Validator::new();
    if req.min_price_minor.is_some_and(|p| p < 0) {
        v.add("min_price_minor", "must not be negative");
    }
    if req.max_price_minor.is_some_and(|p| p < 0) {
        v.add("max_price_minor", "must not be negative");
    }
    if req.query.chars().count() > 200 {
        v.add("query", "must be at most 200 characters");
    }
    if req.offset.saturating_add(req.limit.min(MAX_LIMIT)) > MAX_WINDOW {
        v.add(
            "offset",
            "plus limit must be at most 10000; narrow the search instead",
        );
    }
    v.finish()
}

/// The index query for a checked request; a limit of 0 means [`DEFAULT_LIMIT`].
fn search_params(store: &StoreId, req: pb::SearchRequest) -> SearchParams {
    SearchParams {
        store_id: store.to_string(),
        text: req.query,
        category: req.category,
        min_price: req.min_price_minor,
        max_price: req.max_price_minor,
        limit: match req.limit {
            0 => DEFAULT_LIMIT,
            n => n.min(MAX_LIMIT),
        } as usize,
        offset: req.offset as usize,
        synonyms: Vec::new(),
    }
}

/// The index's answer as the contract shapes it: category facets by count (then name), one
/// count per [`PRICE_BUCKETS`] entry (an open upper bound as -1).
fn response(results: SearchResults) -> pb::SearchResponse {
    let mut categories: Vec<pb::FacetCount> = results
        .facets
        .categories
        .into_iter()
        .map(|(value, count)| pb::FacetCount { value, count })
        .collect();
    categories.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    pb::SearchResponse {
        hits: results.hits.into_iter().map(hit).collect(),
        total: results.total,
        categories,
        price_ranges: PRICE_BUCKETS
            .iter()
            .zip(results.facets.price_buckets)
            .map(|((from, to), count)| pb::PriceBucket {
                from_minor: *from,
                to_minor: to.unwrap_or(-1),
                count,
            })
            .collect(),
    }
}

/// One matching product as the contract shows it.
fn hit(h: Hit) -> pb::SearchHit {
    pb::SearchHit {
        product_id: h.product_id,
        slug: h.slug,
        title: h.title,
        category: h.category_slug,
        min_price: Some(pb::Money {
            amount_minor: h.min_price,
            currency: h.currency,
        }),
        score: h.score,
    }
}
