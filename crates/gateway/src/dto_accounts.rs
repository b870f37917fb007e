//! REST shapes of the accounts an owner manages: the staff list, API clients (a secret shown
//! only where it was just made) and the RFC 7009 revocation form.

use crate::dto::UserView;
use mercato_proto::{identity, names};
use mercato_runtime::time::to_rfc3339;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The accounts that run a store.
#[derive(Serialize, ToSchema)]
pub struct StaffListView {
    /// Owners and staff, disabled ones included, oldest first.
    pub staff: Vec<UserView>,
}

impl From<identity::ListStaffResponse> for StaffListView {
    fn from(r: identity::ListStaffResponse) -> Self {
        StaffListView {
            staff: r.users.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"name": "Warehouse sync"})))]
pub struct NewApiClientBody {
    /// What you call the client: 1–100 characters, no control characters.
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 100
    )]
    pub name: String,
}

/// An API client (the `client_credentials` grant; role `staff`), without its secret.
#[derive(Serialize, ToSchema)]
pub struct ApiClientInfoView {
    pub client_id: String,
    pub name: String,
    /// `staff`.
    pub role: String,
    pub created_at: String,
    /// When its secret was last replaced; null if never.
    pub secret_rotated_at: Option<String>,
    /// When it was revoked; null while it is active.
    pub revoked_at: Option<String>,
}

fn time(ms: i64) -> Option<String> {
    (ms != 0).then(|| to_rfc3339(ms))
}

impl From<identity::ApiClient> for ApiClientInfoView {
    fn from(c: identity::ApiClient) -> Self {
        ApiClientInfoView {
            client_id: c.client_id,
            name: c.name,
            role: names::role_value(c.role).to_owned(),
            created_at: to_rfc3339(c.created_at_ms),
            secret_rotated_at: time(c.secret_rotated_at_ms),
            revoked_at: time(c.revoked_at_ms),
        }
    }
}

/// An API client with its secret, shown in this answer only: the store keeps a hash of it.
#[derive(Serialize, ToSchema)]
pub struct ApiClientSecretView {
    pub client_id: String,
    /// Present it as `client_secret` (or HTTP Basic) to `POST /v1/oauth/token` with
    /// `grant_type=client_credentials`. It cannot be shown again; rotate it if it is lost.
    pub client_secret: String,
    pub name: String,
    pub role: String,
    pub created_at: String,
    pub secret_rotated_at: Option<String>,
}

impl From<identity::ApiClient> for ApiClientSecretView {
    fn from(c: identity::ApiClient) -> Self {
        ApiClientSecretView {
            client_id: c.client_id,
            client_secret: c.client_secret,
            name: c.name,
            role: names::role_value(c.role).to_owned(),
            created_at: to_rfc3339(c.created_at_ms),
            secret_rotated_at: time(c.secret_rotated_at_ms),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApiClientListView {
    /// Newest first, revoked ones included.
    pub api_clients: Vec<ApiClientInfoView>,
}

/// RFC 7009 revocation request parameters (form-encoded). Unknown parameters are ignored.
#[derive(Deserialize, Default, ToSchema)]
#[schema(examples(json!({"token": "Vq1U0m3…", "token_type_hint": "refresh_token"})))]
pub struct RevokeForm {
    /// The refresh token to revoke (with every token rotated from or into it). Required (read
    /// as optional so that its absence is answered `invalid_request`, as RFC 7009 says).
    #[schema(required = true, min_length = 1)]
    pub token: Option<String>,
    /// `refresh_token` or `access_token`; a hint RFC 7009 lets the server ignore, and this one
    /// does: only refresh tokens can be revoked, and an unknown value changes nothing.
    #[allow(dead_code)]
    pub token_type_hint: Option<String>,
}
