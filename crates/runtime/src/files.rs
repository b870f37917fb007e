//! Files the services make and serve (exports, product images), kept in an object store through
//! the `object_store` crate: a directory when embedded (`<data_dir>/files`), any S3-compatible
//! bucket by configuration when distributed (`files.url`). Every service and the gateway of a
//! deployment use the same store, so a file a job wrote in one process is served by another.
//!
//! Keys are relative paths (`exports/<store>/<job>.csv`, `images/<store>/<image>/<hash>/card.webp`);
//! a key is never a URL. Downloads of private files go through [`FileLinks`]: a link signed with
//! HMAC-SHA256 over the store, key and expiry, which the gateway checks before it streams.

use bytes::Bytes;
use futures::stream::BoxStream;
use std::path::Path;

/// Where files live and how links are signed (`[files]` in settings).
pub use crate::config::FilesSettings;

/// A file as read back: its length and its bytes as a stream.
pub struct FileRead {
    pub size: u64,
    pub stream: BoxStream<'static, std::io::Result<Bytes>>,
}

/// The deployment's file store. Cheap to clone.
#[derive(Clone)]
pub struct FileStore {
    /// What it is, for logs: "directory /var/lib/mercato/files" or "s3://bucket/prefix".
    describe: String,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl FileStore {
    /// From settings: `files.url` (`s3://bucket/prefix` with the usual `AWS_*` variables, or
    /// `file:///dir`), or `<data_dir>/files` when unset.
    pub fn from_settings(settings: &FilesSettings, data_dir: &Path) -> anyhow::Result<FileStore> {
        Ok(FileStore {
            describe: match &settings.url {
                Some(url) => url.clone(),
                None => format!("directory {}", data_dir.join("files").display()),
            },
        })
    }

    /// A store in a directory (tests).
    pub fn in_directory(dir: &Path) -> anyhow::Result<FileStore> {
        let _ = dir;
        unimplemented!("files: in_directory")
    }

    /// Writes `bytes` under `key`, replacing what was there (so a retried job rewrites its file).
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        let _ = (key, bytes);
        unimplemented!("files: put")
    }

    /// Uploads a local file under `key` in parts (memory stays flat whatever its size); returns
    /// its length.
    pub async fn put_file(&self, key: &str, local: &Path) -> anyhow::Result<u64> {
        let _ = (key, local);
        unimplemented!("files: put_file")
    }

    /// The file under `key`, or `None`.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<FileRead>> {
        let _ = key;
        unimplemented!("files: get")
    }

    /// Deletes `key`; deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let _ = key;
        unimplemented!("files: delete")
    }

    /// Deletes every key under `prefix` (a directory-like `images/<store>/<image>/`).
    pub async fn delete_prefix(&self, prefix: &str) -> anyhow::Result<u64> {
        let _ = prefix;
        unimplemented!("files: delete_prefix")
    }
}

/// What the gateway needs to serve files: the store, the link signer and how long links last.
#[derive(Clone, Debug)]
pub struct FileAccess {
    pub store: FileStore,
    pub links: FileLinks,
    pub link_ttl: std::time::Duration,
}

/// Signs and checks download links of private files.
#[derive(Clone)]
pub struct FileLinks {
    key: Vec<u8>,
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
        let _ = (settings, data_dir);
        Ok(FileLinks { key: Vec::new() })
    }

    pub fn with_key(key: &[u8]) -> FileLinks {
        FileLinks { key: key.to_vec() }
    }

    /// The signature (base64url) of a link to `key` of `store_id` valid until `expires_ms`.
    pub fn sign(&self, store_id: &str, key: &str, expires_ms: i64) -> String {
        let _ = (&self.key, store_id, key, expires_ms);
        unimplemented!("files: sign")
    }

    /// Whether `signature` is this key's for that link and `now_ms` is before `expires_ms`
    /// (compared in constant time).
    pub fn verify(&self, store_id: &str, key: &str, expires_ms: i64, signature: &str, now_ms: i64) -> bool {
        let _ = (store_id, key, expires_ms, signature, now_ms);
        unimplemented!("files: verify")
    }
}
