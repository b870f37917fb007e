//! Shadow comparison, off the request path: the primary side's answer to the client (copied as
//! it streams, `tee`) is compared with the other side's answer to the same request head (GET
//! and HEAD only, so asking again changes nothing), with the noise a second primary answer
//! shows cancelled (Diffy's primary, secondary and candidate); the result is counted per route
//! and the newest differing pairs kept. A client that did not read its answer to the end gives
//! no copy, and the primary is asked for it instead. At most `shadow_concurrency` run at once; beyond, a
//! request is not shadowed (counted as skipped) rather than queued. A request Mercato refused
//! (its rate limit, its shedding) is not shadowed at all, and an ask shed counts as an error.
//! The asks are marked `InternalAsk`: outside the client's rate limit, the edge's request
//! metrics and log, and the product views.

use super::compare::{self, Verdict};
use super::decide::Side;
use super::metrics::COMPARISONS;
use super::table::{Route, StoreTable};
use super::tee::Copied;
use super::{Head, Strangler};
use axum::Router;
use http_body_util::BodyExt;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// One route's comparisons so far.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RouteBook {
    pub same: u64,
    pub noise_only: u64,
    pub different: u64,
    /// A side failed, timed out or answered a body over the limit.
    pub error: u64,
    /// Not compared: too many comparisons were running.
    pub skipped: u64,
    /// The newest differing pairs, newest last.
    pub samples: VecDeque<Sample>,
}

/// A differing pair, as compared (after normalisation).
#[derive(Clone, Debug, Serialize)]
pub struct Sample {
    /// When (RFC 3339).
    pub at: String,
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The side that answered the client.
    pub primary: &'static str,
    /// JSON pointers into `{status, body}` where the candidate differs beyond the noise.
    pub differences: Vec<String>,
    pub primary_answer: Value,
    pub candidate_answer: Value,
}

/// Every route's comparisons, by store slug and route prefix.
pub struct Book {
    routes: Mutex<HashMap<String, BTreeMap<String, RouteBook>>>,
    keep: usize,
}

impl Book {
    pub fn new(keep: usize) -> Book {
        Book {
            routes: Mutex::new(HashMap::new()),
            keep,
        }
    }

    /// A store's routes' comparisons, by prefix.
    pub fn of_store(&self, store: &str) -> BTreeMap<String, RouteBook> {
        self.lock().get(store).cloned().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeMap<String, RouteBook>>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, store: &str, prefix: &str, result: Result<(Verdict, Option<Sample>), ()>) {
        let label = result.as_ref().map_or("error", |(verdict, _)| verdict.label());
        metrics::counter!(COMPARISONS.name, "store" => store.to_owned(), "route" => prefix.to_owned(), "result" => label)
            .increment(1);
        let mut routes = self.lock();
        let book = routes
            .entry(store.to_owned())
            .or_default()
            .entry(prefix.to_owned())
            .or_default();
        match result {
            Err(()) => book.error += 1,
            Ok((Verdict::Same, _)) => book.same += 1,
            Ok((Verdict::NoiseOnly, _)) => book.noise_only += 1,
            Ok((Verdict::Different(_), sample)) => {
                book.different += 1;
                book.samples.extend(sample);
                while book.samples.len() > self.keep {
                    book.samples.pop_front();
                }
            }
        }
    }

    fn skipped(&self, store: &str, prefix: &str) {
        metrics::counter!(COMPARISONS.name, "store" => store.to_owned(), "route" => prefix.to_owned(), "result" => "skipped")
            .increment(1);
        let mut routes = self.lock();
        routes
            .entry(store.to_owned())
            .or_default()
            .entry(prefix.to_owned())
            .or_default()
            .skipped += 1;
    }
}

/// Starts comparing `head`'s answers in the background, when a slot is free.
pub fn spawn(
    strangler: &Arc<Strangler>,
    inner: &Router,
    store: &Arc<StoreTable>,
    route: &Arc<Route>,
    primary: Side,
    head: Head,
    client_answer: Option<Copied>,
) {
    let (slug, prefix) = (store.config.store.as_str(), route.rule.prefix.as_str());
    let Ok(permit) = strangler.shadow_permits.clone().try_acquire_owned() else {
        strangler.book.skipped(slug, prefix);
        return;
    };
    let (strangler, inner, store, route) = (strangler.clone(), inner.clone(), store.clone(), route.clone());
    tokio::spawn(async move {
        let result = compare_sides(&strangler, &inner, &store, &route, primary, &head, client_answer).await;
        if let Err(reason) = &result {
            tracing::debug!(store = %store.config.store, path = %head.uri, %reason, "shadow comparison failed");
        }
        strangler
            .book
            .record(&store.config.store, &route.rule.prefix, result.map_err(|_| ()));
        drop(permit);
    });
}

async fn compare_sides(
    strangler: &Strangler,
    inner: &Router,
    store: &StoreTable,
    route: &Route,
    primary: Side,
    head: &Head,
    client_answer: Option<Copied>,
) -> Result<(Verdict, Option<Sample>), String> {
    let ask = |side| answer(strangler, inner, store, route, side, head);
    let first = async {
        match client_answer {
            Some(copied) => match copied.await {
                Ok((status, body)) => Ok(compare::answer(status, &body, &route.rules)),
                Err(_) => ask(primary).await,
            },
            None => ask(primary).await,
        }
    };
    let (first, again, candidate) = tokio::join!(first, ask(primary), ask(primary.other()));
    let (first, again, candidate) = (first?, again?, candidate?);
    let verdict = compare::judge(&first, &again, &candidate);
    let sample = match &verdict {
        Verdict::Different(differences) => Some(Sample {
            at: mercato_runtime::time::to_rfc3339(mercato_runtime::time::now_ms()),
            method: head.method.to_string(),
            path: head
                .uri
                .path_and_query()
                .map_or_else(String::new, |p| p.to_string()),
            primary: primary.name(),
            differences: differences.clone(),
            primary_answer: first,
            candidate_answer: candidate,
        }),
        _ => None,
    };
    Ok((verdict, sample))
}

/// One side's answer to `head`, read up to the body limit and normalised by the route's rules.
async fn answer(
    strangler: &Strangler,
    inner: &Router,
    store: &StoreTable,
    route: &Route,
    side: Side,
    head: &Head,
) -> Result<Value, String> {
    let response = strangler
        .call(inner, store, &route.rule.prefix, side, head.request())
        .await
        .map_err(|e| format!("{}: {e}", side.name()))?;
    // Shed under pressure: no answer to compare (an error, not a difference or noise).
    if super::refused(&response) {
        return Err(format!("{}: refused under load", side.name()));
    }
    let status = response.status().as_u16();
    let limited =
        http_body_util::Limited::new(response.into_body(), strangler.settings.shadow_body_limit_bytes);
    let body = limited
        .collect()
        .await
        .map_err(|e| format!("{} body: {e}", side.name()))?
        .to_bytes();
    Ok(compare::answer(status, &body, &route.rules))
}
