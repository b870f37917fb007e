//! [`IdentityStore`] in portable SQL, one implementation for SQLite and PostgreSQL.

use super::{
    ApiClientRecord, IdentityStore, Provisioning, PublicKeyRecord, RefreshTokenRecord, Rotation,
    SigningKeyRecord, StoreError, StoreRecord, UserRecord,
};
use async_trait::async_trait;
use mercato_runtime::auth::Role;
use mercato_runtime::db::{Db, is_unique_violation};
use mercato_runtime::ids::{StoreId, UserId};

/// The identity tables in a service database.
#[derive(Clone, Debug)]
pub struct SqlIdentityStore {
    db: Db,
}

impl SqlIdentityStore {
    /// Wraps a database whose identity migrations have been applied.
    pub fn new(db: Db) -> Self {
        SqlIdentityStore { db }
    }
}

type StoreRow = (String, String, String, String, i64);
type UserRow = (String, String, String, String, String, i64);
type ClientRow = (String, String, String, String, i64);
type TokenRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
);
type KeyRow = (String, i64, Vec<u8>, String, i64);

fn store_id(s: &str) -> Result<StoreId, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("store id {s:?}")))
}

fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("role {s:?}")))
}

fn store_record((id, slug, name, currency, created_at): StoreRow) -> Result<StoreRecord, StoreError> {
    Ok(StoreRecord {
        id: store_id(&id)?,
        slug,
        name,
        currency,
        created_at,
    })
}

fn user_record((id, store, email, r, password_hash, created_at): UserRow) -> Result<UserRecord, StoreError> {
    Ok(UserRecord {
        id: UserId(
            id.parse()
                .map_err(|_| StoreError::Corrupt(format!("user id {id:?}")))?,
        ),
        store_id: store_id(&store)?,
        email,
        role: role(&r)?,
        password_hash,
        created_at,
    })
}

fn token_record(row: TokenRow) -> Result<RefreshTokenRecord, StoreError> {
    let (id, family_id, store, subject, r, token_hash, expires_at, used_at, revoked_at, created_at) = row;
    Ok(RefreshTokenRecord {
        id,
        family_id,
        store_id: store_id(&store)?,
        subject,
        role: role(&r)?,
        token_hash,
        expires_at,
        used_at,
        revoked_at,
        created_at,
    })
}

fn key_record((kid, generation, private_pkcs8, public_x, created_at): KeyRow) -> SigningKeyRecord {
    SigningKeyRecord {
        kid,
        generation,
        private_pkcs8,
        public_x,
        created_at,
    }
}

