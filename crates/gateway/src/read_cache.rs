//! Public catalog reads (a product, a listing page, a search, the categories) answered from
//! encoded bytes: the JSON body and its `ETag` are kept per gateway, keyed by path and query,
//! so a repeated read costs a look-up and a socket write, crosses no service boundary, and a
//! client holding the current `ETag` gets `304 Not Modified`.
//!
//! Invalidation is per store, by generation (as in the catalog's listing cache): an answer is
//! stored with the store's generation read before the catalog was asked, and served only while
//! that generation is current. A change to a store's catalog bumps it — at once when this
//! gateway made the change (after the catalog evicted its own caches, so the next read here
//! sees the change), and on the change's event otherwise. Because a catalog replica may apply
//! the same event a moment after this gateway does, and so still answer from its old copy, an
//! event bumps the generation again at each of [`SETTLE`] later: an answer filled in between
//! is dropped too.

use crate::product_views::Client;
use crate::state::GatewayState;
use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use mercato_runtime::error::ServiceError;
use metrics::Counter;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, RwLock, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// When, after an event, the store's generation is bumped again: soon, for the usual lag of a
/// catalog replica's cache, and once more for a search index still committing the change.
pub const SETTLE: [Duration; 2] = [Duration::from_millis(100), Duration::from_secs(1)];
/// A backstop only: generations do the invalidation.
const TTL: Duration = Duration::from_secs(300);
/// Bytes of encoded answers kept per gateway.
const CAPACITY_BYTES: u64 = 32 * 1024 * 1024;
/// Revalidate on every use: the `ETag` makes that a `304` when nothing changed.
const CACHE_CONTROL: HeaderValue = HeaderValue::from_static("no-cache");

/// `gateway_read_cache_total` by result: `hit`, `stale` (an answer of an older generation) or
/// `miss` (computed by the route).
static HITS: LazyLock<Counter> =
    LazyLock::new(|| metrics::counter!(GATEWAY_READ_CACHE.name, "result" => "hit"));
static STALE: LazyLock<Counter> =
    LazyLock::new(|| metrics::counter!(GATEWAY_READ_CACHE.name, "result" => "stale"));
static MISSES: LazyLock<Counter> =
    LazyLock::new(|| metrics::counter!(GATEWAY_READ_CACHE.name, "result" => "miss"));

/// Describes [`HITS`], [`STALE`] and [`MISSES`].
pub(crate) fn describe_metrics() {
    mercato_runtime::metric_family::Family::describe_all(&[GATEWAY_READ_CACHE]);
}

mercato_runtime::metric_families! {
    /// Public catalog reads by the gateway's answer cache result: hit, stale (an answer of an older
    /// generation) or miss (computed by the route).
    pub(crate) const GATEWAY_READ_CACHE: Counter(Count) = "gateway_read_cache_total";
}

/// One encoded answer.
struct Answer {
    /// The route that computed it, named in the metrics of the requests it answers.
    route: Option<MatchedPath>,
    store_id: String,
    generation: u64,
    body: Bytes,
    etag: HeaderValue,
    /// The product it shows, when it is a product page: each answer from the cache is a view
    /// (`product_views`).
    product: Option<String>,
}

impl Answer {
    fn respond(&self, condition: &ReadCondition) -> Response {
        let not_modified = condition
            .if_none_match
            .as_ref()
            .is_some_and(|v| etag_matches(v, &self.etag));
        let mut response = if not_modified {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        } else {
            let mut r = Response::new(Body::from(self.body.clone()));
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            r
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.clone());
        headers.insert(header::CACHE_CONTROL, CACHE_CONTROL);
        if let Some(route) = &self.route {
            response.extensions_mut().insert(route.clone());
        }
        response
    }
}

/// Whether an `If-None-Match` value (`*`, or a list of tags, weak or strong) names `etag`.
fn etag_matches(if_none_match: &HeaderValue, etag: &HeaderValue) -> bool {
    let Ok(list) = if_none_match.to_str() else {
        return false;
    };
    let ours = etag.as_bytes();
    list.split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == ours)
}

/// A strong `ETag` naming the body's content.
fn etag_of(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let hex = mercato_runtime::digest::hex(&digest[..12]);
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex in quotes is a valid header value")
}

/// What identifies a cacheable read and how the client asks for it: the path and query, and
/// the `If-None-Match` it sent.
pub struct ReadCondition {
    uri: Uri,
    if_none_match: Option<HeaderValue>,
    route: Option<MatchedPath>,
}

impl<S: Send + Sync> FromRequestParts<S> for ReadCondition {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut condition = ReadCondition::new(parts.uri.clone(), &parts.headers);
        condition.route = parts.extensions.get::<MatchedPath>().cloned();
        Ok(condition)
    }
}

impl ReadCondition {
    fn new(uri: Uri, headers: &HeaderMap) -> Self {
        ReadCondition {
            uri,
            if_none_match: headers.get(header::IF_NONE_MATCH).cloned(),
            route: None,
        }
    }

