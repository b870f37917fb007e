//! E-mail over REST: the signed-in user's e-mail preferences (any member of the store; the user
//! and role come from the token, never the body), the store's e-mail templates (owner only:
//! list, read, override, reset to the built-in one, preview) and the one-click unsubscribe link
//! of a mail (RFC 8058; no sign-in, the token is the proof).

use crate::access::{Member, Owner, StoreScope};
use crate::dto_notifications::{
    EmailPreferencesBody, EmailPreferencesView, EmailPreviewBody, EmailPreviewView, EmailTemplateBody,
    EmailTemplateListView, EmailTemplateView, UnsubscribeBody, UnsubscribedView, check_template_parts,
};
use crate::extract::{ApiJson, json_object};
use crate::state::GatewayState;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use mercato_proto::notifications::{
    EmailPreferencesRequest, EmailTemplateRequest, EmailTemplatesRequest, PutEmailTemplateRequest,
    SetEmailPreferencesRequest, UnsubscribeRequest,
};
use mercato_runtime::auth::Role;
use mercato_runtime::error::ServiceError;
use serde::Deserialize;
use utoipa::ToSchema;

/// This module's routes.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route(
            "/v1/stores/{store}/me/email-preferences",
            get(get_email_preferences).put(set_email_preferences),
        )
        .route("/v1/stores/{store}/email-templates", get(list_email_templates))
        .route(
            "/v1/stores/{store}/email-templates/{name}",
            get(get_email_template)
                .put(put_email_template)
                .delete(reset_email_template),
        )
        .route(
            "/v1/stores/{store}/email-templates/{name}/preview",
            post(preview_email_template),
        )
        .route("/v1/unsubscribe", post(unsubscribe))
}

/// This module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(get_email_preferences, set_email_preferences, list_email_templates, get_email_template,
          put_email_template, reset_email_template, preview_email_template, unsubscribe),
    components(schemas(EmailPreferencesView, EmailPreferencesBody, EmailTemplateView, EmailTemplateListView,
        EmailTemplateBody, EmailPreviewBody, EmailPreviewView, UnsubscribeBody, UnsubscribeForm, UnsubscribedView)),
    tags((name = "email", description = "E-mail to customers and staff: preferences, templates, unsubscribing"))
)]
pub(crate) struct ApiDoc;

/// The signed-in user's e-mail preferences.
#[utoipa::path(get, path = "/v1/stores/{store}/me/email-preferences", tag = "email",
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = EmailPreferencesView, description = "A customer's `non_transactional`, or an owner's or staff member's `new_orders` and `payment_declines`"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "An API client has no mailbox"),
              (status = 404, description = "No store has this slug")))]
pub(crate) async fn get_email_preferences(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
) -> Result<Json<EmailPreferencesView>, ServiceError> {
    let customer = scope.caller.role == Role::Customer;
    let request = EmailPreferencesRequest {
        store_id: scope.store.id.clone(),
        user_id: scope.caller.sub.clone(),
        role: scope.caller.role.to_proto(),
    };
    let preferences = state.notifications().get_email_preferences(request).await?;
    Ok(Json(EmailPreferencesView::of(preferences, customer)))
}

/// Changes the signed-in user's e-mail preferences; an absent field stays as it is.
#[utoipa::path(put, path = "/v1/stores/{store}/me/email-preferences", tag = "email", request_body = EmailPreferencesBody,
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = EmailPreferencesView, description = "The preferences as changed"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "An API client has no mailbox"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A field the caller's role does not choose (`errors` names it)")))]
pub(crate) async fn set_email_preferences(
    State(state): State<GatewayState>,
    scope: StoreScope<Member>,
    ApiJson(body): ApiJson<EmailPreferencesBody>,
) -> Result<Json<EmailPreferencesView>, ServiceError> {
    let customer = scope.caller.role == Role::Customer;
    body.check(customer)?;
    let request = SetEmailPreferencesRequest {
        store_id: scope.store.id.clone(),
        user_id: scope.caller.sub.clone(),
        role: scope.caller.role.to_proto(),
        non_transactional: body.non_transactional,
        new_orders: body.new_orders,
        payment_declines: body.payment_declines,
    };
    let preferences = state.notifications().set_email_preferences(request).await?;
    Ok(Json(EmailPreferencesView::of(preferences, customer)))
}

