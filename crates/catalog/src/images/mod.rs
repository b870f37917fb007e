//! Product images: the upload (checked, stored, answered at once) and the `images.derive` job
//! that makes the thumbnail, card and large sizes in WebP and JPEG.
//!
//! - `check`: an upload's type, size, real format and header dimensions, before anything is
//!   stored; `derive`: decoding within limits, orientation, scaling and encoding (no IO);
//!   `job`: the `images.derive` handler; `wire`: images as messages.
//! - The use cases below: add (the original goes to the file store, then the image row and its
//!   job commit together), change (alt text, position) and delete (the row, then its files).
//!   Every change ends with the product's version bumped and its `product_updated` event, in the
//!   same transaction (`store::images`).

mod check;
pub mod derive;
mod job;
#[cfg(test)]
pub(crate) mod testing;
mod wire;

pub use check::check_upload;
pub use job::{DeriveInput, KIND, POLICY};

use crate::domain::image::{image_key, image_prefix, parse_alt};
use crate::domain::{ImageId, ImageRecord, ImageStatus, ProductId};
use crate::service::{CatalogService, store_id};
use crate::store::ImagePatch;
use bytes::Bytes;
use mercato_proto::catalog::{
    AddProductImageRequest, DeleteProductImageRequest, DeleteProductImageResponse, ProductImage,
    UpdateProductImageRequest,
};
use mercato_runtime::error::{ServiceError, Validator};
use mercato_runtime::files::FileStore;
use mercato_runtime::ids::StoreId;
use mercato_runtime::jobs::{JobHandler, NewJob};
use mercato_runtime::time::now_ms;
use std::sync::Arc;

/// The `images.derive` job's handler.
pub(crate) fn handlers(service: &Arc<CatalogService>, files: &FileStore) -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(job::DeriveImages {
        service: service.clone(),
        files: files.clone(),
    })]
}

impl CatalogService {
    pub(crate) async fn add_product_image(
        &self,
        req: AddProductImageRequest,
    ) -> Result<ProductImage, ServiceError> {
        let store = store_id(&req.store_id)?;
        let product = product_id(&req.product_id)?;
        let files = self.file_store()?;
        let mut v = Validator::new();
        let alt = v.check(parse_alt("alt", &req.alt));
        v.finish()?;
        if self.store.product(&store, &product).await?.is_none() {
            return Err(ServiceError::not_found("product"));
        }
        let (declared, data) = (req.content_type, Bytes::from(req.data));
        let checked = {
            let data = data.clone();
            tokio::task::spawn_blocking(move || check_upload(&declared, &data))
                .await
                .map_err(ServiceError::internal)??
        };
        let id = ImageId::new();
        let store_text = store.to_string();
        let original = image_key(
            &store_text,
            &id,
            &checked.content_hash,
            &format!("original.{}", checked.kind.extension()),
        );
        files.put(&original, data).await.map_err(ServiceError::internal)?;
        let image = ImageRecord {
            id,
            product_id: product,
            position: 0,
            alt: alt.unwrap_or_default(),
            status: ImageStatus::Processing,
            content_hash: checked.content_hash.clone(),
            width: checked.width,
            height: checked.height,
            content_type: checked.kind.content_type().to_owned(),
            renditions: Vec::new(),
            job_id: String::new(),
            created_at_ms: now_ms(),
        };
        let job = derive_job(&store, &image, original, &req.requested_by);
        let added = self
            .images
            .add(&store, image, req.position, self.jobs.queue(), job)
            .await;
        let (image, product) = match added {
            Ok(added) => added,
            Err(e) => {
                // Nothing committed: the original must not outlive the refusal.
                forget_files(files, &store, &id).await;
                return Err(e.into());
            }
        };
        self.jobs.wake();
        self.after_commit(store, product.id, vec![product.slug]).await;
        Ok(image.to_proto())
    }

    pub(crate) async fn update_product_image(
        &self,
        req: UpdateProductImageRequest,
    ) -> Result<ProductImage, ServiceError> {
        let store = store_id(&req.store_id)?;
        let (product, id) = (product_id(&req.product_id)?, image_id(&req.image_id)?);
        let mut v = Validator::new();
        let alt = req.alt.as_deref().and_then(|a| v.check(parse_alt("alt", a)));
        v.finish()?;
        let patch = ImagePatch {
            alt,
            position: req.position,
        };
        let (image, product) = self.images.update(&store, &product, &id, patch).await?;
        self.after_commit(store, product.id, vec![product.slug]).await;
        Ok(image.to_proto())
    }

    pub(crate) async fn delete_product_image(
        &self,
        req: DeleteProductImageRequest,
    ) -> Result<DeleteProductImageResponse, ServiceError> {
        let store = store_id(&req.store_id)?;
        let (product, id) = (product_id(&req.product_id)?, image_id(&req.image_id)?);
        let (_, product) = self.images.delete(&store, &product, &id).await?;
        self.after_commit(store, product.id, vec![product.slug]).await;
        if let Ok(files) = self.file_store() {
            forget_files(files, &store, &id).await;
        }
        Ok(DeleteProductImageResponse {})
    }

    /// Deletes the files of a deleted product's images (its rows went with it).
    pub(crate) async fn forget_image_files(&self, store: &StoreId, images: &[ImageRecord]) {
        if let Ok(files) = self.file_store() {
            for image in images {
                forget_files(files, store, &image.id).await;
            }
        }
    }

    fn file_store(&self) -> Result<&FileStore, ServiceError> {
        self.files
            .get()
            .ok_or_else(|| ServiceError::unavailable("product images are not available: no file store"))
    }
}

/// The job making `image`'s sizes; one per image (its id is the dedupe key).
fn derive_job(store: &StoreId, image: &ImageRecord, original: String, requested_by: &str) -> NewJob {
    let input = DeriveInput {
        product_id: image.product_id,
        image_id: image.id,
        content_hash: image.content_hash.clone(),
        original,
    };
    NewJob {
        kind: KIND,
        store_id: store.to_string(),
        input: serde_json::to_value(&input).unwrap_or_default(),
        requested_by: if requested_by.is_empty() {
            "system".to_owned()
        } else {
            requested_by.to_owned()
        },
        dedupe_key: Some(image.id.to_string()),
        max_attempts: POLICY.max_attempts,
    }
}

/// Deletes every file of an image; a failure leaves orphans (logged), never an error.
async fn forget_files(files: &FileStore, store: &StoreId, id: &ImageId) {
    let prefix = image_prefix(&store.to_string(), id);
    if let Err(e) = files.delete_prefix(&prefix).await {
        tracing::warn!(prefix, error = %e, "could not delete an image's files");
    }
}

fn product_id(s: &str) -> Result<ProductId, ServiceError> {
    s.trim().parse().map_err(|_| ServiceError::not_found("product"))
}

fn image_id(s: &str) -> Result<ImageId, ServiceError> {
    s.trim().parse().map_err(|_| ServiceError::not_found("image"))
}
