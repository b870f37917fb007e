//! The built-in test provider: deterministic outcomes by card number, its own ledger table
//! (`provider_ledger`) in the payments database, and idempotency by provider key.
//!
//! Tokenizing a card keeps, per token (`tok_…`, table `provider_tokens`), only what the token
//! must do when it is authorized (one of the outcomes below) and the last four digits; the
//! number is not kept, as a real provider's vault would keep it out of the merchant's reach.
//!
//! | card number        | outcome                                                             |
//! |--------------------|---------------------------------------------------------------------|
//! | `4242424242424242` | approved                                                            |
//! | `4000000000000002` | declined, `card_declined`                                           |
//! | `4000000000009995` | declined, `insufficient_funds`                                      |
//! | `4000000000000077` | approved after `PaymentsConfig::slow_card_delay`                    |
//! | `4000000000000119` | network error: fails before recording anything (retry may succeed)  |
//! | any other Luhn-valid number | approved                                                   |
//!
//! The ledger is written as a real provider would keep its books: one row per operation key,
//! with its outcome, so a repeated key returns the first outcome and writes nothing. Captures,
//! voids and refunds are checked against the ledger itself (one settlement per authorization,
//! captures up to the authorized amount, refunds up to the captured amount), independently of
//! the intents table, which makes the ledger a second line of defence and an audit source.

use super::{PaymentProvider, ProviderError, ProviderReply};
use crate::domain::CardNumber;
use async_trait::async_trait;
use mercato_runtime::db::{Db, DbError, Tx};
use mercato_runtime::money::Currency;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Approved.
pub const CARD_APPROVE: &str = "4242424242424242";
/// Declined with `card_declined`.
pub const CARD_DECLINE: &str = "4000000000000002";
/// Declined with `insufficient_funds`.
pub const CARD_INSUFFICIENT_FUNDS: &str = "4000000000009995";
/// Approved after the configured delay.
pub const CARD_SLOW: &str = "4000000000000077";
/// The provider cannot be reached; nothing is recorded.
pub const CARD_NETWORK_ERROR: &str = "4000000000000119";

/// An approved card number, different for each `n` below 10⁹: tests and benchmarks use one per
/// checkout, since fraud rules count attempts per card.
pub fn approving_card(n: u64) -> String {
    let body = format!("424242{:09}", n % 1_000_000_000);
    mercato_runtime::payment_details::with_check_digit(&body)
}

/// What authorizing a token does: the outcome of the test card it was made from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Approve,
    Decline,
    InsufficientFunds,
    Slow,
    NetworkError,
}

impl Behaviour {
    fn of(card: &CardNumber) -> Behaviour {
        match card.digits() {
            CARD_DECLINE => Behaviour::Decline,
            CARD_INSUFFICIENT_FUNDS => Behaviour::InsufficientFunds,
            CARD_SLOW => Behaviour::Slow,
            CARD_NETWORK_ERROR => Behaviour::NetworkError,
            _ => Behaviour::Approve,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Behaviour::Approve => "approve",
            Behaviour::Decline => "decline",
            Behaviour::InsufficientFunds => "insufficient_funds",
            Behaviour::Slow => "slow",
            Behaviour::NetworkError => "network_error",
        }
    }

    fn parse(s: &str) -> Option<Behaviour> {
        [
            Behaviour::Approve,
            Behaviour::Decline,
            Behaviour::InsufficientFunds,
            Behaviour::Slow,
            Behaviour::NetworkError,
        ]
        .into_iter()
        .find(|b| b.as_str() == s)
    }
}

/// One kind of ledger entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Authorize,
    Capture,
    Void,
    Refund,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Authorize => "authorize",
            Kind::Capture => "capture",
            Kind::Void => "void",
            Kind::Refund => "refund",
        }
    }
}

/// What one call asks the ledger to book. Owned, so that the booking transaction can take it.
#[derive(Clone)]
struct Booking {
    key: String,
    kind: Kind,
    /// The authorization entry the operation applies to; empty for authorizations.
    reference: String,
    amount_minor: i64,
    /// Authorizations only: the card's outcome, its currency and last four digits.
    card_decline: Option<&'static str>,
    currency: String,
    last4: String,
}

/// The test provider. Cheap to share; all state is in the database except the outage switch.
pub struct TestProvider {
    db: Db,
    slow_delay: Duration,
    /// Calls still to fail as if the network were down.
    outages: AtomicU32,
}