/// The store's e-mail templates: the built-in ones and its overrides (owner only).
#[utoipa::path(get, path = "/v1/stores/{store}/email-templates", tag = "email",
    params(("store" = String, Path, description = "store slug")),
    security(("bearer" = [])),
    responses((status = 200, body = EmailTemplateListView, description = "Every template, as it is sent now"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No store has this slug")))]
pub(crate) async fn list_email_templates(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
) -> Result<Json<EmailTemplateListView>, ServiceError> {
    let request = EmailTemplatesRequest {
        store_id: scope.store.id,
    };
    let listed = state.notifications().list_email_templates(request).await?;
    Ok(Json(EmailTemplateListView {
        templates: listed.templates.into_iter().map(Into::into).collect(),
    }))
}

fn template_request(scope: StoreScope<Owner>, name: String) -> EmailTemplateRequest {
    EmailTemplateRequest {
        store_id: scope.store.id,
        name,
    }
}

/// One e-mail template (owner only).
#[utoipa::path(get, path = "/v1/stores/{store}/email-templates/{name}", tag = "email",
    params(("store" = String, Path, description = "store slug"), ("name" = String, Path, description = "template name, e.g. `order_confirmed`")),
    security(("bearer" = [])),
    responses((status = 200, body = EmailTemplateView, description = "The template"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no template of this name")))]
pub(crate) async fn get_email_template(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, name)): Path<(String, String)>,
) -> Result<Json<EmailTemplateView>, ServiceError> {
    let template = state
        .notifications()
        .get_email_template(template_request(scope, name))
        .await?;
    Ok(Json(template.into()))
}

/// Overrides a template for this store (owner only); it must parse and render against sample
/// data first.
#[utoipa::path(put, path = "/v1/stores/{store}/email-templates/{name}", tag = "email", request_body = EmailTemplateBody,
    params(("store" = String, Path, description = "store slug"), ("name" = String, Path, description = "template name, e.g. `order_confirmed`")),
    security(("bearer" = [])),
    responses((status = 200, body = EmailTemplateView, description = "The template as it is sent from now on"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no template of this name"),
              (status = 422, description = "A part that is empty, too long, or does not parse or render (`errors` names `subject`, `html` or `text`)")))]
pub(crate) async fn put_email_template(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<EmailTemplateBody>,
) -> Result<Json<EmailTemplateView>, ServiceError> {
    check_template_parts(
        [
            ("subject", &body.subject),
            ("html", &body.html),
            ("text", &body.text),
        ],
        true,
    )?;
    let request = PutEmailTemplateRequest {
        store_id: scope.store.id,
        name,
        subject: body.subject,
        html: body.html,
        text: body.text,
    };
    let template = state.notifications().put_email_template(request).await?;
    Ok(Json(template.into()))
}

/// Drops the store's override: the built-in template is sent again (owner only).
#[utoipa::path(delete, path = "/v1/stores/{store}/email-templates/{name}", tag = "email",
    params(("store" = String, Path, description = "store slug"), ("name" = String, Path, description = "template name, e.g. `order_confirmed`")),
    security(("bearer" = [])),
    responses((status = 200, body = EmailTemplateView, description = "The built-in template, now in use"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no template of this name")))]
pub(crate) async fn reset_email_template(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, name)): Path<(String, String)>,
) -> Result<Json<EmailTemplateView>, ServiceError> {
    let template = state
        .notifications()
        .delete_email_template(template_request(scope, name))
        .await?;
    Ok(Json(template.into()))
}

/// Renders a template with sample data: the parts given, the current template's for the rest
/// (owner only). Nothing is kept.
#[utoipa::path(post, path = "/v1/stores/{store}/email-templates/{name}/preview", tag = "email", request_body = EmailPreviewBody,
    params(("store" = String, Path, description = "store slug"), ("name" = String, Path, description = "template name, e.g. `order_confirmed`")),
    security(("bearer" = [])),
    responses((status = 200, body = EmailPreviewView, description = "The rendered subject, HTML and text"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not this store's owner"),
              (status = 404, description = "No such store, or no template of this name"),
              (status = 422, description = "A part that does not parse or render (`errors` names it)")))]
