//! [`PaymentsStore`] in portable SQL, one implementation for SQLite and PostgreSQL.
//!
//! Each write is one [`Db::write`] closure, committed when it returns `Ok` and rolled back when
//! it returns an error (`Stale`, `Duplicate`); on SQLite one write connection runs it, with
//! group commit. Reads are single statements, or one [`Db::read`] when they take several.

use super::fraud_sql::{CountsQuery, counts, lock_velocity, recent_amounts};
use super::{
    BlockKind, Decide, FraudHistory, FraudQuery, IntentRecord, PaymentMethodRecord, PaymentsStore,
    RefundFinish, RefundRecord, RefundStatus, Refusal, Settlement, StoreError, parse_assessment,
    parse_failure, parse_status,
};
use crate::domain::{IntentId, IntentState, PaymentMethodId};
use async_trait::async_trait;
use mercato_proto::events::EventEnvelope;
use mercato_runtime::db::{Db, DbError, FromRow, FromValue, RowAccess, Tx, is_unique_violation};
use mercato_runtime::ids::StoreId;

/// The payments tables in a service database.
#[derive(Clone, Debug)]
pub struct SqlPaymentsStore {
    db: Db,
}

impl SqlPaymentsStore {
    /// Wraps a database whose payments migrations have been applied.
    pub fn new(db: Db) -> Self {
        SqlPaymentsStore { db }
    }
}

const INTENT_COLUMNS: &str = "id, store_id, order_id, idempotency_key, amount_minor, currency, \
     status, captured_minor, refunded_minor, card_last4, card_fingerprint, customer_id, email, \
     failure_code, fraud_score, fraud_reasons, fraud_decision, provider_reference, settle_kind, \
     settle_key, settle_minor, version, created_at, updated_at, client_ip";

const INSERT_INTENT: &str = "INSERT INTO payment_intents (id, store_id, order_id, idempotency_key, \
     amount_minor, currency, status, captured_minor, refunded_minor, card_last4, card_fingerprint, \
     customer_id, email, failure_code, fraud_score, fraud_reasons, fraud_decision, \
     provider_reference, settle_kind, settle_key, settle_minor, version, created_at, updated_at, \
     client_ip) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
     $20, $21, $22, $23, $24, $25) ON CONFLICT (store_id, idempotency_key) DO NOTHING";

/// Only the fields that can change; the WHERE clause carries the version that was read.
const UPDATE_INTENT: &str = "UPDATE payment_intents SET status = $1, captured_minor = $2, \
     refunded_minor = $3, failure_code = $4, provider_reference = $5, settle_kind = $6, \
     settle_key = $7, settle_minor = $8, version = $9, updated_at = $10 \
     WHERE store_id = $11 AND id = $12 AND version = $13";

/// The raw columns of [`INTENT_COLUMNS`], in order; more than a tuple holds.
struct IntentRow {
    id: String,
    store_id: String,
    order_id: String,
    idempotency_key: String,
    amount_minor: i64,
    currency: String,
    status: String,
    captured_minor: i64,
    refunded_minor: i64,
    card_last4: String,
    card_fingerprint: String,
    customer_id: String,
    email: String,
    failure_code: String,
    fraud_score: i64,
    fraud_reasons: String,
    fraud_decision: String,
    provider_reference: String,
    settle_kind: String,
    settle_key: String,
    settle_minor: i64,
    version: i64,
    created_at: i64,
    updated_at: i64,
    client_ip: String,
}

fn column<T: FromValue>(row: &dyn RowAccess, index: usize) -> Result<T, DbError> {
    T::from_value(row.column(index)?).map_err(|e| match e {
        DbError::Decode(m) => DbError::Decode(format!("column {index}: {m}")),
        e => e,
    })
}