impl TestProvider {
    /// A provider keeping its ledger in `db` (migrated with the payments migrations).
    pub fn new(db: Db, slow_delay: Duration) -> TestProvider {
        TestProvider {
            db,
            slow_delay,
            outages: AtomicU32::new(0),
        }
    }

    /// Makes the next `n` calls fail with a network error before recording anything, as if the
    /// provider were unreachable; for tests of retries.
    pub fn fail_next(&self, n: u32) {
        self.outages.store(n, Ordering::SeqCst);
    }

    fn reachable(&self) -> Result<(), ProviderError> {
        let down = self
            .outages
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if down {
            return Err(ProviderError::Unavailable("simulated network error".into()));
        }
        Ok(())
    }

    /// The behaviour and last four digits of `token`; `None` for a token it never issued.
    async fn token(&self, token: &str) -> Result<Option<(Behaviour, String)>, ProviderError> {
        let row: Option<(String, String)> = self
            .db
            .query_opt(
                "SELECT behaviour, card_last4 FROM provider_tokens WHERE token = $1",
                &[&token],
            )
            .await
            .map_err(unavailable)?;
        Ok(row.and_then(|(behaviour, last4)| Some((Behaviour::parse(&behaviour)?, last4))))
    }

    async fn book(&self, b: Booking) -> Result<ProviderReply, ProviderError> {
        self.db
            .write("provider_book", move |tx| {
                let (decline, amount, currency, last4) = match b.kind {
                    Kind::Authorize => (
                        b.card_decline,
                        b.amount_minor,
                        b.currency.clone(),
                        b.last4.clone(),
                    ),
                    _ => check(tx, &b)?,
                };
                // Folded: the lookup of the key that used to come first. The unique provider_key
                // decides instead: a repeated key inserts nothing (on PostgreSQL, after waiting
                // for a concurrent booking of the key to commit) and its first outcome is read
                // back, so the common case, a new key, costs one statement less. A repeat's
                // check above is then thrown away; it only read.
                let entry_id = uuid::Uuid::now_v7().to_string();
                let inserted = tx.execute(
                    "INSERT INTO provider_ledger (entry_id, provider_key, kind, reference, outcome, \
                     amount_minor, currency, card_last4, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     ON CONFLICT (provider_key) DO NOTHING",
                    &[
                        &entry_id,
                        &b.key,
                        &b.kind.as_str(),
                        &b.reference,
                        &decline.unwrap_or("approved"),
                        &amount,
                        &currency,
                        &last4,
                        &mercato_runtime::time::now_ms(),
                    ],
                )?;
                if inserted == 0 {
                    let first: (String, String, i64) = tx.query_one(
                        "SELECT entry_id, outcome, amount_minor FROM provider_ledger WHERE provider_key = $1",
                        &[&b.key],
                    )?;
                    return Ok(reply(first));
                }
                Ok(ProviderReply {
                    entry_id,
                    decline: decline.map(str::to_owned),
                    amount_minor: amount,
                })
            })
            .await
            .map_err(unavailable)
    }
}

fn reply((entry_id, outcome, amount_minor): (String, String, i64)) -> ProviderReply {
    ProviderReply {
        entry_id,
        decline: (outcome != "approved").then_some(outcome),
        amount_minor,
    }
}

fn unavailable(e: DbError) -> ProviderError {
    tracing::warn!(error = %e, "test provider ledger failed");
    ProviderError::Unavailable("ledger unavailable".into())
}

