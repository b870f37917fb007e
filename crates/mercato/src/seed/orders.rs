//! The demo store's customers and order history: a few customers with profiles and addresses,
//! and orders in every after-sale state a merchant meets (new, partly sent, shipped, delivered,
//! returned and refunded), placed through the same checkout saga as any order.
//!
//! Runs once, right after the catalog and pricing are seeded, while the process starts.

use std::time::Duration;

use mercato_proto::common::{Address, Role};
use mercato_proto::identity::{AddCustomerAddressRequest, RegisterCustomerRequest};
use mercato_proto::orders::{
    AddCartItemRequest, Caller, CheckoutRequest, CreateCartRequest, CreateFulfilmentRequest,
    DecideReturnRequest, GetCartRequest, GetOrderRequest, ItemQuantity, Order, OrderStatus, PaymentDetails,
    ReceiveReturnRequest, RequestReturnRequest, SetCartAddressesRequest, SetCartPromotionCodeRequest,
    SetCartShippingMethodRequest, ShipmentStatus, UpdateFulfilmentRequest,
};
use mercato_proto::payments::CreatePaymentMethodRequest;
use mercato_runtime::clients::{identity::IdentityClient, orders::OrdersClient};
use mercato_runtime::error::ErrorCode;

/// The test card that the built-in provider approves.
const APPROVED_CARD: &str = "4242424242424242";
/// How long the seed waits for the orders service to learn the catalog, and for a saga.
const SETTLE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);

/// A demo customer and where they live.
struct DemoCustomer {
    first: &'static str,
    last: &'static str,
    email: &'static str,
    line1: &'static str,
    city: &'static str,
    postal_code: &'static str,
    country: &'static str,
    marketing_consent: bool,
}

const CUSTOMERS: &[DemoCustomer] = &[
    DemoCustomer {
        first: "Anna",
        last: "Schmidt",
        email: "anna@demo.example",
        line1: "Torstraße 12",
        city: "Berlin",
        postal_code: "10119",
        country: "DE",
        marketing_consent: true,
    },
    DemoCustomer {
        first: "Lucas",
        last: "Martin",
        email: "lucas@demo.example",
        line1: "8 rue des Martyrs",
        city: "Paris",
        postal_code: "75009",
        country: "FR",
        marketing_consent: false,
    },
    DemoCustomer {
        first: "Sophie",
        last: "de Vries",
        email: "sophie@demo.example",
        line1: "Prinsengracht 263",
        city: "Amsterdam",
        postal_code: "1016 GV",
        country: "NL",
        marketing_consent: true,
    },
    DemoCustomer {
        first: "Jonas",
        last: "Weber",
        email: "jonas@demo.example",
        line1: "Leopoldstraße 40",
        city: "München",
        postal_code: "80802",
        country: "DE",
        marketing_consent: false,
    },
];

/// What happens to a demo order after checkout.
#[derive(Clone, Copy)]
enum AfterSale {
    /// Waiting to be sent.
    Nothing,
    /// The first line sent, the rest still owed.
    PartlySent,
    /// Everything handed to the carrier.
    Shipped,
    Delivered,
    /// Delivered, then the first line came back unused and was refunded and restocked.
    Returned,
}

/// One demo order: its customer (index into [`CUSTOMERS`]), lines, code and fate.
struct DemoOrder {
    customer: usize,
    lines: &'static [(&'static str, i64)],
    code: Option<&'static str>,
    after: AfterSale,
}

const ORDERS: &[DemoOrder] = &[
    DemoOrder {
        customer: 0,
        lines: &[("DEMO-0000-M", 1), ("DEMO-0004-1", 2)],
        code: None,
        after: AfterSale::Delivered,
    },
    DemoOrder {
        customer: 1,
        lines: &[("DEMO-0001-L", 1)],
        code: None,
        after: AfterSale::Shipped,
    },
    DemoOrder {
        customer: 2,
        lines: &[("DEMO-0002-S", 1), ("DEMO-0005-0", 1)],
        code: Some(super::pricing::DEMO_CODE),
        after: AfterSale::PartlySent,
    },
    DemoOrder {
        customer: 3,
        lines: &[("DEMO-0009-M", 1), ("DEMO-0006", 1)],
        code: None,
        after: AfterSale::Returned,
    },
    DemoOrder {
        customer: 0,
        lines: &[("DEMO-0007-0", 1)],
        code: None,
        after: AfterSale::Nothing,
    },
];

/// The demo customers' e-mail addresses, to print beside the owner's.
pub fn customer_emails() -> impl Iterator<Item = &'static str> {
    CUSTOMERS.iter().map(|c| c.email)
}

/// The clients and the store the seed works in.
pub struct DemoHistory<'a> {
    pub identity: &'a IdentityClient,
    pub orders: &'a OrdersClient,
    pub store_id: &'a str,
    pub owner_id: &'a str,
    /// The demo customers' password (printed once).
    pub password: &'a str,
}