impl FromRow for IntentRow {
    fn from_row(row: &dyn RowAccess) -> Result<Self, DbError> {
        Ok(IntentRow {
            id: column(row, 0)?,
            store_id: column(row, 1)?,
            order_id: column(row, 2)?,
            idempotency_key: column(row, 3)?,
            amount_minor: column(row, 4)?,
            currency: column(row, 5)?,
            status: column(row, 6)?,
            captured_minor: column(row, 7)?,
            refunded_minor: column(row, 8)?,
            card_last4: column(row, 9)?,
            card_fingerprint: column(row, 10)?,
            customer_id: column(row, 11)?,
            email: column(row, 12)?,
            failure_code: column(row, 13)?,
            fraud_score: column(row, 14)?,
            fraud_reasons: column(row, 15)?,
            fraud_decision: column(row, 16)?,
            provider_reference: column(row, 17)?,
            settle_kind: column(row, 18)?,
            settle_key: column(row, 19)?,
            settle_minor: column(row, 20)?,
            version: column(row, 21)?,
            created_at: column(row, 22)?,
            updated_at: column(row, 23)?,
            client_ip: column(row, 24)?,
        })
    }
}

fn intent_record(row: IntentRow) -> Result<IntentRecord, StoreError> {
    let IntentRow {
        id,
        store_id: store,
        status,
        failure_code: failure,
        settle_kind: settle,
        ..
    } = &row;
    Ok(IntentRecord {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("intent id {id:?}")))?,
        store_id: store
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("store id {store:?}")))?,
        state: IntentState {
            status: parse_status(status)?,
            authorized: row.amount_minor,
            captured: row.captured_minor,
            refunded: row.refunded_minor,
            failure: parse_failure(failure)?,
        },
        fraud: parse_assessment(row.fraud_score, &row.fraud_reasons, &row.fraud_decision)?,
        settle_kind: Settlement::parse(settle)
            .ok_or_else(|| StoreError::Corrupt(format!("settle kind {settle:?}")))?,
        order_id: row.order_id,
        idempotency_key: row.idempotency_key,
        currency: row.currency,
        card_last4: row.card_last4,
        card_fingerprint: row.card_fingerprint,
        customer_id: row.customer_id,
        email: row.email,
        client_ip: row.client_ip,
        provider_reference: row.provider_reference,
        settle_key: row.settle_key,
        settle_minor: row.settle_minor,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

type RefundRow = (String, String, String, String, i64, String, i64, i64);

fn refund_record(
    (id, store, intent, idempotency_key, amount_minor, status, created_at, updated_at): RefundRow,
) -> Result<RefundRecord, StoreError> {
    Ok(RefundRecord {
        id,
        store_id: store
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("store id {store:?}")))?,
        intent_id: intent
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("intent id {intent:?}")))?,
        idempotency_key,
        amount_minor,
        status: RefundStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("refund status {status:?}")))?,
        created_at,
        updated_at,
    })
}

fn failure_str(i: &IntentRecord) -> &'static str {
    i.state.failure.map_or("", |f| f.as_str())
}

