//! [`PaymentsStore`] in portable SQL, one implementation for SQLite and PostgreSQL.

use super::{
    BlockKind, FraudHistory, FraudQuery, IntentRecord, PaymentsStore, RefundFinish, RefundRecord,
    RefundStatus, Settlement, StoreError, parse_assessment, parse_failure, parse_status,
};
use crate::domain::{IntentId, IntentState};
use async_trait::async_trait;
use mercato_proto::events::EventEnvelope;
use mercato_runtime::db::{Db, is_unique_violation};
use mercato_runtime::ids::StoreId;
use sqlx::Row;
use sqlx::any::AnyRow;

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
     status, captured_minor, refunded_minor, card_last4, card_hash, customer_id, email, \
     failure_code, fraud_score, fraud_reasons, fraud_decision, provider_reference, settle_kind, \
     settle_key, settle_minor, version, created_at, updated_at";

const INSERT_INTENT: &str = "INSERT INTO payment_intents (id, store_id, order_id, idempotency_key, \
     amount_minor, currency, status, captured_minor, refunded_minor, card_last4, card_hash, \
     customer_id, email, failure_code, fraud_score, fraud_reasons, fraud_decision, \
     provider_reference, settle_kind, settle_key, settle_minor, version, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
     $20, $21, $22, $23, $24)";

/// Only the fields that can change; the WHERE clause carries the version that was read.
const UPDATE_INTENT: &str = "UPDATE payment_intents SET status = $1, captured_minor = $2, \
     refunded_minor = $3, failure_code = $4, provider_reference = $5, settle_kind = $6, \
     settle_key = $7, settle_minor = $8, version = $9, updated_at = $10 \
     WHERE store_id = $11 AND id = $12 AND version = $13";

fn intent_record(row: &AnyRow) -> Result<IntentRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let store: String = row.try_get("store_id")?;
    let status: String = row.try_get("status")?;
    let failure: String = row.try_get("failure_code")?;
    let settle: String = row.try_get("settle_kind")?;
    let reasons: String = row.try_get("fraud_reasons")?;
    let decision: String = row.try_get("fraud_decision")?;
    Ok(IntentRecord {
        id: id
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("intent id {id:?}")))?,
        store_id: store
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("store id {store:?}")))?,
        order_id: row.try_get("order_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        currency: row.try_get("currency")?,
        state: IntentState {
            status: parse_status(&status)?,
            authorized: row.try_get("amount_minor")?,
            captured: row.try_get("captured_minor")?,
            refunded: row.try_get("refunded_minor")?,
            failure: parse_failure(&failure)?,
        },
        card_last4: row.try_get("card_last4")?,
        card_hash: row.try_get("card_hash")?,
        customer_id: row.try_get("customer_id")?,
        email: row.try_get("email")?,
        fraud: parse_assessment(row.try_get("fraud_score")?, &reasons, &decision)?,
        provider_reference: row.try_get("provider_reference")?,
        settle_kind: Settlement::parse(&settle)
            .ok_or_else(|| StoreError::Corrupt(format!("settle kind {settle:?}")))?,
        settle_key: row.try_get("settle_key")?,
        settle_minor: row.try_get("settle_minor")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn refund_record(row: &AnyRow) -> Result<RefundRecord, StoreError> {
    let store: String = row.try_get("store_id")?;
    let intent: String = row.try_get("intent_id")?;
    let status: String = row.try_get("status")?;
    Ok(RefundRecord {
        id: row.try_get("id")?,
        store_id: store
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("store id {store:?}")))?,
        intent_id: intent
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("intent id {intent:?}")))?,
        idempotency_key: row.try_get("idempotency_key")?,
        amount_minor: row.try_get("amount_minor")?,
        status: RefundStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("refund status {status:?}")))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn failure_str(i: &IntentRecord) -> &'static str {
    i.state.failure.map_or("", |f| f.as_str())
}

