//! Product images: the upload (checked, stored, answered at once) and the `images.derive` job
//! that makes the thumbnail, card and large sizes in WebP and JPEG.

use crate::service::CatalogService;
use mercato_proto::catalog::{
    AddProductImageRequest, DeleteProductImageRequest, DeleteProductImageResponse, ProductImage,
    UpdateProductImageRequest,
};
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::files::FileStore;
use mercato_runtime::jobs::JobHandler;
use std::sync::Arc;

/// The `images.derive` job's handler; none until images land.
pub(crate) fn handlers(service: &Arc<CatalogService>, files: &FileStore) -> Vec<Arc<dyn JobHandler>> {
    let _ = (service, files);
    Vec::new()
}

impl CatalogService {
    pub(crate) async fn add_product_image(
        &self,
        req: AddProductImageRequest,
    ) -> Result<ProductImage, ServiceError> {
        let _ = req;
        Err(ServiceError::new(
            ErrorCode::Unavailable,
            "product images are not available yet",
        ))
    }

    pub(crate) async fn update_product_image(
        &self,
        req: UpdateProductImageRequest,
    ) -> Result<ProductImage, ServiceError> {
        let _ = req;
        Err(ServiceError::new(
            ErrorCode::Unavailable,
            "product images are not available yet",
        ))
    }

    pub(crate) async fn delete_product_image(
        &self,
        req: DeleteProductImageRequest,
    ) -> Result<DeleteProductImageResponse, ServiceError> {
        let _ = req;
        Err(ServiceError::new(
            ErrorCode::Unavailable,
            "product images are not available yet",
        ))
    }
}
