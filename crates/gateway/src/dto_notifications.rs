//! REST shapes of notifications: webhook endpoints (a secret only where it was just made), their
//! delivery log, the event types, e-mail preferences, e-mail templates and unsubscribing.

use mercato_proto::{names, notifications as proto};
use mercato_runtime::error::{ErrorCode, FieldError, ServiceError};
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod deliveries;
pub use deliveries::*;

/// The longest webhook URL accepted.
pub(crate) const MAX_URL_CHARS: usize = 2048;
/// The most event types one endpoint subscribes to.
pub(crate) const MAX_EVENT_TYPES: usize = 50;
/// The longest endpoint description.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 500;
/// The longest overlap of a rotated-out secret: 7 days.
pub(crate) const MAX_OVERLAP_SECONDS: i64 = 7 * 24 * 3600;
/// The longest template part (subject, HTML or text).
pub(crate) const MAX_TEMPLATE_CHARS: usize = 20_000;

/// `ms` as RFC 3339, `None` for 0 (not yet, or never).
fn time(ms: i64) -> Option<String> {
    (ms != 0).then(|| to_rfc3339(ms))
}

fn non_empty(text: String) -> Option<String> {
    Some(text).filter(|t| !t.is_empty())
}

// ---- webhook endpoints ----

/// A new webhook endpoint.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"url": "https://erp.example.com/hooks/mercato",
    "event_types": ["order.confirmed", "order.cancelled"], "description": "ERP"})))]
pub struct NewWebhookBody {
    /// Where deliveries are POSTed: an `https` URL (plain `http` only where the deployment
    /// allows it), at most 2048 characters.
    #[schema(pattern = r"^https?://[^\s]+$", max_length = 2048)]
    pub url: String,
    /// 1–50 event types from `/v1/webhook-event-types`, or `["*"]` for every type.
    #[schema(min_items = 1, max_items = 50)]
    pub event_types: Vec<String>,
    /// What it is for, at most 500 characters.
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// What an owner changes of an endpoint; an absent field stays as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"enabled": false}), json!({"event_types": ["*"], "description": "Everything"})))]
pub struct UpdateWebhookBody {
    #[schema(pattern = r"^https?://[^\s]+$", max_length = 2048)]
    pub url: Option<String>,
    /// Replaces the subscribed types.
    #[schema(min_items = 1, max_items = 50)]
    pub event_types: Option<Vec<String>>,
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `false` disables it (pending deliveries are cancelled); `true` enables it again, also
    /// one disabled for failing.
    pub enabled: Option<bool>,
}

/// How long the replaced secret keeps signing.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"overlap_seconds": 3600})))]
pub struct RotateWebhookSecretBody {
    /// How long the replaced secret keeps signing beside the new one, in seconds, at most 7
    /// days (604800); absent: the deployment's default (24 hours); 0: it stops signing at once
    /// (a leaked secret).
    #[schema(minimum = 0, maximum = 604800)]
    pub overlap_seconds: Option<i64>,
}

/// A webhook endpoint, never with its secret.
#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    /// Subscribed event types; `*` for every type.
    pub event_types: Vec<String>,
    pub description: String,
    /// `enabled`, `disabled` (by the owner) or `failing` (disabled because its deliveries kept
    /// failing; enabling it again resumes deliveries of new events).
    pub status: String,
    /// Why it was disabled for failing; null otherwise.
    pub disabled_reason: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// When its current run of failures began; null while deliveries succeed.
    pub failing_since: Option<String>,
    pub last_success_at: Option<String>,
    /// Until when the previous secret still signs after a rotation; null otherwise.
    pub previous_secret_expires_at: Option<String>,
    /// The secret's last four characters, to tell secrets apart.
    pub secret_hint: String,
}

impl From<proto::Endpoint> for WebhookView {
    fn from(e: proto::Endpoint) -> Self {
        WebhookView {
            status: names::endpoint_status(e.status()).to_owned(),
            disabled_reason: non_empty(e.disabled_reason),
            created_at: to_rfc3339(e.created_at_ms),
            updated_at: to_rfc3339(e.updated_at_ms),
            failing_since: time(e.failing_since_ms),
            last_success_at: time(e.last_success_at_ms),
            previous_secret_expires_at: time(e.previous_secret_expires_at_ms),
            id: e.id,
            url: e.url,
            event_types: e.event_types,
            description: e.description,
            secret_hint: e.secret_hint,
        }
    }
}

/// An endpoint with its signing secret, shown in this answer only.
#[derive(Serialize, ToSchema)]
pub struct WebhookSecretView {
    pub webhook: WebhookView,
    /// `whsec_<base64 of 32 random bytes>`, the Standard Webhooks form: verify deliveries'
    /// `webhook-signature` with it. Never shown again; rotate it if lost.
    pub secret: String,
}

