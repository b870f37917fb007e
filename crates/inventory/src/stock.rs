//! Stock use cases: set, adjust and read the stock of a SKU.

use crate::domain::StockWrite;
use crate::requests;
use crate::service::InventoryService;
use crate::store::StoreError;
use mercato_proto::inventory as pb;
use mercato_runtime::error::ServiceError;
use mercato_runtime::time::now_ms;

/// Attempts at a stock write before giving up on a row that keeps changing.
const ATTEMPTS: usize = 3;

impl InventoryService {
    pub(crate) async fn set_stock(&self, req: pb::SetStockRequest) -> Result<pb::StockLevel, ServiceError> {
        let write = requests::set_stock(&req)?;
        self.write_stock(write).await
    }

    pub(crate) async fn adjust_stock(
        &self,
        req: pb::AdjustStockRequest,
    ) -> Result<pb::StockLevel, ServiceError> {
        let write = requests::adjust_stock(&req)?;
        let level = self.write_stock(write).await?;
        tracing::info!(sku = %req.sku, location = %level.location, delta = req.delta, reason = %req.reason,
            "stock adjusted");
        Ok(level)
    }

    async fn write_stock(&self, w: StockWrite) -> Result<pb::StockLevel, ServiceError> {
        for _ in 0..ATTEMPTS {
            match self
                .store
                .write_stock(
                    &w.store,
                    &w.sku,
                    &w.location,
                    w.change,
                    w.idempotency_key.as_deref(),
                    now_ms(),
                )
                .await
            {
                Ok(level) => {
                    self.committed();
                    return Ok(level.to_proto());
                }
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Stale.into())
    }

    pub(crate) async fn get_stock(&self, req: pb::GetStockRequest) -> Result<pb::StockLevels, ServiceError> {
        let (store, sku) = requests::get_stock(&req)?;
        let levels = self.store.stock(&store, &sku).await?;
        if levels.is_empty() {
            return Err(ServiceError::not_found(&format!("stock of SKU {sku}")));
        }
        Ok(pb::StockLevels {
            sku: sku.as_str().to_owned(),
            available_total: levels.iter().map(|l| l.available()).sum(),
            locations: levels.iter().map(|l| l.to_proto()).collect(),
        })
    }
}
