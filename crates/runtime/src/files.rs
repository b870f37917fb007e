//! Files the services make and serve (exports, product images), kept in an object store through
//! the `object_store` crate: a directory when embedded (`<data_dir>/files`), any S3-compatible
//! bucket by configuration when distributed (`files.url`). Every service and the gateway of a
//! deployment use the same store, so a file a job wrote in one process is served by another.
//!
//! Keys are relative paths (`exports/<store>/<job>.csv`, `images/<store>/<image>/<hash>/card.webp`);
//! a key is never a URL. Downloads of private files go through [`FileLinks`]: a link signed with
//! HMAC-SHA256 over the store, key and expiry, which the gateway checks before it streams.

mod links;
mod location;

pub use links::FileLinks;

use anyhow::Context;
use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Where files live and how links are signed (`[files]` in settings).
pub use crate::config::FilesSettings;

/// Parts of a streamed upload: S3's smallest part is 5 MiB; two in flight at most keep an upload's
/// memory at a few parts whatever the file's size.
const PART_BYTES: usize = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

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
    inner: Arc<dyn ObjectStore>,
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
        match &settings.url {
            None => FileStore::in_directory(&data_dir.join("files")),
            Some(url) => {
                let (describe, inner) = location::open(url)?;
                Ok(FileStore { describe, inner })
            }
        }
    }

    /// A store in a directory (created 0700 if missing).
    pub fn in_directory(dir: &Path) -> anyhow::Result<FileStore> {
        let (describe, inner) = location::directory(dir)?;
        Ok(FileStore { describe, inner })
    }

    /// What it is, for logs and errors.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Writes `bytes` under `key`, replacing what was there (so a retried job rewrites its file).
    pub async fn put(&self, key: &str, bytes: Bytes) -> anyhow::Result<()> {
        let path = object_path(key)?;
        self.inner
            .put(&path, bytes.into())
            .await
            .with_context(|| format!("writing {key} to {}", self.describe))?;
        Ok(())
    }

    /// Uploads a local file under `key` in parts (memory stays flat whatever its size); returns
    /// its length.
    pub async fn put_file(&self, key: &str, local: &Path) -> anyhow::Result<u64> {
        let path = object_path(key)?;
        let upload = self
            .inner
            .put_multipart(&path)
            .await
            .with_context(|| format!("starting the upload of {key} to {}", self.describe))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        match copy_parts(local, &mut writer).await {
            Ok(length) => {
                writer
                    .finish()
                    .await
                    .with_context(|| format!("finishing the upload of {key} to {}", self.describe))?;
                Ok(length)
            }
            Err(e) => {
                // Leaves no half-written parts behind (an S3 multipart upload is billed until aborted).
                let _ = writer.abort().await;
                Err(e.context(format!("uploading {} as {key}", local.display())))
            }
        }
    }

    /// The file under `key`, or `None`.
    pub async fn get(&self, key: &str) -> anyhow::Result<Option<FileRead>> {
        let path = object_path(key)?;
        match self.inner.get(&path).await {
            Ok(found) => Ok(Some(FileRead {
                size: found.meta.size,
                stream: found.into_stream().map_err(std::io::Error::other).boxed(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("reading {key} from {}", self.describe))),
        }
    }

    /// Deletes `key`; deleting what is not there is not an error.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let path = object_path(key)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("deleting {key} from {}", self.describe))),
        }
    }

    /// Deletes every key under `prefix` (a directory-like `images/<store>/<image>/`); returns how
    /// many it deleted.
    pub async fn delete_prefix(&self, prefix: &str) -> anyhow::Result<u64> {
        let path = object_path(prefix.trim_end_matches('/'))?;
        let locations = self.inner.list(Some(&path)).map_ok(|meta| meta.location).boxed();
        let mut results = self.inner.delete_stream(locations);
        let mut deleted = 0;
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => deleted += 1,
                // Deleted by another process since it was listed.
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("deleting {prefix} from {}", self.describe))
                    );
                }
            }
        }
        Ok(deleted)
    }
}

/// Reads `local` in parts into `writer`, waiting while too many parts are in flight.
async fn copy_parts(local: &Path, writer: &mut WriteMultipart) -> anyhow::Result<u64> {
    let mut file = tokio::fs::File::open(local)
        .await
        .with_context(|| format!("opening {}", local.display()))?;
    let mut buffer = vec![0u8; 256 * 1024];
    let mut length = 0u64;
    loop {
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok(length);
        }
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.write(&buffer[..read]);
        length += read as u64;
    }
}

/// A key as the object store's path; an empty key, or one with `.`/`..` or empty segments, is an
/// error rather than a path that could leave the store's root.
fn object_path(key: &str) -> anyhow::Result<ObjectPath> {
    if key.is_empty() || key.starts_with('/') || key.contains("//") {
        anyhow::bail!("{key:?} is not a file key");
    }
    ObjectPath::parse(key).with_context(|| format!("{key:?} is not a file key"))
}

