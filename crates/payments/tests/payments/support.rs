//! Shared setup: a fresh service on a new database of the backend under test, on a test provider the tests can take offline,
//! and helpers to call it and read its rows.

use mercato_payments::PaymentsService;
use mercato_payments::provider::test::TestProvider;
use mercato_proto::events::EventEnvelope;
use mercato_proto::payments::*;
use mercato_runtime::clients::payments::PaymentsClient;
use mercato_runtime::db::Db;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::ids::StoreId;
use mercato_runtime::resilience::ResilienceSettings;
use mercato_runtime::resilience::backoff::RetrySettings;
pub use mercato_runtime::testing::Backend;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

pub const APPROVE: &str = "4242424242424242";
pub const DECLINE: &str = "4000000000000002";
pub const INSUFFICIENT: &str = "4000000000009995";
pub const SLOW: &str = "4000000000000077";
pub const NETWORK: &str = "4000000000000119";
pub const SLOW_DELAY: Duration = Duration::from_millis(300);

/// One service under test, on one backend.
pub struct Env {
    /// Only for labelling benchmark output; assertions need not name it (the test name does).
    pub backend: Backend,
    pub db: Db,
    pub service: Arc<PaymentsService>,
    pub provider: Arc<TestProvider>,
    pub client: PaymentsClient,
}

impl Env {
    /// A fresh service on a new database of `backend`.
    pub async fn on(backend: Backend) -> Env {
        mercato_runtime::testing::init_logs();
        let db = backend.database().await;
        let provider = Arc::new(TestProvider::new(db.clone(), SLOW_DELAY));
        let key = mercato_payments::service::random_fingerprint_key();
        let service =
            PaymentsService::with_provider(db.clone(), Arc::new(Notify::new()), provider.clone(), key)
                .await
                .unwrap_or_else(|e| panic!("payments service did not start: {e:#}"));
        // Each call is made once: these tests look at what the service does with one call (a
        // provider outage included), not at the client's retries.
        let once = ResilienceSettings {
            retry: RetrySettings {
                max_attempts: 1,
                ..RetrySettings::default()
            },
            ..ResilienceSettings::default()
        };
        let client = PaymentsClient::local(service.clone(), Duration::from_secs(30)).with_resilience(once);
        Env {
            backend,
            db,
            service,
            provider,
            client,
        }
    }
}

/// An approved-card authorization of `amount` EUR cents.
pub fn auth(store: &StoreId, key: &str, card: &str, amount: i64) -> AuthorizeRequest {
    AuthorizeRequest {
        store_id: store.to_string(),
        order_id: format!("order-{key}"),
        idempotency_key: key.to_owned(),
        amount_minor: amount,
        currency: "EUR".to_owned(),
        // A card number, which [`Env::authorize`] tokenizes before sending.
        payment_method: card.to_owned(),
        customer_id: format!("customer-{key}"),
        email: "ann@example.com".to_owned(),
        billing_country: "DE".to_owned(),
        shipping_country: "DE".to_owned(),
        // A private address, as behind a proxy: no address signal (the address tests set one).
        ip: "10.0.0.1".to_owned(),
    }
}

/// A distinct approved card number for each `n` (fraud velocity counts per card).
pub use mercato_payments::provider::test::approving_card as card;

impl Env {
    /// Authorizes; a request naming a card number instead of a payment method gets the card
    /// tokenized first, in the request's store.
    pub async fn authorize(&self, mut r: AuthorizeRequest) -> Result<PaymentIntent, ServiceError> {
        if !r.payment_method.starts_with("pm_") {
            r.payment_method = self.tokenize(&r.store_id, &r.payment_method).await?.id;
        }
        self.client.authorize(r).await
    }

    /// Scores; a request naming a card number instead of a payment method gets the card
    /// tokenized first, in the request's store.
    pub async fn score(&self, mut r: FraudRequest) -> Result<FraudAssessment, ServiceError> {
        if !r.payment_method.is_empty() && !r.payment_method.starts_with("pm_") {
            r.payment_method = self.tokenize(&r.store_id, &r.payment_method).await?.id;
        }
        self.client.score_fraud(r).await
    }

    /// A new payment method of `store` for `card`.
    pub async fn tokenize(&self, store: &str, card: &str) -> Result<PaymentMethod, ServiceError> {
        self.client
            .create_payment_method(CreatePaymentMethodRequest {
                store_id: store.to_owned(),
                card_number: card.to_owned(),
                ..Default::default()
            })
            .await
    }