type Checked = (Option<&'static str>, i64, String, String);

/// Decides a capture, void or refund from the ledger alone, inside the booking transaction.
fn check(tx: &mut Tx<'_>, b: &Booking) -> Result<Checked, DbError> {
    // Reading the authorization takes its row lock on PostgreSQL (FOR UPDATE; SQLite's single
    // writer already runs one transaction at a time), so operations on one authorization
    // serialise and their checks cannot interleave: the sums below are read after the lock, so
    // they include whatever a booking that held it committed. (Folded: this used to be a
    // separate no-op `UPDATE … SET amount_minor = amount_minor` before the read.)
    let lock = tx.lock_rows();
    let auth: Option<(i64, String, String, String)> = tx.query_opt(
        &format!(
            "SELECT amount_minor, currency, card_last4, outcome FROM provider_ledger \
             WHERE entry_id = $1 AND kind = 'authorize'{lock}"
        ),
        &[&b.reference],
    )?;
    let Some((authorized, currency, last4, outcome)) = auth.filter(|a| a.3 == "approved") else {
        return Ok((
            Some("unknown_authorization"),
            b.amount_minor,
            String::new(),
            String::new(),
        ));
    };
    debug_assert_eq!(outcome, "approved");
    let sums: Vec<(String, i64)> = tx.query_all(
        "SELECT kind, amount_minor FROM provider_ledger \
         WHERE reference = $1 AND outcome = 'approved'",
        &[&b.reference],
    )?;
    let total = |kind: Kind| -> (usize, i64) {
        let rows = sums.iter().filter(|(k, _)| k == kind.as_str());
        (rows.clone().count(), rows.map(|(_, a)| a).sum())
    };
    let (captures, captured) = total(Kind::Capture);
    let (voids, _) = total(Kind::Void);
    let (_, refunded) = total(Kind::Refund);
    let settled = captures + voids > 0;
    let (decline, amount) = match b.kind {
        Kind::Capture if settled => (Some("already_settled"), b.amount_minor),
        Kind::Capture if b.amount_minor > authorized || b.amount_minor <= 0 => {
            (Some("amount_exceeds_authorization"), b.amount_minor)
        }
        Kind::Void if settled => (Some("already_settled"), authorized),
        Kind::Void => (None, authorized),
        Kind::Refund if captures == 0 => (Some("not_captured"), b.amount_minor),
        Kind::Refund if b.amount_minor <= 0 || refunded + b.amount_minor > captured => {
            (Some("amount_exceeds_capture"), b.amount_minor)
        }
        _ => (None, b.amount_minor),
    };
    Ok((decline, amount, currency, last4))
}

#[async_trait]
impl PaymentProvider for TestProvider {
    async fn tokenize(&self, card: &CardNumber) -> Result<String, ProviderError> {
        self.reachable()?;
        let token = format!("tok_{}", uuid::Uuid::new_v4().simple());
        let (behaviour, last4) = (Behaviour::of(card).as_str(), card.last4().to_owned());
        self.db
            .execute(
                "provider_tokenize",
                "INSERT INTO provider_tokens (token, behaviour, card_last4, created_at) \
                 VALUES ($1, $2, $3, $4)",
                &[&token, &behaviour, &last4, &mercato_runtime::time::now_ms()],
            )
            .await
            .map_err(unavailable)?;
        Ok(token)
    }

    async fn authorize(
        &self,
        key: &str,
        token: &str,
        amount_minor: i64,
        currency: &Currency,
    ) -> Result<ProviderReply, ProviderError> {
        self.reachable()?;
        let (decline, last4) = match self.token(token).await? {
            None => (Some("unknown_token"), String::new()),
            Some((Behaviour::NetworkError, _)) => {
                return Err(ProviderError::Unavailable("network error (test card)".into()));
            }
            Some((Behaviour::Decline, last4)) => (Some("card_declined"), last4),
            Some((Behaviour::InsufficientFunds, last4)) => (Some("insufficient_funds"), last4),
            Some((Behaviour::Slow, last4)) => {
                tokio::time::sleep(self.slow_delay).await;
                (None, last4)
            }
            Some((Behaviour::Approve, last4)) => (None, last4),
        };
        self.book(Booking {
            key: key.to_owned(),
            kind: Kind::Authorize,
            reference: String::new(),
            amount_minor,
            card_decline: decline,
            currency: currency.as_str().to_owned(),
            last4,
        })
        .await
    }

    async fn capture(
        &self,
        key: &str,
        authorization: &str,
        amount_minor: i64,
    ) -> Result<ProviderReply, ProviderError> {
        self.reachable()?;
        self.book(settlement(key, Kind::Capture, authorization, amount_minor))
            .await
    }

    async fn void(&self, key: &str, authorization: &str) -> Result<ProviderReply, ProviderError> {
        self.reachable()?;
        self.book(settlement(key, Kind::Void, authorization, 0)).await
    }

    async fn refund(
        &self,
        key: &str,
        authorization: &str,
        amount_minor: i64,
    ) -> Result<ProviderReply, ProviderError> {
        self.reachable()?;
        self.book(settlement(key, Kind::Refund, authorization, amount_minor))
            .await
    }
}

fn settlement(key: &str, kind: Kind, reference: &str, amount_minor: i64) -> Booking {
    Booking {
        key: key.to_owned(),
        kind,
        reference: reference.to_owned(),
        amount_minor,
        card_decline: None,
        currency: String::new(),
        last4: String::new(),
    }
}
