//! Pricing through the service: shipping zones, methods and tax rates set by staff, a cart
//! priced with its address, method and code to the cent, checkout charging and authorizing
//! exactly that, the 422s of a cart that cannot be checked out as it is, who may change the
//! rules, and a code's usage limit under concurrent checkouts.

use crate::support::*;
use mercato_proto::catalog::{Money, Product, Variant};
use mercato_proto::events::ProductChanged;
use mercato_proto::orders::orders_server::Orders;
use mercato_proto::orders::*;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::outbox::envelope;
use std::sync::Arc;

local_and_grpc_tests! {
    a_zone_method_tax_rate_and_code_give_the_total_to_the_cent_and_checkout_charges_it,
    goods_that_ship_need_an_address_a_zone_and_a_method_and_digital_goods_none,
    unknown_expired_and_below_minimum_codes_are_refused_and_change_nothing,
    only_owner_and_staff_change_the_rules_and_only_the_owner_the_tax_settings,
    a_partial_refund_returns_the_lines_share_of_discount_and_tax,
    a_tax_inclusive_store_charges_its_prices_with_the_tax_inside,
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    a_code_with_a_hundred_uses_and_a_thousand_concurrent_checkouts_is_carried_by_a_hundred_orders,
}

fn owner() -> Caller {
    Caller {
        user_id: "owner-1".to_owned(),
        role: mercato_proto::common::Role::Owner.into(),
        cart_token: String::new(),
    }
}

impl Env {
    /// A zone of Germany and Austria with one flat method and a 19 % standard rate (7 % reduced).
    async fn german_rules(&self, flat_minor: i64) -> (String, String) {
        let zone = self
            .call(|o| async move {
                o.put_shipping_zone(tonic::Request::new(PutShippingZoneRequest {
                    store_id: self.store.to_string(),
                    caller: Some(staff()),
                    zone: Some(ShippingZone {
                        name: "DACH".into(),
                        countries: vec!["DE".into(), "at".into()],
                        ..Default::default()
                    }),
                }))
                .await
            })
            .await
            .unwrap();
        let zone_id = zone.id.clone();
        let method = self
            .call(|o| async move {
                o.put_shipping_method(tonic::Request::new(PutShippingMethodRequest {
                    store_id: self.store.to_string(),
                    caller: Some(staff()),
                    method: Some(ShippingMethod {
                        zone_id: zone.id.clone(),
                        name: "DHL Paket".into(),
                        flat_price_minor: flat_minor,
                        ..Default::default()
                    }),
                }))
                .await
            })
            .await
            .unwrap();
        for (category, rate_bps) in [("standard", 1900), ("reduced", 700)] {
            let zone_id = zone_id.clone();
            self.call(|o| async move {
                o.put_tax_rate(tonic::Request::new(PutTaxRateRequest {
                    store_id: self.store.to_string(),
                    caller: Some(staff()),
                    rate: Some(TaxRate {
                        zone_id,
                        category: category.into(),
                        rate_bps,
                    }),
                }))
                .await
            })
            .await
            .unwrap();
        }
        (zone_id, method.id)
    }

    async fn promotion(&self, p: Promotion) -> Result<Promotion, mercato_runtime::error::ServiceError> {
        self.call(|o| async move {
            o.create_promotion(tonic::Request::new(CreatePromotionRequest {
                store_id: self.store.to_string(),
                caller: Some(staff()),
                promotion: Some(p),
            }))
            .await
        })
        .await
    }

