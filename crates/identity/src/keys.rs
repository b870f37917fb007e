//! The Ed25519 keys access tokens are signed with: generated sealed under the key-encryption
//! key (crate::kek), kept in the database so every replica signs with the same key, and
//! published as a JWKS. Which key signs and which are published is [`crate::keyring`]'s rule.

use crate::kek::KeyEncryptionKey;
use crate::store::{PublicKeyRecord, SigningKeyRecord};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mercato_proto::identity::Jwk;
use mercato_runtime::auth::Claims;
use mercato_runtime::error::ServiceError;
use sha2::{Digest, Sha256};

/// Signs access tokens with one key, naming it in the `kid` header.
pub struct Signer {
    kid: String,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Opens a stored key with the KEK and checks it before trusting it: its private half must
    /// match the published public half, or tokens would fail verification everywhere.
    pub fn open(record: &SigningKeyRecord, kek: &KeyEncryptionKey) -> anyhow::Result<Signer> {
        let der = kek.open(&record.kid, &record.sealed)?;
        let key = SigningKey::from_pkcs8_der(&der)
            .map_err(|e| anyhow::anyhow!("signing key {} unreadable: {e}", record.kid))?;
        anyhow::ensure!(
            public_x(&key) == record.public_x,
            "signing key {} does not match its public key",
            record.kid
        );
        Ok(Signer {
            kid: record.kid.clone(),
            key: EncodingKey::from_ed_der(&der),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A compact JWT: `EdDSA`, with this key's id.
    pub fn sign(&self, claims: &Claims) -> Result<String, ServiceError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(ServiceError::internal)
    }
}

/// A new key of the given generation, sealed under `kek`; its id is the RFC 7638 thumbprint of
/// its public JWK. The private key exists in clear only in this process's memory.
pub fn generate(generation: i64, now_ms: i64, kek: &KeyEncryptionKey) -> anyhow::Result<SigningKeyRecord> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding signing key: {e}"))?;
    let x = public_x(&key);
    let kid = thumbprint(&x);
    Ok(SigningKeyRecord {
        sealed: kek.seal(&kid, der.as_bytes())?,
        kid,
        generation,
        public_x: x,
        created_at: now_ms,
    })
}

fn public_x(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())
}

/// RFC 7638: SHA-256 over the required members in lexicographic order, without spaces.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The JWK form of a public key.
pub fn jwk(key: &PublicKeyRecord) -> Jwk {
    Jwk {
        kty: "OKP".to_owned(),
        crv: "Ed25519".to_owned(),
        x: key.public_x.clone(),
        kid: key.kid.clone(),
        alg: "EdDSA".to_owned(),
        r#use: "sig".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kek::KekOrigin;

    fn kek() -> KeyEncryptionKey {
        KeyEncryptionKey::from_base64(
            "bWVyY2F0by10ZXN0LWtleS1lbmNyeXB0aW9uLWtleSE=",
            KekOrigin::Configured,
        )
        .unwrap()
    }

    #[test]
    fn a_generated_key_opens_and_its_public_half_is_32_bytes() {
        let record = generate(1, 0, &kek()).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&record.public_x).unwrap().len(), 32);
        let signer = Signer::open(&record, &kek()).unwrap();
        assert_eq!(signer.kid(), record.kid);
    }

    #[test]
    fn a_key_whose_halves_do_not_match_is_refused() {
        let mut record = generate(1, 0, &kek()).unwrap();
        record.public_x = generate(2, 0, &kek()).unwrap().public_x;
        assert!(Signer::open(&record, &kek()).is_err());
    }

    #[test]
    fn a_sealed_key_holds_no_pkcs8_in_clear() {
        let record = generate(1, 0, &kek()).unwrap();
        // Every Ed25519 PKCS#8 v1 DER starts with these bytes (SEQUENCE, version 0, OID 1.3.101.112).
        let header = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
        ];
        assert!(
            !record
                .sealed
                .ciphertext
                .windows(header.len())
                .any(|w| w == header)
        );
    }
}
