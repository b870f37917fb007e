//! The lower-case names the public APIs (REST bodies, WebSocket pushes) give the contracts'
//! enum values: one table per enum, matched exhaustively, so adding a value fails to compile
//! until it has a name. `UNSPECIFIED` values (only a newer contract than this build could
//! send one) are named `unknown`, never taken for some other value.

use crate::{common, inventory, jobs, notifications, orders, payments};

/// `owner`, `staff`, `customer` or `anonymous`.
pub fn role(role: common::Role) -> &'static str {
    match role {
        common::Role::Owner => "owner",
        common::Role::Staff => "staff",
        common::Role::Customer => "customer",
        common::Role::Anonymous => "anonymous",
    }
}

/// A role carried as its number; a number this build does not know is `unknown`.
pub fn role_value(value: i32) -> &'static str {
    common::Role::try_from(value).map_or("unknown", role)
}

/// `queued`, `running`, `succeeded`, `dead` or `cancelled`.
pub fn job_status(status: jobs::JobStatus) -> &'static str {
    match status {
        jobs::JobStatus::Queued => "queued",
        jobs::JobStatus::Running => "running",
        jobs::JobStatus::Succeeded => "succeeded",
        jobs::JobStatus::Dead => "dead",
        jobs::JobStatus::Cancelled => "cancelled",
        jobs::JobStatus::Unspecified => "unknown",
    }
}

pub fn cart_status(status: orders::CartStatus) -> &'static str {
    match status {
        orders::CartStatus::Open => "open",
        orders::CartStatus::CheckedOut => "checked_out",
        orders::CartStatus::Merged => "merged",
        orders::CartStatus::Unspecified => "unknown",
    }
}

pub fn order_status(status: orders::OrderStatus) -> &'static str {
    match status {
        orders::OrderStatus::Pending => "pending",
        orders::OrderStatus::Confirmed => "confirmed",
        orders::OrderStatus::Failed => "failed",
        orders::OrderStatus::Cancelled => "cancelled",
        orders::OrderStatus::Refunded => "refunded",
        orders::OrderStatus::PartiallyRefunded => "partially_refunded",
        orders::OrderStatus::Unspecified => "unknown",
    }
}

pub fn fulfilment_status(status: orders::FulfilmentStatus) -> &'static str {
    match status {
        orders::FulfilmentStatus::Unfulfilled => "unfulfilled",
        orders::FulfilmentStatus::PartiallyFulfilled => "partially_fulfilled",
        orders::FulfilmentStatus::Fulfilled => "fulfilled",
        orders::FulfilmentStatus::Shipped => "shipped",
        orders::FulfilmentStatus::Delivered => "delivered",
        orders::FulfilmentStatus::Unspecified => "unknown",
    }
}

pub fn shipment_status(status: orders::ShipmentStatus) -> &'static str {
    match status {
        orders::ShipmentStatus::Pending => "pending",
        orders::ShipmentStatus::Shipped => "shipped",
        orders::ShipmentStatus::Delivered => "delivered",
        orders::ShipmentStatus::Unspecified => "unknown",
    }
}

pub fn return_status(status: orders::ReturnStatus) -> &'static str {
    match status {
        orders::ReturnStatus::Requested => "requested",
        orders::ReturnStatus::Approved => "approved",
        orders::ReturnStatus::Rejected => "rejected",
        orders::ReturnStatus::Received => "received",
        orders::ReturnStatus::Completed => "completed",
        orders::ReturnStatus::Unspecified => "unknown",
    }
}

/// Why a checkout failed; `None` when it did not.
pub fn failure_code(code: orders::FailureCode) -> Option<&'static str> {
    Some(match code {
        orders::FailureCode::None => return None,
        orders::FailureCode::OutOfStock => "out_of_stock",
        orders::FailureCode::PaymentDeclined => "payment_declined",
        orders::FailureCode::FraudBlocked => "fraud_blocked",
        orders::FailureCode::PaymentInvalid => "payment_invalid",
        orders::FailureCode::PaymentFailed => "payment_failed",
        orders::FailureCode::StockCommitFailed => "stock_commit_failed",
        orders::FailureCode::PaymentCaptureFailed => "payment_capture_failed",
    })
}

pub fn reservation_status(status: inventory::ReservationStatus) -> &'static str {
    match status {
        inventory::ReservationStatus::Held => "held",
        inventory::ReservationStatus::Committed => "committed",
        inventory::ReservationStatus::Released => "released",
        inventory::ReservationStatus::Expired => "expired",
        inventory::ReservationStatus::Restocked => "restocked",
        inventory::ReservationStatus::Unspecified => "unknown",
    }
}