fn update(tx: &mut Tx<'_>, store: &StoreId, next: &IntentRecord, expected: i64) -> Result<(), StoreError> {
    let done = tx.execute(
        UPDATE_INTENT,
        &[
            &next.state.status.as_str(),
            &next.state.captured,
            &next.state.refunded,
            &failure_str(next),
            &next.provider_reference,
            &next.settle_kind.as_str(),
            &next.settle_key,
            &next.settle_minor,
            &next.version,
            &next.updated_at,
            store,
            &next.id,
            &expected,
        ],
    )?;
    if done == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

/// Appends the events to the outbox in one statement, however many there are (folded: this was
/// one INSERT per event, e.g. two for an authorization that fraud scoring flagged).
fn append(tx: &mut Tx<'_>, events: &[EventEnvelope]) -> Result<(), DbError> {
    mercato_runtime::outbox::append_all(tx, events)
}

#[async_trait]
impl PaymentsStore for SqlPaymentsStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }

    async fn insert_payment_method(&self, m: &PaymentMethodRecord) -> Result<(), StoreError> {
        self.db
            .execute(
                "insert_payment_method",
                "INSERT INTO payment_methods (id, store_id, brand, last4, fingerprint, billing_country, \
                 provider_token, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &m.id.as_str(),
                    &m.store_id,
                    &m.brand,
                    &m.last4,
                    &m.fingerprint,
                    &m.billing_country,
                    &m.provider_token,
                    &m.created_at,
                ],
            )
            .await?;
        Ok(())
    }

    async fn payment_method(
        &self,
        store: &StoreId,
        id: &PaymentMethodId,
    ) -> Result<Option<PaymentMethodRecord>, StoreError> {
        type Row = (String, String, String, String, String, i64);
        let row: Option<Row> = self
            .db
            .query_opt(
                "SELECT brand, last4, fingerprint, billing_country, provider_token, created_at \
                 FROM payment_methods WHERE store_id = $1 AND id = $2",
                &[store as &dyn mercato_runtime::db::Param, &id.as_str()],
            )
            .await?;
        Ok(row.map(
            |(brand, last4, fingerprint, billing_country, provider_token, created_at)| PaymentMethodRecord {
                id: id.clone(),
                store_id: *store,
                brand,
                last4,
                fingerprint,
                billing_country,
                provider_token,
                created_at,
            },
        ))
    }

    async fn insert_intent(
        &self,
        store: &StoreId,
        q: &FraudQuery<'_>,
        decide: Decide,
    ) -> Result<IntentRecord, StoreError> {
        let store = *store;
        let q = CountsQuery::new(q);
        self.db
            .write("insert_intent", move |tx| {
                // The velocity counts are read here, in the transaction that inserts the
                // attempt, after the locks that serialise it with every other attempt it
                // counts (and that counts it): read before, concurrent attempts with one card
                // all saw the same count and all got through.
                lock_velocity(tx, &store, &q)?;
                let (i, events) = decide(counts(tx, &store, &q)?);
                debug_assert_eq!(store, i.store_id);
                // The (store, idempotency key) unique index decides between racing requests: a
                // taken key inserts nothing (on PostgreSQL, after waiting for a racing insert to
                // commit), which is `Duplicate`. ON CONFLICT rather than a unique violation, so
                // that a replay (`authorize` inserts before it looks a key up) is no database
                // error; any other unique violation is `Duplicate` as before.
                let inserted = tx.execute(
                    INSERT_INTENT,
                    &[
                        &i.id,
                        &store,
                        &i.order_id,
                        &i.idempotency_key,
                        &i.state.authorized,
                        &i.currency,
                        &i.state.status.as_str(),
                        &i.state.captured,
                        &i.state.refunded,
                        &i.card_last4,
                        &i.card_fingerprint,
                        &i.customer_id,
                        &i.email,
                        &failure_str(&i),
                        &i64::from(i.fraud.score),
                        &i.fraud.reasons.to_csv(),
                        &i.fraud.decision.as_str(),
                        &i.provider_reference,
                        &i.settle_kind.as_str(),
                        &i.settle_key,
                        &i.settle_minor,
                        &i.version,
                        &i.created_at,
                        &i.updated_at,
                        &i.client_ip,
                    ],
                );
                match inserted {
                    Ok(0) => return Err(StoreError::Refused(Refusal::Duplicate)),
                    Err(e) if is_unique_violation(&e) => return Err(StoreError::Refused(Refusal::Duplicate)),
                    other => other?,
                };
                append(tx, &events)?;
                Ok(i)
            })
            .await
    }

    async fn intent(&self, store: &StoreId, id: &IntentId) -> Result<Option<IntentRecord>, StoreError> {
        let sql = format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE store_id = $1 AND id = $2");
        let row: Option<IntentRow> = self.db.query_opt(&sql, &[store, id]).await?;
        row.map(intent_record).transpose()
    }

    async fn intent_by_key(&self, store: &StoreId, key: &str) -> Result<Option<IntentRecord>, StoreError> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE store_id = $1 AND idempotency_key = $2"
        );
        let row: Option<IntentRow> = self.db.query_opt(&sql, &[store, &key]).await?;
        row.map(intent_record).transpose()
    }

    async fn update_intent(
        &self,
        store: &StoreId,
        next: &IntentRecord,
        expected: i64,
        events: &[EventEnvelope],
    ) -> Result<(), StoreError> {
        let store = *store;
        let next = next.clone();
        let events = events.to_vec();
        self.db
            .write("update_intent", move |tx| {
                update(tx, &store, &next, expected)?;
                append(tx, &events)?;
                Ok(())
            })
            .await
    }

    async fn refund_by_key(
        &self,
        store: &StoreId,
        intent: &IntentId,
        key: &str,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let row: Option<RefundRow> = self
            .db
            .query_opt(
                "SELECT id, store_id, intent_id, idempotency_key, amount_minor, status, created_at, \
                 updated_at FROM payment_refunds \
                 WHERE store_id = $1 AND intent_id = $2 AND idempotency_key = $3",
                &[store, intent, &key],
            )
            .await?;
        row.map(refund_record).transpose()
    }

    async fn pending_refunds(&self, store: &StoreId, intent: &IntentId) -> Result<i64, StoreError> {
        let (sum,): (i64,) = self
            .db
            .query_one(
                "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payment_refunds \
                 WHERE store_id = $1 AND intent_id = $2 AND status = 'pending'",
                &[store, intent],
            )
            .await?;
        Ok(sum)
    }

    async fn claim_refund(&self, store: &StoreId, expected: i64, r: &RefundRecord) -> Result<(), StoreError> {
        let store = *store;
        let r = r.clone();
        self.db
            .write("claim_refund", move |tx| {
                let bumped = tx.execute(
                    "UPDATE payment_intents SET version = version + 1 \
                     WHERE store_id = $1 AND id = $2 AND version = $3",
                    &[&store, &r.intent_id, &expected],
                )?;
                if bumped == 0 {
                    return Err(StoreError::Stale);
                }
                let inserted = tx.execute(
                    "INSERT INTO payment_refunds (id, store_id, intent_id, idempotency_key, amount_minor, \
                     status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[
                        &r.id,
                        &store,
                        &r.intent_id,
                        &r.idempotency_key,
                        &r.amount_minor,
                        &r.status.as_str(),
                        &r.created_at,
                        &r.updated_at,
                    ],
                );
                match inserted {
                    Err(e) if is_unique_violation(&e) => return Err(StoreError::Refused(Refusal::Duplicate)),
                    other => other?,
                };
                Ok(())
            })
            .await
    }

    async fn finish_refund(
        &self,
        store: &StoreId,
        refund_id: &str,
        status: RefundStatus,
        intent: Option<(&IntentRecord, i64)>,
        events: &[EventEnvelope],
    ) -> Result<RefundFinish, StoreError> {
        let store = *store;
        let refund_id = refund_id.to_owned();
        let intent = intent.map(|(next, expected)| (next.clone(), expected));
        let events = events.to_vec();
        self.db
            .write("finish_refund", move |tx| {
                let marked = tx.execute(
                    "UPDATE payment_refunds SET status = $1, updated_at = $2 \
                     WHERE store_id = $3 AND id = $4 AND status = 'pending'",
                    &[
                        &status.as_str(),
                        &mercato_runtime::time::now_ms(),
                        &store,
                        &refund_id,
                    ],
                )?;
                if marked == 0 {
                    return Ok(RefundFinish::AlreadyFinished);
                }
                if let Some((next, expected)) = &intent {
                    update(tx, &store, next, *expected)?;
                }
                append(tx, &events)?;
                Ok(RefundFinish::Recorded)
            })
            .await
    }

    async fn fraud_history(&self, store: &StoreId, q: &FraudQuery<'_>) -> Result<FraudHistory, StoreError> {
        let store = *store;
        let counted = CountsQuery::new(q);
        let (currency, history_size) = (q.currency.to_owned(), q.history_size);
        self.db
            .read("fraud_history", move |tx| {
                Ok(FraudHistory {
                    counts: counts(tx, &store, &counted)?,
                    recent_amounts: recent_amounts(tx, &store, &currency, history_size)?,
                })
            })
            .await
    }

    async fn recent_amounts(&self, store: &StoreId, q: &FraudQuery<'_>) -> Result<Vec<i64>, StoreError> {
        let store = *store;
        let (currency, history_size) = (q.currency.to_owned(), q.history_size);
        self.db
            .read("recent_amounts", move |tx| {
                Ok(recent_amounts(tx, &store, &currency, history_size)?)
            })
            .await
    }

    async fn block(
        &self,
        store: &StoreId,
        kind: BlockKind,
        value: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.db
            .execute(
                "block",
                "INSERT INTO fraud_blocklist (store_id, kind, value, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT DO NOTHING",
                &[store, &kind.as_str(), &value, &now_ms],
            )
            .await?;
        Ok(())
    }
}
