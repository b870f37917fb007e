//! E-mail: who gets which mail for which event, the templates (built in, overridable per
//! store), the `email.send` job that renders and sends one mail over SMTP, preferences and
//! unsubscribe links.
//!
//! # Layout
//!
//! - `schema`: the tables.
//! - `directory`: stores and accounts learnt from identity's events (in the consumer's tx).
//! - `decide`: the mails an event causes, one `email.send` job each, its input a snapshot of
//!   what it renders, deduplicated by `<event id>:<template>:<recipient>`.
//! - `templates` (the built-ins, compiled in from `crates/notifications/templates/`),
//!   `overrides` (a store's, checked before kept), `render` (minijinja without a loader, HTML
//!   auto-escaped, money formatting).
//! - `job` (`email.send`: render and send once; Message-ID from the job id, the event id in
//!   `X-Mercato-Event-Id`), `mailer` (SMTP through `lettre`, or `.eml` files without a server;
//!   5xx permanent, the rest retried).
//! - `preferences` (customers' opt-out, staff opt-ins), `unsubscribe` (signed tokens, the
//!   opt-out table, the links mail carries).
//!
//! # Guarantees
//!
//! - One mail per (event, template, recipient): the job's dedupe key, and the consumer's inbox.
//! - Every value is escaped in HTML parts; templates reach no file and no other template.
//! - Transactional mail (orders, refunds, staff notices) ignores opt-outs; the welcome does
//!   not, and carries `List-Unsubscribe` with one-click POST (RFC 8058).

mod decide;
mod directory;
mod job;
mod mailer;
mod overrides;
mod preferences;
mod render;
pub(crate) mod schema;
mod templates;
#[cfg(test)]
mod tests;
mod unsubscribe;

use crate::consumer::Effects;
use crate::service::NotificationsConfig;
use lettre::message::Mailbox;
use mercato_proto::events::EventEnvelope;
use mercato_proto::notifications::*;
use mercato_runtime::db::{Db, DbError, Tx};
use mercato_runtime::error::ServiceError;
use mercato_runtime::jobs::{JobHandler, Jobs};
use mercato_runtime::time::now_ms;
use preferences::Member;
use std::sync::Arc;

/// The e-mail part of the service.
pub struct Email {
    db: Db,
    jobs: Jobs,
    mailer: mailer::Mailer,
    from: Mailbox,
    /// The display name used until a store's name is known.
    mailer_name: String,
    link_key: unsubscribe::LinkKey,
    links: unsubscribe::Links,
}

impl Email {
    pub fn new(db: Db, jobs: Jobs, config: &NotificationsConfig) -> anyhow::Result<Self> {
        let settings = &config.settings;
        let from = mailer::from_mailbox(settings)?;
        let mailer = mailer::Mailer::from_settings(settings, &config.data_dir)?;
        tracing::info!(through = %mailer.describe(), "e-mail ready");
        Ok(Email {
            db,
            jobs,
            mailer,
            mailer_name: from.name.clone().unwrap_or_else(|| "Mercato".to_owned()),
            from,
            link_key: unsubscribe::LinkKey::from_settings(settings, &config.data_dir)?,
            links: unsubscribe::Links::new(settings, config.http_port),
        })
    }

    /// The `email.send` handler.
    pub fn job_handlers(&self) -> Vec<Arc<dyn JobHandler>> {
        vec![Arc::new(job::SendEmail {
            db: self.db.clone(),
            mailer: self.mailer.clone(),
            from: self.from.clone(),
        })]
    }

    /// Inside the consumer's transaction: keeps the directory of stores (name, currency, time
    /// zone) and accounts (e-mail, role, disabled) up to date from identity's events.
    pub(crate) fn directory_apply(
        &self,
        tx: &mut Tx<'_>,
        event: &EventEnvelope,
        now: i64,
    ) -> Result<(), DbError> {
        directory::apply(tx, event, now)
    }

    /// Inside the consumer's transaction: enqueues the e-mails `event` causes (one job per
    /// template and recipient, deduplicated by event id).
    pub(crate) fn on_event(
        &self,
        tx: &mut Tx<'_>,
        event: &EventEnvelope,
        _now: i64,
    ) -> Result<Effects, DbError> {
        Ok(Effects {
            emails: self.decide(tx, event)?,
            deliveries: false,
        })
    }

