//! Which signing key signs and which keys are published: the newest key signs; a key is
//! replaced when it is older than `auth.signing_key_rotation` (checked at start and every
//! [`MAINTENANCE_INTERVAL`]) or on demand (`mercato keys rotate`); a replaced key stays in the
//! JWKS for the [`overlap`] — until every token it signed has expired — and is then deleted.
//!
//! Replicas agree through the database: a new key is inserted with the next generation number
//! and the second replica to insert that generation is ignored; each replica reloads the newest
//! key at its next maintenance, which is why the overlap includes one interval.

use crate::kek::KeyEncryptionKey;
use crate::keys::{self, Signer};
use crate::store::{IdentityStore, PublicKeyRecord, SigningKeyRecord, StoreError};
use mercato_runtime::auth::Claims;
use mercato_runtime::config::AuthSettings;
use mercato_runtime::error::ServiceError;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// How often each identity replica rotates a due key, reloads the newest and deletes expired ones.
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(60);

/// How long a replaced key stays published: the longest access-token lifetime, the clock
/// leeway verifiers allow, and the time a replica may keep signing with it before it reloads.
pub fn overlap(auth: &AuthSettings) -> Duration {
    auth.access_token_ttl + auth.clock_leeway + MAINTENANCE_INTERVAL
}

/// Where a stored key is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// The newest key: new tokens are signed with it.
    Active,
    /// Replaced, still published until `until_ms` for tokens it signed.
    Retiring { until_ms: i64 },
    /// Every token it signed has expired: unpublished, to be deleted.
    Expired,
}

/// The state of each key, given newest first: a key is retired when the next newer one was
/// created.
pub fn key_states(keys: &[PublicKeyRecord], now_ms: i64, overlap: Duration) -> Vec<KeyState> {
    let overlap_ms = i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX);
    let mut newer_created_at = None;
    keys.iter()
        .map(|key| {
            let state = match newer_created_at {
                None => KeyState::Active,
                Some(retired_at) => {
                    let until_ms = i64::saturating_add(retired_at, overlap_ms);
                    if until_ms > now_ms {
                        KeyState::Retiring { until_ms }
                    } else {
                        KeyState::Expired
                    }
                }
            };
            newer_created_at = Some(key.created_at);
            state
        })
        .collect()
}

/// Whether a key created at `created_at_ms` is due for replacement.
pub fn rotation_due(created_at_ms: i64, now_ms: i64, rotation: Duration) -> bool {
    let rotation_ms = i64::try_from(rotation.as_millis()).unwrap_or(i64::MAX);
    now_ms.saturating_sub(created_at_ms) >= rotation_ms
}

/// The signing keys of one identity replica: the key it signs with and the rules above.
pub struct KeyRing {
    kek: KeyEncryptionKey,
    active: RwLock<Arc<Signer>>,
    rotation: Duration,
    overlap: Duration,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("kid", &self.kid())
            .field("kek", &self.kek)
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Seals keys a previous build stored in clear, creates the first key or replaces a due
    /// one, and loads the newest.
    pub async fn start(
        store: &dyn IdentityStore,
        kek: KeyEncryptionKey,
        auth: &AuthSettings,
        now_ms: i64,
    ) -> anyhow::Result<KeyRing> {
        seal_legacy_keys(store, &kek).await?;
        let newest = ensure_current(store, &kek, auth.signing_key_rotation, now_ms).await?;
        let signer = Signer::open(&newest, &kek)?;
        Ok(KeyRing {
            kek,
            active: RwLock::new(Arc::new(signer)),
            rotation: auth.signing_key_rotation,
            overlap: overlap(auth),
        })
    }

    /// The id of the key new tokens are signed with.
    pub fn kid(&self) -> String {
        self.signer().kid().to_owned()
    }

