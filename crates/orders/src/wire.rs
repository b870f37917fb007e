//! The orders contract at the edge: the domain's carts, orders and events as `orders.proto`
//! messages, and the caller a request names as the domain's [`Caller`]. The domain knows no
//! wire format; every conversion is here.

use crate::domain::order::{OrderLine, RefundLine};
use crate::domain::{
    Caller, Cart, CartRefusal, CartStatus, EventData, FailureCode, Order, OrderEvent, OrderStatus, Role,
};
use mercato_proto::common::Role as ProtoRole;
use mercato_proto::orders as pb;
use mercato_proto::orders::order_event::Data;
use mercato_runtime::error::{ErrorCode, ServiceError};

/// The caller a request names. A user id with no role (or a role with no user id), or a role
/// this build does not know, is refused: nothing falls back to some role silently.
pub fn caller(c: Option<&pb::Caller>) -> Result<Caller, ServiceError> {
    let Some(c) = c else {
        return Ok(Caller::default());
    };
    let user_id = c.user_id.trim().to_owned();
    let role = match ProtoRole::try_from(c.role) {
        Ok(ProtoRole::Anonymous) => Role::Anonymous,
        Ok(ProtoRole::Customer) => Role::Customer,
        Ok(ProtoRole::Staff) => Role::Staff,
        Ok(ProtoRole::Owner) => Role::Owner,
        Err(_) => {
            return Err(ServiceError::invalid_request(format!(
                "unknown caller role {}",
                c.role
            )));
        }
    };
    if user_id.is_empty() != (role == Role::Anonymous) {
        return Err(ServiceError::invalid_request(
            "a caller has a user id exactly when it has a role",
        ));
    }
    Ok(Caller {
        user_id,
        role,
        cart_token: c.cart_token.clone(),
    })
}

/// A cart's refusal as the contract answers it: a closed cart is a conflict; the others name
/// the field at fault.
pub fn cart_refusal(refusal: CartRefusal) -> ServiceError {
    let message = refusal.to_string();
    match refusal {
        CartRefusal::NotOpen(_) => ServiceError::new(ErrorCode::CartCheckedOut, message),
        CartRefusal::Quantity { .. } => {
            ServiceError::invalid_field("quantity", field_message(&message, "quantity"))
        }
        CartRefusal::OtherCurrency { .. } | CartRefusal::TooManyLines => {
            ServiceError::invalid_field("sku", field_message(&message, "sku"))
        }
    }
}

/// A refusal's message without the field name it starts with ("quantity must be …" → "must be …").
fn field_message<'a>(message: &'a str, field: &str) -> &'a str {
    message.strip_prefix(field).map_or(message, str::trim_start)
}

impl From<CartRefusal> for ServiceError {
    fn from(refusal: CartRefusal) -> Self {
        cart_refusal(refusal)
    }
}

/// A cart as the contract sends it; `token` only in the answer that created an anonymous cart.
pub fn cart(cart: &Cart, token: Option<&str>) -> pb::Cart {
    pb::Cart {
        id: cart.id.to_string(),
        store_id: cart.store_id.to_string(),
        cart_token: token.unwrap_or_default().to_owned(),
        customer_id: cart.customer_id.clone(),
        lines: cart
            .lines
            .iter()
            .map(|l| pb::CartLine {
                sku: l.sku.clone(),
                product_id: l.product_id.clone(),
                title: l.title.clone(),
                quantity: l.quantity,
                unit_price_minor: l.unit_price_minor,
                line_total_minor: l.total_minor(),
                charges: None,
            })
            .collect(),
        currency: cart.currency.clone(),
        total_minor: cart.total_minor(),
        status: cart_status(cart.status).into(),
        updated_at_ms: cart.updated_at_ms,
        // Priced by `priced::cart_view`.
        ..pb::Cart::default()
    }
}

fn cart_status(status: CartStatus) -> pb::CartStatus {
    match status {
        CartStatus::Open => pb::CartStatus::Open,
        CartStatus::CheckedOut => pb::CartStatus::CheckedOut,
        CartStatus::Merged => pb::CartStatus::Merged,
    }
}

/// An order as the contract sends it.
pub fn order(order: &Order) -> pb::Order {
    crate::pricing_wire::with_order_charges(order_without_charges(order), order)
}

fn order_without_charges(order: &Order) -> pb::Order {
    pb::Order {
        id: order.id.clone(),
        store_id: order.store_id.clone(),
        customer_id: order.customer_id.clone(),
        cart_id: order.cart_id.clone(),
        lines: order
            .lines
            .iter()
            .map(|l| crate::wire_after_sale::order_line_of(order, l))
            .collect(),
        currency: order.currency.clone(),
        total_minor: order.total_minor,
        status: order_status(order.status).into(),
        failure_code: order
            .failure_code
            .map_or(pb::FailureCode::None, failure_code)
            .into(),
        payment_intent_id: order.payment_intent_id.clone(),
        refunded_minor: order.refunded_minor,
        created_at_ms: order.created_at_ms,
        updated_at_ms: order.updated_at_ms,
        version: order.version,
        ..crate::wire_after_sale::order_after_sale(order)
    }
}

