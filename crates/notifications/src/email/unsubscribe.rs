//! Unsubscribe links: a token that names a store and an address, signed with HMAC-SHA256 under
//! the link key (`notifications.link_key`, or a random key kept in `<data_dir>` when unset), so
//! that following it needs no sign-in and cannot be altered to name another address. Also the
//! links mail carries (pages under `public_url`).

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mercato_runtime::config::NotificationsSettings;
use mercato_runtime::db::{DbError, Tx};
use ring::hmac;
use std::path::Path;

/// The shortest `notifications.link_key` accepted.
const MIN_KEY_CHARS: usize = 32;
/// The key made when none is configured, in the data directory.
const GENERATED_KEY_FILE: &str = "unsubscribe-link.key";

/// Signs and checks unsubscribe tokens.
#[derive(Clone)]
pub(crate) struct LinkKey {
    key: hmac::Key,
}

impl LinkKey {
    /// From `link_key`, or the key in `<data_dir>/unsubscribe-link.key` (0600, made once).
    pub(crate) fn from_settings(
        settings: &NotificationsSettings,
        data_dir: &Path,
    ) -> anyhow::Result<LinkKey> {
        if let Some(secret) = &settings.link_key {
            return checked(secret.expose().trim(), "notifications.link_key");
        }
        let path = data_dir.join(GENERATED_KEY_FILE);
        if !path.exists() {
            mercato_runtime::db::create_private_dir(data_dir)?;
            match mercato_runtime::db::create_private_file(&path, random_hex_key()?.as_bytes()) {
                Ok(()) => tracing::warn!(
                    path = %path.display(),
                    "generated an unsubscribe link key; in a distributed deployment configure notifications.link_key (the same for every process)"
                ),
                // Another process of this data directory wrote it first: use its key.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        checked(text.trim(), &path.display().to_string())
    }

    /// The token of `email` (lower-cased) in `store_id`.
    pub(crate) fn token(&self, store_id: &str, email: &str) -> String {
        let email = email.to_lowercase();
        let tag = hmac::sign(&self.key, &message(store_id, &email));
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(format!("{store_id}:{email}")),
            URL_SAFE_NO_PAD.encode(tag.as_ref())
        )
    }

    /// The store and address a genuine token names; `None` for anything else.
    pub(crate) fn verify(&self, token: &str) -> Option<(String, String)> {
        let (body, sig) = token.trim().split_once('.')?;
        let body = String::from_utf8(URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(sig).ok()?;
        let (store_id, email) = body.split_once(':')?;
        hmac::verify(&self.key, &message(store_id, email), &tag).ok()?;
        Some((store_id.to_owned(), email.to_owned()))
    }
}

/// What is signed: length-prefixed, so no two (store, address) pairs share a message.
fn message(store_id: &str, email: &str) -> Vec<u8> {
    format!("mercato-unsubscribe.v1:{}:{store_id}:{email}", store_id.len()).into_bytes()
}

fn checked(key: &str, origin: &str) -> anyhow::Result<LinkKey> {
    if key.chars().count() < MIN_KEY_CHARS {
        anyhow::bail!("{origin}: an unsubscribe link key must be at least {MIN_KEY_CHARS} characters");
    }
    Ok(LinkKey {
        key: hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes()),
    })
}

fn random_hex_key() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("the operating system's random generator failed"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Records that `email` wants no non-transactional mail from `store_id` (idempotent).
pub(crate) fn opt_out(tx: &mut Tx<'_>, store_id: &str, email: &str, now: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO email_opt_outs (store_id, email, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (store_id, email) DO NOTHING",
        &[&store_id, &email.to_lowercase(), &now],
    )?;
    Ok(())
}

/// Takes an opt-out back.
pub(crate) fn opt_in(tx: &mut Tx<'_>, store_id: &str, email: &str) -> Result<(), DbError> {
    tx.execute(
        "DELETE FROM email_opt_outs WHERE store_id = $1 AND email = $2",
        &[&store_id, &email.to_lowercase()],
    )?;
    Ok(())
}

/// Whether `email` opted out of the store's non-transactional mail.
pub(crate) fn opted_out(tx: &mut Tx<'_>, store_id: &str, email: &str) -> Result<bool, DbError> {
    let row: Option<(i64,)> = tx.query_opt(
        "SELECT created_at FROM email_opt_outs WHERE store_id = $1 AND email = $2",
        &[&store_id, &email.to_lowercase()],
    )?;
    Ok(row.is_some())
}

/// Where links in mail point: `public_url`, or `http://localhost:<http port>`.
#[derive(Clone, Debug)]
pub(crate) struct Links {
    base: String,
}

impl Links {
    pub(crate) fn new(settings: &NotificationsSettings, http_port: u16) -> Links {
        let base = match &settings.public_url {
            Some(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
            _ => format!("http://localhost:{http_port}"),
        };
        Links { base }
    }

    pub(crate) fn storefront(&self, slug: &str) -> String {
        format!("{}/s/{slug}/", self.base)
    }

    pub(crate) fn order(&self, slug: &str, order_id: &str) -> String {
        format!("{}/s/{slug}/orders/{order_id}", self.base)
    }

    pub(crate) fn account(&self, slug: &str) -> String {
        format!("{}/s/{slug}/account", self.base)
    }

    /// The page that confirms an unsubscribe; RFC 8058 one-click POSTs go to it too.
    pub(crate) fn unsubscribe(&self, slug: &str, token: &str) -> String {
        format!("{}/s/{slug}/unsubscribe?token={token}", self.base)
    }

    /// The RFC 8058 one-click target of `List-Unsubscribe`: the API, which takes the token from
    /// the query and needs no cookie (the page above is for people).
    pub(crate) fn one_click(&self, token: &str) -> String {
        format!("{}/v1/unsubscribe?token={token}", self.base)
    }

    pub(crate) fn admin(&self, slug: &str, path: &str) -> String {
        format!("{}/admin/{slug}/{path}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_store_and_address_only() {
        let key = checked(&"k".repeat(32), "test").unwrap();
        let token = key.token("s1", "Ada@Example.com");
        assert_eq!(key.verify(&token), Some(("s1".into(), "ada@example.com".into())));
        let other = key.token("s2", "ada@example.com");
        let (body, _) = other.split_once('.').unwrap();
        let (_, sig) = token.split_once('.').unwrap();
        assert_eq!(
            key.verify(&format!("{body}.{sig}")),
            None,
            "signature moved to another store"
        );
        assert_eq!(key.verify("garbage"), None);
        let another_key = checked(&"j".repeat(32), "test").unwrap();
        assert_eq!(another_key.verify(&token), None);
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(checked("short", "notifications.link_key").is_err());
    }
}
