//! E-mail: who gets which mail for which event, the templates (built in, overridable per
//! store), the `email.send` job that renders and sends one mail over SMTP, preferences and
//! unsubscribe links.
//!
//! TODO(e-mail helper): the layout, guarantees and implementation. The signatures below are
//! the contract the rest of the crate (grpc, consumer, service, webhooks) calls.

pub(crate) mod schema;

use crate::consumer::Effects;
use crate::service::NotificationsConfig;
use mercato_proto::events::EventEnvelope;
use mercato_proto::notifications::*;
use mercato_runtime::db::{Db, DbError, Tx};
use mercato_runtime::error::ServiceError;
use mercato_runtime::jobs::{JobHandler, Jobs};
use std::sync::Arc;
use tokio::sync::Notify;

/// The e-mail part of the service.
pub struct Email {
    db: Db,
    jobs: Jobs,
    outbox: Arc<Notify>,
}

fn todo() -> ServiceError {
    ServiceError::unavailable("e-mail is not built yet")
}

impl Email {
    pub fn new(
        db: Db,
        jobs: Jobs,
        outbox: Arc<Notify>,
        _config: &NotificationsConfig,
    ) -> anyhow::Result<Self> {
        Ok(Email { db, jobs, outbox })
    }

    /// The `email.send` handler.
    pub fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        Vec::new()
    }

    /// Inside the consumer's transaction: keeps the directory of stores (name, currency, time
    /// zone) and accounts (e-mail, role, disabled) up to date from identity's events.
    pub(crate) fn directory_apply(
        &self,
        _tx: &mut Tx<'_>,
        _event: &EventEnvelope,
        _now: i64,
    ) -> Result<(), DbError> {
        Ok(())
    }

    /// Inside the consumer's transaction: enqueues the e-mails `event` causes (one job per
    /// template and recipient, deduplicated by event id).
    pub(crate) fn on_event(
        &self,
        _tx: &mut Tx<'_>,
        _event: &EventEnvelope,
        _now: i64,
    ) -> Result<Effects, DbError> {
        Ok(Effects::default())
    }

    /// Inside a transaction of the webhooks part: tells the store's owners that `endpoint` was
    /// disabled because its deliveries kept failing (a `webhook_endpoint_disabled` mail each).
    /// The caller wakes the job runner after commit ([`Jobs::wake`] through [`Email::wake`]).
    pub(crate) fn endpoint_disabled(
        &self,
        _tx: &mut Tx<'_>,
        _endpoint: &Endpoint,
        _now: i64,
    ) -> Result<(), DbError> {
        Ok(())
    }

    /// Rings the job runner after a commit that enqueued mail.
    pub fn wake(&self) {
        self.jobs.wake();
    }

    pub async fn preferences(&self, _r: EmailPreferencesRequest) -> Result<EmailPreferences, ServiceError> {
        Err(todo())
    }

    pub async fn set_preferences(
        &self,
        _r: SetEmailPreferencesRequest,
    ) -> Result<EmailPreferences, ServiceError> {
        Err(todo())
    }

    pub async fn unsubscribe(&self, _r: UnsubscribeRequest) -> Result<Unsubscribed, ServiceError> {
        Err(todo())
    }

    pub async fn list_templates(
        &self,
        _r: EmailTemplatesRequest,
    ) -> Result<ListEmailTemplatesResponse, ServiceError> {
        Err(todo())
    }

    pub async fn get_template(&self, _r: EmailTemplateRequest) -> Result<EmailTemplate, ServiceError> {
        Err(todo())
    }

    pub async fn put_template(&self, _r: PutEmailTemplateRequest) -> Result<EmailTemplate, ServiceError> {
        Err(todo())
    }

    pub async fn delete_template(&self, _r: EmailTemplateRequest) -> Result<EmailTemplate, ServiceError> {
        Err(todo())
    }

    pub async fn preview_template(&self, _r: PutEmailTemplateRequest) -> Result<EmailPreview, ServiceError> {
        Err(todo())
    }
}
