//! The e-mail tables: the directory (stores and accounts, learnt from identity's events), the
//! staff opt-ins and customer opt-outs, the stores' template overrides, and what each order has
//! had refunded so far (so a refund mail names the amount of that refund).

use mercato_runtime::db::Migration;

pub(crate) const MIGRATION: Migration = Migration {
    name: "0001_email",
    sql: "CREATE TABLE email_stores (
            store_id TEXT PRIMARY KEY,
            slug TEXT NOT NULL,
            name TEXT NOT NULL,
            currency TEXT NOT NULL,
            time_zone TEXT NOT NULL,
            updated_at BIGINT NOT NULL
          );
          CREATE TABLE email_accounts (
            store_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            email TEXT NOT NULL,
            role TEXT NOT NULL,
            first_name TEXT NOT NULL,
            last_name TEXT NOT NULL,
            disabled BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (store_id, user_id)
          );
          CREATE INDEX email_accounts_role ON email_accounts (store_id, role);
          CREATE TABLE email_staff_opt_ins (
            store_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            topic TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (store_id, user_id, topic)
          );
          CREATE TABLE email_opt_outs (
            store_id TEXT NOT NULL,
            email TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (store_id, email)
          );
          CREATE TABLE email_templates (
            store_id TEXT NOT NULL,
            name TEXT NOT NULL,
            subject TEXT NOT NULL,
            html TEXT NOT NULL,
            text TEXT NOT NULL,
            updated_at BIGINT NOT NULL,
            PRIMARY KEY (store_id, name)
          );
          CREATE TABLE email_order_refunds (
            store_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            refunded_minor BIGINT NOT NULL,
            PRIMARY KEY (store_id, order_id)
          );",
};