impl From<proto::EndpointWithSecret> for WebhookSecretView {
    fn from(e: proto::EndpointWithSecret) -> Self {
        WebhookSecretView {
            webhook: e.endpoint.unwrap_or_default().into(),
            secret: e.secret,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct WebhookListView {
    /// Every endpoint of the store, oldest first.
    pub webhooks: Vec<WebhookView>,
}

// ---- e-mail preferences ----

/// The signed-in user's e-mail choices: a customer's `non_transactional`, staff's and owners'
/// `new_orders` and `payment_declines`; the others are null.
#[derive(Serialize, ToSchema)]
pub struct EmailPreferencesView {
    /// The address mail goes to; null while the service has not learnt it.
    pub email: Option<String>,
    /// Customers: whether the welcome mail and other non-transactional mail is sent (order,
    /// cancellation and refund mail always is).
    pub non_transactional: Option<bool>,
    /// Owners and staff: a mail for each new order.
    pub new_orders: Option<bool>,
    /// Owners and staff: a mail for each declined payment.
    pub payment_declines: Option<bool>,
}

impl EmailPreferencesView {
    pub(crate) fn of(p: proto::EmailPreferences, customer: bool) -> Self {
        EmailPreferencesView {
            email: non_empty(p.email),
            non_transactional: customer.then_some(p.non_transactional),
            new_orders: (!customer).then_some(p.new_orders),
            payment_declines: (!customer).then_some(p.payment_declines),
        }
    }
}

/// What the signed-in user changes; an absent field stays as it is. Customers may set only
/// `non_transactional`, owners and staff only the other two (422 naming the field otherwise).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"new_orders": true, "payment_declines": false}), json!({"non_transactional": false})))]
pub struct EmailPreferencesBody {
    pub non_transactional: Option<bool>,
    pub new_orders: Option<bool>,
    pub payment_declines: Option<bool>,
}

impl EmailPreferencesBody {
    /// 422 naming each field the caller's role may not set.
    pub(crate) fn check(&self, customer: bool) -> Result<(), ServiceError> {
        let mut wrong = Vec::new();
        if customer {
            for (field, set) in [
                ("new_orders", self.new_orders.is_some()),
                ("payment_declines", self.payment_declines.is_some()),
            ] {
                if set {
                    wrong.push(FieldError::new(field, "only owners and staff choose this"));
                }
            }
        } else if self.non_transactional.is_some() {
            wrong.push(FieldError::new("non_transactional", "only customers choose this"));
        }
        refuse(wrong)
    }
}

// ---- e-mail templates ----

/// An e-mail template: the built-in one, or the store's override.
#[derive(Serialize, ToSchema)]
pub struct EmailTemplateView {
    /// `order_confirmed`, `order_cancelled`, `refund_issued`, `welcome`, `staff_new_order`,
    /// `staff_payment_declined` or `webhook_endpoint_disabled`.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// minijinja templates; every value is escaped in the HTML part.
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Whether the store overrides the built-in template.
    pub overridden: bool,
    /// When the override was saved; null for the built-in template.
    pub updated_at: Option<String>,
    /// The variables it may use, e.g. `order.number`.
    pub variables: Vec<String>,
}

impl From<proto::EmailTemplate> for EmailTemplateView {
    fn from(t: proto::EmailTemplate) -> Self {
        EmailTemplateView {
            updated_at: time(t.updated_at_ms).filter(|_| t.overridden),
            name: t.name,
            description: t.description,
            subject: t.subject,
            html: t.html,
            text: t.text,
            overridden: t.overridden,
            variables: t.variables,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct EmailTemplateListView {
    pub templates: Vec<EmailTemplateView>,
}

/// A store's version of a template: it must parse and render against sample data (422 naming
/// `subject`, `html` or `text` otherwise).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"subject": "Your order {{ order.number }} at {{ store.name }}",
    "html": "<p>Thank you, {{ customer.name }}!</p>", "text": "Thank you, {{ customer.name }}!"})))]
pub struct EmailTemplateBody {
    #[schema(min_length = 1, max_length = 20000)]
    pub subject: String,
    #[schema(min_length = 1, max_length = 20000)]
    pub html: String,
    #[schema(min_length = 1, max_length = 20000)]
    pub text: String,
}

/// What to preview: the parts given, the current template for the parts absent.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"subject": "Order {{ order.number }} confirmed"})))]
pub struct EmailPreviewBody {
    #[schema(max_length = 20000)]
    pub subject: Option<String>,
    #[schema(max_length = 20000)]
    pub html: Option<String>,
    #[schema(max_length = 20000)]
    pub text: Option<String>,
}

/// A template rendered with sample data.
#[derive(Serialize, ToSchema)]
pub struct EmailPreviewView {
    pub subject: String,
    pub html: String,
    pub text: String,
}

impl From<proto::EmailPreview> for EmailPreviewView {
    fn from(p: proto::EmailPreview) -> Self {
        EmailPreviewView {
            subject: p.subject,
            html: p.html,
            text: p.text,
        }
    }
}

/// 422 naming each template part over the limit (and, when `required`, each empty one).
pub(crate) fn check_template_parts(parts: [(&str, &str); 3], required: bool) -> Result<(), ServiceError> {
    let mut wrong = Vec::new();
    for (field, value) in parts {
        if required && value.trim().is_empty() {
            wrong.push(FieldError::new(field, "must not be empty"));
        } else if value.chars().count() > MAX_TEMPLATE_CHARS {
            wrong.push(FieldError::new(field, "must be at most 20000 characters"));
        }
    }
    refuse(wrong)
}

// ---- unsubscribe ----

/// The token of a mail's unsubscribe link.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"token": "v1.9b2c…"})))]
pub struct UnsubscribeBody {
    #[schema(min_length = 1, max_length = 1000)]
    pub token: String,
}

/// The address now opted out of the store's non-transactional mail.
#[derive(Serialize, ToSchema)]
pub struct UnsubscribedView {
    pub store_id: String,
    pub email: String,
}

impl From<proto::Unsubscribed> for UnsubscribedView {
    fn from(u: proto::Unsubscribed) -> Self {
        UnsubscribedView {
            store_id: u.store_id,
            email: u.email,
        }
    }
}

// ---- checks ----

/// 422 naming the webhook fields that are wrong (the service checks the rest: event type
/// names, the URL against the deployment's outbound rules).
pub(crate) fn check_webhook(
    url: Option<&str>,
    event_types: Option<&[String]>,
    description: Option<&str>,
) -> Result<(), ServiceError> {
    let mut wrong = Vec::new();
    if let Some(url) = url
        && let Err(message) = check_url(url)
    {
        wrong.push(FieldError::new("url", message));
    }
    if let Some(types) = event_types {
        if types.is_empty() || types.len() > MAX_EVENT_TYPES {
            wrong.push(FieldError::new("event_types", "must name 1 to 50 event types"));
        } else if let Some(bad) = types.iter().find(|t| !event_type_shaped(t)) {
            let message = format!(
                "`{}` is not an event type",
                bad.chars().take(60).collect::<String>()
            );
            wrong.push(FieldError::new("event_types", message));
        }
    }
    if description
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS || d.chars().any(char::is_control))
    {
        wrong.push(FieldError::new(
            "description",
            "must be at most 500 characters without control characters",
        ));
    }
    refuse(wrong)
}

fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must be an https URL")?;
    if url.chars().count() > MAX_URL_CHARS {
        return Err("must be at most 2048 characters");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be an absolute URL with a host and no spaces");
    }
    Ok(())
}

/// `*` or dotted lower-case words (`order.confirmed`).
fn event_type_shaped(name: &str) -> bool {
    name == "*"
        || (name.contains('.')
            && name
                .split('.')
                .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')))
}

/// 422 naming the given fields, or nothing when there are none.
fn refuse(wrong: Vec<FieldError>) -> Result<(), ServiceError> {
    if wrong.is_empty() {
        return Ok(());
    }
    let detail = wrong
        .iter()
        .map(|f| format!("{} {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ");
    let mut error = ServiceError::new(ErrorCode::ValidationFailed, detail);
    error.fields = wrong;
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_fields_are_checked_and_named() {
        assert!(
            check_webhook(
                Some("https://erp.example.com/h"),
                Some(&["order.confirmed".into()]),
                None
            )
            .is_ok()
        );
        assert!(check_webhook(None, Some(&["*".into()]), Some("ERP")).is_ok());
        let e = check_webhook(Some("ftp://x"), Some(&[]), Some("a\u{7}")).unwrap_err();
        let fields: Vec<&str> = e.fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["url", "event_types", "description"]);
        assert!(check_webhook(Some("https:///path"), None, None).is_err());
        assert!(check_webhook(None, Some(&["Order".into()]), None).is_err());
    }

    #[test]
    fn preferences_a_role_may_not_set_are_named() {
        let body = EmailPreferencesBody {
            non_transactional: Some(true),
            new_orders: Some(true),
            payment_declines: None,
        };
        assert_eq!(body.check(true).unwrap_err().fields[0].field, "new_orders");
        assert_eq!(
            body.check(false).unwrap_err().fields[0].field,
            "non_transactional"
        );
    }

    #[test]
    fn a_delivery_reads_with_names_and_its_payload_parsed() {
        let delivery = proto::Delivery {
            id: "d1".into(),
            status: proto::DeliveryStatus::Dead.into(),
            last_status_code: 500,
            payload_json: r#"{"type":"order.confirmed"}"#.into(),
            attempt_log: vec![proto::DeliveryAttempt {
                number: 1,
                status_code: 0,
                error: "connection refused".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let view = DeliveryDetailView::from(delivery);
        assert_eq!(view.delivery.status, "dead");
        assert_eq!(view.delivery.last_status_code, Some(500));
        assert_eq!(view.payload["type"], "order.confirmed");
        assert_eq!(view.attempt_log[0].status_code, None);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["id"], "d1", "the delivery's fields are at the top level");
    }
}
