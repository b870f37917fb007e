//! Endpoint secrets: `whsec_` + base64 of 32 random bytes, shown once, stored sealed under the
//! KEK with `<endpoint id>:<generation>` as the key id (so a sealed secret cannot be moved to
//! another endpoint or generation). Sealed form: `<kek id>.<nonce>.<ciphertext>` (base64).

use super::signature::{SECRET_PREFIX, Signer};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mercato_runtime::kek::{KeyEncryptionKey, SealedKey};
use rand::RngCore;

/// A new random secret.
pub(crate) fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The last four characters, to tell secrets apart.
pub(crate) fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    chars[chars.len().saturating_sub(4)..].iter().collect()
}

fn kid(endpoint_id: &str, generation: i64) -> String {
    format!("{endpoint_id}:{generation}")
}

/// `secret` sealed for the endpoint's generation, as stored.
pub(crate) fn seal(
    kek: &KeyEncryptionKey,
    endpoint_id: &str,
    generation: i64,
    secret: &str,
) -> anyhow::Result<String> {
    let sealed = kek.seal(&kid(endpoint_id, generation), secret.as_bytes())?;
    Ok(format!(
        "{}.{}.{}",
        sealed.kek_id,
        STANDARD.encode(&sealed.nonce),
        STANDARD.encode(&sealed.ciphertext)
    ))
}

/// Opens a stored secret into its signer.
pub(crate) fn open(
    kek: &KeyEncryptionKey,
    endpoint_id: &str,
    generation: i64,
    stored: &str,
) -> anyhow::Result<Signer> {
    let mut parts = stored.splitn(3, '.');
    let (Some(kek_id), Some(nonce), Some(ciphertext)) = (parts.next(), parts.next(), parts.next()) else {
        anyhow::bail!("the secret of webhook endpoint {endpoint_id} is not stored sealed");
    };
    let sealed = SealedKey {
        kek_id: kek_id.to_owned(),
        nonce: STANDARD.decode(nonce)?,
        ciphertext: STANDARD.decode(ciphertext)?,
    };
    let plain = kek.open(&kid(endpoint_id, generation), &sealed)?;
    let secret = std::str::from_utf8(&plain)?;
    Ok(Signer::new(secret)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_for_its_endpoint_and_generation() {
        let kek = KeyEncryptionKey::from_base64(
            &STANDARD.encode([7u8; 32]),
            mercato_runtime::kek::KekOrigin::Configured,
        )
        .unwrap();
        let secret = generate();
        assert!(secret.starts_with("whsec_") && secret.len() == 6 + 44);
        let stored = seal(&kek, "e1", 1, &secret).unwrap();
        assert!(!stored.contains(&secret[6..]));
        let signer = open(&kek, "e1", 1, &stored).unwrap();
        assert_eq!(
            signer.sign("m", 1, b"x"),
            Signer::new(&secret).unwrap().sign("m", 1, b"x")
        );
        assert!(open(&kek, "e2", 1, &stored).is_err());
        assert!(open(&kek, "e1", 2, &stored).is_err());
        assert_eq!(hint("whsec_abcdefgh"), "efgh");
    }
}