    async fn apply_code(
        &self,
        caller: &Caller,
        cart: &str,
        code: &str,
    ) -> Result<Cart, mercato_runtime::error::ServiceError> {
        self.call(|o| async move {
            o.set_cart_promotion_code(tonic::Request::new(SetCartPromotionCodeRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                cart_id: cart.to_owned(),
                code: code.to_owned(),
            }))
            .await
        })
        .await
    }

    async fn ship_to(
        &self,
        caller: &Caller,
        cart: &str,
        country: &str,
    ) -> Result<Cart, mercato_runtime::error::ServiceError> {
        let mut address = shipping_address();
        address.country = country.to_owned();
        if country == "FR" {
            address.postal_code = "75001".to_owned();
        }
        self.call(|o| async move {
            o.set_cart_addresses(tonic::Request::new(SetCartAddressesRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                cart_id: cart.to_owned(),
                shipping_address: Some(address),
                billing_address: None,
            }))
            .await
        })
        .await
    }

    async fn choose(
        &self,
        caller: &Caller,
        cart: &str,
        method: &str,
    ) -> Result<Cart, mercato_runtime::error::ServiceError> {
        self.call(|o| async move {
            o.set_cart_shipping_method(tonic::Request::new(SetCartShippingMethodRequest {
                store_id: self.store.to_string(),
                caller: Some(caller.clone()),
                cart_id: cart.to_owned(),
                method_id: method.to_owned(),
            }))
            .await
        })
        .await
    }

    /// A digital SKU (nothing ships), in stock.
    async fn digital_sku(&self, sku: &str, price: i64) {
        let product = Product {
            id: format!("p-{sku}"),
            store_id: self.store.to_string(),
            slug: format!("p-{sku}"),
            title: format!("E-book {sku}"),
            tax_category: "reduced".into(),
            variants: vec![Variant {
                id: format!("v-{sku}"),
                sku: sku.to_owned(),
                price: Some(Money {
                    amount_minor: price,
                    currency: "EUR".into(),
                }),
                requires_shipping: Some(false),
                ..Variant::default()
            }],
            version: 1,
            ..Product::default()
        };
        let event = ProductChanged {
            product: Some(product),
            ..ProductChanged::default()
        };
        let e = envelope(
            &self.store.to_string(),
            "mercato.catalog.product_created",
            1,
            &event,
        );
        self.orders.apply_catalog_event(&e).await.unwrap();
        self.inventory
            .set_stock(mercato_proto::inventory::SetStockRequest {
                store_id: self.store.to_string(),
                sku: sku.to_owned(),
                location: String::new(),
                on_hand: 100,
                low_stock_threshold: None,
            })
            .await
            .unwrap();
    }

    /// What the payments provider captured in all.
    async fn captured(&self) -> i64 {
        self.payments_count(
            "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM provider_ledger WHERE kind = 'capture'",
        )
        .await
    }
}

fn ten_percent(code: &str) -> Promotion {
    Promotion {
        code: code.into(),
        name: "Ten off".into(),
        kind: DiscountKind::Percent.into(),
        percent_bps: 1000,
        target: DiscountTarget::Order.into(),
        ..Default::default()
    }
}

async fn a_zone_method_tax_rate_and_code_give_the_total_to_the_cent_and_checkout_charges_it(env: Env) {
    env.sku("A", 1999, 10).await;
    let (_, method) = env.german_rules(490).await;
    env.promotion(ten_percent("save10")).await.unwrap();
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 2)]).await;
    let priced = env.ship_to(&ann, &cart.id, "DE").await.unwrap();
    let offered = priced.shipping.unwrap();
    assert!(offered.shipping_required);
    assert_eq!(offered.options.len(), 1);
    assert_eq!(
        (
            offered.options[0].method_id.as_str(),
            offered.options[0].price_minor
        ),
        (method.as_str(), 490)
    );
    env.choose(&ann, &cart.id, &method).await.unwrap();
    let cart_now = env.apply_code(&ann, &cart.id, " Save10 ").await.unwrap();
    // 2 × 19.99 = 39.98; 10 % off = 4.00 (3.998); net 35.98, tax 19 % = 6.84 (6.8362);
    // shipping 4.90, tax 0.93 (0.931); total 35.98 + 6.84 + 4.90 + 0.93 = 48.65.
    let c = cart_now.charges.clone().unwrap();
    assert_eq!(
        (
            c.subtotal_minor,
            c.discount_minor,
            c.shipping_minor,
            c.shipping_tax_minor,
            c.tax_minor,
            c.total_minor
        ),
        (3998, 400, 490, 93, 777, 4865)
    );
    assert_eq!(cart_now.total_minor, 4865);
    assert_eq!(cart_now.promotion_code, "SAVE10");
    let line = cart_now.lines[0].charges.unwrap();
    assert_eq!(
        (line.discount_minor, line.tax_minor, line.total_minor),
        (400, 684, 4282)
    );
    let order = env
        .checkout(env.checkout_request(&ann, &cart.id, "k1", APPROVE))
        .await
        .unwrap()
        .order
        .unwrap();
    assert_eq!(order.status_name(), "confirmed");
    assert_eq!(order.total_minor, 4865);
    assert_eq!(env.captured().await, 4865);
    let charges = order.charges.unwrap();
    assert_eq!(charges.tax_minor, 777);
    assert_eq!(charges.shipping_method_name, "DHL Paket");
    assert_eq!(charges.promotions[0].code, "SAVE10");
    assert_eq!(order.shipping_address.unwrap().country, "DE");
    assert_eq!(order.lines[0].charges.unwrap().total_minor, 4282);
}

