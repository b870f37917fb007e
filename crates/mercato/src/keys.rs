//! `mercato keys rotate|list`: the access-token signing keys, administered on identity's
//! database directly — the embedded data directory's `identity.db`, or identity's PostgreSQL
//! database when `postgres.url` is configured — with the same key-encryption key the service
//! uses. A running identity signs with a new key at its next key maintenance (within a minute).

use crate::infra::Infra;
use clap::Subcommand;
use mercato_identity::kek::KeyEncryptionKey;
use mercato_identity::keyring::{self, KeyState};
use mercato_identity::store::IdentityStore;
use mercato_identity::store::migrations::MIGRATIONS;
use mercato_identity::store::sql::SqlIdentityStore;
use mercato_runtime::config::Settings;
use mercato_runtime::time::{now_ms, to_rfc3339 as rfc3339};

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysCommand {
    /// Create a new signing key now; new tokens are signed with it, the previous key stays
    /// published until every token it signed has expired.
    Rotate,
    /// List the stored signing keys, newest first, with their state.
    List,
}

/// Runs a keys command and returns what it prints.
pub async fn run(settings: &Settings, command: KeysCommand) -> anyhow::Result<String> {
    let db = Infra::database(settings, "identity").await?;
    db.migrate("identity", MIGRATIONS).await?;
    let store = SqlIdentityStore::new(db);
    let kek = KeyEncryptionKey::from_settings(&settings.auth, &settings.data_dir)?;
    keyring::seal_legacy_keys(&store, &kek).await?;
    match command {
        KeysCommand::Rotate => {
            let key = keyring::rotate(&store, &kek, now_ms()).await?;
            Ok(format!(
                "rotated: generation {} kid {}\n",
                key.generation, key.kid
            ))
        }
        KeysCommand::List => list(&store, settings).await,
    }
}

async fn list(store: &SqlIdentityStore, settings: &Settings) -> anyhow::Result<String> {
    let keys = store.public_keys().await?;
    let states = keyring::key_states(&keys, now_ms(), keyring::overlap(&settings.auth));
    let mut out = String::new();
    for (key, state) in keys.iter().zip(states) {
        let state = match state {
            KeyState::Active => "active".to_owned(),
            KeyState::Retiring { until_ms } => format!("published until {}", rfc3339(until_ms)),
            KeyState::Expired => "expired".to_owned(),
        };
        out.push_str(&format!(
            "{}\t{}\tcreated {}\t{}\n",
            key.generation,
            key.kid,
            rfc3339(key.created_at),
            state
        ));
    }
    Ok(out)
}