    fn key(&self) -> &str {
        self.uri.path_and_query().map_or("/", |p| p.as_str())
    }
}

/// The gateway's cache of encoded public reads.
pub struct ReadCache {
    answers: moka::sync::Cache<String, Arc<Answer>>,
    generations: RwLock<HashMap<String, u64>>,
    /// Stores with bumps scheduled, and when their latest event arrived.
    settling: Mutex<HashMap<String, Instant>>,
}

impl Default for ReadCache {
    fn default() -> Self {
        ReadCache {
            answers: moka::sync::Cache::builder()
                .max_capacity(CAPACITY_BYTES)
                .weigher(|key: &String, answer: &Arc<Answer>| {
                    u32::try_from(key.len() + answer.body.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(TTL)
                .build(),
            generations: RwLock::new(HashMap::new()),
            settling: Mutex::new(HashMap::new()),
        }
    }
}

impl ReadCache {
    fn generation(&self, store_id: &str) -> u64 {
        let generations = self.generations.read().unwrap_or_else(PoisonError::into_inner);
        generations.get(store_id).copied().unwrap_or(0)
    }

    /// The cached answer to `condition`, if it is still current.
    fn current(&self, condition: &ReadCondition) -> Option<Arc<Answer>> {
        let answer = self.answers.get(condition.key())?;
        let current = answer.generation == self.generation(&answer.store_id);
        if current { &HITS } else { &STALE }.increment(1);
        current.then_some(answer)
    }

    #[cfg(test)]
    fn get(&self, condition: &ReadCondition) -> Option<Response> {
        self.current(condition).map(|a| a.respond(condition))
    }

    /// Encodes `view`, stores it under the generation read before it was fetched, and answers.
    fn put(
        &self,
        condition: &ReadCondition,
        store_id: &str,
        generation: u64,
        view: &impl Serialize,
        product: Option<String>,
    ) -> Result<Response, ServiceError> {
        let body = Bytes::from(serde_json::to_vec(view).map_err(ServiceError::internal)?);
        let answer = Answer {
            route: condition.route.clone(),
            store_id: store_id.to_owned(),
            generation,
            etag: etag_of(&body),
            body,
            product,
        };
        let response = answer.respond(condition);
        MISSES.increment(1);
        // Filled from data older than a change that landed meanwhile: answer, do not keep.
        if generation == self.generation(store_id) {
            self.answers.insert(condition.key().to_owned(), Arc::new(answer));
        }
        Ok(response)
    }

    /// Makes every answer of the store unreachable; call after a change to its catalog.
    pub fn invalidate(&self, store_id: &str) {
        let mut generations = self.generations.write().unwrap_or_else(PoisonError::into_inner);
        *generations.entry(store_id.to_owned()).or_insert(0) += 1;
    }

    /// Invalidates on a change learnt by event: now, and again at each of [`SETTLE`] after the
    /// store's latest event (one task per store, however many events arrive).
    pub fn invalidate_on_event(self: &Arc<Self>, store_id: &str) {
        self.invalidate(store_id);
        let first = self
            .settling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(store_id.to_owned(), Instant::now())
            .is_none();
        if first {
            tokio::spawn(settle(Arc::downgrade(self), store_id.to_owned()));
        }
    }

    /// Answers a public read the edge did not find current ([`answer_cached`]): notes the
    /// store's generation, runs `fetch` for the store and caches the view it returns.
    pub async fn read<V, Fut>(
        &self,
        condition: &ReadCondition,
        store_id: String,
        fetch: impl FnOnce(String) -> Fut,
    ) -> Result<Response, ServiceError>
    where
        V: Serialize,
        Fut: Future<Output = Result<V, ServiceError>>,
    {
        self.read_counted(condition, store_id, fetch, |_| None).await
    }

    /// [`ReadCache::read`] for an answer that is a view of the product `product` names: each
    /// later answer from the cache is counted as one (the route counts the first itself).
    pub async fn read_counted<V, Fut>(
        &self,
        condition: &ReadCondition,
        store_id: String,
        fetch: impl FnOnce(String) -> Fut,
        product: impl FnOnce(&V) -> Option<String>,
    ) -> Result<Response, ServiceError>
    where
        V: Serialize,
        Fut: Future<Output = Result<V, ServiceError>>,
    {
        // `answer_cached` looked the answer up before routing; a request here missed.
        let generation = self.generation(&store_id);
        let view = fetch(store_id.clone()).await?;
        let product = product(&view);
        self.put(condition, &store_id, generation, &view, product)
    }
}

/// Middleware before routing: answers a `GET` from the cache when it holds a current answer for
/// its path and query (only the cacheable routes put answers there).
pub async fn answer_cached(State(state): State<GatewayState>, request: Request, next: Next) -> Response {
    // A signed-in caller may see what the public do not (a store's staff see its drafts): its
    // reads go to the handler, which caches public answers only.
    if request.method() == Method::GET && !request.headers().contains_key(axum::http::header::AUTHORIZATION) {
        let condition = ReadCondition::new(request.uri().clone(), request.headers());
        if let Some(hit) = state.reads().current(&condition) {
            let client = Client::of(request.headers(), request.extensions(), &state);
            if let (Some(product), Some(visitor)) = (&hit.product, client.visitor()) {
                let now = mercato_runtime::time::now_ms();
                state.product_views().count(&hit.store_id, product, visitor, now);
            }
            return hit.respond(&condition);
        }
    }
    next.run(request).await
}

/// Bumps the store's generation at each of [`SETTLE`] after its latest event, until no event
/// arrived while it waited.
async fn settle(cache: Weak<ReadCache>, store_id: String) {
    loop {
        let Some(latest) = latest_event(&cache, &store_id) else {
            return;
        };
        for after in SETTLE {
            tokio::time::sleep_until(latest + after).await;
            let Some(cache) = cache.upgrade() else {
                return;
            };
            cache.invalidate(&store_id);
        }
        let Some(cache) = cache.upgrade() else {
            return;
        };
        let mut settling = cache.settling.lock().unwrap_or_else(PoisonError::into_inner);
        if settling.get(&store_id) == Some(&latest) {
            settling.remove(&store_id);
            return;
        }
    }
}

fn latest_event(cache: &Weak<ReadCache>, store_id: &str) -> Option<Instant> {
    let cache = cache.upgrade()?;
    let settling = cache.settling.lock().unwrap_or_else(PoisonError::into_inner);
    settling.get(store_id).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(id: &str) -> String {
        id.to_owned()
    }

    fn condition(path: &str, if_none_match: Option<&str>) -> ReadCondition {
        let mut headers = HeaderMap::new();
        if let Some(v) = if_none_match {
            headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
        }
        ReadCondition::new(path.parse().unwrap(), &headers)
    }

    #[tokio::test]
    async fn answers_from_cache_until_the_store_changes() {
        let cache = ReadCache::default();
        let read = condition("/v1/stores/a/products/p", None);
        assert!(cache.get(&read).is_none());
        let first = cache
            .read(&read, store("store-a"), |_| async { Ok("v1") })
            .await
            .unwrap();
        let etag = first.headers()[header::ETAG].clone();
        let hit = cache.get(&read).expect("cached");
        assert_eq!(hit.headers()[header::ETAG], etag);
        cache.invalidate("store-b");
        assert!(cache.get(&read).is_some(), "another store's change leaves it");
        cache.invalidate("store-a");
        assert!(cache.get(&read).is_none(), "its store's change drops it");
        let second = cache
            .read(&read, store("store-a"), |_| async { Ok("v2") })
            .await
            .unwrap();
        assert_ne!(second.headers()[header::ETAG], etag, "a new body has a new tag");
    }

    #[tokio::test]
    async fn a_fill_that_raced_a_change_is_not_kept() {
        let cache = ReadCache::default();
        let read = condition("/v1/stores/a/products", None);
        let answer = cache
            .read(&read, store("store-a"), |_| async {
                cache.invalidate("store-a"); // the change lands while the catalog answers
                Ok("old")
            })
            .await
            .unwrap();
        assert_eq!(
            answer.status(),
            StatusCode::OK,
            "the caller still gets its answer"
        );
        assert!(cache.get(&read).is_none(), "but it is not kept");
    }

    #[tokio::test]
    async fn a_matching_if_none_match_gets_304_without_a_body() {
        let cache = ReadCache::default();
        let plain = condition("/p", None);
        let etag = cache
            .read(&plain, store("s"), |_| async { Ok(1) })
            .await
            .unwrap()
            .headers()[header::ETAG]
            .to_str()
            .unwrap()
            .to_owned();
        for value in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"x\", {etag}"),
            "*".to_owned(),
        ] {
            let r = cache.get(&condition("/p", Some(&value))).unwrap();
            assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{value}");
        }
        let r = cache.get(&condition("/p", Some("\"other\""))).unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_invalidates_again_after_settling() {
        let cache = Arc::new(ReadCache::default());
        let read = condition("/p", None);
        cache.invalidate_on_event("s");
        // A replica that had not yet applied the event answers with its old copy.
        cache
            .read(&read, store("s"), |_| async { Ok("stale") })
            .await
            .unwrap();
        assert!(cache.get(&read).is_some());
        tokio::time::sleep(SETTLE[0] + Duration::from_millis(10)).await;
        assert!(
            cache.get(&read).is_none(),
            "the next bump drops what was filled in between"
        );
        cache
            .read(&read, store("s"), |_| async { Ok("stale") })
            .await
            .unwrap();
        tokio::time::sleep(SETTLE[1]).await;
        assert!(cache.get(&read).is_none(), "and so does the last");
        cache
            .read(&read, store("s"), |_| async { Ok("fresh") })
            .await
            .unwrap();
        tokio::time::sleep(SETTLE[1] * 2).await;
        assert!(cache.get(&read).is_some(), "once settled, answers stay");
    }
}