fn order_status(status: OrderStatus) -> pb::OrderStatus {
    match status {
        OrderStatus::Pending => pb::OrderStatus::Pending,
        OrderStatus::Confirmed => pb::OrderStatus::Confirmed,
        OrderStatus::Failed => pb::OrderStatus::Failed,
        OrderStatus::Cancelled => pb::OrderStatus::Cancelled,
        OrderStatus::Refunded => pb::OrderStatus::Refunded,
        OrderStatus::PartiallyRefunded => pb::OrderStatus::PartiallyRefunded,
    }
}

fn failure_code(code: FailureCode) -> pb::FailureCode {
    match code {
        FailureCode::OutOfStock => pb::FailureCode::OutOfStock,
        FailureCode::PaymentDeclined => pb::FailureCode::PaymentDeclined,
        FailureCode::FraudBlocked => pb::FailureCode::FraudBlocked,
        FailureCode::PaymentInvalid => pb::FailureCode::PaymentInvalid,
        FailureCode::PaymentFailed => pb::FailureCode::PaymentFailed,
        FailureCode::StockCommitFailed => pb::FailureCode::StockCommitFailed,
        FailureCode::PaymentCaptureFailed => pb::FailureCode::PaymentCaptureFailed,
    }
}

/// One entry of an order's history as the contract sends it: one typed message per kind.
pub fn event(event: &OrderEvent) -> pb::OrderEvent {
    pb::OrderEvent {
        sequence: event.sequence,
        at_ms: event.at_ms,
        data: Some(event_data(&event.data)),
    }
}

// Long by design: one arm per kind of event, matched exhaustively.
fn event_data(data: &EventData) -> Data {
    use EventData as E;
    let nothing = pb::order_event::Nothing {};
    let message = |m: &str| pb::order_event::Message {
        message: m.to_owned(),
    };
    let keyed = |key: &str, amount_minor: i64| pb::order_event::KeyedAmount {
        key: key.to_owned(),
        amount_minor,
    };
    match data {
        E::Imported(legacy) => Data::Imported(crate::import_records::record_of(legacy)),
        E::Placed {
            customer_id,
            cart_id,
            currency,
            lines,
            total_minor,
            ..
        } => Data::Placed(pb::order_event::Placed {
            customer_id: customer_id.clone(),
            cart_id: cart_id.clone(),
            currency: currency.clone(),
            lines: lines.iter().map(order_line).collect(),
            total_minor: *total_minor,
        }),
        E::StockReserved { lines } => Data::StockReserved(pb::order_event::StockReserved {
            lines: lines
                .iter()
                .map(|h| pb::order_event::HeldLine {
                    sku: h.sku.clone(),
                    location: h.location.clone(),
                    quantity: h.quantity,
                })
                .collect(),
        }),
        E::StockUnavailable { message: m } => Data::StockUnavailable(message(m)),
        E::PaymentAuthorized { intent_id } => Data::PaymentAuthorized(pb::order_event::PaymentRef {
            intent_id: intent_id.clone(),
        }),
        E::PaymentDeclined { intent_id, code } => Data::PaymentDeclined(pb::order_event::PaymentDeclined {
            intent_id: intent_id.clone(),
            code: failure_code(*code).into(),
        }),
        E::StockCommitted => Data::StockCommitted(nothing),
        E::StockCommitFailed { message: m } => Data::StockCommitFailed(message(m)),
        E::PaymentCaptured { amount_minor } => Data::PaymentCaptured(pb::order_event::Amount {
            amount_minor: *amount_minor,
        }),
        E::PaymentCaptureFailed { message: m } => Data::PaymentCaptureFailed(message(m)),
        E::StockReleased => Data::StockReleased(nothing),
        E::PaymentVoided => Data::PaymentVoided(nothing),
        E::StockRestocked { lines } => Data::StockRestocked(pb::order_event::Lines {
            lines: refund_lines(lines),
        }),
        E::PaymentRefunded { amount_minor, key } => Data::PaymentRefunded(keyed(key, *amount_minor)),
        E::Confirmed => Data::Confirmed(nothing),
        E::Failed { code } => Data::Failed(pb::order_event::Failed {
            code: failure_code(*code).into(),
        }),
        E::CancelRequested { key, amount_minor } => Data::CancelRequested(keyed(key, *amount_minor)),
        E::Cancelled => Data::Cancelled(nothing),
        E::RefundRequested {
            key,
            lines,
            amount_minor,
            restock_all,
        } => Data::RefundRequested(pb::order_event::RefundRequested {
            key: key.clone(),
            lines: refund_lines(lines),
            amount_minor: *amount_minor,
            restock_all: *restock_all,
        }),
        E::Refunded { lines, amount_minor } => Data::Refunded(pb::order_event::Refunded {
            lines: refund_lines(lines),
            amount_minor: *amount_minor,
        }),
        after_sale @ (E::FulfilmentCreated { .. }
        | E::FulfilmentShipped { .. }
        | E::FulfilmentDelivered { .. }
        | E::ReturnRequested { .. }
        | E::ReturnApproved { .. }
        | E::ReturnRejected { .. }
        | E::ReturnReceived { .. }
        | E::ReturnCompleted { .. }) => crate::wire_after_sale::event_data(after_sale),
    }
}