/// The kind of an order's history entry.
pub fn order_event_kind(data: &orders::order_event::Data) -> &'static str {
    use orders::order_event::Data;
    match data {
        Data::Placed(_) => "placed",
        Data::StockReserved(_) => "stock_reserved",
        Data::StockUnavailable(_) => "stock_unavailable",
        Data::PaymentAuthorized(_) => "payment_authorized",
        Data::PaymentDeclined(_) => "payment_declined",
        Data::StockCommitted(_) => "stock_committed",
        Data::StockCommitFailed(_) => "stock_commit_failed",
        Data::PaymentCaptured(_) => "payment_captured",
        Data::PaymentCaptureFailed(_) => "payment_capture_failed",
        Data::StockReleased(_) => "stock_released",
        Data::PaymentVoided(_) => "payment_voided",
        Data::StockRestocked(_) => "stock_restocked",
        Data::PaymentRefunded(_) => "payment_refunded",
        Data::Confirmed(_) => "confirmed",
        Data::Failed(_) => "failed",
        Data::CancelRequested(_) => "cancel_requested",
        Data::Cancelled(_) => "cancelled",
        Data::RefundRequested(_) => "refund_requested",
        Data::Refunded(_) => "refunded",
        Data::FulfilmentCreated(_) => "fulfilment_created",
        Data::FulfilmentShipped(_) => "fulfilment_shipped",
        Data::FulfilmentDelivered(_) => "fulfilment_delivered",
        Data::ReturnRequested(_) => "return_requested",
        Data::ReturnApproved(_) => "return_approved",
        Data::ReturnRejected(_) => "return_rejected",
        Data::ReturnReceived(_) => "return_received",
        Data::ReturnCompleted(_) => "return_completed",
        Data::Imported(_) => "imported",
    }
}

pub fn intent_status(status: payments::IntentStatus) -> &'static str {
    match status {
        payments::IntentStatus::Pending => "pending",
        payments::IntentStatus::Authorized => "authorized",
        payments::IntentStatus::Declined => "declined",
        payments::IntentStatus::Failed => "failed",
        payments::IntentStatus::Captured => "captured",
        payments::IntentStatus::PartiallyRefunded => "partially_refunded",
        payments::IntentStatus::Refunded => "refunded",
        payments::IntentStatus::Voided => "voided",
        payments::IntentStatus::Unspecified => "unknown",
    }
}

/// Why an authorization was declined or failed; `None` when it was not.
pub fn payment_failure(failure: payments::PaymentFailure) -> Option<&'static str> {
    Some(match failure {
        payments::PaymentFailure::None => return None,
        payments::PaymentFailure::CardDeclined => "card_declined",
        payments::PaymentFailure::InsufficientFunds => "insufficient_funds",
        payments::PaymentFailure::FraudBlocked => "fraud_blocked",
        payments::PaymentFailure::ProviderUnavailable => "provider_unavailable",
    })
}

pub fn fraud_decision(decision: payments::FraudDecision) -> &'static str {
    match decision {
        payments::FraudDecision::Allow => "allow",
        payments::FraudDecision::Flag => "flag",
        payments::FraudDecision::Block => "block",
        payments::FraudDecision::Unspecified => "unknown",
    }
}

/// `enabled`, `disabled` or `failing` (disabled because its deliveries kept failing).
pub fn endpoint_status(status: notifications::EndpointStatus) -> &'static str {
    match status {
        notifications::EndpointStatus::Enabled => "enabled",
        notifications::EndpointStatus::Disabled => "disabled",
        notifications::EndpointStatus::Failing => "failing",
        notifications::EndpointStatus::Unspecified => "unknown",
    }
}

/// `pending`, `succeeded`, `dead` or `cancelled`.
pub fn delivery_status(status: notifications::DeliveryStatus) -> &'static str {
    match status {
        notifications::DeliveryStatus::Pending => "pending",
        notifications::DeliveryStatus::Succeeded => "succeeded",
        notifications::DeliveryStatus::Dead => "dead",
        notifications::DeliveryStatus::Cancelled => "cancelled",
        notifications::DeliveryStatus::Unspecified => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_the_contract_name_without_its_prefix_in_lower_case() {
        for value in 0..=3 {
            let r = common::Role::try_from(value).unwrap();
            assert_eq!(
                r.as_str_name().strip_prefix("ROLE_").unwrap().to_lowercase(),
                role(r)
            );
        }
        for value in 1..=6 {
            let s = orders::OrderStatus::try_from(value).unwrap();
            let contract = s.as_str_name().strip_prefix("ORDER_STATUS_").unwrap();
            assert_eq!(contract.to_lowercase(), order_status(s));
        }
        for value in 1..=7 {
            let c = orders::FailureCode::try_from(value).unwrap();
            let contract = c.as_str_name().strip_prefix("FAILURE_CODE_").unwrap();
            assert_eq!(Some(contract.to_lowercase().as_str()), failure_code(c));
        }
        for value in 1..=8 {
            let s = payments::IntentStatus::try_from(value).unwrap();
            let contract = s.as_str_name().strip_prefix("INTENT_STATUS_").unwrap();
            assert_eq!(contract.to_lowercase(), intent_status(s));
        }
        assert_eq!(role_value(42), "unknown");
    }
}
