//! The `Analytics` gRPC contract, each method a thin call into its use case. Who may ask is
//! the gateway's decision (owners and staff of the store; `Verify` owners only over REST).

use crate::service::AnalyticsService;
use mercato_proto::analytics::analytics_server::Analytics;
use mercato_proto::analytics::*;
use tonic::{Request, Response, Status};

#[tonic::async_trait]
impl Analytics for AnalyticsService {
    async fn get_summary(&self, r: Request<SummaryRequest>) -> Result<Response<Summary>, Status> {
        Ok(Response::new(self.summary(r.into_inner()).await?))
    }

    async fn get_timeseries(&self, r: Request<TimeseriesRequest>) -> Result<Response<Timeseries>, Status> {
        Ok(Response::new(self.timeseries(r.into_inner()).await?))
    }

    async fn get_top_products(
        &self,
        r: Request<TopProductsRequest>,
    ) -> Result<Response<TopProducts>, Status> {
        Ok(Response::new(self.top_products(r.into_inner()).await?))
    }

    async fn get_funnel(&self, r: Request<FunnelRequest>) -> Result<Response<Funnel>, Status> {
        Ok(Response::new(self.funnel(r.into_inner()).await?))
    }

    async fn list_low_stock(&self, r: Request<LowStockRequest>) -> Result<Response<LowStock>, Status> {
        Ok(Response::new(self.list_low_stock(r.into_inner()).await?))
    }

    async fn get_backfill_status(
        &self,
        _r: Request<BackfillStatusRequest>,
    ) -> Result<Response<BackfillStatus>, Status> {
        Ok(Response::new(self.backfill_status().await?))
    }

    async fn verify(&self, r: Request<VerifyRequest>) -> Result<Response<VerifyReport>, Status> {
        Ok(Response::new(self.verify(r.into_inner()).await?))
    }
}
