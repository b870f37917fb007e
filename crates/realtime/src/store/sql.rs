//! The SQL implementation of [`ConversationStore`], one text for SQLite and PostgreSQL.
//!
//! Concurrency: each write is one `Db::write` closure, run as one transaction that reads,
//! decides and writes (on SQLite one write connection at a time, so writers queue and queued ones
//! commit together; row locks on PostgreSQL). A post increments `last_seq` before anything else,
//! so on PostgreSQL concurrent posts to one conversation queue on its row lock and each sees
//! the committed messages of those before it (read committed): the resend check that follows
//! is exact, and a resend rolls its increment back, so sequence numbers stay gapless. The
//! UNIQUE constraint on (sender, client_msg_id) still backs that check up.

use super::{ConversationStore, Posted, Refusal, StoreError};
use crate::domain::{
    Conversation, ConversationId, ConversationPage, ConversationView, Message, MessageId, MessagePage,
    NewMessage,
};
use crate::events;
use mercato_runtime::auth::Role;
use mercato_runtime::db::{Db, DbError, Tx, is_unique_violation};
use mercato_runtime::ids::StoreId;
use mercato_runtime::outbox;

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

fn load_view(
    tx: &mut Tx<'_>,
    store: &StoreId,
    id: &ConversationId,
    reader: &str,
) -> Result<Option<ConversationView>, StoreError> {
    let sql = format!("{VIEW_SELECT} AND c.id = $3");
    let row: Option<ViewRow> = tx.query_opt(&sql, &[store, &reader, id])?;
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
        sender_role: Role::parse(&sender_role)
            .ok_or_else(|| StoreError::Corrupt(format!("message sender role {sender_role:?}")))?,
        client_msg_id,
        body,
        sent_at_ms,
    })
}

/// The message `sender_id` posted with `client_msg_id`, if any.
fn load_resent(tx: &mut Tx<'_>, store: &StoreId, m: &NewMessage) -> Result<Option<Message>, StoreError> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages
         WHERE store_id = $1 AND conversation_id = $2 AND sender_id = $3 AND client_msg_id = $4"
    );
    let row: Option<MessageRow> =
        tx.query_opt(&sql, &[store, &m.conversation_id, &m.sender_id, &m.client_msg_id])?;
    row.map(|r| message(&m.conversation_id, r)).transpose()
}

/// Moves a read marker up to `seq`, never down; returns whether it moved.
fn advance_marker(
    tx: &mut Tx<'_>,
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
    let done = tx.execute(
        "INSERT INTO read_markers (store_id, conversation_id, user_id, seq) VALUES ($1, $2, $3, $4)
         ON CONFLICT (store_id, conversation_id, user_id)
         DO UPDATE SET seq = excluded.seq WHERE read_markers.seq < excluded.seq",
        &[store, id, &user_id, &seq],
    )?;
    Ok(done == 1)
}

/// Why a post's transaction was rolled back.
enum PostRollback {
    /// The sender had already posted this `client_msg_id`: the first message. Rolling back
    /// undoes the increment, so the resend takes no seq.
    Duplicate(Box<Message>),
    /// The insert hit the UNIQUE constraint on (sender, client_msg_id): a resend raced us past
    /// the check.
    Conflict,
    Store(StoreError),
}

impl From<StoreError> for PostRollback {
    fn from(e: StoreError) -> Self {
        PostRollback::Store(e)
    }
}

impl From<DbError> for PostRollback {
    fn from(e: DbError) -> Self {
        PostRollback::Store(e.into())
    }
}

/// A post's transaction: takes the next seq, stores the message unless it is a resend, moves
/// the sender's read marker to it and records the event.
fn post_in(tx: &mut Tx<'_>, store: &StoreId, m: &NewMessage, now_ms: i64) -> Result<Message, PostRollback> {
    // First the increment: it takes the conversation's row lock, so everything below
    // runs after every earlier post to this conversation has committed.
    let Some((seq, customer_id)) = take_next_seq(tx, store, &m.conversation_id, now_ms)? else {
        return Err(PostRollback::Store(StoreError::Refused(Refusal::NotFound)));
    };
    if let Some(first) = load_resent(tx, store, m)? {
        // Undoes the increment: the resend takes no seq.
        return Err(PostRollback::Duplicate(Box::new(first)));
    }
    let stored = Message {
        id: MessageId::new(),
        conversation_id: m.conversation_id,
        seq,
        sender_id: m.sender_id.clone(),
        sender_role: m.sender_role,
        client_msg_id: m.client_msg_id.clone(),
        body: m.body.clone(),
        sent_at_ms: now_ms,
    };
    insert_message(tx, store, &stored)?;
    advance_marker(tx, store, &stored.conversation_id, &stored.sender_id, seq)?;
    outbox::append(tx, &events::message_posted(store, &stored, &customer_id))?;
    Ok(stored)
}