impl DemoHistory<'_> {
    /// Registers the demo customers and places and follows up their orders. An order whose
    /// checkout fails (a sold-out demo SKU) is skipped: the history is an illustration.
    pub async fn seed(&self) -> anyhow::Result<()> {
        let mut customer_ids = Vec::with_capacity(CUSTOMERS.len());
        for customer in CUSTOMERS {
            customer_ids.push(self.register(customer).await?);
        }
        for (n, demo) in ORDERS.iter().enumerate() {
            let customer = &CUSTOMERS[demo.customer];
            let caller = customer_caller(&customer_ids[demo.customer]);
            let order = self.place(n, demo, customer, caller).await?;
            if order.status == i32::from(OrderStatus::Confirmed) {
                self.follow_up(n, &order, demo.after).await?;
            } else {
                tracing::warn!(order = %order.id, status = order.status, "demo order not confirmed; left as it is");
            }
        }
        Ok(())
    }

    async fn register(&self, c: &DemoCustomer) -> anyhow::Result<String> {
        let user = self
            .identity
            .register_customer(RegisterCustomerRequest {
                store_id: self.store_id.to_owned(),
                email: c.email.to_owned(),
                password: self.password.to_owned(),
                first_name: c.first.to_owned(),
                last_name: c.last.to_owned(),
                marketing_consent: c.marketing_consent,
            })
            .await?;
        self.identity
            .add_customer_address(AddCustomerAddressRequest {
                store_id: self.store_id.to_owned(),
                customer_id: user.id.clone(),
                address: Some(address_of(c)),
                default_shipping: true,
                default_billing: true,
            })
            .await?;
        Ok(user.id)
    }

    /// Fills a cart, sends it to the customer's address with the cheapest method, and checks it
    /// out with the approved test card; returns the order once its saga has settled.
    async fn place(
        &self,
        n: usize,
        demo: &DemoOrder,
        customer: &DemoCustomer,
        caller: Caller,
    ) -> anyhow::Result<Order> {
        let store_id = self.store_id.to_owned();
        let cart = self
            .orders
            .create_cart(CreateCartRequest {
                store_id: store_id.clone(),
                caller: Some(caller.clone()),
            })
            .await?;
        for &(sku, quantity) in demo.lines {
            self.add_line(&cart.id, &caller, sku, quantity).await?;
        }
        self.orders
            .set_cart_addresses(SetCartAddressesRequest {
                store_id: store_id.clone(),
                caller: Some(caller.clone()),
                cart_id: cart.id.clone(),
                shipping_address: Some(address_of(customer)),
                billing_address: Some(address_of(customer)),
            })
            .await?;
        self.choose_cheapest_method(&cart.id, &caller).await?;
        if let Some(code) = demo.code {
            self.orders
                .set_cart_promotion_code(SetCartPromotionCodeRequest {
                    store_id: store_id.clone(),
                    caller: Some(caller.clone()),
                    cart_id: cart.id.clone(),
                    code: code.to_owned(),
                })
                .await?;
        }
        let card = self
            .orders
            .create_payment_method(CreatePaymentMethodRequest {
                store_id: store_id.clone(),
                card_number: APPROVED_CARD.to_owned(),
                billing_country: customer.country.to_owned(),
                ..Default::default()
            })
            .await?;
        let key = format!("demo-order-{n}");
        let placed = self
            .orders
            .checkout(CheckoutRequest {
                store_id,
                caller: Some(caller.clone()),
                cart_id: cart.id,
                idempotency_key: key.clone(),
                request_hash: key,
                payment: Some(PaymentDetails {
                    payment_method: card.id,
                    email: customer.email.to_owned(),
                    billing_country: customer.country.to_owned(),
                    shipping_country: customer.country.to_owned(),
                    ip: String::new(),
                }),
                ..Default::default()
            })
            .await?;
        let order = placed.order.unwrap_or_default();
        self.settled(&order.id, caller).await
    }

    /// Adds a line, waiting while the orders service has not yet learnt the SKU from the
    /// catalog's events (they arrive through the outbox a moment after the product is created).
    async fn add_line(&self, cart_id: &str, caller: &Caller, sku: &str, quantity: i64) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let added = self
                .orders
                .add_cart_item(AddCartItemRequest {
                    store_id: self.store_id.to_owned(),
                    caller: Some(caller.clone()),
                    cart_id: cart_id.to_owned(),
                    sku: sku.to_owned(),
                    quantity,
                })
                .await;
            match added {
                Ok(_) => return Ok(()),
                Err(e) if e.code == ErrorCode::ValidationFailed && tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn choose_cheapest_method(&self, cart_id: &str, caller: &Caller) -> anyhow::Result<()> {
        let cart = self
            .orders
            .get_cart(GetCartRequest {
                store_id: self.store_id.to_owned(),
                caller: Some(caller.clone()),
                cart_id: cart_id.to_owned(),
            })
            .await?;
        let Some(cheapest) = cart.shipping.and_then(|s| s.options.into_iter().next()) else {
            return Ok(());
        };
        self.orders
            .set_cart_shipping_method(SetCartShippingMethodRequest {
                store_id: self.store_id.to_owned(),
                caller: Some(caller.clone()),
                cart_id: cart_id.to_owned(),
                method_id: cheapest.method_id,
            })
            .await?;
        Ok(())
    }

    /// The order once its checkout saga has left `pending`.
    async fn settled(&self, order_id: &str, caller: Caller) -> anyhow::Result<Order> {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let order = self
                .orders
                .get_order(GetOrderRequest {
                    store_id: self.store_id.to_owned(),
                    caller: Some(caller.clone()),
                    order_id: order_id.to_owned(),
                })
                .await?;
            if order.status != i32::from(OrderStatus::Pending) || tokio::time::Instant::now() >= deadline {
                return Ok(order);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Takes a confirmed order as far as `after` says, as the owner.
    async fn follow_up(&self, n: usize, order: &Order, after: AfterSale) -> anyhow::Result<()> {
        let first = order.lines.first().map(|l| ItemQuantity {
            sku: l.sku.clone(),
            quantity: l.quantity,
        });
        let (lines, shipment) = match after {
            AfterSale::Nothing => return Ok(()),
            AfterSale::PartlySent => (first.into_iter().collect(), ShipmentStatus::Shipped),
            AfterSale::Shipped => (Vec::new(), ShipmentStatus::Shipped),
            AfterSale::Delivered | AfterSale::Returned => (Vec::new(), ShipmentStatus::Delivered),
        };
        let sent = self.fulfil(n, &order.id, lines).await?;
        let fulfilment_id = sent.fulfilments.last().map(|f| f.id.clone()).unwrap_or_default();
        self.mark(&order.id, &fulfilment_id, ShipmentStatus::Shipped)
            .await?;
        if shipment == ShipmentStatus::Delivered {
            self.mark(&order.id, &fulfilment_id, ShipmentStatus::Delivered)
                .await?;
        }
        if let (AfterSale::Returned, Some(line)) = (after, order.lines.first()) {
            self.return_line(n, &order.id, &line.sku).await?;
        }
        Ok(())
    }

    async fn fulfil(&self, n: usize, order_id: &str, lines: Vec<ItemQuantity>) -> anyhow::Result<Order> {
        Ok(self
            .orders
            .create_fulfilment(CreateFulfilmentRequest {
                store_id: self.store_id.to_owned(),
                caller: Some(self.owner()),
                order_id: order_id.to_owned(),
                idempotency_key: format!("demo-fulfilment-{n}"),
                location: String::new(),
                lines,
                carrier: "DHL".to_owned(),
                tracking_number: format!("00340434161094{n:06}"),
                tracking_url: String::new(),
            })
            .await?)
    }

    async fn mark(&self, order_id: &str, fulfilment_id: &str, status: ShipmentStatus) -> anyhow::Result<()> {
        self.orders
            .update_fulfilment(UpdateFulfilmentRequest {
                store_id: self.store_id.to_owned(),
                caller: Some(self.owner()),
                order_id: order_id.to_owned(),
                fulfilment_id: fulfilment_id.to_owned(),
                status: status.into(),
                ..Default::default()
            })
            .await?;
        Ok(())
    }

    /// A return of one unit of `sku`: requested, approved and received as sellable, which
    /// refunds its paid amount and puts it back in stock.
    async fn return_line(&self, n: usize, order_id: &str, sku: &str) -> anyhow::Result<()> {
        let requested = self
            .orders
            .request_return(RequestReturnRequest {
                store_id: self.store_id.to_owned(),
                caller: Some(self.owner()),
                order_id: order_id.to_owned(),
                idempotency_key: format!("demo-return-{n}"),
                lines: vec![ItemQuantity {
                    sku: sku.to_owned(),
                    quantity: 1,
                }],
                reason: "Did not fit".to_owned(),
            })
            .await?;
        let return_id = requested.returns.last().map(|r| r.id.clone()).unwrap_or_default();
        self.orders
            .decide_return(DecideReturnRequest {
                store_id: self.store_id.to_owned(),
                caller: Some(self.owner()),
                order_id: order_id.to_owned(),
                return_id: return_id.clone(),
                approve: true,
            })
            .await?;
        self.orders
            .receive_return(ReceiveReturnRequest {
                store_id: self.store_id.to_owned(),
                caller: Some(self.owner()),
                order_id: order_id.to_owned(),
                return_id,
                lines: Vec::new(),
            })
            .await?;
        Ok(())
    }

    fn owner(&self) -> Caller {
        Caller {
            user_id: self.owner_id.to_owned(),
            role: Role::Owner.into(),
            cart_token: String::new(),
        }
    }
}

fn customer_caller(customer_id: &str) -> Caller {
    Caller {
        user_id: customer_id.to_owned(),
        role: Role::Customer.into(),
        cart_token: String::new(),
    }
}

fn address_of(c: &DemoCustomer) -> Address {
    Address {
        name: format!("{} {}", c.first, c.last),
        line1: c.line1.to_owned(),
        city: c.city.to_owned(),
        postal_code: c.postal_code.to_owned(),
        country: c.country.to_owned(),
        ..Default::default()
    }
}
