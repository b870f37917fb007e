//! The SQL implementation of [`ConversationStore`], one text for SQLite and PostgreSQL.
//!
//! Concurrency: writes run in `Db::begin_write` transactions (`BEGIN IMMEDIATE` on SQLite, so
//! writers queue; row locks on PostgreSQL). A post increments `last_seq` before anything else,
//! so on PostgreSQL concurrent posts to one conversation queue on its row lock and each sees
//! the committed messages of those before it (read committed): the resend check that follows
//! is exact, and a resend rolls its increment back, so sequence numbers stay gapless. The
//! UNIQUE constraint on (sender, client_msg_id) still backs that check up.

use super::{ConversationStore, Posted, StoreError};
use crate::domain::{
    Conversation, ConversationId, ConversationPage, ConversationView, Message, MessageId, MessagePage,
    NewMessage,
};
use crate::events;
use mercato_runtime::db::{Db, is_unique_violation};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox;
use sqlx::AnyConnection;

/// The realtime service's tables in a [`Db`].
#[derive(Clone)]
pub struct SqlConversationStore {
    db: Db,
}

impl SqlConversationStore {
    pub fn new(db: Db) -> Self {
        SqlConversationStore { db }
    }
}

/// A conversation joined with one reader's marker (`$2`).
const VIEW_SELECT: &str = "SELECT c.id, c.customer_id, c.subject, c.last_seq, c.created_at, c.updated_at,
            COALESCE(r.seq, 0)
     FROM conversations c
     LEFT JOIN read_markers r
       ON r.store_id = c.store_id AND r.conversation_id = c.id AND r.user_id = $2
     WHERE c.store_id = $1";

type ViewRow = (String, String, String, i64, i64, i64, i64);

fn view(store: &StoreId, row: ViewRow) -> Result<ConversationView, StoreError> {
    let (id, customer_id, subject, last_seq, created_at_ms, updated_at_ms, read_seq) = row;
    let id = id
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("conversation id {id:?}")))?;
    Ok(ConversationView {
        conversation: Conversation {
            id,
            store_id: *store,
            customer_id,
            subject,
            last_seq,
            created_at_ms,
            updated_at_ms,
        },
        read_seq,
    })
}

async fn load_view(
    conn: &mut AnyConnection,
    store: &StoreId,
    id: &ConversationId,
    reader: &str,
) -> Result<Option<ConversationView>, StoreError> {
    let sql = format!("{VIEW_SELECT} AND c.id = $3");
    let row: Option<ViewRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(store.to_string())
        .bind(reader)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| view(store, r)).transpose()
}

const MESSAGE_COLUMNS: &str = "id, seq, sender_id, sender_role, client_msg_id, body, sent_at";

type MessageRow = (String, i64, String, String, String, String, i64);

fn message(conversation_id: &ConversationId, row: MessageRow) -> Result<Message, StoreError> {
    let (id, seq, sender_id, sender_role, client_msg_id, body, sent_at_ms) = row;
    let id: MessageId = id
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("message id {id:?}")))?;
    Ok(Message {
        id,
        conversation_id: *conversation_id,
        seq,
        sender_id,
        sender_role,
        client_msg_id,
        body,
        sent_at_ms,
    })
}

/// The message `sender_id` posted with `client_msg_id`, if any.
async fn load_resent(
    conn: &mut AnyConnection,
    store: &StoreId,
    m: &NewMessage,
) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE store_id = $1 AND conversation_id = $2 AND sender_id = $3 AND client_msg_id = $4"
    );
    let row: Option<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(store.to_string())
        .bind(m.conversation_id.to_string())
        .bind(&m.sender_id)
        .bind(&m.client_msg_id)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| message(&m.conversation_id, r)).transpose()
}

/// Moves a read marker up to `seq`, never down; returns whether it moved.
async fn advance_marker(
    conn: &mut AnyConnection,
    store: &StoreId,
    id: &ConversationId,
    user_id: &str,
    seq: i64,
) -> Result<bool, StoreError> {
    if seq <= 0 {
        // No marker is the same as a marker at 0; there is nothing to move.
        return Ok(false);
    }
    // The conditional upsert decides under the row's lock (PostgreSQL) or the write lock
    // (SQLite), so of two concurrent marks to the same seq only one counts as a move.
    let done = sqlx::query(
        "INSERT INTO read_markers (store_id, conversation_id, user_id, seq) VALUES ($1, $2, $3, $4)
         ON CONFLICT (store_id, conversation_id, user_id)
         DO UPDATE SET seq = excluded.seq WHERE read_markers.seq < excluded.seq",
    )
    .bind(store.to_string())
    .bind(id.to_string())
    .bind(user_id)
    .bind(seq)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl SqlConversationStore {
    /// After a unique violation (a resend raced us past the check): the transaction is dead,
    /// so the first message is read outside it.
    async fn resent_after_conflict(&self, store: &StoreId, m: &NewMessage) -> Result<Posted, StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        match load_resent(&mut conn, store, m).await? {
            Some(first) => Ok(Posted::Duplicate(first)),
            None => Err(StoreError::Stale),
        }
    }
}

