//! Legacy imports into the identity service (ADR 0016): records upserted by legacy key, and the
//! checksums and records of a key range, built from what is stored, for reconciliation.

use crate::service::IdentityService;
use mercato_proto::imports::*;
use mercato_runtime::error::ServiceError;

impl IdentityService {
    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_customers(&self, request: ImportCustomersRequest) -> Result<ImportReply, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_checksums(&self, request: ChecksumsRequest) -> Result<ChecksumsReply, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn imported_records(&self, request: RecordsRequest) -> Result<CustomerRecords, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn get_import_progress(&self, request: ImportProgressRequest) -> Result<ImportProgress, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }
}
