//! The `Orders` gRPC contract, each method a thin call into its use case.

use crate::service::OrdersService;
use mercato_proto::jobs::{Job, JobRequest, ListJobsRequest, ListJobsResponse, StartExportRequest};
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use tonic::{Request, Response, Status};

#[tonic::async_trait]
impl Orders for OrdersService {
    async fn import_orders(
        &self,
        r: Request<mercato_proto::imports::ImportOrdersRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Ok(Response::new(self.import_orders(r.into_inner()).await?))
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
    ) -> Result<Response<mercato_proto::imports::OrderRecords>, Status> {
        Ok(Response::new(self.imported_records(r.into_inner()).await?))
    }

    async fn get_import_progress(
        &self,
        r: Request<mercato_proto::imports::ImportProgressRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportProgress>, Status> {
        Ok(Response::new(self.get_import_progress(r.into_inner()).await?))
    }

    async fn create_cart(&self, r: Request<CreateCartRequest>) -> Result<Response<Cart>, Status> {
        Ok(Response::new(self.create_cart(r.into_inner()).await?))
    }

    async fn get_cart(&self, r: Request<GetCartRequest>) -> Result<Response<Cart>, Status> {
        Ok(Response::new(self.get_cart(r.into_inner()).await?))
    }

    async fn add_cart_item(&self, r: Request<AddCartItemRequest>) -> Result<Response<Cart>, Status> {
        Ok(Response::new(self.add_cart_item(r.into_inner()).await?))
    }

    async fn set_cart_item(&self, r: Request<SetCartItemRequest>) -> Result<Response<Cart>, Status> {
        Ok(Response::new(self.set_cart_item(r.into_inner()).await?))
    }

    async fn merge_cart(&self, r: Request<MergeCartRequest>) -> Result<Response<Cart>, Status> {
        Ok(Response::new(self.merge_cart(r.into_inner()).await?))
    }

    async fn create_payment_method(
        &self,
        r: Request<mercato_proto::payments::CreatePaymentMethodRequest>,
    ) -> Result<Response<mercato_proto::payments::PaymentMethod>, Status> {
        Ok(Response::new(self.create_payment_method(r.into_inner()).await?))
    }

    async fn checkout(&self, r: Request<CheckoutRequest>) -> Result<Response<CheckoutResponse>, Status> {
        Ok(Response::new(self.checkout(r.into_inner()).await?))
    }

    async fn get_order(&self, r: Request<GetOrderRequest>) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.get_order(r.into_inner()).await?))
    }

    async fn list_orders(
        &self,
        r: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        Ok(Response::new(self.list_orders(r.into_inner()).await?))
    }

    async fn get_order_events(
        &self,
        r: Request<GetOrderEventsRequest>,
    ) -> Result<Response<OrderEvents>, Status> {
        Ok(Response::new(self.get_order_events(r.into_inner()).await?))
    }

    async fn list_order_histories(
        &self,
        r: Request<ListOrderHistoriesRequest>,
    ) -> Result<Response<ListOrderHistoriesResponse>, Status> {
        Ok(Response::new(self.list_order_histories(r.into_inner()).await?))
    }

    async fn cancel_order(&self, r: Request<CancelOrderRequest>) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.cancel_order(r.into_inner()).await?))
    }

    async fn refund_order(&self, r: Request<RefundOrderRequest>) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.refund_order(r.into_inner()).await?))
    }

    async fn create_fulfilment(
        &self,
        r: Request<CreateFulfilmentRequest>,
    ) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.create_fulfilment(r.into_inner()).await?))
    }

    async fn update_fulfilment(
        &self,
        r: Request<UpdateFulfilmentRequest>,
    ) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.update_fulfilment(r.into_inner()).await?))
    }

    async fn request_return(&self, r: Request<RequestReturnRequest>) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.request_return(r.into_inner()).await?))
    }

    async fn decide_return(&self, r: Request<DecideReturnRequest>) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.decide_return(r.into_inner()).await?))
    }

    async fn receive_return(&self, r: Request<ReceiveReturnRequest>) -> Result<Response<Order>, Status> {
        Ok(Response::new(self.receive_return(r.into_inner()).await?))
    }

    async fn get_pricing_config(
        &self,
        r: Request<PricingRequest>,
    ) -> Result<Response<PricingConfig>, Status> {
        Ok(Response::new(self.get_pricing_config(r.into_inner()).await?))
    }

    async fn put_shipping_zone(
        &self,
        r: Request<PutShippingZoneRequest>,
    ) -> Result<Response<ShippingZone>, Status> {
        Ok(Response::new(self.put_shipping_zone(r.into_inner()).await?))
    }

    async fn delete_shipping_zone(
        &self,
        r: Request<DeletePricingItemRequest>,
    ) -> Result<Response<Deleted>, Status> {
        Ok(Response::new(self.delete_shipping_zone(r.into_inner()).await?))
    }

    async fn put_shipping_method(
        &self,
        r: Request<PutShippingMethodRequest>,
    ) -> Result<Response<ShippingMethod>, Status> {
        Ok(Response::new(self.put_shipping_method(r.into_inner()).await?))
    }

    async fn delete_shipping_method(
        &self,
        r: Request<DeletePricingItemRequest>,
    ) -> Result<Response<Deleted>, Status> {
        Ok(Response::new(self.delete_shipping_method(r.into_inner()).await?))
    }

    async fn put_tax_rate(&self, r: Request<PutTaxRateRequest>) -> Result<Response<TaxRate>, Status> {
        Ok(Response::new(self.put_tax_rate(r.into_inner()).await?))
    }

    async fn delete_tax_rate(&self, r: Request<DeleteTaxRateRequest>) -> Result<Response<Deleted>, Status> {
        Ok(Response::new(self.delete_tax_rate(r.into_inner()).await?))
    }

    async fn put_tax_settings(
        &self,
        r: Request<PutTaxSettingsRequest>,
    ) -> Result<Response<TaxSettings>, Status> {
        Ok(Response::new(self.put_tax_settings(r.into_inner()).await?))
    }

    async fn create_promotion(
        &self,
        r: Request<CreatePromotionRequest>,
    ) -> Result<Response<Promotion>, Status> {
        Ok(Response::new(self.create_promotion(r.into_inner()).await?))
    }

    async fn list_promotions(
        &self,
        r: Request<PricingRequest>,
    ) -> Result<Response<ListPromotionsResponse>, Status> {
        Ok(Response::new(self.list_promotions(r.into_inner()).await?))
    }

    async fn delete_promotion(
        &self,
        r: Request<DeletePricingItemRequest>,
    ) -> Result<Response<Deleted>, Status> {
        Ok(Response::new(self.delete_promotion(r.into_inner()).await?))
    }

    async fn set_cart_addresses(
        &self,
        r: Request<SetCartAddressesRequest>,
    ) -> Result<Response<Cart>, Status> {
        Ok(Response::new(self.set_cart_addresses(r.into_inner()).await?))
    }

    async fn list_shipping_options(
        &self,
        r: Request<GetCartRequest>,
    ) -> Result<Response<ShippingOptions>, Status> {
        Ok(Response::new(self.list_shipping_options(r.into_inner()).await?))
    }

    async fn set_cart_shipping_method(
        &self,
        r: Request<SetCartShippingMethodRequest>,
    ) -> Result<Response<Cart>, Status> {
        Ok(Response::new(
            self.set_cart_shipping_method(r.into_inner()).await?,
        ))
    }

    async fn set_cart_promotion_code(
        &self,
        r: Request<SetCartPromotionCodeRequest>,
    ) -> Result<Response<Cart>, Status> {
        Ok(Response::new(self.set_cart_promotion_code(r.into_inner()).await?))
    }

    async fn start_export(&self, r: Request<StartExportRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.start_export(r.into_inner()).await?))
    }

    async fn list_jobs(&self, r: Request<ListJobsRequest>) -> Result<Response<ListJobsResponse>, Status> {
        Ok(Response::new(self.jobs.list(r.into_inner()).await?))
    }

    async fn get_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.jobs.get(r.into_inner()).await?))
    }

    async fn cancel_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.jobs.cancel(r.into_inner()).await?))
    }

    async fn retry_job(&self, r: Request<JobRequest>) -> Result<Response<Job>, Status> {
        Ok(Response::new(self.jobs.retry(r.into_inner()).await?))
    }
}
