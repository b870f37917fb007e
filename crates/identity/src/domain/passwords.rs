//! Password hashing with argon2id (OWASP's minimum: 19 MiB, two passes, one lane).
//!
//! Hashing costs tens of milliseconds of CPU and 19 MiB of memory by design, so [`Hasher`] runs
//! it on the blocking pool (on an async worker it would stall every other request sharing that
//! thread), a fixed number at once with a bounded queue, so a login flood cannot take the
//! process's memory with it.

use super::validate::Password;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// Why a password could not be hashed or checked: never the caller's doing, so the service
/// answers with an internal error and logs this.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("argon2 failed: {0}")]
    Argon2(argon2::password_hash::Error),
    #[error("the hashing task did not finish: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Every hashing slot is taken and the queue for them is full: the caller should retry.
    #[error("every password hashing slot is busy")]
    Busy,
}

/// Seconds a caller refused with [`PasswordError::Busy`] is told to wait.
pub const BUSY_RETRY_AFTER_SECS: u64 = 1;

/// Memory cost in KiB, passes and lanes; stored in every hash string, so raising them later
/// leaves old hashes verifiable.
const MEMORY_KIB: u32 = 19_456;
const PASSES: u32 = 2;
const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    // The parameters are constants within argon2's bounds, so this cannot fail.
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash_blocking(password: &Password) -> Result<String, PasswordError> {
    hash_str_blocking(password.expose())
}

/// [`hash_blocking`] of a password already proved against a stored hash (a legacy one's rules
/// may differ from today's, so it is not parsed again).
fn hash_str_blocking(password: &str) -> Result<String, PasswordError> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(PasswordError::Argon2)
}

/// What a sign-in's password check found.
#[derive(Debug)]
pub struct Checked {
    pub matches: bool,
    /// The argon2id hash to store instead of the legacy hash that just matched (ADR 0016).
    pub upgrade: Option<String>,
}

/// Checks a password against a stored hash, argon2id or a legacy shop's
/// (`mercato_runtime::legacy_passwords`); a matching legacy hash is hashed again with argon2id
/// here, in the same slot. Every failure costs at least one argon2 verification, whatever the
/// stored hash (none, empty, legacy), so timing does not tell accounts apart.
fn check_blocking(password: &str, hash: Option<&str>) -> Result<Checked, PasswordError> {
    let miss = || {
        verify_blocking(password, dummy_hash());
        Ok(Checked {
            matches: false,
            upgrade: None,
        })
    };
    let Some(hash) = hash.filter(|h| !h.is_empty()) else {
        return miss();
    };
    match mercato_runtime::legacy_passwords::verify(hash, password) {
        None => Ok(Checked {
            matches: verify_blocking(password, hash),
            upgrade: None,
        }),
        Some(false) => miss(),
        Some(true) => Ok(Checked {
            matches: true,
            upgrade: Some(hash_str_blocking(password)?),
        }),
    }
}

/// Checks a password against a stored PHC string; a malformed hash never matches.
pub fn verify_blocking(password: &str, hash: &str) -> bool {
    hasher().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash of a password nobody knows, verified against when a login names no existing user
/// so that the answer takes as long as for a wrong password and does not reveal who exists.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let unguessable = Password::parse("password", &uuid::Uuid::new_v4().to_string())
            .expect("a UUID is a valid password");
        hash_blocking(&unguessable).expect("hashing a dummy password")
    })
}

/// Computes the dummy hash ahead of the first login, so that even the first failed login
/// for an unknown user costs no more than a wrong password does.
pub async fn warm_up() -> Result<(), PasswordError> {
    tokio::task::spawn_blocking(|| {
        dummy_hash();
    })
    .await
    .map_err(PasswordError::Task)
}

/// Runs argon2 on the blocking pool, at most `concurrency` hashes at once (each holds
/// [`MEMORY_KIB`] of memory while it runs, so this bounds the memory of any login flood) with
/// at most `queue` callers waiting for a slot; beyond them a caller is refused at once with
/// [`PasswordError::Busy`] instead of queueing without end.
pub struct Hasher {
    slots: Arc<tokio::sync::Semaphore>,
    waiting: AtomicUsize,
    queue: usize,
}