async fn update(
    conn: &mut sqlx::AnyConnection,
    store: &StoreId,
    next: &IntentRecord,
    expected: i64,
) -> Result<(), StoreError> {
    let done = sqlx::query(UPDATE_INTENT)
        .bind(next.state.status.as_str())
        .bind(next.state.captured)
        .bind(next.state.refunded)
        .bind(failure_str(next))
        .bind(&next.provider_reference)
        .bind(next.settle_kind.as_str())
        .bind(&next.settle_key)
        .bind(next.settle_minor)
        .bind(next.version)
        .bind(next.updated_at)
        .bind(store.to_string())
        .bind(next.id.to_string())
        .bind(expected)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Stale);
    }
    Ok(())
}

async fn append(conn: &mut sqlx::AnyConnection, events: &[EventEnvelope]) -> Result<(), sqlx::Error> {
    for e in events {
        mercato_runtime::outbox::append(&mut *conn, e).await?;
    }
    Ok(())
}

#[async_trait]
impl PaymentsStore for SqlPaymentsStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }

    async fn insert_intent(
        &self,
        store: &StoreId,
        i: &IntentRecord,
        events: &[EventEnvelope],
    ) -> Result<(), StoreError> {
        debug_assert_eq!(*store, i.store_id);
        let mut tx = self.db.begin_write().await?;
        // The (store, idempotency key) unique index decides between racing requests.
        let inserted = sqlx::query(INSERT_INTENT)
            .bind(i.id.to_string())
            .bind(store.to_string())
            .bind(&i.order_id)
            .bind(&i.idempotency_key)
            .bind(i.state.authorized)
            .bind(&i.currency)
            .bind(i.state.status.as_str())
            .bind(i.state.captured)
            .bind(i.state.refunded)
            .bind(&i.card_last4)
            .bind(&i.card_hash)
            .bind(&i.customer_id)
            .bind(&i.email)
            .bind(failure_str(i))
            .bind(i64::from(i.fraud.score))
            .bind(i.fraud.reasons.to_csv())
            .bind(i.fraud.decision.as_str())
            .bind(&i.provider_reference)
            .bind(i.settle_kind.as_str())
            .bind(&i.settle_key)
            .bind(i.settle_minor)
            .bind(i.version)
            .bind(i.created_at)
            .bind(i.updated_at)
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Duplicate),
            other => other?,
        };
        append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn intent(&self, store: &StoreId, id: &IntentId) -> Result<Option<IntentRecord>, StoreError> {
        let sql = format!("SELECT {INTENT_COLUMNS} FROM payment_intents WHERE store_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(intent_record).transpose()
    }

    async fn intent_by_key(&self, store: &StoreId, key: &str) -> Result<Option<IntentRecord>, StoreError> {
        let sql = format!(
            "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE store_id = $1 AND idempotency_key = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(key)
            .fetch_optional(self.db.pool())
            .await?;
        row.as_ref().map(intent_record).transpose()
    }

    async fn update_intent(
        &self,
        store: &StoreId,
        next: &IntentRecord,
        expected: i64,
        events: &[EventEnvelope],
    ) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        update(&mut tx, store, next, expected).await?;
        append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn refund_by_key(
        &self,
        store: &StoreId,
        intent: &IntentId,
        key: &str,
    ) -> Result<Option<RefundRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, store_id, intent_id, idempotency_key, amount_minor, status, created_at, \
             updated_at FROM payment_refunds \
             WHERE store_id = $1 AND intent_id = $2 AND idempotency_key = $3",
        )
        .bind(store.to_string())
        .bind(intent.to_string())
        .bind(key)
        .fetch_optional(self.db.pool())
        .await?;
        row.as_ref().map(refund_record).transpose()
    }

    async fn pending_refunds(&self, store: &StoreId, intent: &IntentId) -> Result<i64, StoreError> {
        let (sum,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payment_refunds \
             WHERE store_id = $1 AND intent_id = $2 AND status = 'pending'",
        )
        .bind(store.to_string())
        .bind(intent.to_string())
        .fetch_one(self.db.pool())
        .await?;
        Ok(sum)
    }

    async fn claim_refund(&self, store: &StoreId, expected: i64, r: &RefundRecord) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        let bumped = sqlx::query(
            "UPDATE payment_intents SET version = version + 1 \
             WHERE store_id = $1 AND id = $2 AND version = $3",
        )
        .bind(store.to_string())
        .bind(r.intent_id.to_string())
        .bind(expected)
        .execute(&mut *tx)
        .await?;
        if bumped.rows_affected() == 0 {
            return Err(StoreError::Stale);
        }
        let inserted = sqlx::query(
            "INSERT INTO payment_refunds (id, store_id, intent_id, idempotency_key, amount_minor, \
             status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&r.id)
        .bind(store.to_string())
        .bind(r.intent_id.to_string())
        .bind(&r.idempotency_key)
        .bind(r.amount_minor)
        .bind(r.status.as_str())
        .bind(r.created_at)
        .bind(r.updated_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Duplicate),
            other => other?,
        };
        tx.commit().await?;
        Ok(())
    }

    async fn finish_refund(
        &self,
        store: &StoreId,
        refund_id: &str,
        status: RefundStatus,
        intent: Option<(&IntentRecord, i64)>,
        events: &[EventEnvelope],
    ) -> Result<RefundFinish, StoreError> {
        let mut tx = self.db.begin_write().await?;
        let marked = sqlx::query(
            "UPDATE payment_refunds SET status = $1, updated_at = $2 \
             WHERE store_id = $3 AND id = $4 AND status = 'pending'",
        )
        .bind(status.as_str())
        .bind(mercato_runtime::time::now_ms())
        .bind(store.to_string())
        .bind(refund_id)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() == 0 {
            return Ok(RefundFinish::AlreadyFinished);
        }
        if let Some((next, expected)) = intent {
            update(&mut tx, store, next, expected).await?;
        }
        append(&mut tx, events).await?;
        tx.commit().await?;
        Ok(RefundFinish::Recorded)
    }

    async fn fraud_history(&self, store: &StoreId, q: &FraudQuery<'_>) -> Result<FraudHistory, StoreError> {
        let store = store.to_string();
        // One round trip for the counts; an empty customer or card matches nothing.
        let (customer, card, card_blocked, email_blocked): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT \
               (SELECT COUNT(*) FROM payment_intents WHERE store_id = $1 AND customer_id = $2 \
                  AND customer_id <> '' AND created_at >= $3), \
               (SELECT COUNT(*) FROM payment_intents WHERE store_id = $1 AND card_hash = $4 \
                  AND card_hash <> '' AND created_at >= $5), \
               (SELECT COUNT(*) FROM fraud_blocklist WHERE store_id = $1 AND kind = 'card' \
                  AND value = $4), \
               (SELECT COUNT(*) FROM fraud_blocklist WHERE store_id = $1 AND kind = 'email' \
                  AND value = $6 AND value <> '')",
        )
        .bind(&store)
        .bind(q.customer_id)
        .bind(q.customer_since)
        .bind(q.card_hash)
        .bind(q.card_since)
        .bind(q.email)
        .fetch_one(self.db.pool())
        .await?;
        let amounts: Vec<(i64,)> = sqlx::query_as(
            "SELECT amount_minor FROM payment_intents WHERE store_id = $1 AND currency = $2 \
             AND status IN ('authorized', 'captured', 'partially_refunded', 'refunded', 'voided') \
             ORDER BY created_at DESC LIMIT $3",
        )
        .bind(&store)
        .bind(q.currency)
        .bind(q.history_size)
        .fetch_all(self.db.pool())
        .await?;
        Ok(FraudHistory {
            customer_attempts: customer,
            card_attempts: card,
            recent_amounts: amounts.into_iter().map(|(a,)| a).collect(),
            card_blocked: card_blocked > 0,
            email_blocked: email_blocked > 0,
        })
    }

    async fn block(
        &self,
        store: &StoreId,
        kind: BlockKind,
        value: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO fraud_blocklist (store_id, kind, value, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(store.to_string())
        .bind(kind.as_str())
        .bind(value)
        .bind(now_ms)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
