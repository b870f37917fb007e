//! The identity service's storage, behind one trait; [`sql::SqlIdentityStore`] implements it
//! on SQLite and PostgreSQL alike.
//!
//! Rows are plain records; the service builds them from validated input, so the store
//! checks nothing but the constraints only the database can enforce (unique slugs and emails).

mod account_events;
pub mod accounts;
pub mod customers;
mod customers_sql;
pub mod imports;
mod imports_sql;
pub mod migrations;
mod rows;
pub mod sql;

use crate::domain::throttle::FailureKey;
use crate::kek::SealedKey;
use async_trait::async_trait;
use mercato_proto::events::EventEnvelope;
use mercato_runtime::auth::Role;
use mercato_runtime::error::{ErrorCode, FieldError, ServiceError};
use mercato_runtime::ids::{StoreId, UserId};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreRecord {
    pub id: StoreId,
    pub slug: String,
    pub name: String,
    pub currency: String,
    pub created_at: i64,
    /// An IANA name, validated before it is stored ("UTC" unless set).
    pub time_zone: String,
}

/// Makes the event announcing a changed store (its new state), inside the write.
pub type Announce = fn(&StoreRecord) -> EventEnvelope;

/// What an owner changes of a store (validated); `None` leaves the field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreChange {
    pub name: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub store_id: StoreId,
    /// Normalised to lower case.
    pub email: String,
    pub role: Role,
    /// An argon2id PHC string.
    pub password_hash: String,
    pub created_at: i64,
    /// When the account was disabled (epoch milliseconds); `None` while it is enabled.
    pub disabled_at: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiClientRecord {
    pub client_id: String,
    pub store_id: StoreId,
    /// What the owner calls it.
    pub name: String,
    /// SHA-256 hex of the secret; the secret itself is shown once and never stored.
    pub secret_hash: String,
    pub role: Role,
    pub created_at: i64,
    /// When the secret was last replaced; `None` if never.
    pub secret_rotated_at: Option<i64>,
    /// When the client was revoked; `None` while it is active.
    pub revoked_at: Option<i64>,
}

/// One refresh token. Tokens issued from one login form a family: each refresh uses one up
/// and adds its successor, so a second use of any member reveals a leak.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    pub id: String,
    pub family_id: String,
    pub store_id: StoreId,
    /// The user id the access tokens are issued to.
    pub subject: String,
    pub role: Role,
    /// SHA-256 hex of the token.
    pub token_hash: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// An Ed25519 signing key. Generations are numbered from 1 so that replicas starting together
/// agree on one key: the second to insert a generation is ignored.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    pub kid: String,
    pub generation: i64,
    /// PKCS#8 DER of the private key, sealed under the key-encryption key with `kid` as
    /// associated data; never stored in clear.
    pub sealed: SealedKey,
    /// Base64url of the 32-byte public key, as the JWK `x`.
    pub public_x: String,
    pub created_at: i64,
}

/// A signing key stored in clear by a build before keys were sealed; sealed at start.
pub struct LegacySigningKey {
    pub kid: String,
    pub private_pkcs8: zeroize::Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The public half of a signing key, for the JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyRecord {
    pub kid: String,
    pub generation: i64,
    pub public_x: String,
    pub created_at: i64,
}

/// Everything a new store starts with, written in one transaction.
#[derive(Clone, Debug)]
pub struct Provisioning {
    pub store: StoreRecord,
    pub owner: UserRecord,
    pub api_client: ApiClientRecord,
    /// `mercato.identity.store_provisioned`, for the outbox.
    pub event: EventEnvelope,
}

/// How an attempt to exchange a refresh token ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was marked used and its successor stored.
    Rotated,
    /// Another request used (or revoked) the token first; its family is now revoked.
    FamilyRevoked,
}

/// The identity store's own refusals; everything else any store can run into is in
/// [`mercato_runtime::store_error::StoreError`].
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("store slug is taken")]
    SlugTaken,
    #[error("email is already registered in this store")]
    EmailTaken,
    #[error("store not found")]
    UnknownStore,
    #[error("the store's last owner cannot be disabled")]
    LastOwner,
    #[error("the address book is full; delete an address first")]
    AddressBookFull,
    #[error("the record changed while this request was applied to it; retry")]
    ChangedConcurrently,
    #[error("the API client is revoked")]
    ApiClientRevoked,
}

/// A taken slug or email is its own 409 code, naming the field as catalog's taken values do.
impl From<Refusal> for ServiceError {
    fn from(r: Refusal) -> Self {
        let (code, field, reason) = match r {
            Refusal::SlugTaken => (ErrorCode::SlugTaken, "slug", "is already taken"),
            Refusal::EmailTaken => (
                ErrorCode::EmailTaken,
                "email",
                "is already registered in this store",
            ),
            Refusal::UnknownStore => return ServiceError::not_found("store"),
            Refusal::LastOwner => return ServiceError::new(ErrorCode::LastOwner, r.to_string()),
            Refusal::AddressBookFull | Refusal::ApiClientRevoked => {
                return ServiceError::conflict(r.to_string());
            }
            Refusal::ChangedConcurrently => return ServiceError::changed_concurrently(r.to_string()),
        };
        ServiceError {
            code,
            message: r.to_string(),
            fields: vec![FieldError::new(field, reason)],
        }
    }
}