/// What the gateway needs to serve files: the store, the link signer and how long links last.
#[derive(Clone, Debug)]
pub struct FileAccess {
    pub store: FileStore,
    pub links: FileLinks,
    pub link_ttl: std::time::Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("mercato-files-{}", uuid::Uuid::new_v4()))
    }

    async fn read_all(store: &FileStore, key: &str) -> Option<Vec<u8>> {
        let read = store.get(key).await.unwrap()?;
        let chunks: Vec<Bytes> = read.stream.try_collect().await.unwrap();
        let bytes = chunks.concat();
        assert_eq!(bytes.len() as u64, read.size);
        Some(bytes)
    }

    #[tokio::test]
    async fn put_replaces_get_reads_and_delete_tolerates_missing() {
        let dir = scratch();
        let store = FileStore::in_directory(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        store
            .put("exports/s1/j1.csv", Bytes::from_static(b"first"))
            .await
            .unwrap();
        store
            .put("exports/s1/j1.csv", Bytes::from_static(b"second"))
            .await
            .unwrap();
        assert_eq!(read_all(&store, "exports/s1/j1.csv").await.unwrap(), b"second");
        store.delete("exports/s1/j1.csv").await.unwrap();
        assert!(store.get("exports/s1/j1.csv").await.unwrap().is_none());
        store.delete("exports/s1/j1.csv").await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn put_file_uploads_a_file_larger_than_a_part() {
        let dir = scratch();
        let store = FileStore::in_directory(&dir.join("store")).unwrap();
        let local = dir.join("local.bin");
        let content: Vec<u8> = (0..(PART_BYTES * 2 + 12_345)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&local, &content).unwrap();
        let length = store.put_file("exports/s1/big.bin", &local).await.unwrap();
        assert_eq!(length, content.len() as u64);
        assert!(read_all(&store, "exports/s1/big.bin").await.unwrap() == content);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn delete_prefix_deletes_only_under_it() {
        let dir = scratch();
        let store = FileStore::in_directory(&dir).unwrap();
        for key in [
            "images/s1/i1/h/a.webp",
            "images/s1/i1/h/b.jpg",
            "images/s1/i2/h/a.webp",
        ] {
            store.put(key, Bytes::from_static(b"x")).await.unwrap();
        }
        assert_eq!(store.delete_prefix("images/s1/i1/").await.unwrap(), 2);
        assert!(store.get("images/s1/i1/h/a.webp").await.unwrap().is_none());
        assert!(store.get("images/s1/i2/h/a.webp").await.unwrap().is_some());
        assert_eq!(store.delete_prefix("images/s9/").await.unwrap(), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[tokio::test]
    async fn keys_that_could_leave_the_root_are_refused() {
        let dir = scratch();
        let store = FileStore::in_directory(&dir).unwrap();
        for key in ["", "/etc/passwd", "a/../../b", "a//b", "./a"] {
            assert!(store.put(key, Bytes::from_static(b"x")).await.is_err(), "{key}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Against a real S3-compatible server when `MERCATO_TEST_S3_URL` names a bucket on it
    /// (`s3://bucket/prefix`, with `AWS_ENDPOINT_URL`, credentials and `AWS_ALLOW_HTTP` set);
    /// passes without running otherwise.
    #[cfg(feature = "s3")]
    #[tokio::test]
    async fn an_s3_compatible_server_stores_reads_and_deletes() {
        let Some(url) = crate::env::test_url(crate::env::TEST_S3_URL) else {
            return;
        };
        let settings = FilesSettings {
            url: Some(url),
            ..FilesSettings::default()
        };
        let store = FileStore::from_settings(&settings, &scratch()).unwrap();
        store
            .put("exports/s1/a.csv", Bytes::from_static(b"one"))
            .await
            .unwrap();
        assert_eq!(read_all(&store, "exports/s1/a.csv").await.unwrap(), b"one");
        let dir = scratch();
        std::fs::create_dir_all(&dir).unwrap();
        let local = dir.join("big.bin");
        let content: Vec<u8> = (0..(PART_BYTES + 4321)).map(|i| (i % 253) as u8).collect();
        std::fs::write(&local, &content).unwrap();
        assert_eq!(
            store.put_file("exports/s1/big.bin", &local).await.unwrap(),
            content.len() as u64
        );
        assert!(read_all(&store, "exports/s1/big.bin").await.unwrap() == content);
        assert_eq!(store.delete_prefix("exports/s1/").await.unwrap(), 2);
        assert!(store.get("exports/s1/a.csv").await.unwrap().is_none());
        store.delete("exports/s1/a.csv").await.unwrap();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn settings_choose_the_directory() {
        let dir = scratch();
        let store = FileStore::from_settings(&FilesSettings::default(), &dir).unwrap();
        assert!(store.describe().ends_with("/files"), "{}", store.describe());
        let url = format!("file://{}", dir.join("other").display());
        let settings = FilesSettings {
            url: Some(url),
            ..FilesSettings::default()
        };
        let store = FileStore::from_settings(&settings, &dir).unwrap();
        assert!(store.describe().ends_with("/other"), "{}", store.describe());
        assert!(dir.join("other").is_dir());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