#[async_trait::async_trait]
impl ConversationStore for SqlConversationStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }

    async fn open(&self, c: &Conversation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO conversations (store_id, id, customer_id, subject, last_seq, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(c.store_id.to_string())
        .bind(c.id.to_string())
        .bind(&c.customer_id)
        .bind(&c.subject)
        .bind(c.last_seq)
        .bind(c.created_at_ms)
        .bind(c.updated_at_ms)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn conversation(
        &self,
        store: &StoreId,
        id: &ConversationId,
        reader: &str,
    ) -> Result<Option<ConversationView>, StoreError> {
        let mut conn = self.db.pool().acquire().await?;
        load_view(&mut conn, store, id, reader).await
    }

    async fn conversations(
        &self,
        store: &StoreId,
        customer: Option<&str>,
        page: ConversationPage,
        reader: &str,
    ) -> Result<Vec<ConversationView>, StoreError> {
        let before = if page.before_ms > 0 {
            page.before_ms
        } else {
            i64::MAX
        };
        // Two texts rather than an `OR` on a null parameter, so that each uses its own index.
        let sql = match customer {
            Some(_) => format!(
                "{VIEW_SELECT} AND c.updated_at < $3 AND c.customer_id = $5
                 ORDER BY c.updated_at DESC, c.id DESC LIMIT $4"
            ),
            None => {
                format!("{VIEW_SELECT} AND c.updated_at < $3 ORDER BY c.updated_at DESC, c.id DESC LIMIT $4")
            }
        };
        let mut query = sqlx::query_as::<_, ViewRow>(sqlx::AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(reader)
            .bind(before)
            .bind(page.limit);
        if let Some(customer) = customer {
            query = query.bind(customer);
        }
        let rows = query.fetch_all(self.db.pool()).await?;
        rows.into_iter().map(|r| view(store, r)).collect()
    }

    async fn post(&self, store: &StoreId, m: &NewMessage, now_ms: i64) -> Result<Posted, StoreError> {
        let mut tx = self.db.begin_write().await?;
        // First the increment: it takes the conversation's row lock, so everything below runs
        // after every earlier post to this conversation has committed.
        let bumped: Option<(i64, String)> = sqlx::query_as(
            "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $3
             WHERE store_id = $1 AND id = $2
             RETURNING last_seq, customer_id",
        )
        .bind(store.to_string())
        .bind(m.conversation_id.to_string())
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((seq, customer_id)) = bumped else {
            return Err(StoreError::NotFound);
        };
        if let Some(first) = load_resent(&mut tx, store, m).await? {
            // Undoes the increment: the resend takes no seq.
            tx.rollback().await?;
            return Ok(Posted::Duplicate(first));
        }
        let stored = Message {
            id: MessageId::new(),
            conversation_id: m.conversation_id,
            seq,
            sender_id: m.sender_id.clone(),
            sender_role: m.sender_role.as_str().to_owned(),
            client_msg_id: m.client_msg_id.clone(),
            body: m.body.clone(),
            sent_at_ms: now_ms,
        };
        let inserted = sqlx::query(
            "INSERT INTO messages (store_id, conversation_id, seq, id, sender_id, sender_role, client_msg_id,
                                   body, sent_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(store.to_string())
        .bind(stored.conversation_id.to_string())
        .bind(stored.seq)
        .bind(stored.id.to_string())
        .bind(&stored.sender_id)
        .bind(&stored.sender_role)
        .bind(&stored.client_msg_id)
        .bind(&stored.body)
        .bind(stored.sent_at_ms)
        .execute(&mut *tx)
        .await;
        if let Err(e) = inserted {
            if !is_unique_violation(&e) {
                return Err(e.into());
            }
            tx.rollback().await?;
            return self.resent_after_conflict(store, m).await;
        }
        advance_marker(&mut tx, store, &stored.conversation_id, &stored.sender_id, seq).await?;
        outbox::append(&mut tx, &events::message_posted(store, &stored, &customer_id)).await?;
        tx.commit().await?;
        Ok(Posted::Stored(stored))
    }

    async fn messages(
        &self,
        store: &StoreId,
        id: &ConversationId,
        page: MessagePage,
    ) -> Result<Vec<Message>, StoreError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE store_id = $1 AND conversation_id = $2 AND seq > $3
             ORDER BY seq LIMIT $4"
        );
        let rows: Vec<MessageRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(store.to_string())
            .bind(id.to_string())
            .bind(page.after_seq)
            .bind(page.limit)
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(|r| message(id, r)).collect()
    }

    async fn mark_read(
        &self,
        store: &StoreId,
        id: &ConversationId,
        user_id: &str,
        seq: i64,
    ) -> Result<ConversationView, StoreError> {
        let mut tx = self.db.begin_write().await?;
        // `last_seq` only grows, so checking against a value a concurrent post is about to
        // raise is still right.
        let last: Option<(i64,)> =
            sqlx::query_as("SELECT last_seq FROM conversations WHERE store_id = $1 AND id = $2")
                .bind(store.to_string())
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let Some((last_seq,)) = last else {
            return Err(StoreError::NotFound);
        };
        if seq > last_seq {
            return Err(StoreError::BeyondLast { last_seq });
        }
        if advance_marker(&mut tx, store, id, user_id, seq).await? {
            outbox::append(&mut tx, &events::read_marked(store, id, user_id, seq)).await?;
        }
        let view = load_view(&mut tx, store, id, user_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(view)
    }
}
