//! The products export (`export.products`): every product with its variants and their stock,
//! as CSV or JSON lines, as of one moment.

use crate::service::CatalogService;
use mercato_proto::jobs::{Job, StartExportRequest};
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::config::FilesSettings;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::files::FileStore;
use mercato_runtime::jobs::JobHandler;
use std::sync::Arc;

/// The `export.products` job's handler; none until exports land.
pub(crate) fn handlers(
    service: &Arc<CatalogService>,
    files: &FileStore,
    settings: &FilesSettings,
    inventory: &InventoryClient,
) -> Vec<Arc<dyn JobHandler>> {
    let _ = (service, files, settings, inventory);
    Vec::new()
}

impl CatalogService {
    pub(crate) async fn start_export(&self, req: StartExportRequest) -> Result<Job, ServiceError> {
        let _ = req;
        Err(ServiceError::new(
            ErrorCode::Unavailable,
            "exports are not available yet",
        ))
    }
}
