//! The identity contract at the edge: a token request as the domain's [`Grant`], and the
//! domain's refusals (grants, account changes) as the `ServiceError`s callers receive. The
//! domain knows no wire format.

use crate::domain::disabling::DisableRefusal;
use crate::domain::passwords::PasswordError;
use crate::domain::tokens::{Grant, GrantRefusal};
use mercato_proto::identity::TokenRequest;
use mercato_runtime::error::{ErrorCode, FieldError, ServiceError};

/// The grant a token request asks for, with the parameters its grant type needs (RFC 6749
/// sections 4.3, 4.4 and 6): a missing one is an invalid request, an unknown grant type
/// unsupported.
pub fn grant(req: &TokenRequest) -> Result<Grant, ServiceError> {
    match req.grant_type.as_str() {
        "password" => Ok(Grant::Password {
            store_slug: required("store", &req.store)?,
            username: required("username", &req.username)?,
            password: required("password", &req.password)?,
            client_ip: Some(req.client_ip.trim().to_owned()).filter(|ip| !ip.is_empty()),
        }),
        "refresh_token" => Ok(Grant::RefreshToken {
            refresh_token: required("refresh_token", &req.refresh_token)?,
        }),
        "client_credentials" => Ok(Grant::ClientCredentials {
            client_id: required("client_id", &req.client_id)?,
            client_secret: required("client_secret", &req.client_secret)?,
        }),
        "" => Err(ServiceError::invalid_request("missing parameter grant_type")),
        _ => Err(ServiceError::new(
            ErrorCode::UnsupportedGrantType,
            "grant_type must be password, refresh_token or client_credentials",
        )),
    }
}

fn required(name: &str, value: &str) -> Result<String, ServiceError> {
    if value.is_empty() {
        Err(ServiceError::invalid_request(format!("missing parameter {name}")))
    } else {
        Ok(value.to_owned())
    }
}

/// The field error that carries, next to a `rate_limited` or `unavailable` code, the seconds
/// the caller should wait (the contract's `IssueToken` documents it); the gateway turns it
/// into `Retry-After`.
pub const RETRY_AFTER_FIELD: &str = "retry_after";

fn retry_after(code: ErrorCode, message: String, secs: u64) -> ServiceError {
    ServiceError {
        code,
        message,
        fields: vec![FieldError::new(RETRY_AFTER_FIELD, secs.to_string())],
    }
}

/// A bad login or refresh token is an invalid grant, a bad client an invalid client (RFC 6749
/// section 5.2); a throttled login is rate limited, with the seconds to wait; the right
/// password of a disabled account is `account_disabled`.
impl From<GrantRefusal> for ServiceError {
    fn from(refusal: GrantRefusal) -> Self {
        let code = match refusal {
            GrantRefusal::BadLogin | GrantRefusal::BadRefreshToken => ErrorCode::InvalidGrant,
            GrantRefusal::BadClient => ErrorCode::InvalidClient,
            GrantRefusal::AccountDisabled => ErrorCode::AccountDisabled,
            GrantRefusal::Throttled { retry_after_secs } => {
                return retry_after(ErrorCode::RateLimited, refusal.to_string(), retry_after_secs);
            }
        };
        ServiceError::new(code, refusal.to_string())
    }
}

/// A change of an account's state the rules refuse: 409 with its own code when the account is
/// the reason, 403 when the caller's role is.
impl From<DisableRefusal> for ServiceError {
    fn from(refusal: DisableRefusal) -> Self {
        let code = match refusal {
            DisableRefusal::OwnAccount => ErrorCode::CannotDisableSelf,
            DisableRefusal::LastOwner => ErrorCode::LastOwner,
            DisableRefusal::NotOwner | DisableRefusal::NotStaff => ErrorCode::Forbidden,
        };
        ServiceError::new(code, refusal.to_string())
    }
}

/// Every hashing slot busy is unavailable, with the seconds to wait; a password that could not
/// be hashed or checked is an internal error, whose cause is logged.
impl From<PasswordError> for ServiceError {
    fn from(e: PasswordError) -> Self {
        match e {
            PasswordError::Busy => retry_after(
                ErrorCode::Unavailable,
                "too many sign-ins at once; retry shortly".to_owned(),
                crate::domain::passwords::BUSY_RETRY_AFTER_SECS,
            ),
            e => ServiceError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(grant_type: &str) -> TokenRequest {
        TokenRequest {
            grant_type: grant_type.to_owned(),
            ..Default::default()
        }
    }

    #[test]
    fn a_missing_parameter_is_named_in_the_error() {
        let mut req = request("password");
        req.store = "shop".into();
        req.username = "ann@example.com".into();
        let e = grant(&req).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRequest);
        assert!(e.message.contains("password"), "{}", e.message);

        let e = grant(&request("client_credentials")).unwrap_err();
        assert!(e.message.contains("client_id"), "{}", e.message);
        let e = grant(&request("")).unwrap_err();
        assert!(e.message.contains("grant_type"), "{}", e.message);
    }

    #[test]
    fn an_unknown_grant_type_is_unsupported() {
        let e = grant(&request("implicit")).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnsupportedGrantType);
    }

    #[test]
    fn refused_grants_keep_their_oauth_codes_and_messages() {
        let e = ServiceError::from(GrantRefusal::BadLogin);
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidGrant, "invalid username or password")
        );
        let e = ServiceError::from(GrantRefusal::BadRefreshToken);
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                ErrorCode::InvalidGrant,
                "refresh token is invalid, expired or revoked"
            )
        );
        let e = ServiceError::from(GrantRefusal::BadClient);
        assert_eq!(
            (e.code, e.message.as_str()),
            (ErrorCode::InvalidClient, "invalid client credentials")
        );
    }
}
