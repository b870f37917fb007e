//! The identity tables' rows as the SQL store reads them, and their conversion into records
//! (a malformed id or role is `StoreError::Corrupt`).

use super::{RefreshTokenRecord, SigningKeyRecord, StoreError, StoreRecord, UserRecord};
use crate::kek::SealedKey;
use mercato_runtime::auth::Role;
use mercato_runtime::ids::{StoreId, UserId};

pub(super) type StoreRow = (String, String, String, String, i64, String);
pub(super) type UserRow = (String, String, String, String, String, i64, Option<i64>);
pub(super) type TokenRow = (
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
pub(super) type KeyRow = (String, i64, String, Vec<u8>, Vec<u8>, String, i64);

pub(super) fn store_id(s: &str) -> Result<StoreId, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("store id {s:?}")))
}

pub(super) fn role(s: &str) -> Result<Role, StoreError> {
    Role::parse(s).ok_or_else(|| StoreError::Corrupt(format!("role {s:?}")))
}

pub(super) fn store_record(
    (id, slug, name, currency, created_at, time_zone): StoreRow,
) -> Result<StoreRecord, StoreError> {
    Ok(StoreRecord {
        id: store_id(&id)?,
        slug,
        name,
        currency,
        created_at,
        time_zone,
    })
}

pub(super) fn user_record(
    (id, store, email, r, password_hash, created_at, disabled_at): UserRow,
) -> Result<UserRecord, StoreError> {
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
        disabled_at,
    })
}

pub(super) fn token_record(row: TokenRow) -> Result<RefreshTokenRecord, StoreError> {
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

pub(super) fn key_record(
    (kid, generation, kek_id, nonce, ciphertext, public_x, created_at): KeyRow,
) -> SigningKeyRecord {
    SigningKeyRecord {
        kid,
        generation,
        sealed: SealedKey {
            kek_id,
            nonce,
            ciphertext,
        },
        public_x,
        created_at,
    }
}
