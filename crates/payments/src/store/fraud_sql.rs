//! The fraud rules' reads in portable SQL: velocity counts, block-list hits and recent amounts,
//! and the serialisation that keeps the velocity rule exact under concurrency (ADR 0004).

use super::{FraudCounts, FraudQuery};
use mercato_runtime::db::{Backend, DbError, Tx};
use mercato_runtime::ids::StoreId;

/// What [`counts`] and [`lock_velocity`] need of a [`FraudQuery`], owned.
pub(super) struct CountsQuery {
    customer_id: String,
    card_fingerprint: String,
    client_ip: String,
    email: String,
    customer_since: i64,
    card_since: i64,
    ip_since: i64,
}

impl CountsQuery {
    pub(super) fn new(q: &FraudQuery<'_>) -> CountsQuery {
        CountsQuery {
            customer_id: q.customer_id.to_owned(),
            card_fingerprint: q.card_fingerprint.to_owned(),
            client_ip: q.client_ip.to_owned(),
            email: q.email.to_owned(),
            customer_since: q.customer_since,
            card_since: q.card_since,
            ip_since: q.ip_since,
        }
    }
}

/// Serialises this transaction with every other one recording an attempt with the same card,
/// customer or address in the store, until it ends.
///
/// On PostgreSQL (several replicas, READ COMMITTED) that is a transaction-scoped advisory lock
/// per velocity key, taken in one fixed order (card, customer, address) so that two attempts
/// sharing several keys cannot deadlock; the count statements that follow take their snapshot
/// after the locks, so they see every attempt committed by an earlier holder. A lock is a
/// 64-bit hash of the key: a collision only serialises two unrelated attempts. On SQLite one
/// connection runs every write transaction, one after the other, so the counts already see
/// every earlier attempt and nothing need be taken.
pub(super) fn lock_velocity(tx: &mut Tx<'_>, store: &StoreId, q: &CountsQuery) -> Result<(), DbError> {
    if tx.backend() != Backend::Postgres {
        return Ok(());
    }
    for (kind, value) in [
        ("card", &q.card_fingerprint),
        ("customer", &q.customer_id),
        ("ip", &q.client_ip),
    ] {
        if value.is_empty() {
            continue;
        }
        let key = format!("payments.velocity:{store}:{kind}:{value}");
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&key])?;
    }
    Ok(())
}

/// The velocity counts and block-list hits, in one round trip.
pub(super) fn counts(tx: &mut Tx<'_>, store: &StoreId, q: &CountsQuery) -> Result<FraudCounts, DbError> {
    // An empty customer or card matches nothing. The emptiness tests name the parameter, not the
    // column, so that both engines check them once before the scan: `customer_id <> ''` let
    // every anonymous checkout walk the index entries of all earlier anonymous payments.
    let (customer, card, ip, card_blocked, email_blocked): (i64, i64, i64, i64, i64) = tx.query_one(
        "SELECT \
           (SELECT COUNT(*) FROM payment_intents WHERE $2 <> '' AND store_id = $1 \
              AND customer_id = $2 AND created_at >= $3), \
           (SELECT COUNT(*) FROM payment_intents WHERE $4 <> '' AND store_id = $1 \
              AND card_fingerprint = $4 AND created_at >= $5), \
           (SELECT COUNT(*) FROM payment_intents WHERE $7 <> '' AND store_id = $1 \
              AND client_ip = $7 AND created_at >= $8), \
           (SELECT COUNT(*) FROM fraud_blocklist WHERE store_id = $1 AND kind = 'card' \
              AND value = $4), \
           (SELECT COUNT(*) FROM fraud_blocklist WHERE store_id = $1 AND kind = 'email' \
              AND value = $6 AND value <> '')",
        &[
            store,
            &q.customer_id,
            &q.customer_since,
            &q.card_fingerprint,
            &q.card_since,
            &q.email,
            &q.client_ip,
            &q.ip_since,
        ],
    )?;
    Ok(FraudCounts {
        customer_attempts: customer,
        card_attempts: card,
        ip_attempts: ip,
        card_blocked: card_blocked > 0,
        email_blocked: email_blocked > 0,
    })
}

/// Amounts of the store's `size` most recent successful authorizations in `currency`.
pub(super) fn recent_amounts(
    tx: &mut Tx<'_>,
    store: &StoreId,
    currency: &str,
    size: i64,
) -> Result<Vec<i64>, DbError> {
    let amounts: Vec<(i64,)> = tx.query_all(
        "SELECT amount_minor FROM payment_intents WHERE store_id = $1 AND currency = $2 \
         AND status IN ('authorized', 'captured', 'partially_refunded', 'refunded', 'voided') \
         ORDER BY created_at DESC LIMIT $3",
        &[store, &currency, &size],
    )?;
    Ok(amounts.into_iter().map(|(a,)| a).collect())
}
