//! A store's template overrides (`email_templates`): listed next to the built-ins, checked
//! before they are kept (each part must parse and render against the template's sample data;
//! a 422 names the part), reset by deleting, previewed without saving.

use super::render::{self, MAX_TEMPLATE_BYTES, Mode, OwnedSource, Rendered};
use super::templates::{self, Builtin};
use mercato_proto::notifications::{EmailPreview, EmailTemplate, PutEmailTemplateRequest};
use mercato_runtime::db::{Db, DbError};
use mercato_runtime::error::ServiceError;

/// A stored override.
#[derive(Clone, Debug)]
pub(crate) struct Override {
    pub subject: String,
    pub html: String,
    pub text: String,
    pub updated_at: i64,
}

/// The store's override of `name`, if any.
pub(crate) async fn find(db: &Db, store_id: &str, name: &str) -> Result<Option<Override>, DbError> {
    let row: Option<(String, String, String, i64)> = db
        .query_opt(
            "SELECT subject, html, text, updated_at FROM email_templates WHERE store_id = $1 AND name = $2",
            &[&store_id, &name],
        )
        .await?;
    Ok(row.map(|(subject, html, text, updated_at)| Override {
        subject,
        html,
        text,
        updated_at,
    }))
}

/// The built-in template `name`; 404 for any other name.
pub(crate) fn named(name: &str) -> Result<&'static Builtin, ServiceError> {
    templates::builtin(name.trim()).ok_or_else(|| ServiceError::not_found("email template"))
}

/// The template as a store sees it: its override, or the built-in.
pub(crate) fn message(store_id: &str, b: &Builtin, o: Option<&Override>) -> EmailTemplate {
    EmailTemplate {
        store_id: store_id.to_owned(),
        name: b.name.to_owned(),
        description: b.description.to_owned(),
        subject: o.map_or(b.subject, |o| &o.subject).to_owned(),
        html: o.map_or(b.html, |o| &o.html).to_owned(),
        text: o.map_or(b.text, |o| &o.text).to_owned(),
        overridden: o.is_some(),
        updated_at_ms: o.map_or(0, |o| o.updated_at),
        variables: templates::variables(b),
    }
}

/// Checks a proposed override: sizes, then a strict render of each part with sample data.
pub(crate) async fn check(b: &Builtin, r: &PutEmailTemplateRequest) -> Result<Rendered, ServiceError> {
    for (field, value) in [("subject", &r.subject), ("html", &r.html), ("text", &r.text)] {
        if value.len() > MAX_TEMPLATE_BYTES {
            return Err(ServiceError::invalid_field(
                field,
                &format!("must be at most {MAX_TEMPLATE_BYTES} bytes"),
            ));
        }
    }
    if r.subject.trim().is_empty() {
        return Err(ServiceError::invalid_field("subject", "must not be empty"));
    }
    if r.html.trim().is_empty() && r.text.trim().is_empty() {
        return Err(ServiceError::invalid_field(
            "text",
            "the HTML or the text part must not be empty",
        ));
    }
    let source = OwnedSource {
        subject: r.subject.clone(),
        html: r.html.clone(),
        text: r.text.clone(),
    };
    render::render_off_thread(source, templates::sample(b), Mode::Check)
        .await
        .map_err(|e| ServiceError::invalid_field(e.field, &format!("does not render: {}", e.message)))
}

/// Keeps `r` as the store's override of `b` (already checked).
pub(crate) async fn put(
    db: &Db,
    b: &Builtin,
    r: &PutEmailTemplateRequest,
    now: i64,
) -> Result<Override, DbError> {
    let (store_id, name) = (r.store_id.clone(), b.name);
    let o = Override {
        subject: r.subject.clone(),
        html: r.html.clone(),
        text: r.text.clone(),
        updated_at: now,
    };
    let row = o.clone();
    db.write("email_template_put", move |tx| {
        tx.execute(
            "INSERT INTO email_templates (store_id, name, subject, html, text, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (store_id, name) DO UPDATE SET \
             subject = excluded.subject, html = excluded.html, text = excluded.text, \
             updated_at = excluded.updated_at",
            &[
                &store_id,
                &name,
                &row.subject,
                &row.html,
                &row.text,
                &row.updated_at,
            ],
        )
    })
    .await?;
    Ok(o)
}

/// Removes the store's override of `name`.
pub(crate) async fn delete(db: &Db, store_id: &str, name: &'static str) -> Result<(), DbError> {
    let store_id = store_id.to_owned();
    db.write("email_template_delete", move |tx| {
        tx.execute(
            "DELETE FROM email_templates WHERE store_id = $1 AND name = $2",
            &[&store_id, &name],
        )
    })
    .await?;
    Ok(())
}

/// Renders the given parts (each empty one replaced by the current template's) with sample data.
pub(crate) async fn preview(
    b: &Builtin,
    current: &EmailTemplate,
    r: &PutEmailTemplateRequest,
) -> Result<EmailPreview, ServiceError> {
    let pick = |given: &str, current: &str| {
        if given.is_empty() {
            current.to_owned()
        } else {
            given.to_owned()
        }
    };
    let filled = PutEmailTemplateRequest {
        store_id: r.store_id.clone(),
        name: r.name.clone(),
        subject: pick(&r.subject, &current.subject),
        html: pick(&r.html, &current.html),
        text: pick(&r.text, &current.text),
    };
    let rendered = check(b, &filled).await?;
    Ok(EmailPreview {
        subject: rendered.subject,
        html: rendered.html,
        text: rendered.text,
    })
}