impl Hasher {
    /// `concurrency` 0 means one hash per CPU.
    pub fn new(concurrency: usize, queue: usize) -> Hasher {
        let concurrency = match concurrency {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        Hasher {
            slots: Arc::new(tokio::sync::Semaphore::new(concurrency)),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// A slot, at once, after waiting in the queue, or `Busy` when the queue is full.
    async fn slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, PasswordError> {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return Ok(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(PasswordError::Busy);
        }
        // Decrements the queue however the wait ends, a cancelled caller included.
        struct Waiting<'a>(&'a AtomicUsize);
        impl Drop for Waiting<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _waiting = Waiting(&self.waiting);
        self.slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::Busy)
    }

    /// Runs `work` on the blocking pool holding a slot; the slot is held until the hash is
    /// done even if the caller stops waiting, so abandoned requests cannot exceed the bound.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = self.slot().await?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(PasswordError::Task)
    }

    /// Hashes a password.
    pub async fn hash(&self, password: Password) -> Result<String, PasswordError> {
        self.run(move || hash_blocking(&password)).await?
    }

    /// [`check_blocking`] in a slot: a sign-in's check, legacy hashes included.
    pub async fn check(&self, password: String, hash: Option<String>) -> Result<Checked, PasswordError> {
        self.run(move || check_blocking(&password, hash.as_deref()))
            .await?
    }

    /// Verifies a password; with no stored hash, burns the same time and returns false.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, PasswordError> {
        self.run(move || match hash {
            Some(hash) => verify_blocking(&password, &hash),
            None => {
                verify_blocking(&password, dummy_hash());
                false
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_the_owasp_parameters_and_verify() {
        let pw = Password::parse("password", "correct horse").unwrap();
        let h = hash_blocking(&pw).unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(h.contains("m=19456,t=2,p=1"), "{h}");
        assert!(verify_blocking("correct horse", &h));
        assert!(!verify_blocking("correct horsE", &h));
        assert!(!verify_blocking("correct horse", "not a hash"));
    }

    #[tokio::test]
    async fn beyond_the_slots_and_the_queue_a_caller_is_refused_at_once() {
        let hasher = Arc::new(Hasher::new(1, 1));
        let held = hasher.slot().await.unwrap();
        let queued = tokio::spawn({
            let hasher = Arc::clone(&hasher);
            async move { hasher.verify("pw".into(), None).await }
        });
        while hasher.waiting.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            hasher.verify("pw".into(), None).await,
            Err(PasswordError::Busy)
        ));
        drop(held);
        assert!(
            !queued.await.unwrap().unwrap(),
            "the queued check ran once a slot was free"
        );
        assert_eq!(hasher.waiting.load(Ordering::Acquire), 0);
        assert!(!hasher.verify("pw".into(), None).await.unwrap());
    }

    #[test]
    fn a_matching_legacy_hash_comes_back_upgraded_to_argon2id() {
        let legacy = mercato_runtime::legacy_passwords::phpass_hash("old secret", "abcdefgh", 8).unwrap();
        let checked = check_blocking("old secret", Some(&legacy)).unwrap();
        assert!(checked.matches);
        let upgraded = checked.upgrade.expect("an argon2id hash");
        assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
        assert!(verify_blocking("old secret", &upgraded));
        let wrong = check_blocking("old secreT", Some(&legacy)).unwrap();
        assert!(!wrong.matches && wrong.upgrade.is_none());
        let argon = check_blocking("old secret", Some(&upgraded)).unwrap();
        assert!(
            argon.matches && argon.upgrade.is_none(),
            "argon2id is not upgraded again"
        );
        assert!(!check_blocking("", Some("")).unwrap().matches);
    }

    #[test]
    fn the_same_password_hashes_differently_each_time() {
        let pw = Password::parse("password", "correct horse").unwrap();
        assert_ne!(hash_blocking(&pw).unwrap(), hash_blocking(&pw).unwrap());
    }
}
