//! The key-encryption key (KEK) that seals secrets before they are stored (identity's
//! token-signing private keys, the notifications service's webhook secrets): AES-256-GCM with a
//! random 96-bit nonce per secret and the secret's id as associated data, so a sealed secret
//! cannot be moved to another row. See `docs/adr/0006-signing-keys-at-rest.md`.
//!
//! The KEK comes from `auth.key_encryption_key` (base64), else `auth.key_encryption_key_file`,
//! else a file generated once into the data directory with mode 0600 (the embedded demo).

use crate::config::AuthSettings;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// The file a KEK is generated into when none is configured, under the data directory.
pub const GENERATED_KEK_FILE: &str = "identity.kek";

/// A private key sealed under a KEK, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey {
    /// Which KEK sealed it ([`KeyEncryptionKey::id`]), so a wrong KEK is named, not guessed.
    pub kek_id: String,
    pub nonce: Vec<u8>,
    /// The PKCS#8 DER encrypted, with the 16-byte GCM tag appended.
    pub ciphertext: Vec<u8>,
}

/// Where a KEK came from, for the start-up log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KekOrigin {
    Configured,
    File(PathBuf),
    Generated(PathBuf),
}

/// An AES-256 key that seals and opens signing keys.
pub struct KeyEncryptionKey {
    key: LessSafeKey,
    id: String,
    origin: KekOrigin,
}

impl std::fmt::Debug for KeyEncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEncryptionKey")
            .field("id", &self.id)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl KeyEncryptionKey {
    /// The configured KEK, or the one in `data_dir` (generated there when missing).
    pub fn from_settings(auth: &AuthSettings, data_dir: &Path) -> anyhow::Result<KeyEncryptionKey> {
        if let Some(secret) = &auth.key_encryption_key {
            return Self::from_base64(secret.expose(), KekOrigin::Configured)
                .map_err(|e| e.context("auth.key_encryption_key"));
        }
        if let Some(path) = &auth.key_encryption_key_file {
            let text = Zeroizing::new(std::fs::read_to_string(path)?);
            return Self::from_base64(&text, KekOrigin::File(path.clone()))
                .map_err(|e| e.context(format!("auth.key_encryption_key_file {}", path.display())));
        }
        Self::load_or_generate(&data_dir.join(GENERATED_KEK_FILE))
    }

    /// Reads the KEK at `path`, generating it (0600, in a 0700 directory) when missing. Two
    /// processes racing to generate it both end up with the one written first.
    pub fn load_or_generate(path: &Path) -> anyhow::Result<KeyEncryptionKey> {
        let origin = KekOrigin::Generated(path.to_owned());
        if !path.exists() {
            if let Some(dir) = path.parent() {
                crate::db::create_private_dir(dir)?;
            }
            let mut bytes = Zeroizing::new([0u8; 32]);
            rand::rngs::OsRng.fill_bytes(bytes.as_mut());
            let text = Zeroizing::new(format!("{}\n", STANDARD.encode(bytes.as_ref())));
            match crate::db::create_private_file(path, text.as_bytes()) {
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    "generated a key-encryption key for the signing keys; in production configure auth.key_encryption_key (the same for every identity replica)"
                ),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        let text = Zeroizing::new(std::fs::read_to_string(path)?);
        Self::from_base64(&text, origin).map_err(|e| e.context(format!("{}", path.display())))
    }

    /// A KEK from the base64 (standard alphabet, surrounding whitespace ignored) of 32 bytes.
    pub fn from_base64(text: &str, origin: KekOrigin) -> anyhow::Result<KeyEncryptionKey> {
        let bytes = Zeroizing::new(
            STANDARD
                .decode(text.trim())
                .map_err(|_| anyhow::anyhow!("the key-encryption key is not base64"))?,
        );
        anyhow::ensure!(
            bytes.len() == 32,
            "the key-encryption key must be 32 bytes, not {}",
            bytes.len()
        );
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| anyhow::anyhow!("the key-encryption key is not an AES-256 key"))?;
        Ok(KeyEncryptionKey {
            key: LessSafeKey::new(unbound),
            id: kek_id(&bytes),
            origin,
        })
    }

    /// A short public fingerprint of the KEK, stored beside each sealed key.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn origin(&self) -> &KekOrigin {
        &self.origin
    }

    /// Seals `plaintext` (a PKCS#8 private key) bound to the signing key id `kid`.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> anyhow::Result<SealedKey> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let mut in_out = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut in_out,
            )
            .map_err(|_| anyhow::anyhow!("sealing signing key {kid} failed"))?;
        Ok(SealedKey {
            kek_id: self.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext: in_out,
        })
    }

    /// Opens a key sealed for `kid`; fails for another KEK, another kid or altered bytes.
    pub fn open(&self, kid: &str, sealed: &SealedKey) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        anyhow::ensure!(
            sealed.kek_id == self.id,
            "signing key {kid} is sealed under key-encryption key {}, but {} is configured",
            sealed.kek_id,
            self.id
        );
        let nonce = Nonce::try_assume_unique_for_key(&sealed.nonce)
            .map_err(|_| anyhow::anyhow!("signing key {kid} has a malformed nonce"))?;
        let mut in_out = Zeroizing::new(sealed.ciphertext.clone());
        let plain_len = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut in_out)
            .map_err(|_| anyhow::anyhow!("signing key {kid} does not open with this key-encryption key"))?
            .len();
        in_out.truncate(plain_len);
        Ok(in_out)
    }
}

/// The first 8 bytes of SHA-256 over a domain label and the key, as hex: names the KEK without
/// helping anyone guess it (it is 256 random bits).
fn kek_id(key: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(b"mercato-kek-id\0")
        .chain_update(key)
        .finalize();
    crate::digest::hex(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const KEK: &str = "bWVyY2F0by10ZXN0LWtleS1lbmNyeXB0aW9uLWtleSE=";

    fn kek(text: &str) -> KeyEncryptionKey {
        KeyEncryptionKey::from_base64(text, KekOrigin::Configured).unwrap()
    }

    #[test]
    fn a_sealed_key_opens_only_with_its_kek_and_kid() {
        let sealed = kek(KEK).seal("kid-1", b"private key bytes").unwrap();
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"private"));
        assert_eq!(
            kek(KEK).open("kid-1", &sealed).unwrap().as_slice(),
            b"private key bytes"
        );
        assert!(kek(KEK).open("kid-2", &sealed).is_err());
        let other = kek(&STANDARD.encode([7u8; 32]));
        let mut relabelled = sealed.clone();
        relabelled.kek_id = other.id().to_owned();
        assert!(other.open("kid-1", &relabelled).is_err());
        let mut altered = sealed;
        altered.ciphertext[0] ^= 1;
        assert!(kek(KEK).open("kid-1", &altered).is_err());
    }

    #[test]
    fn a_kek_must_be_base64_of_32_bytes() {
        assert!(KeyEncryptionKey::from_base64("not base64!", KekOrigin::Configured).is_err());
        let short = STANDARD.encode([1u8; 16]);
        assert!(KeyEncryptionKey::from_base64(&short, KekOrigin::Configured).is_err());
    }

    #[test]
    fn a_generated_kek_is_0600_and_loaded_again_unchanged() {
        let dir = std::env::temp_dir()
            .join("mercato-tests")
            .join(format!("kek-{}", uuid::Uuid::now_v7()));
        let path = dir.join(GENERATED_KEK_FILE);
        let first = KeyEncryptionKey::load_or_generate(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        let again = KeyEncryptionKey::load_or_generate(&path).unwrap();
        assert_eq!(first.id(), again.id());
    }
}
