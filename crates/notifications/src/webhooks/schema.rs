//! The webhooks tables: endpoints (with their sealed secrets), messages (an event's body, stored
//! once however many endpoints receive it), deliveries (one per endpoint and event, plus manual
//! ones; the queue and the log in one) and their attempts. Every row carries its store.

use mercato_runtime::db::Migration;

pub(crate) const MIGRATION: Migration = Migration {
    name: "0002_webhooks",
    sql: "CREATE TABLE webhook_endpoints (
            id {{SORTED_TEXT}} PRIMARY KEY,
            store_id TEXT NOT NULL,
            url TEXT NOT NULL,
            event_types TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            disabled_reason TEXT NOT NULL DEFAULT '',
            secret_generation BIGINT NOT NULL,
            secret_sealed TEXT NOT NULL,
            secret_hint TEXT NOT NULL,
            previous_secret_sealed TEXT,
            previous_secret_expires_at BIGINT NOT NULL DEFAULT 0,
            failing_since BIGINT NOT NULL DEFAULT 0,
            last_success_at BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE INDEX webhook_endpoints_store ON webhook_endpoints (store_id, status);
          CREATE TABLE webhook_messages (
            id TEXT PRIMARY KEY,
            store_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at BIGINT NOT NULL
          );
          CREATE INDEX webhook_messages_created ON webhook_messages (created_at);
          CREATE TABLE webhook_deliveries (
            id {{SORTED_TEXT}} PRIMARY KEY,
            store_id {{SORTED_TEXT}} NOT NULL,
            endpoint_id {{SORTED_TEXT}} NOT NULL,
            message_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT NOT NULL,
            lease_owner TEXT,
            lease_until BIGINT NOT NULL DEFAULT 0,
            manual BIGINT NOT NULL DEFAULT 0,
            last_status_code BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            finished_at BIGINT NOT NULL DEFAULT 0
          );
          CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (message_id, endpoint_id)
            WHERE manual = 0;
          CREATE INDEX webhook_deliveries_message ON webhook_deliveries (message_id);
          CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
            WHERE status = 'pending';
          CREATE INDEX webhook_deliveries_store_due ON webhook_deliveries (store_id, next_attempt_at)
            WHERE status = 'pending';
          CREATE INDEX webhook_deliveries_endpoint_pending ON webhook_deliveries (endpoint_id)
            WHERE status = 'pending';
          CREATE INDEX webhook_deliveries_log ON webhook_deliveries (store_id, endpoint_id, created_at, id);
          CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at)
            WHERE finished_at > 0;
          CREATE TABLE webhook_attempts (
            delivery_id TEXT NOT NULL,
            number BIGINT NOT NULL,
            store_id TEXT NOT NULL,
            at BIGINT NOT NULL,
            status_code BIGINT NOT NULL,
            latency_ms BIGINT NOT NULL,
            error TEXT NOT NULL,
            response_excerpt TEXT NOT NULL,
            PRIMARY KEY (delivery_id, number)
          );",
};
