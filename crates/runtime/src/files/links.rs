//! Signed download links: HMAC-SHA256 over the store, the file's key and the link's expiry, so a
//! link names one file of one store until one moment and cannot be altered to name another.

use super::FilesSettings;
use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use std::path::Path;

/// The shortest `files.link_key` accepted.
const MIN_KEY_CHARS: usize = 32;
/// The key made when none is configured, in the data directory.
const GENERATED_KEY_FILE: &str = "file-link.key";

/// Signs and checks download links of private files.
#[derive(Clone)]
pub struct FileLinks {
    key: hmac::Key,
}

impl std::fmt::Debug for FileLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileLinks")
    }
}

impl FileLinks {
    /// From `files.link_key`, or a key kept in `<data_dir>/file-link.key` (0600, made once) when
    /// unset — which every process of a distributed deployment must then share by configuration.
    pub fn from_settings(settings: &FilesSettings, data_dir: &Path) -> anyhow::Result<FileLinks> {
        if let Some(secret) = &settings.link_key {
            return checked(secret.expose().trim(), "files.link_key");
        }
        let path = data_dir.join(GENERATED_KEY_FILE);
        if !path.exists() {
            crate::db::create_private_dir(data_dir)?;
            match crate::db::create_private_file(&path, random_hex_key().as_bytes()) {
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    "generated a download link key; in a distributed deployment configure files.link_key (the same for every process)"
                ),
                // Another process of this data directory wrote it first: use its key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        checked(text.trim(), &path.display().to_string())
    }

    pub fn with_key(key: &[u8]) -> FileLinks {
        FileLinks {
            key: hmac::Key::new(hmac::HMAC_SHA256, key),
        }
    }

    /// The signature (base64url) of a link to `key` of `store_id` valid until `expires_ms`.
    pub fn sign(&self, store_id: &str, key: &str, expires_ms: i64) -> String {
        let tag = hmac::sign(&self.key, &message(store_id, key, expires_ms));
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    }

    /// Whether `signature` is this key's for that link and `now_ms` is before `expires_ms`
    /// (compared in constant time).
    pub fn verify(&self, store_id: &str, key: &str, expires_ms: i64, signature: &str, now_ms: i64) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        let genuine = hmac::verify(&self.key, &message(store_id, key, expires_ms), &tag).is_ok();
        genuine && now_ms < expires_ms
    }
}

/// What is signed: each part length-prefixed, so no two different links share a message.
fn message(store_id: &str, key: &str, expires_ms: i64) -> Vec<u8> {
    format!(
        "mercato-file-link.v1:{}:{store_id}:{}:{key}:{expires_ms}",
        store_id.len(),
        key.len()
    )
    .into_bytes()
}

fn checked(key: &str, origin: &str) -> anyhow::Result<FileLinks> {
    if key.chars().count() < MIN_KEY_CHARS {
        anyhow::bail!("{origin}: a download link key must be at least {MIN_KEY_CHARS} characters");
    }
    Ok(FileLinks::with_key(key.as_bytes()))
}

fn random_hex_key() -> String {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the operating system's random generator works");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use std::os::unix::fs::PermissionsExt;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_signature_holds_for_its_link_only_and_until_it_expires() {
        let links = FileLinks::with_key(&[7u8; 32]);
        let sig = links.sign("s1", "exports/s1/j1.csv", NOW + 1000);
        assert!(links.verify("s1", "exports/s1/j1.csv", NOW + 1000, &sig, NOW));
        assert!(
            !links.verify("s1", "exports/s1/j1.csv", NOW + 1000, &sig, NOW + 1000),
            "expired"
        );
        assert!(
            !links.verify("s1", "exports/s1/j1.csv", NOW + 2000, &sig, NOW),
            "expiry moved"
        );
        assert!(
            !links.verify("s2", "exports/s1/j1.csv", NOW + 1000, &sig, NOW),
            "another store"
        );
        assert!(
            !links.verify("s1", "exports/s1/j2.csv", NOW + 1000, &sig, NOW),
            "another file"
        );
        assert!(!links.verify("s1", "exports/s1/j1.csv", NOW + 1000, "not base64!", NOW));
        let mut tampered = sig.clone().into_bytes();
        tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(!links.verify("s1", "exports/s1/j1.csv", NOW + 1000, &tampered, NOW));
        let other = FileLinks::with_key(&[8u8; 32]);
        assert!(
            !other.verify("s1", "exports/s1/j1.csv", NOW + 1000, &sig, NOW),
            "another key"
        );
    }

    #[test]
    fn a_configured_key_must_be_long_enough() {
        let dir = std::env::temp_dir().join(format!("mercato-links-{}", uuid::Uuid::new_v4()));
        let short = FilesSettings {
            link_key: Some(Secret::new("too short")),
            ..FilesSettings::default()
        };
        let err = FileLinks::from_settings(&short, &dir).unwrap_err();
        assert!(err.to_string().contains("files.link_key"), "{err}");
        let long = FilesSettings {
            link_key: Some(Secret::new("k".repeat(32))),
            ..FilesSettings::default()
        };
        let a = FileLinks::from_settings(&long, &dir).unwrap();
        assert!(FileLinks::with_key("k".repeat(32).as_bytes()).verify(
            "s",
            "k",
            NOW + 1,
            &a.sign("s", "k", NOW + 1),
            NOW
        ));
        assert!(!dir.exists(), "a configured key writes nothing");
    }

    #[test]
    fn without_a_key_one_is_made_once_in_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("mercato-links-{}", uuid::Uuid::new_v4()));
        let first = FileLinks::from_settings(&FilesSettings::default(), &dir).unwrap();
        let path = dir.join(GENERATED_KEY_FILE);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let second = FileLinks::from_settings(&FilesSettings::default(), &dir).unwrap();
        let sig = first.sign("s", "k", NOW + 1);
        assert!(
            second.verify("s", "k", NOW + 1, &sig, NOW),
            "the same key is read back"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
