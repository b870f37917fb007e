//! API clients as a store's owner manages them: create (the secret shown once), list (never a
//! secret), revoke, and rotate the secret.
//!
//! A rotation replaces the secret at once: the old one is refused from the next token request,
//! with no overlap, so a secret believed leaked stops working the moment it is rotated. A
//! deployment rotates, then rolls the new secret out; its running processes keep the access
//! tokens they hold until those expire (`auth.access_token_ttl`, at most 15 minutes), which is
//! the window to finish in. A store that needs a longer one creates a second client, moves to
//! it and revokes the first.

use crate::IdentityService;
use crate::domain::tokens::{new_client_id, random_secret, secret_hash};
use crate::domain::validate::ClientName;
use crate::store::ApiClientRecord;
use mercato_proto::identity::ApiClient;
use mercato_runtime::auth::Role;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

/// A client as the contract shows it, with `secret` only where it was just made.
pub(crate) fn client_message(c: &ApiClientRecord, secret: Option<String>) -> ApiClient {
    ApiClient {
        client_id: c.client_id.clone(),
        client_secret: secret.unwrap_or_default(),
        role: c.role.to_proto(),
        name: c.name.clone(),
        created_at_ms: c.created_at,
        secret_rotated_at_ms: c.secret_rotated_at.unwrap_or(0),
        revoked_at_ms: c.revoked_at.unwrap_or(0),
    }
}

/// A store id from a request; one that is not a UUID names no store.
fn store_id(id: &str) -> Result<StoreId, ServiceError> {
    StoreId::parse("store_id", id).map_err(|_| ServiceError::not_found("store"))
}

impl IdentityService {
    /// Creates a staff-role client named `name`; returns it with its secret, which is stored
    /// only as a hash.
    pub(crate) async fn create_api_client(
        &self,
        store_id: &str,
        name: &str,
    ) -> Result<ApiClient, ServiceError> {
        let name = ClientName::parse(name).map_err(ServiceError::from)?;
        let store_id = self::store_id(store_id)?;
        let secret = random_secret();
        let client = ApiClientRecord {
            client_id: new_client_id(),
            store_id,
            name: name.as_str().to_owned(),
            secret_hash: secret_hash(&secret),
            role: Role::Staff,
            created_at: now_ms(),
            secret_rotated_at: None,
            revoked_at: None,
        };
        self.accounts.create_api_client(store_id, &client).await?;
        tracing::info!(store_id = %store_id, client_id = %client.client_id, "API client created");
        Ok(client_message(&client, Some(secret)))
    }

    /// The store's clients, newest first, revoked ones too; an unknown store is not found.
    pub(crate) async fn list_api_clients(&self, store_id: &str) -> Result<Vec<ApiClient>, ServiceError> {
        let store = self.store_by_id(store_id).await?;
        let clients = self.accounts.api_clients(store.id).await?;
        Ok(clients.iter().map(|c| client_message(c, None)).collect())
    }

    /// Revokes a client (again: no change); its secret is refused from now on.
    pub(crate) async fn revoke_api_client(
        &self,
        store_id: &str,
        client_id: &str,
    ) -> Result<ApiClient, ServiceError> {
        let store_id = self::store_id(store_id)?;
        let client = self
            .accounts
            .revoke_api_client(store_id, client_id, now_ms())
            .await?
            .ok_or_else(|| ServiceError::not_found("API client"))?;
        tracing::info!(store_id = %store_id, client_id, "API client revoked");
        Ok(client_message(&client, None))
    }

    /// Gives an active client a new secret, returned here only; the old one is refused at once.
    pub(crate) async fn rotate_api_client_secret(
        &self,
        store_id: &str,
        client_id: &str,
    ) -> Result<ApiClient, ServiceError> {
        let store_id = self::store_id(store_id)?;
        let secret = random_secret();
        let client = self
            .accounts
            .rotate_api_client_secret(store_id, client_id, &secret_hash(&secret), now_ms())
            .await?
            .ok_or_else(|| ServiceError::not_found("API client"))?;
        tracing::info!(store_id = %store_id, client_id, "API client secret rotated");
        Ok(client_message(&client, Some(secret)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::DEFAULT_CLIENT_NAME;

    #[test]
    fn the_message_carries_the_secret_only_when_given_and_zero_for_unset_times() {
        let record = ApiClientRecord {
            client_id: "mc_1".to_owned(),
            store_id: StoreId::new(),
            name: DEFAULT_CLIENT_NAME.to_owned(),
            secret_hash: secret_hash("s"),
            role: Role::Staff,
            created_at: 5,
            secret_rotated_at: None,
            revoked_at: Some(9),
        };
        let shown = client_message(&record, None);
        assert_eq!(shown.client_secret, "");
        assert_eq!((shown.secret_rotated_at_ms, shown.revoked_at_ms), (0, 9));
        assert_eq!(client_message(&record, Some("s".into())).client_secret, "s");
    }
}