    /// Authorizes and captures the whole amount.
    pub async fn captured(&self, store: &StoreId, key: &str, amount: i64) -> PaymentIntent {
        let intent = self.authorize(auth(store, key, APPROVE, amount)).await.unwrap();
        assert_eq!(intent.status_name(), "authorized");
        self.capture(store, &intent.id, &format!("cap-{key}"), 0)
            .await
            .unwrap()
    }

    pub async fn capture(
        &self,
        store: &StoreId,
        id: &str,
        key: &str,
        amount: i64,
    ) -> Result<PaymentIntent, ServiceError> {
        self.client
            .capture(CaptureRequest {
                store_id: store.to_string(),
                intent_id: id.to_owned(),
                idempotency_key: key.to_owned(),
                amount_minor: amount,
            })
            .await
    }

    pub async fn void(&self, store: &StoreId, id: &str, key: &str) -> Result<PaymentIntent, ServiceError> {
        self.client
            .void(VoidRequest {
                store_id: store.to_string(),
                intent_id: id.to_owned(),
                idempotency_key: key.to_owned(),
            })
            .await
    }

    pub async fn refund(
        &self,
        store: &StoreId,
        id: &str,
        key: &str,
        amount: i64,
    ) -> Result<PaymentIntent, ServiceError> {
        self.client
            .refund(RefundRequest {
                store_id: store.to_string(),
                intent_id: id.to_owned(),
                idempotency_key: key.to_owned(),
                amount_minor: amount,
            })
            .await
    }

    pub async fn get(&self, store: &StoreId, id: &str) -> Result<PaymentIntent, ServiceError> {
        self.client
            .get_intent(GetIntentRequest {
                store_id: store.to_string(),
                intent_id: id.to_owned(),
            })
            .await
    }

    /// Ledger rows of one kind (authorize, capture, void, refund).
    pub async fn ledger(&self, kind: &str) -> i64 {
        let (n,): (i64,) = self
            .db
            .query_one("SELECT COUNT(*) FROM provider_ledger WHERE kind = $1", &[&kind])
            .await
            .unwrap();
        n
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = self.db.query_one(sql, &[]).await.unwrap();
        n
    }

    /// The status and failure code of the intent with an idempotency key.
    pub async fn row(&self, key: &str) -> (String, String) {
        self.db
            .query_one(
                "SELECT status, failure_code FROM payment_intents WHERE idempotency_key = $1",
                &[&key],
            )
            .await
            .unwrap()
    }

    pub async fn try_row(&self, key: &str) -> Option<(String, String)> {
        self.db
            .query_opt(
                "SELECT status, failure_code FROM payment_intents WHERE idempotency_key = $1",
                &[&key],
            )
            .await
            .unwrap()
    }

    /// The outbox events in order.
    pub async fn events(&self) -> Vec<EventEnvelope> {
        mercato_runtime::testing::outbox_events(&self.db).await
    }

    pub async fn subjects(&self) -> Vec<String> {
        self.events().await.into_iter().map(|e| e.subject).collect()
    }
}

pub fn code<T: std::fmt::Debug>(r: Result<T, ServiceError>) -> ErrorCode {
    r.expect_err("the call should fail").code
}

#[test]
fn generated_cards_pass_the_luhn_check() {
    for n in [0, 1, 42, 999_999_999] {
        let c = card(n);
        assert_eq!(c.len(), 16);
        assert!(mercato_runtime::payment_details::luhn_valid(c.as_bytes()), "{c}");
    }
}

/// Statuses, failures and decisions by the names the public API gives them, for readable
/// asserts.
pub trait Named {
    fn status_name(&self) -> &'static str;
    fn failure_name(&self) -> &'static str;
}

impl Named for PaymentIntent {
    fn status_name(&self) -> &'static str {
        mercato_proto::names::intent_status(self.status())
    }

    fn failure_name(&self) -> &'static str {
        mercato_proto::names::payment_failure(self.failure()).unwrap_or("")
    }
}

/// A fraud decision by its public name.
pub trait DecisionName {
    fn decision_name(&self) -> &'static str;
}

impl DecisionName for FraudAssessment {
    fn decision_name(&self) -> &'static str {
        mercato_proto::names::fraud_decision(self.decision())
    }
}