    fn signer(&self) -> Arc<Signer> {
        self.active.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn sign(&self, claims: &Claims) -> Result<String, ServiceError> {
        self.signer().sign(claims)
    }

    /// Replaces a due key, switches to the newest (another replica or the CLI may have made
    /// it) and deletes keys whose overlap ended.
    pub async fn maintain(&self, store: &dyn IdentityStore, now_ms: i64) -> anyhow::Result<()> {
        let newest = ensure_current(store, &self.kek, self.rotation, now_ms).await?;
        if newest.kid != self.kid() {
            let signer = Arc::new(Signer::open(&newest, &self.kek)?);
            *self.active.write().unwrap_or_else(|p| p.into_inner()) = signer;
            tracing::info!(
                kid = newest.kid,
                generation = newest.generation,
                "signing with a new key"
            );
        }
        let keys = store.public_keys().await?;
        let expired: Vec<String> = keys
            .iter()
            .zip(key_states(&keys, now_ms, self.overlap))
            .filter(|(_, state)| *state == KeyState::Expired)
            .map(|(key, _)| key.kid.clone())
            .collect();
        if !expired.is_empty() {
            let deleted = store.delete_signing_keys(&expired).await?;
            tracing::info!(deleted, "deleted signing keys whose tokens have all expired");
        }
        Ok(())
    }

    /// The keys verifiers must know at `now_ms`: the active one and those retiring.
    pub async fn published(
        &self,
        store: &dyn IdentityStore,
        now_ms: i64,
    ) -> Result<Vec<PublicKeyRecord>, StoreError> {
        let keys = store.public_keys().await?;
        let states = key_states(&keys, now_ms, self.overlap);
        Ok(keys
            .into_iter()
            .zip(states)
            .filter(|(_, state)| *state != KeyState::Expired)
            .map(|(key, _)| key)
            .collect())
    }
}

/// Seals every key still stored in clear and empties its clear column; idempotent (a key
/// sealed meanwhile by another replica is left as it is). Returns how many it sealed.
pub async fn seal_legacy_keys(store: &dyn IdentityStore, kek: &KeyEncryptionKey) -> anyhow::Result<usize> {
    let mut sealed = 0;
    for legacy in store.legacy_signing_keys().await? {
        let sealed_key = kek.seal(&legacy.kid, &legacy.private_pkcs8)?;
        if store.seal_legacy_signing_key(&legacy.kid, &sealed_key).await? {
            sealed += 1;
        }
    }
    if sealed > 0 {
        tracing::info!(sealed, kek_id = kek.id(), "sealed signing keys stored in clear");
    }
    Ok(sealed)
}

/// Adds a key of the next generation now, whatever the newest one's age; returns the newest
/// key afterwards (the one added, or a concurrent replica's of the same generation).
pub async fn rotate(
    store: &dyn IdentityStore,
    kek: &KeyEncryptionKey,
    now_ms: i64,
) -> anyhow::Result<SigningKeyRecord> {
    let next = store.newest_signing_key().await?.map_or(1, |k| k.generation + 1);
    insert_generation(store, kek, next, now_ms).await
}

/// The newest key, after creating the first one or replacing a due one.
async fn ensure_current(
    store: &dyn IdentityStore,
    kek: &KeyEncryptionKey,
    rotation: Duration,
    now_ms: i64,
) -> anyhow::Result<SigningKeyRecord> {
    match store.newest_signing_key().await? {
        None => insert_generation(store, kek, 1, now_ms).await,
        Some(key) if rotation_due(key.created_at, now_ms, rotation) => {
            insert_generation(store, kek, key.generation + 1, now_ms).await
        }
        Some(key) => Ok(key),
    }
}

async fn insert_generation(
    store: &dyn IdentityStore,
    kek: &KeyEncryptionKey,
    generation: i64,
    now_ms: i64,
) -> anyhow::Result<SigningKeyRecord> {
    if store
        .insert_signing_key(&keys::generate(generation, now_ms, kek)?)
        .await?
    {
        tracing::info!(generation, "generated a new access-token signing key");
    }
    store
        .newest_signing_key()
        .await?
        .ok_or_else(|| anyhow::anyhow!("signing key vanished after insert"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(generation: i64, created_at: i64) -> PublicKeyRecord {
        PublicKeyRecord {
            kid: format!("k{generation}"),
            generation,
            public_x: String::new(),
            created_at,
        }
    }

    #[test]
    fn a_replaced_key_is_published_until_the_overlap_after_its_successor_ends() {
        let keys = [key(3, 5_000), key(2, 2_000), key(1, 0)];
        let overlap = Duration::from_millis(1_000);
        assert_eq!(
            key_states(&keys, 5_500, overlap),
            [
                KeyState::Active,
                KeyState::Retiring { until_ms: 6_000 },
                KeyState::Expired
            ]
        );
        assert_eq!(key_states(&keys, 6_000, overlap)[1], KeyState::Expired);
        assert_eq!(key_states(&keys[..1], i64::MAX, overlap), [KeyState::Active]);
    }

    #[test]
    fn rotation_is_due_once_the_key_is_as_old_as_the_period() {
        let day = Duration::from_secs(86_400);
        assert!(!rotation_due(0, 86_399_999, day));
        assert!(rotation_due(0, 86_400_000, day));
    }
}
