//! The customers export (`export.customers`): every customer with their profile, default
//! addresses and order figures, as CSV or JSON lines, as of one moment.

use crate::service::IdentityService;
use mercato_proto::jobs::{Job, StartExportRequest};
use mercato_runtime::config::FilesSettings;
use mercato_runtime::error::{ErrorCode, ServiceError};
use mercato_runtime::files::FileStore;
use mercato_runtime::jobs::JobHandler;
use std::sync::Arc;

impl IdentityService {
    /// Identity's job handlers (`app/services.rs` registers them on its runner).
    pub fn job_handlers(
        self: &Arc<Self>,
        files: &FileStore,
        settings: &FilesSettings,
    ) -> Vec<Arc<dyn JobHandler>> {
        let _ = (files, settings);
        Vec::new()
    }

    pub(crate) async fn start_export(&self, req: StartExportRequest) -> Result<Job, ServiceError> {
        let _ = req;
        Err(ServiceError::new(
            ErrorCode::Unavailable,
            "exports are not available yet",
        ))
    }
}
