//! The Ed25519 key access tokens are signed with: generated once, kept in the database so
//! every replica signs with the same key, and published as a JWKS.

use crate::store::{IdentityStore, PublicKeyRecord, SigningKeyRecord};
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
    /// Loads the newest key, generating the first one when there is none. Replicas that start
    /// together each try to insert generation 1; one wins and all of them load it.
    pub async fn load_or_create(store: &dyn IdentityStore) -> anyhow::Result<Signer> {
        if let Some(key) = store.newest_signing_key().await? {
            return Signer::from_record(&key);
        }
        let inserted = store
            .insert_signing_key(&generate(1, mercato_runtime::time::now_ms())?)
            .await?;
        if inserted {
            tracing::info!("generated the first access-token signing key");
        }
        let key = store
            .newest_signing_key()
            .await?
            .ok_or_else(|| anyhow::anyhow!("signing key vanished after insert"))?;
        Signer::from_record(&key)
    }

    /// Checks a stored key before trusting it: its private half must parse and match the
    /// published public half, or tokens would fail verification everywhere.
    fn from_record(record: &SigningKeyRecord) -> anyhow::Result<Signer> {
        let key = SigningKey::from_pkcs8_der(&record.private_pkcs8)
            .map_err(|e| anyhow::anyhow!("signing key {} unreadable: {e}", record.kid))?;
        anyhow::ensure!(
            public_x(&key) == record.public_x,
            "signing key {} does not match its public key",
            record.kid
        );
        Ok(Signer {
            kid: record.kid.clone(),
            key: EncodingKey::from_ed_der(&record.private_pkcs8),
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

/// A new key of the given generation; its id is the RFC 7638 thumbprint of its public JWK.
pub fn generate(generation: i64, now_ms: i64) -> anyhow::Result<SigningKeyRecord> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding signing key: {e}"))?;
    let x = public_x(&key);
    Ok(SigningKeyRecord {
        kid: thumbprint(&x),
        generation,
        private_pkcs8: der.as_bytes().to_vec(),
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

    #[test]
    fn a_generated_key_loads_and_its_public_half_is_32_bytes() {
        let record = generate(1, 0).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(&record.public_x).unwrap().len(), 32);
        let signer = Signer::from_record(&record).unwrap();
        assert_eq!(signer.kid(), record.kid);
    }

    #[test]
    fn a_key_whose_halves_do_not_match_is_refused() {
        let mut record = generate(1, 0).unwrap();
        record.public_x = generate(2, 0).unwrap().public_x;
        assert!(Signer::from_record(&record).is_err());
    }
}
