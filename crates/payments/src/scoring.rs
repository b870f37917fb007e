//! Fraud scoring as a use case: gather the store's signals, then call the pure
//! [`crate::domain::fraud::score`]. Also the block list, which feeds it.

use crate::domain::fraud::{self, Assessment, FraudInput, FraudStats};
use crate::domain::{CardNumber, Shopper};
use crate::requests;
use crate::service::{PaymentsService, store_id};
use crate::store::{BlockKind, FraudCounts, FraudQuery, assessment_message};
use mercato_proto::payments as pb;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

/// The request facts scoring looks at.
pub(crate) struct Signals<'a> {
    pub amount_minor: i64,
    pub currency: &'a str,
    /// Empty when there is no card.
    pub card_fingerprint: &'a str,
    pub shopper: &'a Shopper,
}

impl PaymentsService {
    /// `ScoreFraud`: the assessment an authorization with these facts would get now.
    pub(crate) async fn score_fraud(
        &self,
        req: pb::FraudRequest,
    ) -> Result<pb::FraudAssessment, ServiceError> {
        let store = store_id(&req.store_id)?;
        let input = requests::score(&req)?;
        let card_fingerprint = match &input.payment_method {
            Some(id) => {
                self.payment_method(&store, id, "payment_method")
                    .await?
                    .fingerprint
            }
            None => String::new(),
        };
        let assessment = self
            .assess(
                &store,
                &Signals {
                    amount_minor: input.amount_minor,
                    currency: input.currency.as_str(),
                    card_fingerprint: &card_fingerprint,
                    shopper: &input.shopper,
                },
            )
            .await?;
        Ok(assessment_message(&assessment))
    }

    /// Reads the store's fraud signals and scores.
    pub(crate) async fn assess(&self, store: &StoreId, s: &Signals<'_>) -> Result<Assessment, ServiceError> {
        let history = self.store.fraud_history(store, &fraud_query(s, now_ms())).await?;
        Ok(score(
            s.amount_minor,
            s.shopper,
            history.counts,
            history.recent_amounts,
        ))
    }

    /// Puts a card on a store's block list: its authorizations are then blocked. Only the
    /// card's keyed fingerprint is stored.
    pub async fn block_card(&self, store: &str, card_number: &str) -> Result<(), ServiceError> {
        let store = store_id(store)?;
        let card = CardNumber::parse("card_number", card_number)?;
        self.store
            .block(
                &store,
                BlockKind::Card,
                &self.fingerprint_key.fingerprint(&card),
                now_ms(),
            )
            .await?;
        Ok(())
    }

    /// Puts an email (compared case-insensitively) on a store's block list.
    pub async fn block_email(&self, store: &str, email: &str) -> Result<(), ServiceError> {
        let store = store_id(store)?;
        let email = email.trim().to_ascii_lowercase();
        if email.is_empty() {
            return Err(ServiceError::invalid_field("email", "is required"));
        }
        self.store
            .block(&store, BlockKind::Email, &email, now_ms())
            .await?;
        Ok(())
    }
}

/// What the store is asked about an attempt with these facts at `now`.
pub(crate) fn fraud_query<'a>(s: &Signals<'a>, now: i64) -> FraudQuery<'a> {
    FraudQuery {
        customer_id: &s.shopper.customer_id,
        card_fingerprint: s.card_fingerprint,
        client_ip: &s.shopper.client_ip,
        email: &s.shopper.email,
        currency: s.currency,
        customer_since: now - fraud::CUSTOMER_WINDOW_MS,
        card_since: now - fraud::CARD_WINDOW_MS,
        ip_since: now - fraud::IP_WINDOW_MS,
        history_size: fraud::HISTORY_SIZE,
    }
}

/// Scores an attempt of `amount_minor` by `shopper` against the store's signals; no IO, so an
/// authorization runs it inside the transaction that records it (see
/// [`crate::store::PaymentsStore::insert_intent`]).
pub(crate) fn score(
    amount_minor: i64,
    shopper: &Shopper,
    counts: FraudCounts,
    mut amounts: Vec<i64>,
) -> Assessment {
    let stats = FraudStats {
        customer_attempts: count(counts.customer_attempts),
        card_attempts: count(counts.card_attempts),
        ip_attempts: count(counts.ip_attempts),
        history_count: count(amounts.len() as i64),
        history_median: fraud::median(&mut amounts),
        card_blocked: counts.card_blocked,
        email_blocked: counts.email_blocked,
    };
    let input = FraudInput {
        amount_minor,
        email: &shopper.email,
        billing_country: &shopper.billing_country,
        shipping_country: &shopper.shipping_country,
    };
    fraud::score(&input, &stats)
}

fn count(n: i64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
