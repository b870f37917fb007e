//! The `Payments` gRPC contract, each method a thin call into its use case.

use crate::service::PaymentsService;
use mercato_proto::payments::payments_server::Payments;
use mercato_proto::payments::*;
use tonic::{Request, Response, Status};

#[tonic::async_trait]
impl Payments for PaymentsService {
    async fn authorize(&self, r: Request<AuthorizeRequest>) -> Result<Response<PaymentIntent>, Status> {
        Ok(Response::new(self.authorize(r.into_inner()).await?))
    }

    async fn capture(&self, r: Request<CaptureRequest>) -> Result<Response<PaymentIntent>, Status> {
        Ok(Response::new(self.capture(r.into_inner()).await?))
    }

    async fn void(&self, r: Request<VoidRequest>) -> Result<Response<PaymentIntent>, Status> {
        Ok(Response::new(self.void(r.into_inner()).await?))
    }

    async fn refund(&self, r: Request<RefundRequest>) -> Result<Response<PaymentIntent>, Status> {
        Ok(Response::new(self.refund(r.into_inner()).await?))
    }

    async fn get_intent(&self, r: Request<GetIntentRequest>) -> Result<Response<PaymentIntent>, Status> {
        Ok(Response::new(self.get_intent(r.into_inner()).await?))
    }

    async fn create_payment_method(
        &self,
        r: Request<CreatePaymentMethodRequest>,
    ) -> Result<Response<PaymentMethod>, Status> {
        Ok(Response::new(self.create_payment_method(r.into_inner()).await?))
    }

    async fn score_fraud(&self, r: Request<FraudRequest>) -> Result<Response<FraudAssessment>, Status> {
        Ok(Response::new(self.score_fraud(r.into_inner()).await?))
    }
}
