//! The `images.derive` job: reads the original from the file store, makes its sizes off the
//! async runtime, writes them under keys named by the image and its content hash (so a retry
//! rewrites the same files), then marks the image ready — or failed, when the original does not
//! decode — with the product's event in the same transaction.

use super::derive::{Derivatives, derive};
use crate::domain::image::image_key;
use crate::domain::{ImageId, ProductId, Rendition};
use crate::service::CatalogService;
use crate::store::Derived;
use bytes::Bytes;
use futures::TryStreamExt;
use mercato_runtime::files::FileStore;
use mercato_runtime::ids::StoreId;
use mercato_runtime::jobs::{JobContext, JobError, JobHandler, JobOutput, KindPolicy};
use std::sync::Arc;
use std::time::Duration;

pub const KIND: &str = "images.derive";

/// Deriving is CPU-bound: two at once per process, and one per store across all replicas, so
/// that one store's bulk upload leaves the other slot to another store's image at once.
pub const POLICY: KindPolicy = KindPolicy {
    kind: KIND,
    max_attempts: 5,
    concurrency: 2,
    per_store: 1,
    backoff_base: Duration::from_secs(2),
    backoff_max: Duration::from_secs(120),
    lease: Duration::from_secs(60),
};

/// What the job is asked: which image, of which product, with which content.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DeriveInput {
    pub product_id: ProductId,
    pub image_id: ImageId,
    pub content_hash: String,
    /// The original's key in the file store.
    pub original: String,
}

pub struct DeriveImages {
    pub(super) service: Arc<CatalogService>,
    pub(super) files: FileStore,
}

#[async_trait::async_trait]
impl JobHandler for DeriveImages {
    fn policy(&self) -> KindPolicy {
        POLICY
    }

    async fn run(&self, job: &JobContext) -> Result<JobOutput, JobError> {
        let input: DeriveInput = serde_json::from_value(job.input.clone())
            .map_err(|e| JobError::Permanent(format!("bad input: {e}")))?;
        let store: StoreId = job
            .store_id
            .parse()
            .map_err(|_| JobError::Permanent("bad store id".to_owned()))?;
        let images = &self.service.images;
        let current = images
            .image(&store, &input.product_id, &input.image_id)
            .await
            .map_err(|e| JobError::Retryable(e.to_string()))?;
        if current.is_none_or(|i| i.content_hash != input.content_hash) {
            return Ok(skipped("the image was deleted before its sizes were made"));
        }
        let Some(original) = self.read(&input.original).await? else {
            self.finish(&store, &input, Derived::Failed).await?;
            return Err(JobError::Permanent(
                "the original is missing from the file store".into(),
            ));
        };
        job.progress(0, 7).await?;
        let made = match tokio::task::spawn_blocking(move || derive(&original)).await {
            Ok(Ok(made)) => made,
            Ok(Err(undecodable)) => {
                self.finish(&store, &input, Derived::Failed).await?;
                return Err(JobError::Permanent(undecodable.to_string()));
            }
            Err(panicked) => return Err(JobError::Retryable(format!("deriving panicked: {panicked}"))),
        };
        let (width, height) = (made.width, made.height);
        let renditions = self.write(job, &store, &input, made).await?;
        let count = renditions.len() as i64;
        let derived = Derived::Ready {
            width,
            height,
            renditions,
        };
        self.finish(&store, &input, derived).await?;
        job.progress(7, 7).await?;
        Ok(JobOutput {
            summary: format!("made {count} sizes of image {}", input.image_id),
            items: count,
            file: None,
        })
    }
}

impl DeriveImages {
    /// The whole original, or `None` when it is not there.
    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, JobError> {
        let Some(file) = self.files.get(key).await? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(usize::try_from(file.size).unwrap_or(0));
        let mut stream = file.stream;
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(|e| JobError::Retryable(format!("reading the original: {e}")))?
        {
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }

    /// Writes every size; a retry writes the same keys again.
    async fn write(
        &self,
        job: &JobContext,
        store: &StoreId,
        input: &DeriveInput,
        made: Derivatives,
    ) -> Result<Vec<Rendition>, JobError> {
        let mut renditions = Vec::with_capacity(made.files.len());
        let total = made.files.len() as i64 + 1;
        for (done, file) in made.files.into_iter().enumerate() {
            let name = format!("{}.{}", file.size, file.extension);
            let key = image_key(&store.to_string(), &input.image_id, &input.content_hash, &name);
            let bytes = file.bytes.len() as u64;
            self.files.put(&key, Bytes::from(file.bytes)).await?;
            job.progress(done as i64 + 1, total).await?;
            renditions.push(Rendition {
                size: file.size.to_owned(),
                format: file.format.to_owned(),
                width: file.width,
                height: file.height,
                bytes,
                key,
            });
        }
        Ok(renditions)
    }

    /// Records the outcome and, when it changed the product, drops the caches of it.
    async fn finish(&self, store: &StoreId, input: &DeriveInput, derived: Derived) -> Result<(), JobError> {
        let changed = self
            .service
            .images
            .finish(
                store,
                &input.product_id,
                &input.image_id,
                &input.content_hash,
                derived,
            )
            .await
            .map_err(|e| JobError::Retryable(e.to_string()))?;
        match changed {
            Some(product) => {
                self.service
                    .after_commit(*store, product.id, vec![product.slug])
                    .await;
            }
            // Deleted while its sizes were being made: the delete removed the files it knew of,
            // not those written since, which would otherwise stay servable for good.
            None => {
                let prefix = crate::domain::image::image_prefix(&store.to_string(), &input.image_id);
                self.files.delete_prefix(&prefix).await.map_err(|e| {
                    JobError::Retryable(format!("deleting the sizes of a deleted image: {e}"))
                })?;
            }
        }
        Ok(())
    }
}

fn skipped(why: &str) -> JobOutput {
    JobOutput {
        summary: why.to_owned(),
        items: 0,
        file: None,
    }
}
