//! The payments schema, applied in order by `Db::migrate("payments", MIGRATIONS)`.
//!
//! Portable types only (see `mercato_runtime::db`): ids are UUID text, money BIGINT minor units,
//! times epoch milliseconds. Card numbers are never stored: a payment method keeps the
//! provider's token, brand, last four digits and a keyed fingerprint (HMAC-SHA256).

use mercato_runtime::db::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_payments",
        sql: "CREATE TABLE payment_intents (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL,
                order_id TEXT NOT NULL,
                idempotency_key TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                currency TEXT NOT NULL,
                status TEXT NOT NULL,
                captured_minor BIGINT NOT NULL,
                refunded_minor BIGINT NOT NULL,
                card_last4 TEXT NOT NULL,
                card_hash TEXT NOT NULL,
                customer_id TEXT NOT NULL,
                email TEXT NOT NULL,
                failure_code TEXT NOT NULL,
                fraud_score BIGINT NOT NULL,
                fraud_reasons TEXT NOT NULL,
                fraud_decision TEXT NOT NULL,
                provider_reference TEXT NOT NULL,
                settle_kind TEXT NOT NULL,
                settle_key TEXT NOT NULL,
                settle_minor BIGINT NOT NULL,
                version BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (store_id, idempotency_key)
              );
              CREATE INDEX payment_intents_customer ON payment_intents (store_id, customer_id, created_at);
              CREATE INDEX payment_intents_card ON payment_intents (store_id, card_hash, created_at);
              CREATE INDEX payment_intents_history ON payment_intents (store_id, currency, created_at);
              CREATE TABLE payment_refunds (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL,
                intent_id TEXT NOT NULL REFERENCES payment_intents (id),
                idempotency_key TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                status TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                UNIQUE (store_id, intent_id, idempotency_key)
              );
              CREATE TABLE fraud_blocklist (
                store_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                value TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, kind, value)
              );",
    },
    // The built-in test provider's own books, kept apart from the intents so that an audit can
    // compare the two. A real provider keeps these on its side.
    Migration {
        name: "0002_provider_ledger",
        sql: "CREATE TABLE provider_ledger (
                entry_id TEXT PRIMARY KEY,
                provider_key TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                reference TEXT NOT NULL,
                outcome TEXT NOT NULL,
                amount_minor BIGINT NOT NULL,
                currency TEXT NOT NULL,
                card_last4 TEXT NOT NULL,
                created_at BIGINT NOT NULL
              );
              CREATE INDEX provider_ledger_reference ON provider_ledger (reference, kind);",
    },
    // Fraud scoring reads the store's last 100 authorizations on every checkout; with status
    // and amount in the index that is one ordered index walk instead of 100 row look-ups (the
    // look-ups were 7 % of a checkout's CPU).
    Migration {
        name: "0003_covering_history_index",
        sql: "DROP INDEX payment_intents_history;
              CREATE INDEX payment_intents_history
                ON payment_intents (store_id, currency, created_at, status, amount_minor);",
    },
    // The shopper's public address, for the address velocity signal; empty when there is none
    // (a private or loopback address says nothing about the shopper).
    Migration {
        name: "0004_client_ip",
        sql: "ALTER TABLE payment_intents ADD COLUMN client_ip TEXT NOT NULL DEFAULT '';
              CREATE INDEX payment_intents_client_ip ON payment_intents (store_id, client_ip, created_at);",
    },
    // Tokenized cards (ADR 0007): the store's payment methods, the test provider's tokens, and
    // the intents' card signal becomes a keyed fingerprint. Rows written before keep their
    // unkeyed SHA-256 hashes in the renamed column; no keyed fingerprint equals one, so they
    // simply stop counting for velocity and block lists.
    Migration {
        name: "0005_payment_methods",
        sql: "CREATE TABLE payment_methods (
                id TEXT PRIMARY KEY,
                store_id TEXT NOT NULL,
                brand TEXT NOT NULL,
                last4 TEXT NOT NULL,
                fingerprint TEXT NOT NULL,
                billing_country TEXT NOT NULL,
                provider_token TEXT NOT NULL,
                created_at BIGINT NOT NULL
              );
              CREATE TABLE provider_tokens (
                token TEXT PRIMARY KEY,
                behaviour TEXT NOT NULL,
                card_last4 TEXT NOT NULL,
                created_at BIGINT NOT NULL
              );
              ALTER TABLE payment_intents RENAME COLUMN card_hash TO card_fingerprint;",
    },
];
