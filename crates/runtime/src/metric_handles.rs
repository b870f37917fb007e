//! Per-call metrics (a counter and a duration histogram) registered once per label set and
//! reused: `metrics::counter!(name, &labels)` on every request allocated the labels, hashed the
//! key and searched the registry each time.

use metrics::{Counter, Histogram};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// The two series one call feeds: `<prefix>_total` and `<prefix>_duration_seconds`.
#[derive(Clone)]
pub struct CallMetrics {
    calls: Counter,
    duration: Histogram,
}

impl CallMetrics {
    /// The pair, registered by the caller (with the `metrics` macros, so that the names stay
    /// visible to `deploy/check/observability.py`).
    pub fn new(calls: Counter, duration: Histogram) -> Self {
        CallMetrics { calls, duration }
    }

    /// Counts one call that took `elapsed`.
    pub fn record(&self, elapsed: Duration) {
        self.calls.increment(1);
        self.duration.record(elapsed.as_secs_f64());
    }
}

/// Handles by a primary key (a route, an RPC path) and a few secondary values under it (a
/// method and status, a result code), found without allocating once registered.
pub struct CallMetricsCache<K, S> {
    by_key: RwLock<HashMap<K, Vec<(S, CallMetrics)>>>,
}

impl<K, S> Default for CallMetricsCache<K, S> {
    fn default() -> Self {
        CallMetricsCache {
            by_key: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq, S: PartialEq> CallMetricsCache<K, S> {
    /// The handles for `(key, sub)`, registering them with `register` the first time.
    pub fn get<Q, T>(&self, key: &Q, sub: &T, register: impl FnOnce() -> (K, S, CallMetrics)) -> CallMetrics
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        S: Borrow<T>,
        T: PartialEq + ?Sized,
    {
        let found = self
            .by_key
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .and_then(|subs| subs.iter().find(|(s, _)| s.borrow() == sub))
            .map(|(_, handles)| handles.clone());
        if let Some(handles) = found {
            return handles;
        }
        let (key, sub, handles) = register();
        let mut map = self.by_key.write().unwrap_or_else(PoisonError::into_inner);
        let subs = map.entry(key).or_default();
        if !subs.iter().any(|(s, _)| *s == sub) {
            subs.push((sub, handles.clone()));
        }
        handles
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_once_per_label_set() {
        let cache: CallMetricsCache<String, u16> = CallMetricsCache::default();
        let mut registered = 0;
        for status in [200, 200, 404, 200] {
            cache.get("/a", &status, || {
                registered += 1;
                (
                    "/a".to_owned(),
                    status,
                    CallMetrics::new(metrics::counter!("t_total"), metrics::histogram!("t_seconds")),
                )
            });
        }
        cache.get("/b", &200, || {
            registered += 1;
            (
                "/b".to_owned(),
                200,
                CallMetrics::new(metrics::counter!("t_total"), metrics::histogram!("t_seconds")),
            )
        });
        assert_eq!(registered, 3, "one registration per distinct (key, sub)");
    }
}