async fn goods_that_ship_need_an_address_a_zone_and_a_method_and_digital_goods_none(env: Env) {
    env.sku("A", 1000, 10).await;
    env.digital_sku("EBOOK", 1070).await;
    let ann = customer("ann");
    // No zones: an address is still needed for goods that ship, and shipping is free.
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    let mut request = env.checkout_request(&ann, &cart.id, "k1", APPROVE);
    request.shipping_address = None;
    assert_eq!(
        code(env.checkout(request).await),
        ErrorCode::ShippingAddressRequired
    );
    let (_, method) = env.german_rules(490).await;
    // With zones: an address outside them has no method; inside, one must be chosen.
    env.ship_to(&ann, &cart.id, "FR").await.unwrap();
    let mut outside = env.checkout_request(&ann, &cart.id, "k2", APPROVE);
    outside.shipping_address = None;
    assert_eq!(code(env.checkout(outside).await), ErrorCode::ShippingUnavailable);
    assert_eq!(
        code(env.choose(&ann, &cart.id, &method).await),
        ErrorCode::ValidationFailed
    );
    let inline = env.checkout_request(&ann, &cart.id, "k3", APPROVE);
    assert_eq!(
        code(env.checkout(inline).await),
        ErrorCode::ShippingMethodRequired
    );
    let mut chosen = env.checkout_request(&ann, &cart.id, "k4", APPROVE);
    chosen.shipping_method_id = method;
    let order = env.checkout(chosen).await.unwrap().order.unwrap();
    assert_eq!(order.status_name(), "confirmed");
    // 10.00 + 19 % + 4.90 + 19 % = 11.90 + 5.83.
    assert_eq!(order.total_minor, 1773);
    // A cart of digital goods needs no address: taxed by the billing address's zone, or not at all.
    let bob = customer("bob");
    let ebook = env.cart_for(&bob, &[("EBOOK", 1)]).await;
    let mut digital = env.checkout_request(&bob, &ebook.id, "k5", APPROVE);
    digital.shipping_address = None;
    let order = env.checkout(digital).await.unwrap().order.unwrap();
    assert_eq!((order.status_name(), order.total_minor), ("confirmed", 1070));
    assert!(order.charges.unwrap().shipping_method_id.is_empty());
}

async fn unknown_expired_and_below_minimum_codes_are_refused_and_change_nothing(env: Env) {
    env.sku("A", 1000, 10).await;
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 1)]).await;
    assert_eq!(
        code(env.apply_code(&ann, &cart.id, "NOPE").await),
        ErrorCode::PromotionUnknown
    );
    let mut expired = ten_percent("OLD");
    expired.starts_at_ms = 1;
    expired.ends_at_ms = 2;
    env.promotion(expired).await.unwrap();
    assert_eq!(
        code(env.apply_code(&ann, &cart.id, "old").await),
        ErrorCode::PromotionInactive
    );
    let mut big = ten_percent("BIG");
    big.min_subtotal_minor = 5000;
    env.promotion(big).await.unwrap();
    assert_eq!(
        code(env.apply_code(&ann, &cart.id, "BIG").await),
        ErrorCode::PromotionMinimumNotMet
    );
    assert_eq!(code(env.promotion(ten_percent("big")).await), ErrorCode::Conflict);
    let cart = env.get_cart(&ann, &cart.id).await.unwrap();
    assert!(cart.promotion_code.is_empty());
    assert_eq!(cart.total_minor, 1000);
    // Once the cart reaches the minimum the code applies; dropping below it makes checkout refuse.
    env.set(&ann, &cart.id, "A", 5).await.unwrap();
    let with_code = env.apply_code(&ann, &cart.id, "BIG").await.unwrap();
    assert_eq!(with_code.total_minor, 4500);
    env.set(&ann, &cart.id, "A", 4).await.unwrap();
    assert_eq!(
        code(
            env.checkout(env.checkout_request(&ann, &cart.id, "k1", APPROVE))
                .await
        ),
        ErrorCode::PromotionMinimumNotMet
    );
    let without = env.apply_code(&ann, &cart.id, "").await.unwrap();
    assert_eq!(without.total_minor, 4000);
}

