//! The payments service: its parts, how it starts, and how it reports readiness.

use crate::baseline::AmountBaselines;
use crate::domain::payment_method::MIN_KEY_BYTES;
use crate::domain::{FingerprintKey, IntentId};
use crate::provider::PaymentProvider;
use crate::provider::test::TestProvider;
use crate::store::{MIGRATIONS, PaymentsStore, SqlPaymentsStore};
use anyhow::Context as _;
use mercato_runtime::config::PaymentsSettings;
use mercato_runtime::db::Db;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Settings of the payments service.
#[derive(Clone, Debug)]
pub struct PaymentsConfig {
    /// delay of the "slow" test card
    pub slow_card_delay: Duration,
    /// The secret card fingerprints are keyed with (`payments.fingerprint_key`); every replica
    /// must share it, or one card gets different fingerprints and velocity rules undercount.
    pub fingerprint_key: FingerprintKey,
}

impl Default for PaymentsConfig {
    /// A random fingerprint key: fingerprints then hold for this process only (tests).
    fn default() -> Self {
        PaymentsConfig {
            slow_card_delay: Duration::from_secs(2),
            fingerprint_key: random_fingerprint_key(),
        }
    }
}

/// 32 random bytes from the operating system's generator.
fn random_key_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the operating system's random generator works");
    bytes
}

/// A new random key: fingerprints made with it hold for this process only (tests).
pub fn random_fingerprint_key() -> FingerprintKey {
    FingerprintKey::new(&random_key_bytes()).expect("32 bytes are enough")
}

/// Where the embedded platform keeps a generated fingerprint key, in its data directory.
pub const GENERATED_FINGERPRINT_KEY_FILE: &str = "payments-fingerprint.key";

/// The card fingerprint key: `payments.fingerprint_key` when configured, else the one in
/// `data_dir` ([`GENERATED_FINGERPRINT_KEY_FILE`]), generated there when missing (32 random
/// bytes as hex, 0600 in a 0700 directory) — enough for one process or several sharing the data
/// directory; replicas on separate machines must share a configured key (ADR 0007).
pub fn fingerprint_key(settings: &PaymentsSettings, data_dir: &Path) -> anyhow::Result<FingerprintKey> {
    let too_short = |origin: &str| {
        anyhow::anyhow!("{origin}: a card fingerprint key must be at least {MIN_KEY_BYTES} characters")
    };
    if let Some(secret) = &settings.fingerprint_key {
        let key = secret.expose().trim().as_bytes();
        return FingerprintKey::new(key).ok_or_else(|| too_short("payments.fingerprint_key"));
    }
    let path = data_dir.join(GENERATED_FINGERPRINT_KEY_FILE);
    if !path.exists() {
        mercato_runtime::db::create_private_dir(data_dir)?;
        let hex: String = random_key_bytes().iter().map(|b| format!("{b:02x}")).collect();
        match mercato_runtime::db::create_private_file(&path, hex.as_bytes()) {
            Ok(()) => tracing::warn!(
                path = %path.display(),
                "generated a card fingerprint key; in production configure payments.fingerprint_key (the same for every payments replica)"
            ),
            // Another process of this data directory wrote it first: use its key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e.into()),
        }
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    FingerprintKey::new(text.trim().as_bytes()).ok_or_else(|| too_short(&path.display().to_string()))
}

/// The payments service; one per process, shared behind an `Arc`.
pub struct PaymentsService {
    /// Intents, refunds, fraud history and the block list; writes append their events there.
    pub(crate) store: Arc<dyn PaymentsStore>,
    /// Who moves the money.
    pub(crate) provider: Arc<dyn PaymentProvider>,
    /// What card fingerprints are keyed with.
    pub(crate) fingerprint_key: FingerprintKey,
    /// Wakes the outbox relay after a commit, so events leave at once instead of at its next poll.
    outbox_waker: Arc<Notify>,
    /// Fraud scoring's amount baselines, kept in memory.
    pub(crate) baselines: AmountBaselines,
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
        Self::with_provider(db, outbox_waker, provider, config.fingerprint_key).await
    }

    /// Migrates the database and starts the service on `provider`, fingerprinting cards with
    /// `fingerprint_key`.
    pub async fn with_provider(
        db: Db,
        outbox_waker: Arc<Notify>,
        provider: Arc<dyn PaymentProvider>,
        fingerprint_key: FingerprintKey,
    ) -> anyhow::Result<Arc<PaymentsService>> {
        db.migrate("payments", MIGRATIONS).await?;
        Ok(Arc::new(PaymentsService {
            store: Arc::new(SqlPaymentsStore::new(db)),
            provider,
            fingerprint_key,
            outbox_waker,
            baselines: AmountBaselines::default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CardNumber;
    use mercato_runtime::config::Secret;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_generated_fingerprint_key_is_owner_only_and_the_same_at_the_next_start() {
        let dir = std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("fingerprint-{}", uuid::Uuid::now_v7()));
        let card = CardNumber::parse("c", "4242424242424242").unwrap();
        let first = fingerprint_key(&PaymentsSettings::default(), &dir).unwrap();
        let again = fingerprint_key(&PaymentsSettings::default(), &dir).unwrap();
        assert_eq!(first.fingerprint(&card), again.fingerprint(&card));
        let file = dir.join(GENERATED_FINGERPRINT_KEY_FILE);
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let configured = PaymentsSettings {
            fingerprint_key: Some(Secret::new("x".repeat(32))),
        };
        let key = fingerprint_key(&configured, &dir).unwrap();
        assert_ne!(
            key.fingerprint(&card),
            first.fingerprint(&card),
            "configured wins"
        );
        let short = PaymentsSettings {
            fingerprint_key: Some(Secret::new("x".repeat(31))),
        };
        assert!(fingerprint_key(&short, &dir).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
