//! The `Orders` gRPC contract, each method a thin call into its use case.

use crate::service::OrdersService;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use tonic::{Request, Response, Status};

#[tonic::async_trait]
impl Orders for OrdersService {
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
}
