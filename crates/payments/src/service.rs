//! The payments service: its parts, how it starts, and how it reports readiness.

use crate::domain::IntentId;
use crate::provider::PaymentProvider;
use crate::provider::test::TestProvider;
use crate::store::{MIGRATIONS, PaymentsStore, SqlPaymentsStore};
use mercato_runtime::db::Db;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Settings of the payments service.
#[derive(Clone, Debug)]
pub struct PaymentsConfig {
    /// delay of the "slow" test card
    pub slow_card_delay: Duration,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig {
            slow_card_delay: Duration::from_secs(2),
        }
    }
}

/// The payments service; one per process, shared behind an `Arc`.
pub struct PaymentsService {
    /// Intents, refunds, fraud history and the block list; writes append their events there.
    pub(crate) store: Arc<dyn PaymentsStore>,
    /// Who moves the money.
    pub(crate) provider: Arc<dyn PaymentProvider>,
    /// Wakes the outbox relay after a commit, so events leave at once instead of at its next poll.
    outbox_waker: Arc<Notify>,
}

impl PaymentsService {
    /// Migrates the database and starts the service on the built-in test provider, whose ledger
    /// lives in the same database.
    pub async fn new(
        db: Db,
        outbox_waker: Arc<Notify>,
        config: PaymentsConfig,
    ) -> anyhow::Result<Arc<PaymentsService>> {
        let provider = Arc::new(TestProvider::new(db.clone(), config.slow_card_delay));
        Self::with_provider(db, outbox_waker, provider).await
    }

    /// Migrates the database and starts the service on `provider`.
    pub async fn with_provider(
        db: Db,
        outbox_waker: Arc<Notify>,
        provider: Arc<dyn PaymentProvider>,
    ) -> anyhow::Result<Arc<PaymentsService>> {
        db.migrate("payments", MIGRATIONS).await?;
        Ok(Arc::new(PaymentsService {
            store: Arc::new(SqlPaymentsStore::new(db)),
            provider,
            outbox_waker,
        }))
    }

    /// Whether the database answers; for readiness probes.
    pub async fn ready(&self) -> bool {
        self.store.ping().await
    }

    /// Called after a transaction that appended an event has committed.
    pub(crate) fn committed(&self) {
        self.outbox_waker.notify_one();
    }
}

/// Parses the tenant id every request carries.
pub(crate) fn store_id(s: &str) -> Result<StoreId, ServiceError> {
    StoreId::parse("store_id", s)
}

pub(crate) fn intent_id(s: &str) -> Result<IntentId, ServiceError> {
    IntentId::parse("intent_id", s)
}
