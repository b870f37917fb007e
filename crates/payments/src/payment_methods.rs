//! Tokenizing cards: the number is checked, handed to the provider once for its token, and
//! recorded as a payment method of the store (brand, last four, keyed fingerprint, token);
//! authorizations then name the payment method, and the number is never seen again.

use crate::domain::{Brand, PaymentMethodId};
use crate::intents::provider_down;
use crate::requests;
use crate::service::{PaymentsService, store_id};
use crate::store::PaymentMethodRecord;
use mercato_proto::payments as pb;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use mercato_runtime::time::now_ms;

impl PaymentsService {
    /// `CreatePaymentMethod`.
    pub(crate) async fn create_payment_method(
        &self,
        req: pb::CreatePaymentMethodRequest,
    ) -> Result<pb::PaymentMethod, ServiceError> {
        let store = store_id(&req.store_id)?;
        let new = requests::payment_method(&req)?;
        let provider_token = self.provider.tokenize(&new.card).await.map_err(provider_down)?;
        let method = PaymentMethodRecord {
            id: PaymentMethodId::new(),
            store_id: store,
            brand: Brand::of(&new.card).as_str().to_owned(),
            last4: new.card.last4().to_owned(),
            fingerprint: self.fingerprint_key.fingerprint(&new.card),
            billing_country: new.billing_country,
            provider_token,
            created_at: now_ms(),
        };
        self.store.insert_payment_method(&method).await?;
        Ok(method.to_proto())
    }

    /// The store's payment method `id`, or 422 on `field`: an id of another store is unknown
    /// here, exactly as one that never existed.
    pub(crate) async fn payment_method(
        &self,
        store: &StoreId,
        id: &PaymentMethodId,
        field: &str,
    ) -> Result<PaymentMethodRecord, ServiceError> {
        self.store
            .payment_method(store, id)
            .await?
            .ok_or_else(|| ServiceError::invalid_field(field, "names no payment method of this store"))
    }
}
