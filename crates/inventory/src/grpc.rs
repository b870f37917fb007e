//! The `Inventory` gRPC contract, each method a thin call into its use case.

use crate::service::InventoryService;
use mercato_proto::inventory::inventory_server::Inventory;
use mercato_proto::inventory::*;
use tonic::{Request, Response, Status};

#[tonic::async_trait]
impl Inventory for InventoryService {
    async fn import_stock(
        &self,
        r: Request<mercato_proto::imports::ImportStockRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Ok(Response::new(self.import_stock(r.into_inner()).await?))
    }

    async fn import_checksums(
        &self,
        r: Request<mercato_proto::imports::ChecksumsRequest>,
    ) -> Result<Response<mercato_proto::imports::ChecksumsReply>, Status> {
        Ok(Response::new(self.import_checksums(r.into_inner()).await?))
    }

    async fn imported_records(
        &self,
        r: Request<mercato_proto::imports::RecordsRequest>,
    ) -> Result<Response<mercato_proto::imports::StockRecords>, Status> {
        Ok(Response::new(self.imported_records(r.into_inner()).await?))
    }

    async fn get_import_progress(
        &self,
        r: Request<mercato_proto::imports::ImportProgressRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportProgress>, Status> {
        Ok(Response::new(self.get_import_progress(r.into_inner()).await?))
    }

    async fn set_stock(&self, r: Request<SetStockRequest>) -> Result<Response<StockLevel>, Status> {
        Ok(Response::new(self.set_stock(r.into_inner()).await?))
    }

    async fn adjust_stock(&self, r: Request<AdjustStockRequest>) -> Result<Response<StockLevel>, Status> {
        Ok(Response::new(self.adjust_stock(r.into_inner()).await?))
    }

    async fn get_stock(&self, r: Request<GetStockRequest>) -> Result<Response<StockLevels>, Status> {
        Ok(Response::new(self.get_stock(r.into_inner()).await?))
    }

    async fn reserve(&self, r: Request<ReserveRequest>) -> Result<Response<ReserveResponse>, Status> {
        Ok(Response::new(self.reserve(r.into_inner()).await?))
    }

    async fn commit(&self, r: Request<CommitRequest>) -> Result<Response<Reservation>, Status> {
        Ok(Response::new(self.commit(r.into_inner()).await?))
    }

    async fn release(&self, r: Request<ReleaseRequest>) -> Result<Response<Reservation>, Status> {
        Ok(Response::new(self.release(r.into_inner()).await?))
    }

    async fn restock(&self, r: Request<RestockRequest>) -> Result<Response<Reservation>, Status> {
        Ok(Response::new(self.restock(r.into_inner()).await?))
    }
}