pub(crate) fn order_line(l: &OrderLine) -> pb::OrderLine {
    pb::OrderLine {
        sku: l.sku.clone(),
        product_id: l.product_id.clone(),
        title: l.title.clone(),
        quantity: l.quantity,
        unit_price_minor: l.unit_price_minor,
        refunded_quantity: l.refunded_quantity,
        // An order's own lines get these in `order` (they are the order's, not the line's).
        fulfilled_quantity: 0,
        returned_quantity: 0,
        // Set from the order's charges by `pricing_wire::with_order_charges`.
        charges: None,
    }
}

fn refund_lines(lines: &[RefundLine]) -> Vec<pb::RefundLine> {
    lines
        .iter()
        .map(|l| pb::RefundLine {
            sku: l.sku.clone(),
            quantity: l.quantity,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(user_id: &str, role: ProtoRole) -> pb::Caller {
        pb::Caller {
            user_id: user_id.into(),
            role: role.into(),
            cart_token: String::new(),
        }
    }

    #[test]
    fn a_caller_role_is_taken_as_the_contract_says_or_refused() {
        assert_eq!(caller(None).unwrap().role, Role::Anonymous);
        assert_eq!(
            caller(Some(&proto("", ProtoRole::Anonymous))).unwrap().role,
            Role::Anonymous
        );
        assert_eq!(
            caller(Some(&proto("u", ProtoRole::Owner))).unwrap().role,
            Role::Owner
        );
        assert_eq!(
            caller(Some(&proto("u", ProtoRole::Staff))).unwrap().role,
            Role::Staff
        );
        assert_eq!(
            caller(Some(&proto("u", ProtoRole::Customer))).unwrap().role,
            Role::Customer
        );
        let unknown = pb::Caller {
            user_id: "u".into(),
            role: 42,
            cart_token: String::new(),
        };
        assert!(caller(Some(&unknown)).is_err(), "not taken for a customer");
        assert!(
            caller(Some(&proto("u", ProtoRole::Anonymous))).is_err(),
            "a user with no role"
        );
        assert!(
            caller(Some(&proto("", ProtoRole::Owner))).is_err(),
            "a role with no user"
        );
    }

    #[test]
    fn a_cart_refusal_names_the_field_at_fault_or_is_cart_checked_out() {
        let e = cart_refusal(CartRefusal::Quantity { min: 1 });
        assert_eq!(
            (e.fields[0].field.as_str(), e.fields[0].message.as_str()),
            ("quantity", "must be between 1 and 100")
        );
        let e = cart_refusal(CartRefusal::TooManyLines);
        assert_eq!(e.fields[0].field, "sku");
        assert_eq!(e.fields[0].message, "would be line 51; a cart holds at most 50");
        let e = cart_refusal(CartRefusal::OtherCurrency {
            sku_currency: "USD".into(),
            cart_currency: "EUR".into(),
        });
        assert_eq!(e.fields[0].message, "is priced in USD, the cart in EUR");
        let e = cart_refusal(CartRefusal::NotOpen(CartStatus::CheckedOut));
        assert_eq!(
            (e.code, e.message.as_str()),
            (
                mercato_runtime::error::ErrorCode::CartCheckedOut,
                "the cart is checked_out"
            )
        );
    }

    #[test]
    fn an_order_carries_its_status_and_failure_as_contract_values() {
        let mut o = Order {
            status: OrderStatus::Failed,
            failure_code: Some(FailureCode::FraudBlocked),
            ..Order::default()
        };
        let message = order(&o);
        assert_eq!(message.status(), pb::OrderStatus::Failed);
        assert_eq!(message.failure_code(), pb::FailureCode::FraudBlocked);
        o.failure_code = None;
        assert_eq!(order(&o).failure_code(), pb::FailureCode::None);
    }
}
