//! The notifications service: its parts and how it starts.

use crate::email::Email;
use crate::outbound::Outbound;
use crate::webhooks::Webhooks;
use mercato_runtime::bus::SharedBus;
use mercato_runtime::config::NotificationsSettings;
use mercato_runtime::db::Db;
use mercato_runtime::jobs::{JobHandler, Jobs};
use mercato_runtime::kek::KeyEncryptionKey;
use mercato_runtime::shutdown::Shutdown;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Notify;

/// The service's name: its jobs, database and events are under it.
pub const SERVICE: &str = "notifications";

/// What the service is built from besides its database.
#[derive(Clone)]
pub struct NotificationsConfig {
    pub settings: NotificationsSettings,
    /// Where keys generated on first start are kept (the unsubscribe link key) and, without
    /// an SMTP server, where mail is written (`<data_dir>/mail`).
    pub data_dir: PathBuf,
    /// The port pages are served on, for links in mail when `public_url` is not set.
    pub http_port: u16,
    /// Seals webhook secrets at rest.
    pub kek: Arc<KeyEncryptionKey>,
}

/// The notifications service; one per process, shared behind an `Arc`.
pub struct NotificationsService {
    pub(crate) db: Db,
    pub(crate) jobs: Jobs,
    pub email: Arc<Email>,
    pub webhooks: Arc<Webhooks>,
}

impl NotificationsService {
    /// Migrates the database and builds the parts; nothing runs until [`Self::start`].
    pub async fn new(
        db: Db,
        outbox: Arc<Notify>,
        config: NotificationsConfig,
    ) -> anyhow::Result<Arc<NotificationsService>> {
        db.migrate(SERVICE, crate::store::MIGRATIONS).await?;
        let jobs = Jobs::new(SERVICE, db.clone(), outbox.clone());
        let outbound = Arc::new(Outbound::new(&config.settings.webhooks)?);
        let email = Arc::new(Email::new(db.clone(), jobs.clone(), &config)?);
        let webhooks = Arc::new(Webhooks::new(
            db.clone(),
            outbox.clone(),
            config.settings.webhooks.clone(),
            config.kek.clone(),
            outbound,
            email.clone(),
        ));
        Ok(Arc::new(NotificationsService {
            db,
            jobs,
            email,
            webhooks,
        }))
    }

    /// Subscribes the consumer and starts the webhook dispatcher and the clean-ups. Call before
    /// the outbox relays start.
    pub async fn start(self: &Arc<Self>, bus: SharedBus, shutdown: Shutdown) -> anyhow::Result<()> {
        self.start_consumer(bus, shutdown.clone()).await?;
        self.webhooks.start(shutdown);
        Ok(())
    }

    /// The service's jobs (`email.send`): enqueue, run, and the job RPCs.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// The handlers of its job kinds, for the process's job runner.
    pub fn job_handlers(self: &Arc<Self>) -> Vec<Arc<dyn JobHandler>> {
        self.email.job_handlers()
    }

    /// The service's database (tests inspect it).
    pub fn db(&self) -> &Db {
        &self.db
    }
}
