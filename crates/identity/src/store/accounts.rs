//! The accounts that run a store, as its owner manages them: the staff users (owners and
//! staff) and the API clients, behind [`AccountStore`], which [`SqlIdentityStore`] implements
//! here in portable SQL.

use super::rows::{UserRow, role, store_id, user_record};
use super::sql::{SqlIdentityStore, USER_COLUMNS, insert_api_client};
use super::{ApiClientRecord, Refusal, StoreError, UserRecord};
use async_trait::async_trait;
use mercato_runtime::auth::Role;
use mercato_runtime::ids::StoreId;

/// Staff users and API clients of a store. Every method takes the store id first, and a client
/// of another store is not found, as an unknown one.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// The store's owners and staff, disabled ones included, oldest first.
    async fn staff_users(&self, store_id: StoreId) -> Result<Vec<UserRecord>, StoreError>;

    /// Adds a client; `UnknownStore` when the store does not exist.
    async fn create_api_client(&self, store_id: StoreId, client: &ApiClientRecord) -> Result<(), StoreError>;

    /// The store's clients, newest first, revoked ones included.
    async fn api_clients(&self, store_id: StoreId) -> Result<Vec<ApiClientRecord>, StoreError>;

    /// Revokes a client at `now_ms` (a revoked client keeps its first time); the client as
    /// stored then, `None` when the store has no such client.
    async fn revoke_api_client(
        &self,
        store_id: StoreId,
        client_id: &str,
        now_ms: i64,
    ) -> Result<Option<ApiClientRecord>, StoreError>;

    /// Replaces an active client's secret hash; the client as stored then, `None` when the
    /// store has no such client, `ApiClientRevoked` (changing nothing) when it is revoked.
    async fn rotate_api_client_secret(
        &self,
        store_id: StoreId,
        client_id: &str,
        secret_hash: &str,
        now_ms: i64,
    ) -> Result<Option<ApiClientRecord>, StoreError>;
}

/// A client's row: id, store, name, secret hash, role, created, rotated, revoked.
pub(super) type ClientRow = (
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
);

/// The columns of a [`ClientRow`].
pub(super) const CLIENT_COLUMNS: &str = "SELECT client_id, store_id, name, secret_hash, role, created_at, \
     secret_rotated_at, revoked_at FROM api_clients";

pub(super) fn client_record(row: ClientRow) -> Result<ApiClientRecord, StoreError> {
    let (client_id, store, name, secret_hash, r, created_at, secret_rotated_at, revoked_at) = row;
    Ok(ApiClientRecord {
        client_id,
        store_id: store_id(&store)?,
        name,
        secret_hash,
        role: role(&r)?,
        created_at,
        secret_rotated_at,
        revoked_at,
    })
}

#[async_trait]
impl AccountStore for SqlIdentityStore {
    async fn staff_users(&self, store_id: StoreId) -> Result<Vec<UserRecord>, StoreError> {
        let rows: Vec<UserRow> = self
            .db
            .query_all(
                &format!("{USER_COLUMNS} WHERE store_id = $1 AND role IN ($2, $3) ORDER BY created_at, id"),
                &[&store_id, &Role::Owner.as_str(), &Role::Staff.as_str()],
            )
            .await?;
        rows.into_iter().map(user_record).collect()
    }

    async fn create_api_client(&self, store_id: StoreId, client: &ApiClientRecord) -> Result<(), StoreError> {
        let client = client.clone();
        self.db
            .write("create_api_client", move |tx| {
                let exists: Option<(String,)> =
                    tx.query_opt("SELECT id FROM stores WHERE id = $1", &[&store_id])?;
                if exists.is_none() {
                    return Err(StoreError::Refused(Refusal::UnknownStore));
                }
                insert_api_client(tx, &client)?;
                Ok(())
            })
            .await
    }

    async fn api_clients(&self, store_id: StoreId) -> Result<Vec<ApiClientRecord>, StoreError> {
        let rows: Vec<ClientRow> = self
            .db
            .query_all(
                &format!("{CLIENT_COLUMNS} WHERE store_id = $1 ORDER BY created_at DESC, client_id"),
                &[&store_id],
            )
            .await?;
        rows.into_iter().map(client_record).collect()
    }

    async fn revoke_api_client(
        &self,
        store_id: StoreId,
        client_id: &str,
        now_ms: i64,
    ) -> Result<Option<ApiClientRecord>, StoreError> {
        let client_id = client_id.to_owned();
        self.db
            .write("revoke_api_client", move |tx| {
                tx.execute(
                    "UPDATE api_clients SET revoked_at = $1 \
                     WHERE store_id = $2 AND client_id = $3 AND revoked_at IS NULL",
                    &[&now_ms, &store_id, &client_id],
                )?;
                let select = format!("{CLIENT_COLUMNS} WHERE store_id = $1 AND client_id = $2");
                let row: Option<ClientRow> = tx.query_opt(&select, &[&store_id, &client_id])?;
                row.map(client_record).transpose()
            })
            .await
    }

    async fn rotate_api_client_secret(
        &self,
        store_id: StoreId,
        client_id: &str,
        secret_hash: &str,
        now_ms: i64,
    ) -> Result<Option<ApiClientRecord>, StoreError> {
        let (client_id, secret_hash) = (client_id.to_owned(), secret_hash.to_owned());
        self.db
            .write("rotate_api_client_secret", move |tx| {
                // The condition makes a rotation racing a revocation lose: a revoked client's
                // secret is never replaced.
                let rotated = tx.execute(
                    "UPDATE api_clients SET secret_hash = $1, secret_rotated_at = $2 \
                     WHERE store_id = $3 AND client_id = $4 AND revoked_at IS NULL",
                    &[&secret_hash, &now_ms, &store_id, &client_id],
                )?;
                let select = format!("{CLIENT_COLUMNS} WHERE store_id = $1 AND client_id = $2");
                let row: Option<ClientRow> = tx.query_opt(&select, &[&store_id, &client_id])?;
                match row {
                    Some(_) if rotated == 0 => Err(StoreError::Refused(Refusal::ApiClientRevoked)),
                    row => row.map(client_record).transpose(),
                }
            })
            .await
    }
}
