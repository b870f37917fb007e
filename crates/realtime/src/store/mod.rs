//! Conversation storage (stub; replaced by the SQL implementation).

use mercato_runtime::db::{Db, Migration};

pub const MIGRATIONS: &[Migration] = &[mercato_runtime::outbox::MIGRATION];

#[async_trait::async_trait]
pub trait ConversationStore: Send + Sync + 'static {
    async fn ping(&self) -> bool;
}

pub struct SqlConversationStore {
    db: Db,
}

impl SqlConversationStore {
    pub fn new(db: Db) -> Self {
        SqlConversationStore { db }
    }
}

#[async_trait::async_trait]
impl ConversationStore for SqlConversationStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }
}
