//! [`IdentityStore`] in portable SQL, one implementation for SQLite and PostgreSQL.
//!
//! Each write is one [`Db::write`] closure, one transaction: committed when it returns `Ok`,
//! rolled back when it returns `Err` (on SQLite its one write connection may
//! commit it together with others). Reads are single statements on a read connection.

use super::account_events::{self, Names};
use super::accounts::{CLIENT_COLUMNS, ClientRow, client_record};
use super::rows::{KeyRow, StoreRow, TokenRow, UserRow, key_record, store_record, token_record, user_record};
use super::{
    Announce, ApiClientRecord, IdentityStore, LegacySigningKey, Provisioning, PublicKeyRecord,
    RefreshTokenRecord, Refusal, Rotation, SigningKeyRecord, StoreChange, StoreError, StoreRecord,
    UserRecord,
};
use crate::domain::throttle::FailureKey;
use crate::kek::SealedKey;
use async_trait::async_trait;
use mercato_runtime::auth::Role;
use mercato_runtime::db::{Db, DbError, Tx, is_unique_violation};
use mercato_runtime::ids::{StoreId, UserId};

/// The identity tables in a service database.
#[derive(Clone, Debug)]
pub struct SqlIdentityStore {
    pub(super) db: Db,
}

impl SqlIdentityStore {
    /// Wraps a database whose identity migrations have been applied.
    pub fn new(db: Db) -> Self {
        SqlIdentityStore { db }
    }
}

const STORE_COLUMNS: &str = "SELECT id, slug, name, currency, created_at, time_zone FROM stores";
const INSERT_USER: &str = "INSERT INTO users \
     (id, store_id, email, role, password_hash, created_at, disabled_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
pub(super) const USER_COLUMNS: &str = "SELECT id, store_id, email, role, password_hash, created_at, disabled_at \
     FROM users";
const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens \
     (id, family_id, store_id, subject, role, token_hash, expires_at, used_at, revoked_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const TOKEN_COLUMNS_BY_HASH: &str = "SELECT id, family_id, store_id, subject, role, token_hash, \
     expires_at, used_at, revoked_at, created_at FROM refresh_tokens WHERE token_hash = $1";

/// Inserts a new account and appends its `account_created` event.
fn insert_user(tx: &mut Tx<'_>, u: &UserRecord, names: Names<'_>) -> Result<(), DbError> {
    tx.execute(
        INSERT_USER,
        &[
            &u.id,
            &u.store_id,
            &u.email,
            &u.role.as_str(),
            &u.password_hash,
            &u.created_at,
            &u.disabled_at,
        ],
    )?;
    account_events::append_created(tx, u, names)
}

fn insert_token(tx: &mut Tx<'_>, t: &RefreshTokenRecord) -> Result<(), DbError> {
    tx.execute(
        INSERT_TOKEN,
        &[
            &t.id,
            &t.family_id,
            &t.store_id,
            &t.subject,
            &t.role.as_str(),
            &t.token_hash,
            &t.expires_at,
            &t.used_at,
            &t.revoked_at,
            &t.created_at,
        ],
    )?;
    Ok(())
}

/// Adds an API client, in the caller's transaction.
pub(super) fn insert_api_client(tx: &mut Tx<'_>, c: &ApiClientRecord) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO api_clients \
         (client_id, store_id, name, secret_hash, role, created_at, secret_rotated_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &c.client_id,
            &c.store_id,
            &c.name,
            &c.secret_hash,
            &c.role.as_str(),
            &c.created_at,
            &c.secret_rotated_at,
            &c.revoked_at,
        ],
    )?;
    Ok(())
}

/// Adds a user to an existing store, in the caller's transaction: `UnknownStore` without the
/// store, `EmailTaken` when the store has an account with the email.
pub(super) fn insert_new_user(
    tx: &mut Tx<'_>,
    store_id: StoreId,
    user: &UserRecord,
    names: Names<'_>,
) -> Result<(), StoreError> {
    let exists: Option<(String,)> = tx.query_opt("SELECT id FROM stores WHERE id = $1", &[&store_id])?;
    if exists.is_none() {
        return Err(StoreError::Refused(Refusal::UnknownStore));
    }
    match insert_user(tx, user, names) {
        Err(e) if is_unique_violation(&e) => Err(StoreError::Refused(Refusal::EmailTaken)),
        other => Ok(other?),
    }
}

const REVOKE_FAMILY: &str = "UPDATE refresh_tokens SET revoked_at = $1 \
     WHERE store_id = $2 AND family_id = $3 AND revoked_at IS NULL";

