//! The `email.send` job: renders one mail from the snapshot in its input (the store's override
//! of the template if it has one, else the built-in) and sends it. The Message-ID comes from
//! the job id, so every attempt sends the same message; the event id goes in
//! `X-Mercato-Event-Id`.

use super::mailer::{Mailer, Outgoing};
use super::overrides;
use super::render::{self, Mode, OwnedSource, Rendered};
use super::templates;
use lettre::message::Mailbox;
use mercato_runtime::db::Db;
use mercato_runtime::jobs::{JobContext, JobError, JobHandler, JobOutput, KindPolicy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub(crate) const KIND: &str = "email.send";

/// Twelve attempts from 5 s doubling to an hour apart: about seven hours of an SMTP server down.
pub(crate) const POLICY: KindPolicy = KindPolicy {
    kind: KIND,
    max_attempts: 12,
    concurrency: 8,
    per_store: 4,
    backoff_base: Duration::from_secs(5),
    backoff_max: Duration::from_secs(3600),
    lease: Duration::from_secs(120),
};

/// The job's input: which template, to whom, and everything it renders.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SendInput {
    pub template: String,
    pub to: String,
    pub event_id: String,
    pub store_name: String,
    /// Non-transactional mail: its one-click unsubscribe URL.
    #[serde(default)]
    pub list_unsubscribe: Option<String>,
    pub data: Value,
}

/// Runs `email.send`.
pub(crate) struct SendEmail {
    pub db: Db,
    pub mailer: Mailer,
    pub from: Mailbox,
}

#[async_trait::async_trait]
impl JobHandler for SendEmail {
    fn policy(&self) -> KindPolicy {
        POLICY
    }

    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError> {
        let input: SendInput = serde_json::from_value(job.input.clone())
            .map_err(|e| JobError::Permanent(format!("unreadable input: {e}")))?;
        let rendered = self.render(&job.store_id, &input).await?;
        let mail = Outgoing {
            from: &self.from,
            store_name: &input.store_name,
            to: &input.to,
            message_id: format!("<{}@mercato>", job.id),
            event_id: &input.event_id,
            list_unsubscribe: input.list_unsubscribe.as_deref(),
            rendered: &rendered,
        };
        self.mailer.send(&mail).await?;
        Ok(JobOutput {
            summary: format!("{} sent to {}", input.template, input.to),
            items: 1,
            file: None,
        })
    }
}

impl SendEmail {
    /// The store's override if it renders, else the built-in (an override that fails here,
    /// though it was checked when saved, must not cost the customer their mail).
    async fn render(&self, store_id: &str, input: &SendInput) -> Result<Rendered, JobError> {
        let builtin = templates::builtin(&input.template)
            .ok_or_else(|| JobError::Permanent(format!("unknown template {}", input.template)))?;
        if let Some(o) = overrides::find(&self.db, store_id, builtin.name).await? {
            let source = OwnedSource {
                subject: o.subject,
                html: o.html,
                text: o.text,
            };
            match render::render_off_thread(source, input.data.clone(), Mode::Send).await {
                Ok(r) => return Ok(r),
                Err(e) => {
                    tracing::warn!(store_id, template = builtin.name, error = %e, "a store's e-mail template failed; sending the built-in one")
                }
            }
        }
        let source = OwnedSource {
            subject: builtin.subject.to_owned(),
            html: builtin.html.to_owned(),
            text: builtin.text.to_owned(),
        };
        render::render_off_thread(source, input.data.clone(), Mode::Send)
            .await
            .map_err(|e| JobError::Permanent(e.to_string()))
    }
}