const INSERT_USER: &str = "INSERT INTO users (id, store_id, email, role, password_hash, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_TOKEN: &str = "INSERT INTO refresh_tokens \
     (id, family_id, store_id, subject, role, token_hash, expires_at, used_at, revoked_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
const TOKEN_COLUMNS_BY_HASH: &str = "SELECT id, family_id, store_id, subject, role, token_hash, \
     expires_at, used_at, revoked_at, created_at FROM refresh_tokens WHERE token_hash = $1";

async fn insert_user(conn: &mut sqlx::AnyConnection, u: &UserRecord) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_USER)
        .bind(u.id.to_string())
        .bind(u.store_id.to_string())
        .bind(&u.email)
        .bind(u.role.as_str())
        .bind(&u.password_hash)
        .bind(u.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_token(conn: &mut sqlx::AnyConnection, t: &RefreshTokenRecord) -> Result<(), sqlx::Error> {
    sqlx::query(INSERT_TOKEN)
        .bind(&t.id)
        .bind(&t.family_id)
        .bind(t.store_id.to_string())
        .bind(&t.subject)
        .bind(t.role.as_str())
        .bind(&t.token_hash)
        .bind(t.expires_at)
        .bind(t.used_at)
        .bind(t.revoked_at)
        .bind(t.created_at)
        .execute(conn)
        .await?;
    Ok(())
}

const REVOKE_FAMILY: &str = "UPDATE refresh_tokens SET revoked_at = $1 \
     WHERE store_id = $2 AND family_id = $3 AND revoked_at IS NULL";

#[async_trait]
impl IdentityStore for SqlIdentityStore {
    async fn ping(&self) -> bool {
        self.db.ping().await
    }

    async fn provision(&self, p: &Provisioning) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        // The slug's unique index decides a race between two requests; the loser's
        // transaction is dropped, rolling back, so no half-provisioned store remains.
        let inserted = sqlx::query(
            "INSERT INTO stores (id, slug, name, currency, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(p.store.id.to_string())
        .bind(&p.store.slug)
        .bind(&p.store.name)
        .bind(&p.store.currency)
        .bind(p.store.created_at)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::SlugTaken),
            other => other?,
        };
        insert_user(&mut tx, &p.owner).await?;
        let c = &p.api_client;
        sqlx::query(
            "INSERT INTO api_clients (client_id, store_id, secret_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&c.client_id)
        .bind(c.store_id.to_string())
        .bind(&c.secret_hash)
        .bind(c.role.as_str())
        .bind(c.created_at)
        .execute(&mut *tx)
        .await?;
        mercato_runtime::outbox::append(&mut tx, &p.event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn store_by_id(&self, store_id: StoreId) -> Result<Option<StoreRecord>, StoreError> {
        let row: Option<StoreRow> =
            sqlx::query_as("SELECT id, slug, name, currency, created_at FROM stores WHERE id = $1")
                .bind(store_id.to_string())
                .fetch_optional(self.db.pool())
                .await?;
        row.map(store_record).transpose()
    }

    async fn store_by_slug(&self, slug: &str) -> Result<Option<StoreRecord>, StoreError> {
        let row: Option<StoreRow> =
            sqlx::query_as("SELECT id, slug, name, currency, created_at FROM stores WHERE slug = $1")
                .bind(slug)
                .fetch_optional(self.db.pool())
                .await?;
        row.map(store_record).transpose()
    }

    async fn create_user(&self, store_id: StoreId, user: &UserRecord) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().await?;
        let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM stores WHERE id = $1")
            .bind(store_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::UnknownStore);
        }
        match insert_user(&mut tx, user).await {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::EmailTaken),
            other => other?,
        }
        tx.commit().await?;
        Ok(())
    }

    async fn user_by_email(&self, store_id: StoreId, email: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = sqlx::query_as(
            "SELECT id, store_id, email, role, password_hash, created_at FROM users \
             WHERE store_id = $1 AND email = $2",
        )
        .bind(store_id.to_string())
        .bind(email)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(user_record).transpose()
    }

    async fn api_client(&self, client_id: &str) -> Result<Option<ApiClientRecord>, StoreError> {
        let row: Option<ClientRow> = sqlx::query_as(
            "SELECT client_id, store_id, secret_hash, role, created_at FROM api_clients \
             WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|(client_id, store, secret_hash, r, created_at)| {
            Ok(ApiClientRecord {
                client_id,
                store_id: store_id(&store)?,
                secret_hash,
                role: role(&r)?,
                created_at,
            })
        })
        .transpose()
    }

    async fn insert_refresh_token(
        &self,
        store_id: StoreId,
        token: &RefreshTokenRecord,
    ) -> Result<(), StoreError> {
        debug_assert_eq!(store_id, token.store_id);
        let mut conn = self.db.pool().acquire().await?;
        insert_token(&mut conn, token).await?;
        Ok(())
    }

    async fn refresh_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<RefreshTokenRecord>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(TOKEN_COLUMNS_BY_HASH)
            .bind(token_hash)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(token_record).transpose()
    }

    async fn rotate_refresh_token(
        &self,
        store_id: StoreId,
        used_hash: &str,
        next: &RefreshTokenRecord,
        now_ms: i64,
    ) -> Result<Rotation, StoreError> {
        let mut tx = self.db.begin_write().await?;
        // The conditions make the update the single point where a token is spent: of two
        // concurrent requests presenting it, exactly one sees a row affected.
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE store_id = $2 AND token_hash = $3 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(store_id.to_string())
        .bind(used_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if spent == 0 {
            sqlx::query(REVOKE_FAMILY)
                .bind(now_ms)
                .bind(store_id.to_string())
                .bind(&next.family_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Rotation::FamilyRevoked);
        }
        insert_token(&mut tx, next).await?;
        tx.commit().await?;
        Ok(Rotation::Rotated)
    }

    async fn revoke_refresh_family(
        &self,
        store_id: StoreId,
        family_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(REVOKE_FAMILY)
            .bind(now_ms)
            .bind(store_id.to_string())
            .bind(family_id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    async fn newest_signing_key(&self) -> Result<Option<SigningKeyRecord>, StoreError> {
        let row: Option<KeyRow> = sqlx::query_as(
            "SELECT kid, generation, private_pkcs8, public_x, created_at FROM signing_keys \
             ORDER BY generation DESC LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(key_record))
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError> {
        // Another replica may insert the same generation first; then this one is dropped and
        // both load the winner.
        let done = sqlx::query(
            "INSERT INTO signing_keys (kid, generation, private_pkcs8, public_x, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&key.kid)
        .bind(key.generation)
        .bind(key.private_pkcs8.clone())
        .bind(&key.public_x)
        .bind(key.created_at)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn public_keys(&self) -> Result<Vec<PublicKeyRecord>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT kid, public_x FROM signing_keys ORDER BY generation DESC")
                .fetch_all(self.db.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(kid, public_x)| PublicKeyRecord { kid, public_x })
            .collect())
    }
}
