//! The amount baseline fraud scoring compares a payment with — the store's last
//! [`HISTORY_SIZE`] successful authorizations in a currency — kept in memory per replica.
//!
//! Reading it from the database cost every authorization a sorted index read of 100 rows
//! (about 3.5 % of a checkout journey's instructions; benchmarks/README.md). Here it is read
//! once per (store, currency), kept current by this replica's own approvals as they happen, and
//! read again after [`REFRESH_AFTER`] to learn the other replicas' approvals. A median of 100
//! amounts barely moves in a few seconds, so a slightly stale baseline changes no decision that
//! matters; the velocity counts, which must see concurrent attempts, are still read in the
//! transaction that records the attempt (`PaymentsStore::insert_intent`).

use crate::domain::fraud::HISTORY_SIZE;
use mercato_runtime::ids::StoreId;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a baseline read from the database is used before it is read again.
pub(crate) const REFRESH_AFTER: Duration = Duration::from_secs(5);

/// Baselines kept at most; past it the map starts afresh (each is re-read on its next use).
const MAX_BASELINES: usize = 10_000;

type Key = (StoreId, String);

struct Baseline {
    read_at: Instant,
    /// Newest first.
    amounts: VecDeque<i64>,
}

/// Every (store, currency)'s baseline this replica has needed.
#[derive(Default)]
pub(crate) struct AmountBaselines {
    baselines: Mutex<HashMap<Key, Baseline>>,
}

impl AmountBaselines {
    /// The baseline of `store` in `currency`, newest first: kept, or read with `load` when
    /// this replica has none or its copy is older than [`REFRESH_AFTER`].
    pub(crate) async fn amounts<E, F>(&self, store: StoreId, currency: &str, load: F) -> Result<Vec<i64>, E>
    where
        F: Future<Output = Result<Vec<i64>, E>>,
    {
        let key = (store, currency.to_owned());
        if let Some(kept) = self.fresh(&key) {
            return Ok(kept);
        }
        let amounts = load.await?;
        let mut baselines = self.lock();
        if baselines.len() >= MAX_BASELINES {
            baselines.clear();
        }
        let baseline = Baseline {
            read_at: Instant::now(),
            amounts: amounts.iter().copied().collect(),
        };
        baselines.insert(key, baseline);
        Ok(amounts)
    }

    /// Adds an approval of this replica to its baseline, if one is kept (otherwise the next
    /// read finds it in the database).
    pub(crate) fn approved(&self, store: StoreId, currency: &str, amount_minor: i64) {
        let mut baselines = self.lock();
        if let Some(baseline) = baselines.get_mut(&(store, currency.to_owned())) {
            baseline.amounts.push_front(amount_minor);
            baseline.amounts.truncate(HISTORY_SIZE as usize);
        }
    }

    fn fresh(&self, key: &Key) -> Option<Vec<i64>> {
        let baselines = self.lock();
        let baseline = baselines.get(key)?;
        (baseline.read_at.elapsed() < REFRESH_AFTER).then(|| baseline.amounts.iter().copied().collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Baseline>> {
        // A panic while holding the lock leaves a consistent map (every update is one call).
        self.baselines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(baselines: &AmountBaselines, store: StoreId, from_db: Vec<i64>) -> Vec<i64> {
        baselines
            .amounts(store, "EUR", async { Ok::<_, ()>(from_db) })
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_kept_baseline_is_not_read_again_and_grows_with_approvals() {
        let baselines = AmountBaselines::default();
        let store = StoreId::new();
        assert_eq!(read(&baselines, store, vec![3, 2, 1]).await, vec![3, 2, 1]);
        baselines.approved(store, "EUR", 4);
        assert_eq!(
            read(&baselines, store, vec![]).await,
            vec![4, 3, 2, 1],
            "kept, not re-read"
        );
        baselines.approved(store, "USD", 9);
        let usd = baselines
            .amounts(store, "USD", async { Ok::<_, ()>(vec![7]) })
            .await;
        assert_eq!(
            usd.unwrap(),
            vec![7],
            "per currency: an approval in USD before any read is not kept"
        );
    }

    #[tokio::test]
    async fn a_baseline_holds_at_most_the_history_size() {
        let baselines = AmountBaselines::default();
        let store = StoreId::new();
        read(&baselines, store, (0..HISTORY_SIZE).collect()).await;
        baselines.approved(store, "EUR", 1000);
        let kept = read(&baselines, store, vec![]).await;
        assert_eq!(kept.len(), HISTORY_SIZE as usize);
        assert_eq!(kept[0], 1000);
    }

    #[tokio::test]
    async fn a_failed_read_keeps_nothing() {
        let baselines = AmountBaselines::default();
        let store = StoreId::new();
        let failed = baselines
            .amounts(store, "EUR", async { Err::<Vec<i64>, _>("down") })
            .await;
        assert_eq!(failed, Err("down"));
        assert_eq!(read(&baselines, store, vec![5]).await, vec![5]);
    }
}