/// What can go wrong in the identity store.
pub type StoreError = mercato_runtime::store_error::StoreError<Refusal>;

/// The identity service's storage. Store-scoped methods take the store id first.
#[async_trait]
pub trait IdentityStore: Send + Sync + 'static {
    /// Whether the database answers.
    async fn ping(&self) -> bool;

    /// Writes a store with its owner, API client and event, or nothing; `SlugTaken` when the
    /// slug is in use, decided by the unique index so that two racing requests cannot both win.
    async fn provision(&self, p: &Provisioning) -> Result<(), StoreError>;

    async fn store_by_id(&self, store_id: StoreId) -> Result<Option<StoreRecord>, StoreError>;

    async fn store_by_slug(&self, slug: &str) -> Result<Option<StoreRecord>, StoreError>;

    /// Applies `change` to the store and appends the event `announce` makes of the changed
    /// store, in one transaction; `UnknownStore` when there is no such store.
    async fn update_store(
        &self,
        store_id: StoreId,
        change: &StoreChange,
        announce: Announce,
    ) -> Result<StoreRecord, StoreError>;

    /// Adds a user; `EmailTaken` when the store has one with that email, `UnknownStore` when
    /// the store does not exist.
    async fn create_user(&self, store_id: StoreId, user: &UserRecord) -> Result<(), StoreError>;

    async fn user_by_email(&self, store_id: StoreId, email: &str) -> Result<Option<UserRecord>, StoreError>;

    async fn user_by_id(&self, store_id: StoreId, user_id: UserId) -> Result<Option<UserRecord>, StoreError>;

    /// How many enabled owners the store has.
    async fn enabled_owners(&self, store_id: StoreId) -> Result<i64, StoreError>;

    /// Disables the user at `disabled_at` (a disabled user keeps its first time) and revokes
    /// every refresh token issued to it, or enables it again with `None`, in one transaction;
    /// returns the user as stored then, `None` when the store has no such user. `LastOwner`,
    /// changing nothing, when it would disable the store's last enabled owner: the owners' rows
    /// are locked first, so two owners disabling each other cannot both succeed.
    async fn set_user_disabled(
        &self,
        store_id: StoreId,
        user_id: UserId,
        disabled_at: Option<i64>,
    ) -> Result<Option<UserRecord>, StoreError>;

    /// Looks a client up by its id, which is unique across stores: client credentials name
    /// no store, the client determines it.
    async fn api_client(&self, client_id: &str) -> Result<Option<ApiClientRecord>, StoreError>;

    async fn insert_refresh_token(
        &self,
        store_id: StoreId,
        token: &RefreshTokenRecord,
    ) -> Result<(), StoreError>;

    /// Looks a token up by its hash; the token itself is the only key a client presents.
    async fn refresh_token_by_hash(&self, token_hash: &str)
    -> Result<Option<RefreshTokenRecord>, StoreError>;

    /// Marks the token `used_hash` used, if it still is unused and unrevoked, and stores
    /// `next` in its family, atomically. When the token was no longer active, revokes its
    /// whole family instead.
    async fn rotate_refresh_token(
        &self,
        store_id: StoreId,
        used_hash: &str,
        next: &RefreshTokenRecord,
        now_ms: i64,
    ) -> Result<Rotation, StoreError>;

    /// Revokes every token of a family not yet revoked; returns how many.
    async fn revoke_refresh_family(
        &self,
        store_id: StoreId,
        family_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError>;

    /// The sealed key of the highest generation, the one new tokens are signed with.
    async fn newest_signing_key(&self) -> Result<Option<SigningKeyRecord>, StoreError>;

    /// Inserts a key unless its generation exists; returns whether it was inserted.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<bool, StoreError>;

    /// The public half of every stored key, newest first, so that tokens signed before a
    /// rotation still verify. Private keys are not read for this.
    async fn public_keys(&self) -> Result<Vec<PublicKeyRecord>, StoreError>;

    /// Keys still stored in clear (written before keys were sealed).
    async fn legacy_signing_keys(&self) -> Result<Vec<LegacySigningKey>, StoreError>;

    /// Stores a legacy key's sealed form and empties its clear column, if it is still in
    /// clear; returns whether it was.
    async fn seal_legacy_signing_key(&self, kid: &str, sealed: &SealedKey) -> Result<bool, StoreError>;

    /// Deletes retired keys; returns how many.
    async fn delete_signing_keys(&self, kids: &[String]) -> Result<u64, StoreError>;

    /// The latest end of a sign-in lock among `keys` (epoch milliseconds), if any is recorded.
    async fn sign_in_locked_until(&self, keys: &[FailureKey]) -> Result<Option<i64>, StoreError>;

    /// Counts one failed sign-in against each key, atomically across replicas: failures of a
    /// key whose last failure and lock both ended before `forget_before` start again from one;
    /// a key past its policy's free failures is locked until `now_ms` plus its lock. Rows
    /// forgotten that way are deleted.
    async fn record_sign_in_failure(
        &self,
        keys: &[FailureKey],
        now_ms: i64,
        forget_before: i64,
    ) -> Result<(), StoreError>;

    /// Forgets a key's failures (after a successful sign-in).
    async fn clear_sign_in_failures(&self, key: &FailureKey) -> Result<(), StoreError>;
}
