//! Opens the object store `files.url` names: `file:///dir` (a private directory) or
//! `s3://bucket/prefix` (any S3-compatible store, configured by the usual `AWS_*` variables).

use anyhow::Context;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use std::path::Path;
use std::sync::Arc;

/// What the store is (for logs) and the store.
pub(super) type Opened = (String, Arc<dyn ObjectStore>);

pub(super) fn open(url: &str) -> anyhow::Result<Opened> {
    if let Some(dir) = url.strip_prefix("file://") {
        if !dir.starts_with('/') {
            anyhow::bail!(
                "files.url {url:?}: a file URL needs an absolute path (file:///var/lib/mercato/files)"
            );
        }
        return directory(Path::new(dir));
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        return s3(url, rest);
    }
    anyhow::bail!("files.url {url:?}: expected s3://bucket/prefix or file:///dir")
}

/// A directory, created 0700 when missing; emptied directories are removed as files go.
pub(super) fn directory(dir: &Path) -> anyhow::Result<Opened> {
    crate::db::create_private_dir(dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = LocalFileSystem::new_with_prefix(dir)
        .with_context(|| format!("opening {}", dir.display()))?
        .with_automatic_cleanup(true);
    Ok((format!("directory {}", dir.display()), Arc::new(store)))
}

/// A bucket and an optional prefix under which every key lives. Credentials, region, endpoint
/// (`AWS_ENDPOINT_URL`/`AWS_ENDPOINT` for MinIO, Ceph and the like) and `AWS_ALLOW_HTTP` come from
/// the environment through `AmazonS3Builder::from_env`.
#[cfg(feature = "s3")]
fn s3(url: &str, rest: &str) -> anyhow::Result<Opened> {
    use object_store::aws::AmazonS3Builder;
    use object_store::prefix::PrefixStore;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        anyhow::bail!("files.url {url:?}: no bucket (s3://bucket/prefix)");
    }
    let bucket_store = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .build()
        .with_context(|| format!("files.url {url:?}"))?;
    let prefix = prefix.trim_matches('/');
    let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
        Arc::new(bucket_store)
    } else {
        Arc::new(PrefixStore::new(bucket_store, prefix))
    };
    Ok((url.to_string(), store))
}

#[cfg(not(feature = "s3"))]
fn s3(url: &str, _rest: &str) -> anyhow::Result<Opened> {
    anyhow::bail!(
        "files.url {url:?}: this mercato was built without S3 support; build it with `--features s3` \
         (deploy/README.md), or use a shared directory (file:///dir)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_relative_urls_are_refused_clearly() {
        let err = open("ftp://host/dir").err().unwrap().to_string();
        assert!(
            err.contains("expected s3://bucket/prefix or file:///dir"),
            "{err}"
        );
        let err = open("file://relative/dir").err().unwrap().to_string();
        assert!(err.contains("absolute path"), "{err}");
    }
}
