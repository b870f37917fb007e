//! The realtime schema, in portable SQL (TEXT ids, BIGINT sequence numbers and epoch
//! milliseconds).

use mercato_runtime::db::Migration;

/// Applied in order by `db.migrate("realtime", MIGRATIONS)`.
pub const MIGRATIONS: &[Migration] = &[Migration {
    name: "0001_conversations",
    // `conversations.id` is sorted on (it breaks ties of `updated_at` in listings), so it
    // compares bytes on both backends. The UNIQUE constraint on messages is what makes a
    // resend of a client_msg_id land on the first message even if two arrive at once.
    sql: "CREATE TABLE conversations (
                store_id TEXT NOT NULL,
                id {{SORTED_TEXT}} NOT NULL,
                customer_id TEXT NOT NULL,
                subject TEXT NOT NULL,
                last_seq BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, id),
                CHECK (last_seq >= 0)
              );
              CREATE INDEX conversations_by_update ON conversations (store_id, updated_at);
              CREATE INDEX conversations_by_customer ON conversations (store_id, customer_id, updated_at);
              CREATE TABLE messages (
                store_id TEXT NOT NULL,
                conversation_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                id TEXT NOT NULL,
                sender_id TEXT NOT NULL,
                sender_role TEXT NOT NULL,
                client_msg_id TEXT NOT NULL,
                body TEXT NOT NULL,
                sent_at BIGINT NOT NULL,
                PRIMARY KEY (store_id, conversation_id, seq),
                UNIQUE (store_id, conversation_id, sender_id, client_msg_id),
                CHECK (seq > 0)
              );
              CREATE TABLE read_markers (
                store_id TEXT NOT NULL,
                conversation_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                PRIMARY KEY (store_id, conversation_id, user_id),
                CHECK (seq >= 0)
              );",
}];