/// Increments the conversation's `last_seq` (taking its row lock); the new seq and the
/// conversation's customer, or `None` if there is no such conversation.
fn take_next_seq(
    tx: &mut Tx<'_>,
    store: &StoreId,
    id: &ConversationId,
    now_ms: i64,
) -> Result<Option<(i64, String)>, DbError> {
    tx.query_opt(
        "UPDATE conversations SET last_seq = last_seq + 1, updated_at = $3
         WHERE store_id = $1 AND id = $2
         RETURNING last_seq, customer_id",
        &[store, id, &now_ms],
    )
}

/// Stores a message; [`PostRollback::Conflict`] if a resend with its `client_msg_id` got in first.
fn insert_message(tx: &mut Tx<'_>, store: &StoreId, stored: &Message) -> Result<(), PostRollback> {
    let inserted = tx.execute(
        "INSERT INTO messages (store_id, conversation_id, seq, id, sender_id, sender_role, client_msg_id,
                               body, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            store,
            &stored.conversation_id,
            &stored.seq,
            &stored.id,
            &stored.sender_id,
            &stored.sender_role.as_str(),
            &stored.client_msg_id,
            &stored.body,
            &stored.sent_at_ms,
        ],
    );
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(PostRollback::Conflict),
        Err(e) => Err(e.into()),
    }
}

impl SqlConversationStore {
    /// After a unique violation (a resend raced us past the check): the transaction is dead,
    /// so the first message is read outside it.
    async fn resent_after_conflict(&self, store: &StoreId, m: &NewMessage) -> Result<Posted, StoreError> {
        let (store, m) = (*store, m.clone());
        let first = self
            .db
            .read("message_post_resent", move |tx| load_resent(tx, &store, &m))
            .await?;
        match first {
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
        self.db
            .execute(
                "conversation_open",
                "INSERT INTO conversations (store_id, id, customer_id, subject, last_seq, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &c.store_id,
                    &c.id,
                    &c.customer_id,
                    &c.subject,
                    &c.last_seq,
                    &c.created_at_ms,
                    &c.updated_at_ms,
                ],
            )
            .await?;
        Ok(())
    }

    async fn conversation(
        &self,
        store: &StoreId,
        id: &ConversationId,
        reader: &str,
    ) -> Result<Option<ConversationView>, StoreError> {
        let (store, id, reader) = (*store, *id, reader.to_owned());
        self.db
            .read("conversation_get", move |tx| load_view(tx, &store, &id, &reader))
            .await
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
        let rows: Vec<ViewRow> = match customer {
            Some(customer) => {
                self.db
                    .query_all(&sql, &[store, &reader, &before, &page.limit, &customer])
                    .await?
            }
            None => {
                self.db
                    .query_all(&sql, &[store, &reader, &before, &page.limit])
                    .await?
            }
        };
        rows.into_iter().map(|r| view(store, r)).collect()
    }

    async fn post(&self, store: &StoreId, m: &NewMessage, now_ms: i64) -> Result<Posted, StoreError> {
        let (store_id, new) = (*store, m.clone());
        let posted = self
            .db
            .write("message_post", move |tx| post_in(tx, &store_id, &new, now_ms))
            .await;
        match posted {
            Ok(stored) => Ok(Posted::Stored(stored)),
            Err(PostRollback::Duplicate(first)) => Ok(Posted::Duplicate(*first)),
            Err(PostRollback::Conflict) => self.resent_after_conflict(store, m).await,
            Err(PostRollback::Store(e)) => Err(e),
        }
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
        let rows: Vec<MessageRow> = self
            .db
            .query_all(&sql, &[store, id, &page.after_seq, &page.limit])
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
        let (store, id, user_id) = (*store, *id, user_id.to_owned());
        self.db
            .write("read_mark", move |tx| {
                // `last_seq` only grows, so checking against a value a concurrent post is about to
                // raise is still right.
                let last: Option<(i64,)> = tx.query_opt(
                    "SELECT last_seq FROM conversations WHERE store_id = $1 AND id = $2",
                    &[&store, &id],
                )?;
                let Some((last_seq,)) = last else {
                    return Err(StoreError::Refused(Refusal::NotFound));
                };
                if seq > last_seq {
                    return Err(StoreError::Refused(Refusal::BeyondLast { last_seq }));
                }
                if advance_marker(tx, &store, &id, &user_id, seq)? {
                    outbox::append(tx, &events::read_marked(&store, &id, &user_id, seq))?;
                }
                load_view(tx, &store, &id, &user_id)?.ok_or(StoreError::Refused(Refusal::NotFound))
            })
            .await
    }
}