/// `LastOwner` unless the store has an enabled owner besides `user_id`. The enabled owners'
/// rows are locked (on PostgreSQL) before they are counted, so that of two owners disabling
/// each other the second sees the first's change.
fn refuse_last_owner(tx: &mut Tx<'_>, store_id: StoreId, user_id: &str) -> Result<(), StoreError> {
    let lock = tx.lock_rows();
    let owners: Vec<(String,)> = tx.query_all(
        &format!(
            "SELECT id FROM users WHERE store_id = $1 AND role = $2 AND disabled_at IS NULL \
             ORDER BY id{lock}"
        ),
        &[&store_id, &Role::Owner.as_str()],
    )?;
    if owners.iter().any(|(id,)| id != user_id) {
        Ok(())
    } else {
        Err(StoreError::Refused(Refusal::LastOwner))
    }
}

#[async_trait]
impl IdentityStore for SqlIdentityStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }

    async fn provision(&self, p: &Provisioning) -> Result<(), StoreError> {
        let p = p.clone();
        self.db
            .write("provision", move |tx| {
                // The slug's unique index decides a race between two requests; the loser's
                // transaction returns an error, rolling back, so no half-provisioned store
                // remains.
                let s = &p.store;
                let inserted = tx.execute(
                    "INSERT INTO stores (id, slug, name, currency, created_at, time_zone) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[&s.id, &s.slug, &s.name, &s.currency, &s.created_at, &s.time_zone],
                );
                match inserted {
                    Err(e) if is_unique_violation(&e) => return Err(StoreError::Refused(Refusal::SlugTaken)),
                    other => other?,
                };
                insert_user(tx, &p.owner, Names::default())?;
                insert_api_client(tx, &p.api_client)?;
                mercato_runtime::outbox::append(tx, &p.event)?;
                Ok(())
            })
            .await
    }

    async fn store_by_id(&self, store_id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
        let row: Option<StoreRow> = self
            .db
            .query_opt(&format!("{STORE_COLUMNS} WHERE id = $1"), &[&store_id])
            .await?;
        row.map(store_record).transpose()
    }

    async fn store_by_slug(&self, slug: &str) -> Result<Option<StoreRecord>, StoreError> {
        let row: Option<StoreRow> = self
            .db
            .query_opt(&format!("{STORE_COLUMNS} WHERE slug = $1"), &[&slug])
            .await?;
        row.map(store_record).transpose()
    }

    async fn update_store(
        &self,
        store_id: StoreId,
        change: &StoreChange,
        announce: Announce,
    ) -> Result<StoreRecord, StoreError> {
        let change = change.clone();
        self.db
            .write("update_store", move |tx| {
                let lock = tx.lock_rows();
                let row: Option<StoreRow> =
                    tx.query_opt(&format!("{STORE_COLUMNS} WHERE id = $1{lock}"), &[&store_id])?;
                let mut store = store_record(row.ok_or(StoreError::Refused(Refusal::UnknownStore))?)?;
                if let Some(name) = &change.name {
                    store.name.clone_from(name);
                }
                if let Some(time_zone) = &change.time_zone {
                    store.time_zone.clone_from(time_zone);
                }
                tx.execute(
                    "UPDATE stores SET name = $1, time_zone = $2 WHERE id = $3",
                    &[&store.name, &store.time_zone, &store_id],
                )?;
                mercato_runtime::outbox::append(tx, &announce(&store))?;
                Ok(store)
            })
            .await
    }

    async fn create_user(&self, store_id: StoreId, user: &UserRecord) -> Result<(), StoreError> {
        let user = user.clone();
        self.db
            .write("create_user", move |tx| {
                insert_new_user(tx, store_id, &user, Names::default())
            })
            .await
    }

    async fn user_by_email(&self, store_id: StoreId, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = self
            .db
            .query_opt(
                &format!("{USER_COLUMNS} WHERE store_id = $1 AND email = $2"),
                &[&store_id, &email],
            )
            .await?;
        row.map(user_record).transpose()
    }

    async fn user_by_id(&self, store_id: StoreId, user_id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = self
            .db
            .query_opt(
                &format!("{USER_COLUMNS} WHERE store_id = $1 AND id = $2"),
                &[&store_id, &user_id.to_string()],
            )
            .await?;
        row.map(user_record).transpose()
    }

    async fn enabled_owners(&self, store_id: StoreId) -> Result<i64, StoreError> {
        let (owners,): (i64,) = self
            .db
            .query_one(
                "SELECT COUNT(*) FROM users WHERE store_id = $1 AND role = $2 AND disabled_at IS NULL",
                &[&store_id, &Role::Owner.as_str()],
            )
            .await?;
        Ok(owners)
    }

    async fn set_user_disabled(
        &self,
        store_id: StoreId,
        user_id: UserId,
        disabled_at: Option<i64>,
    ) -> Result<Option<UserRecord>, StoreError> {
        let user_id = user_id.to_string();
        self.db
            .write("set_user_disabled", move |tx| {
                let select = format!("{USER_COLUMNS} WHERE store_id = $1 AND id = $2");
                let Some(row): Option<UserRow> = tx.query_opt(&select, &[&store_id, &user_id])? else {
                    return Ok(None);
                };
                let mut user = user_record(row)?;
                let Some(at) = disabled_at else {
                    tx.execute(
                        "UPDATE users SET disabled_at = NULL WHERE store_id = $1 AND id = $2",
                        &[&store_id, &user_id],
                    )?;
                    user.disabled_at = None;
                    account_events::append_changed(tx, &user)?;
                    return Ok(Some(user));
                };
                if user.role == Role::Owner && user.disabled_at.is_none() {
                    refuse_last_owner(tx, store_id, &user_id)?;
                }
                tx.execute(
                    "UPDATE users SET disabled_at = $1 \
                     WHERE store_id = $2 AND id = $3 AND disabled_at IS NULL",
                    &[&at, &store_id, &user_id],
                )?;
                tx.execute(
                    "UPDATE refresh_tokens SET revoked_at = $1 \
                     WHERE store_id = $2 AND subject = $3 AND revoked_at IS NULL",
                    &[&at, &store_id, &user_id],
                )?;
                user.disabled_at = user.disabled_at.or(Some(at));
                account_events::append_changed(tx, &user)?;
                Ok(Some(user))
            })
            .await
    }

    async fn api_client(&self, client_id: &str) -> Result<Option<ApiClientRecord>, StoreError> {
        let row: Option<ClientRow> = self
            .db
            .query_opt(&format!("{CLIENT_COLUMNS} WHERE client_id = $1"), &[&client_id])
            .await?;
        row.map(client_record).transpose()
    }

    async fn insert_refresh_token(
        &self,
        store_id: StoreId,
        token: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(store_id, token.store_id);
        let token = token.clone();
        self.db
            .write("insert_refresh_token", move |tx| insert_token(tx, &token))
            .await?;
        Ok(())
    }

    async fn refresh_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row: Option<TokenRow> = self.db.query_opt(TOKEN_COLUMNS_BY_HASH, &[&token_hash]).await?;
        row.map(token_record).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        store_id: StoreId,
        used_hash: &str,
        next: &RefreshTokenRecord,
        now_ms: i64,
    ) -> Result<Rotation, StoreError> {
        let used_hash = used_hash.to_owned();
        let next = next.clone();
        self.db
            .write("rotate_refresh_token", move |tx| {
                // The conditions make the update the single point where a token is spent: of
                // two concurrent requests presenting it, exactly one sees a row affected.
                let spent = tx.execute(
                    "UPDATE refresh_tokens SET used_at = $1 \
                     WHERE store_id = $2 AND token_hash = $3 AND used_at IS NULL AND revoked_at IS NULL",
                    &[&now_ms, &store_id, &used_hash],
                )?;
                if spent == 0 {
                    // The revocation commits: returning Ok ends the transaction with a commit.
                    tx.execute(REVOKE_FAMILY, &[&now_ms, &store_id, &next.family_id])?;
                    return Ok(Rotation::FamilyRevoked);
                }
                insert_token(tx, &next)?;
                Ok(Rotation::Rotated)
            })
            .await
    }

    async fn revoke_refresh_family(
        &self,
        store_id: StoreId,
        family_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let revoked = self
            .db
            .execute(
                "revoke_refresh_family",
                REVOKE_FAMILY,
                &[&now_ms, &store_id, &family_id],
            )
            .await?;
        Ok(revoked)
    }

    async fn newest_signing_key(&self) -> Result<Option<SigningKeyRecord>, StoreError> {
        // Legacy rows in clear are sealed at start before any key is loaded; until then they
        // are not signing candidates.
        let row: Option<KeyRow> = self
            .db
            .query_opt(
                "SELECT kid, generation, kek_id, key_nonce, sealed_pkcs8, public_x, created_at \
                 FROM signing_keys WHERE sealed_pkcs8 IS NOT NULL ORDER BY generation DESC LIMIT 1",
                &[],
            )
            .await?;
        Ok(row.map(key_record))
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError> {
        // Another replica may insert the same generation first; then this one is dropped and
        // both load the winner. The clear column is left empty.
        let inserted = self
            .db
            .execute(
                "insert_signing_key",
                "INSERT INTO signing_keys \
                 (kid, generation, private_pkcs8, kek_id, key_nonce, sealed_pkcs8, public_x, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                &[
                    &key.kid,
                    &key.generation,
                    &Vec::<u8>::new(),
                    &key.sealed.kek_id,
                    &key.sealed.nonce,
                    &key.sealed.ciphertext,
                    &key.public_x,
                    &key.created_at,
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn public_keys(&self) -> Result<Vec<PublicKeyRecord>, StoreError> {
        let rows: Vec<(String, i64, String, i64)> = self
            .db
            .query_all(
                "SELECT kid, generation, public_x, created_at FROM signing_keys ORDER BY generation DESC",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(kid, generation, public_x, created_at)| PublicKeyRecord {
                kid,
                generation,
                public_x,
                created_at,
            })
            .collect())
    }

    async fn legacy_signing_keys(&self) -> Result<Vec<LegacySigningKey>, StoreError> {
        let rows: Vec<(String, Vec<u8>)> = self
            .db
            .query_all(
                "SELECT kid, private_pkcs8 FROM signing_keys WHERE sealed_pkcs8 IS NULL",
                &[],
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(kid, private_pkcs8)| LegacySigningKey {
                kid,
                private_pkcs8: zeroize::Zeroizing::new(private_pkcs8),
            })
            .collect())
    }

    async fn seal_legacy_signing_key(&self, kid: &str, sealed: &SealedKey) -> Result<bool, StoreError> {
        let sealed_rows = self
            .db
            .execute(
                "seal_legacy_signing_key",
                "UPDATE signing_keys SET kek_id = $2, key_nonce = $3, sealed_pkcs8 = $4, private_pkcs8 = $5 \
                 WHERE kid = $1 AND sealed_pkcs8 IS NULL",
                &[
                    &kid,
                    &sealed.kek_id,
                    &sealed.nonce,
                    &sealed.ciphertext,
                    &Vec::<u8>::new(),
                ],
            )
            .await?;
        Ok(sealed_rows == 1)
    }

    async fn delete_signing_keys(&self, kids: &[String]) -> Result<u64, StoreError> {
        let mut deleted = 0;
        for kid in kids {
            deleted += self
                .db
                .execute(
                    "delete_signing_key",
                    "DELETE FROM signing_keys WHERE kid = $1",
                    &[kid],
                )
                .await?;
        }
        Ok(deleted)
    }

    async fn sign_in_locked_until(&self, keys: &[FailureKey]) -> Result<Option<i64>, StoreError> {
        let mut latest = None;
        for key in keys {
            let row: Option<(i64,)> = self
                .db
                .query_opt(
                    "SELECT locked_until FROM sign_in_failures WHERE failure_key = $1",
                    &[&key.key],
                )
                .await?;
            latest = latest.max(row.map(|(until,)| until));
        }
        Ok(latest)
    }

    async fn record_sign_in_failure(
        &self,
        keys: &[FailureKey],
        now_ms: i64,
        forget_before: i64,
    ) -> Result<(), StoreError> {
        let keys = keys.to_vec();
        self.db
            .write("record_sign_in_failure", move |tx| {
                for key in &keys {
                    // One statement counts the failure, so concurrent failures on several
                    // replicas each add one (the row is locked for the rest of the transaction).
                    let (failures,): (i64,) = tx.query_one(
                        "INSERT INTO sign_in_failures (failure_key, failures, last_failure_at, locked_until) \
                         VALUES ($1, 1, $2, 0) \
                         ON CONFLICT (failure_key) DO UPDATE SET \
                           failures = CASE WHEN sign_in_failures.last_failure_at < $3 \
                                            AND sign_in_failures.locked_until < $3 \
                                      THEN 1 ELSE sign_in_failures.failures + 1 END, \
                           last_failure_at = $2 \
                         RETURNING failures",
                        &[&key.key, &now_ms, &forget_before],
                    )?;
                    let lock = key.policy.lock_ms(failures);
                    if lock > 0 {
                        let until = now_ms.saturating_add(lock);
                        tx.execute(
                            "UPDATE sign_in_failures SET locked_until = $1 WHERE failure_key = $2",
                            &[&until, &key.key],
                        )?;
                    }
                }
                tx.execute(
                    "DELETE FROM sign_in_failures WHERE last_failure_at < $1 AND locked_until < $1",
                    &[&forget_before],
                )?;
                Ok(())
            })
            .await
    }

    async fn clear_sign_in_failures(&self, key: &FailureKey) -> Result<(), StoreError> {
        self.db
            .execute(
                "clear_sign_in_failures",
                "DELETE FROM sign_in_failures WHERE failure_key = $1",
                &[&key.key],
            )
            .await?;
        Ok(())
    }
}