async fn only_owner_and_staff_change_the_rules_and_only_the_owner_the_tax_settings(env: Env) {
    let zone = |caller: Caller| PutShippingZoneRequest {
        store_id: env.store.to_string(),
        caller: Some(caller),
        zone: Some(ShippingZone {
            name: "EU".into(),
            countries: vec!["FR".into()],
            ..Default::default()
        }),
    };
    let as_customer = env
        .orders
        .put_shipping_zone(tonic::Request::new(zone(customer("ann"))))
        .await;
    assert_eq!(as_customer.unwrap_err().code(), tonic::Code::PermissionDenied);
    env.orders
        .put_shipping_zone(tonic::Request::new(zone(staff())))
        .await
        .unwrap();
    // A country is in one zone only; another store sees none of this store's rules.
    let again = env
        .orders
        .put_shipping_zone(tonic::Request::new(zone(owner())))
        .await;
    assert_eq!(again.unwrap_err().code(), tonic::Code::AlreadyExists);
    let other = env
        .orders
        .get_pricing_config(tonic::Request::new(PricingRequest {
            store_id: mercato_runtime::ids::StoreId::new().to_string(),
            caller: Some(owner()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(other.zones.is_empty());
    let settings = |caller: Caller| PutTaxSettingsRequest {
        store_id: env.store.to_string(),
        caller: Some(caller),
        settings: Some(TaxSettings {
            prices_include_tax: true,
            rounding: Rounding::HalfEven.into(),
        }),
    };
    let as_staff = env
        .orders
        .put_tax_settings(tonic::Request::new(settings(staff())))
        .await;
    assert_eq!(as_staff.unwrap_err().code(), tonic::Code::PermissionDenied);
    env.orders
        .put_tax_settings(tonic::Request::new(settings(owner())))
        .await
        .unwrap();
    let config = env
        .orders
        .get_pricing_config(tonic::Request::new(PricingRequest {
            store_id: env.store.to_string(),
            caller: Some(staff()),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(config.zones.len(), 1);
    assert!(config.tax_settings.unwrap().prices_include_tax);
}

async fn a_partial_refund_returns_the_lines_share_of_discount_and_tax(env: Env) {
    env.sku("A", 1000, 10).await;
    env.sku("B", 3000, 10).await;
    let (_, method) = env.german_rules(500).await;
    env.promotion(ten_percent("TEN")).await.unwrap();
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 3), ("B", 1)]).await;
    env.apply_code(&ann, &cart.id, "TEN").await.unwrap();
    let mut request = env.checkout_request(&ann, &cart.id, "k1", APPROVE);
    request.shipping_method_id = method;
    let order = env.checkout(request).await.unwrap().order.unwrap();
    // A: 3000 − 300 = 2700 + 513 tax = 3213; B: 3000 − 300 + 513 = 3213; shipping 500 + 95.
    assert_eq!(order.total_minor, 3213 + 3213 + 595);
    let refunded = env
        .call(|o| async move {
            o.refund_order(tonic::Request::new(RefundOrderRequest {
                store_id: env.store.to_string(),
                caller: Some(staff()),
                order_id: order.id.clone(),
                idempotency_key: "r1".into(),
                lines: vec![RefundLine {
                    sku: "A".into(),
                    quantity: 1,
                }],
            }))
            .await
        })
        .await
        .unwrap();
    // One of three units: ⌊3213 / 3⌋ = 1071, its 171 of tax and 100 of discount included.
    assert_eq!(refunded.refunded_minor, 1071);
}

async fn a_code_with_a_hundred_uses_and_a_thousand_concurrent_checkouts_is_carried_by_a_hundred_orders(
    env: Env,
) {
    const USES: i64 = 100;
    const BUYERS: u64 = 1000;
    let env = Arc::new(env);
    env.sku("HOT", 2000, 1000).await;
    let mut limited = ten_percent("FIRST100");
    limited.usage_limit = USES;
    env.promotion(limited).await.unwrap();
    // Each buyer's cart carries the code before any checkout starts.
    let mut carts = Vec::new();
    for n in 0..BUYERS {
        let buyer = customer(&format!("buyer-{n}"));
        let cart = env.cart_for(&buyer, &[("HOT", 1)]).await;
        env.apply_code(&buyer, &cart.id, "FIRST100").await.unwrap();
        carts.push((buyer, cart.id));
    }
    let tasks: Vec<_> = carts
        .into_iter()
        .enumerate()
        .map(|(n, (buyer, cart))| {
            let env = env.clone();
            tokio::spawn(async move {
                env.checkout(env.checkout_request(&buyer, &cart, &format!("k{n}"), &card(n as u64)))
                    .await
            })
        })
        .collect();
    let (mut with_code, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(answer) => {
                let order = answer.order.unwrap();
                if order.status_name() == "confirmed" {
                    with_code += 1;
                    assert_eq!(order.total_minor, 1800, "{order:?}");
                }
            }
            Err(e) => {
                assert_eq!(e.code, ErrorCode::PromotionExhausted, "{e:?}");
                refused += 1;
            }
        }
    }
    assert_eq!((with_code, refused), (USES, BUYERS as i64 - USES));
    let used = env
        .orders_count("SELECT used FROM promotions WHERE code = 'FIRST100'")
        .await;
    assert_eq!(used, USES);
    // A checkout that fails (a declined card) gives its use back.
    let mut once = ten_percent("ONCE");
    once.usage_limit = 1;
    env.promotion(once).await.unwrap();
    let cid = customer("carl");
    let cart = env.cart_for(&cid, &[("HOT", 1)]).await;
    env.apply_code(&cid, &cart.id, "ONCE").await.unwrap();
    let declined = env
        .checkout(env.checkout_request(&cid, &cart.id, "d1", DECLINE))
        .await
        .unwrap();
    assert_eq!(declined.order.unwrap().status_name(), "failed");
    assert_eq!(
        env.orders_count("SELECT used FROM promotions WHERE code = 'ONCE'")
            .await,
        0
    );
    let paid = env
        .checkout(env.checkout_request(&cid, &cart.id, "d2", &card(999)))
        .await
        .unwrap();
    assert_eq!(paid.order.unwrap().status_name(), "confirmed");
    assert_eq!(
        env.orders_count("SELECT used FROM promotions WHERE code = 'ONCE'")
            .await,
        1
    );
}

async fn a_tax_inclusive_store_charges_its_prices_with_the_tax_inside(env: Env) {
    env.sku("A", 2380, 10).await;
    let (_, method) = env.german_rules(595).await;
    env.orders
        .put_tax_settings(tonic::Request::new(PutTaxSettingsRequest {
            store_id: env.store.to_string(),
            caller: Some(owner()),
            settings: Some(TaxSettings {
                prices_include_tax: true,
                rounding: Rounding::HalfEven.into(),
            }),
        }))
        .await
        .unwrap();
    let ann = customer("ann");
    let cart = env.cart_for(&ann, &[("A", 2)]).await;
    let mut request = env.checkout_request(&ann, &cart.id, "k1", APPROVE);
    request.shipping_method_id = method;
    let order = env.checkout(request).await.unwrap().order.unwrap();
    // The prices are what is paid: 2 × 23.80 + 5.95; inside them 19/119: 7.60 and 0.95.
    assert_eq!(order.total_minor, 4760 + 595);
    let charges = order.charges.unwrap();
    assert!(charges.prices_include_tax);
    assert_eq!((charges.tax_minor, charges.shipping_tax_minor), (855, 95));
    assert_eq!(order.lines[0].charges.unwrap().total_minor, 4760);
    assert_eq!(env.captured().await, 5355);
}