pub(crate) async fn preview_email_template(
    State(state): State<GatewayState>,
    scope: StoreScope<Owner>,
    Path((_store, name)): Path<(String, String)>,
    ApiJson(body): ApiJson<EmailPreviewBody>,
) -> Result<Json<EmailPreviewView>, ServiceError> {
    let subject = body.subject.unwrap_or_default();
    let html = body.html.unwrap_or_default();
    let text = body.text.unwrap_or_default();
    check_template_parts([("subject", &subject), ("html", &html), ("text", &text)], false)?;
    let request = PutEmailTemplateRequest {
        store_id: scope.store.id,
        name,
        subject,
        html,
        text,
    };
    let preview = state.notifications().preview_email_template(request).await?;
    Ok(Json(preview.into()))
}

/// The one-click unsubscribe form a mail client POSTs (RFC 8058), the token in the query.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"List-Unsubscribe": "One-Click"})))]
pub struct UnsubscribeForm {
    /// `One-Click`.
    #[serde(rename = "List-Unsubscribe")]
    #[schema(rename = "List-Unsubscribe", pattern = "^One-Click$")]
    pub list_unsubscribe: String,
    /// The token, when it is not in the query.
    #[schema(min_length = 1, max_length = 1000)]
    pub token: Option<String>,
}

/// The unsubscribe token of a request: the JSON body's, or (a one-click form) the query's or
/// the form's.
fn unsubscribe_token(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<String, ServiceError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = match essence.as_str() {
        "application/json" => json_object::<UnsubscribeBody>(body)?.token,
        "application/x-www-form-urlencoded" => {
            let form: UnsubscribeForm = serde_urlencoded::from_bytes(body)
                .map_err(|e| ServiceError::validation(format!("invalid form: {e}")))?;
            if form.list_unsubscribe != "One-Click" {
                return Err(ServiceError::invalid_field(
                    "List-Unsubscribe",
                    "must be One-Click",
                ));
            }
            let from_query = query.and_then(|q| {
                serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .ok()?
                    .into_iter()
                    .find_map(|(name, value)| (name == "token").then_some(value))
            });
            form.token.or(from_query).unwrap_or_default()
        }
        _ => {
            return Err(ServiceError::invalid_request(
                "expected application/json or application/x-www-form-urlencoded",
            ));
        }
    };
    if token.is_empty() || token.len() > 1000 {
        return Err(ServiceError::invalid_field(
            "token",
            "must be the token of an unsubscribe link",
        ));
    }
    Ok(token)
}

/// Opts the address of a mail's unsubscribe link out of its store's non-transactional mail.
/// No sign-in: the token is the proof. Also the RFC 8058 one-click POST
/// (`List-Unsubscribe=One-Click` form, token in `?token=`).
#[utoipa::path(post, path = "/v1/unsubscribe", tag = "email",
    request_body(content(
        (UnsubscribeBody = "application/json"),
        (UnsubscribeForm = "application/x-www-form-urlencoded"))),
    params(("token" = Option<String>, Query, description = "the link's token, with the one-click form")),
    responses((status = 200, body = UnsubscribedView, description = "Unsubscribed (again: the same answer)"),
              (status = 404, description = "The token names no address (it was made for another deployment or its store is gone)"),
              (status = 422, description = "No token, or one that is not a valid unsubscribe token")))]
pub(crate) async fn unsubscribe(
    State(state): State<GatewayState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Json<UnsubscribedView>, ServiceError> {
    let token = unsubscribe_token(&headers, query.as_deref(), &body)?;
    let done = state
        .notifications()
        .unsubscribe(UnsubscribeRequest { token })
        .await?;
    Ok(Json(done.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        headers
    }

    #[test]
    fn the_token_comes_from_json_or_the_one_click_form_and_its_query() {
        let json = typed("application/json");
        assert_eq!(
            unsubscribe_token(&json, None, br#"{"token":"t1"}"#).unwrap(),
            "t1"
        );
        let form = typed("application/x-www-form-urlencoded");
        let one_click = b"List-Unsubscribe=One-Click";
        assert_eq!(
            unsubscribe_token(&form, Some("token=t2"), one_click).unwrap(),
            "t2"
        );
        assert!(
            unsubscribe_token(&form, None, one_click).is_err(),
            "no token anywhere"
        );
        assert!(unsubscribe_token(&form, Some("token=t"), b"List-Unsubscribe=Later").is_err());
        assert!(unsubscribe_token(&json, None, br#"{"token":"t","x":1}"#).is_err());
        assert!(unsubscribe_token(&typed("text/plain"), Some("token=t"), b"x").is_err());
    }
}
