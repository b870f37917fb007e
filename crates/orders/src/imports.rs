//! Legacy imports into the orders service (ADR 0016): records upserted by legacy key, and the
//! checksums and records of a key range, built from what is stored, for reconciliation.

use crate::service::OrdersService;
use mercato_proto::imports::*;
use mercato_runtime::error::ServiceError;

impl OrdersService {
    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_orders(&self, request: ImportOrdersRequest) -> Result<ImportReply, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn import_checksums(&self, request: ChecksumsRequest) -> Result<ChecksumsReply, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn imported_records(&self, request: RecordsRequest) -> Result<OrderRecords, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }

    /// See `proto/mercato/imports.proto`.
    pub(crate) async fn get_import_progress(&self, request: ImportProgressRequest) -> Result<ImportProgress, ServiceError> {
        let _ = (self, request);
        Err(ServiceError::unavailable("legacy imports are not built yet"))
    }
}