    /// Inside a transaction of the webhooks part: tells the store's owners that `endpoint` was
    /// disabled because its deliveries kept failing (a `webhook_endpoint_disabled` mail each).
    /// The caller wakes the job runner after commit ([`Jobs::wake`] through [`Email::wake`]).
    pub(crate) fn endpoint_disabled(
        &self,
        tx: &mut Tx<'_>,
        endpoint: &Endpoint,
        now: i64,
    ) -> Result<(), DbError> {
        self.endpoint_disabled_mail(tx, endpoint, now)
    }

    /// Rings the job runner after a commit that enqueued mail.
    pub fn wake(&self) {
        self.jobs.wake();
    }

    /// The unsubscribe token of `email` in `store_id` (tests and links).
    pub fn unsubscribe_token(&self, store_id: &str, email: &str) -> String {
        self.link_key.token(store_id, email)
    }

    pub async fn preferences(&self, r: EmailPreferencesRequest) -> Result<EmailPreferences, ServiceError> {
        let member = Member::parse(&r.store_id, &r.user_id, r.role)?;
        Ok(self
            .db
            .read("email_preferences", move |tx| preferences::read(tx, &member))
            .await?)
    }

    pub async fn set_preferences(
        &self,
        r: SetEmailPreferencesRequest,
    ) -> Result<EmailPreferences, ServiceError> {
        let member = Member::parse(&r.store_id, &r.user_id, r.role)?;
        preferences::check(&member, &r)?;
        let now = now_ms();
        self.db
            .write("email_preferences_set", move |tx| {
                preferences::write(tx, &member, &r, now)??;
                Ok::<_, ServiceError>(preferences::read(tx, &member)?)
            })
            .await
    }

    /// Opts the token's address out of its store's non-transactional mail (idempotent).
    pub async fn unsubscribe(&self, r: UnsubscribeRequest) -> Result<Unsubscribed, ServiceError> {
        let (store_id, email) = self
            .link_key
            .verify(&r.token)
            .ok_or_else(|| ServiceError::invalid_field("token", "is not a valid unsubscribe token"))?;
        let now = now_ms();
        let (s, e) = (store_id.clone(), email.clone());
        self.db
            .write("email_unsubscribe", move |tx| {
                unsubscribe::opt_out(tx, &s, &e, now)
            })
            .await?;
        tracing::info!(store_id = %store_id, "an address unsubscribed from non-transactional mail");
        Ok(Unsubscribed { store_id, email })
    }

    pub async fn list_templates(
        &self,
        r: EmailTemplatesRequest,
    ) -> Result<ListEmailTemplatesResponse, ServiceError> {
        let mut out = Vec::new();
        for b in &templates::BUILTINS {
            let o = overrides::find(&self.db, &r.store_id, b.name).await?;
            out.push(overrides::message(&r.store_id, b, o.as_ref()));
        }
        Ok(ListEmailTemplatesResponse { templates: out })
    }

    pub async fn get_template(&self, r: EmailTemplateRequest) -> Result<EmailTemplate, ServiceError> {
        let b = overrides::named(&r.name)?;
        let o = overrides::find(&self.db, &r.store_id, b.name).await?;
        Ok(overrides::message(&r.store_id, b, o.as_ref()))
    }

    /// Checks (422 naming the part that fails) and keeps a store's override.
    pub async fn put_template(&self, r: PutEmailTemplateRequest) -> Result<EmailTemplate, ServiceError> {
        let b = overrides::named(&r.name)?;
        overrides::check(b, &r).await?;
        let o = overrides::put(&self.db, b, &r, now_ms()).await?;
        tracing::info!(store_id = %r.store_id, template = b.name, "e-mail template overridden");
        Ok(overrides::message(&r.store_id, b, Some(&o)))
    }

    /// Back to the built-in template.
    pub async fn delete_template(&self, r: EmailTemplateRequest) -> Result<EmailTemplate, ServiceError> {
        let b = overrides::named(&r.name)?;
        overrides::delete(&self.db, &r.store_id, b.name).await?;
        Ok(overrides::message(&r.store_id, b, None))
    }

    pub async fn preview_template(&self, r: PutEmailTemplateRequest) -> Result<EmailPreview, ServiceError> {
        let current = self
            .get_template(EmailTemplateRequest {
                store_id: r.store_id.clone(),
                name: r.name.clone(),
            })
            .await?;
        overrides::preview(overrides::named(&r.name)?, &current, &r).await
    }
}
