//! Sending one message: over SMTP (`lettre`'s pooled async transport; `smtp://` upgraded with
//! STARTTLS when the server offers it, `smtps://` TLS from the start, credentials from the URL)
//! or, with no SMTP server configured, as `.eml` files under `<data_dir>/mail`. SMTP failures
//! are sorted: a permanent (5xx) answer ends the job, anything else is worth retrying.

use super::render::Rendered;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mercato_runtime::config::NotificationsSettings;
use mercato_runtime::jobs::JobError;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// SMTP connections kept open per process.
const POOL_SIZE: u32 = 8;

/// Where mail goes.
#[derive(Clone)]
pub(crate) enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>, PathBuf),
}

/// One message to send.
pub(crate) struct Outgoing<'a> {
    pub from: &'a Mailbox,
    pub store_name: &'a str,
    pub to: &'a str,
    pub message_id: String,
    pub event_id: &'a str,
    /// Set on non-transactional mail: the one-click unsubscribe URL (RFC 8058).
    pub list_unsubscribe: Option<&'a str>,
    pub rendered: &'a Rendered,
}

impl Mailer {
    /// From `smtp_url`, or the file transport into `<data_dir>/mail` (made 0700).
    pub(crate) fn from_settings(settings: &NotificationsSettings, data_dir: &Path) -> anyhow::Result<Mailer> {
        let Some(url) = &settings.smtp_url else {
            let dir = data_dir.join("mail");
            mercato_runtime::db::create_private_dir(&dir)?;
            return Ok(Mailer::Files(AsyncFileTransport::new(&dir), dir));
        };
        let url = with_opportunistic_tls(url.expose())?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
            .map_err(|e| anyhow::anyhow!("notifications.smtp_url: {e}"))?
            .timeout(Some(settings.smtp_timeout))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE))
            .build();
        Ok(Mailer::Smtp(transport))
    }

    /// What it sends through, for the start-up log (no credentials).
    pub(crate) fn describe(&self) -> String {
        match self {
            Mailer::Smtp(_) => "SMTP".to_owned(),
            Mailer::Files(_, dir) => format!("files in {}", dir.display()),
        }
    }

    /// Sends `mail`; the error says whether another attempt may help.
    pub(crate) async fn send(&self, mail: &Outgoing<'_>) -> Result<(), JobError> {
        let message = build(mail)?;
        match self {
            Mailer::Smtp(smtp) => smtp.send(message).await.map(drop).map_err(smtp_error),
            Mailer::Files(files, _) => files
                .send(message)
                .await
                .map(drop)
                .map_err(|e| JobError::Retryable(format!("writing the mail file: {e}"))),
        }
    }
}

/// `smtp://` without a `tls` parameter means STARTTLS when offered (lettre's default would be
/// plain text only), or STARTTLS required when the URL carries credentials, so a password never
/// goes out in clear because a server (or someone in between) did not offer STARTTLS.
fn with_opportunistic_tls(url: &str) -> anyhow::Result<String> {
    let mut parsed = url::Url::parse(url).map_err(|e| anyhow::anyhow!("notifications.smtp_url: {e}"))?;
    if parsed.scheme() == "smtp" && !parsed.query_pairs().any(|(k, _)| k == "tls") {
        if parsed.port().is_none() {
            parsed
                .set_port(Some(25))
                .map_err(|()| anyhow::anyhow!("notifications.smtp_url: no port"))?;
        }
        let credentials = !parsed.username().is_empty() || parsed.password().is_some();
        let tls = if credentials { "required" } else { "opportunistic" };
        parsed.query_pairs_mut().append_pair("tls", tls);
    }
    Ok(parsed.to_string())
}

/// Only a permanent refusal of the recipient (550, 551, 553 not about the sender) ends the job:
/// it will not change on retry, and other recipients are other jobs. Every other failure is
/// retried: 4xx, connection, timeout, TLS, and 5xx answers that mean the platform's SMTP set-up
/// is wrong (authentication 530/534/535/538, a refused sender, 552/554 policy), which are also
/// logged as errors for operators to see.
fn smtp_error(e: lettre::transport::smtp::Error) -> JobError {
    if !e.is_permanent() {
        return JobError::Retryable(format!("SMTP: {e}"));
    }
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    let text = e.to_string();
    if recipient_refused(&code, &text) {
        return JobError::Permanent(format!("the SMTP server refused the recipient: {text}"));
    }
    tracing::error!(code = %code, error = %text, "the SMTP server refuses mail for a reason not about its recipient; check notifications.smtp_url and mail_from (the mail is retried)");
    JobError::Retryable(format!("SMTP: {text}"))
}

/// Whether a permanent answer is about the recipient's mailbox rather than the sender or the
/// session (lettre does not say which command it answered).
fn recipient_refused(code: &str, text: &str) -> bool {
    let lower = text.to_lowercase();
    let about_sender = lower.contains("5.1.7") || lower.contains("5.1.8") || lower.contains("sender");
    matches!(code, "550" | "551" | "553") && !about_sender
}

fn build(mail: &Outgoing<'_>) -> Result<Message, JobError> {
    let to = Mailbox::from_str(mail.to)
        .map_err(|e| JobError::Permanent(format!("bad recipient {}: {e}", mail.to)))?;
    let from = Mailbox::new(
        Some(mail.store_name.to_owned())
            .filter(|n| !n.is_empty())
            .or(mail.from.name.clone()),
        mail.from.email.clone(),
    );
    let mut builder = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.rendered.subject.clone())
        .message_id(Some(mail.message_id.clone()))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Mercato-Event-Id"),
            mail.event_id.to_owned(),
        ));
    if let Some(url) = mail.list_unsubscribe {
        builder = builder
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{url}>"),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
    }
    builder
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(mail.rendered.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(mail.rendered.html.clone()),
                ),
        )
        .map_err(|e| JobError::Permanent(format!("building the mail: {e}")))
}

/// The `From` of the settings (`mail_from`), checked at start.
pub(crate) fn from_mailbox(settings: &NotificationsSettings) -> anyhow::Result<Mailbox> {
    Mailbox::from_str(settings.mail_from.trim())
        .map_err(|e| anyhow::anyhow!("notifications.mail_from {:?}: {e}", settings.mail_from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_recipient_is_permanent() {
        assert!(recipient_refused(
            "550",
            "permanent error (550): 5.1.1 Mailbox unavailable"
        ));
        assert!(!recipient_refused(
            "550",
            "permanent error (550): 5.1.8 Sender address rejected"
        ));
        assert!(!recipient_refused(
            "535",
            "permanent error (535): authentication failed"
        ));
        assert!(!recipient_refused(
            "554",
            "permanent error (554): transaction failed"
        ));
    }

    #[test]
    fn plain_smtp_asks_for_starttls_when_offered() {
        assert_eq!(
            with_opportunistic_tls("smtp://mail.example.com:2525").unwrap(),
            "smtp://mail.example.com:2525?tls=opportunistic"
        );
        assert_eq!(
            with_opportunistic_tls("smtps://u:p@mail.example.com").unwrap(),
            "smtps://u:p@mail.example.com"
        );
        assert_eq!(
            with_opportunistic_tls("smtp://h:25?tls=required").unwrap(),
            "smtp://h:25?tls=required"
        );
        assert_eq!(
            with_opportunistic_tls("smtp://user:pw@h:587").unwrap(),
            "smtp://user:pw@h:587?tls=required"
        );
    }
}
