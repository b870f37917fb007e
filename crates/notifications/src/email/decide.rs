//! Who gets which mail for which event. Each mail is one `email.send` job whose input is a
//! snapshot of everything it renders (so the job asks no other service), deduplicated by
//! (event, template, recipient): a replayed event, or one seen twice, enqueues nothing new.

use super::Email;
use super::directory::{self, Account, StoreInfo};
use super::job::{self, SendInput};
use super::render::format_money;
use super::templates;
use super::unsubscribe;
use mercato_proto::common::Address;
use mercato_proto::events::{AccountChanged, EventEnvelope, OrderChanged, PaymentChanged};
use mercato_proto::notifications::Endpoint;
use mercato_proto::orders::Order;
use mercato_proto::payments::{PaymentFailure, PaymentIntent};
use mercato_proto::subjects::{identity, orders, payments};
use mercato_runtime::auth::Role;
use mercato_runtime::db::{DbError, Tx};
use mercato_runtime::jobs::NewJob;
use serde_json::{Value, json};

/// The staff opt-in topics.
pub(crate) const NEW_ORDERS: &str = "new_orders";
pub(crate) const PAYMENT_DECLINES: &str = "payment_declines";

impl Email {
    /// The mails `event` causes, enqueued in `tx`; whether any was.
    pub(super) fn decide(&self, tx: &mut Tx<'_>, event: &EventEnvelope) -> Result<bool, DbError> {
        match event.subject.as_str() {
            orders::ORDER_CONFIRMED => self.order_confirmed(tx, event),
            orders::ORDER_CANCELLED => self.order_mail(tx, event, "order_cancelled", Value::Null),
            orders::ORDER_REFUNDED => self.order_refunded(tx, event),
            payments::PAYMENT_DECLINED => self.payment_declined(tx, event),
            identity::ACCOUNT_CREATED => self.welcome(tx, event),
            _ => Ok(false),
        }
    }

    fn order_confirmed(&self, tx: &mut Tx<'_>, event: &EventEnvelope) -> Result<bool, DbError> {
        let Some(order) = order_of(event) else {
            return Ok(false);
        };
        let mut sent = self.order_mail(tx, event, "order_confirmed", Value::Null)?;
        let store = self.store(tx, &order.store_id, &order.currency)?;
        for staff in directory::opted_in_staff(tx, &order.store_id, NEW_ORDERS)? {
            let data = json!({ "order": self.order_data(&store, &order) });
            sent |= self.enqueue(
                tx,
                event,
                "staff_new_order",
                &store,
                &staff.email,
                recipient(Some(&staff)),
                data,
            )?;
        }
        Ok(sent)
    }

    /// The customer's mail about their order (to the address given at checkout, else their
    /// account's), with `extra` merged into the data.
    fn order_mail(
        &self,
        tx: &mut Tx<'_>,
        event: &EventEnvelope,
        template: &'static str,
        extra: Value,
    ) -> Result<bool, DbError> {
        let Some(order) = order_of(event) else {
            return Ok(false);
        };
        let account = match order.customer_id.as_str() {
            "" => None,
            id => directory::account(tx, &order.store_id, id)?,
        };
        let to = match (&order.email, &account) {
            (email, _) if !email.is_empty() => email.clone(),
            (_, Some(a)) => a.email.clone(),
            _ => return Ok(false),
        };
        let store = self.store(tx, &order.store_id, &order.currency)?;
        let mut data = json!({ "order": self.order_data(&store, &order) });
        if let (Value::Object(d), Value::Object(e)) = (&mut data, extra) {
            d.extend(e);
        }
        let mut who = recipient(account.as_ref());
        if let Some(address) = order
            .shipping_address
            .as_ref()
            .filter(|_| who["first_name"] == "")
        {
            who["first_name"] = json!(address.name.split_whitespace().next().unwrap_or(""));
        }
        self.enqueue(tx, event, template, &store, &to, who, data)
    }

    /// The refund mail names this refund's amount: what the order has had refunded now, less
    /// what it had when the previous refund mail was decided.
    fn order_refunded(&self, tx: &mut Tx<'_>, event: &EventEnvelope) -> Result<bool, DbError> {
        let Some(order) = order_of(event) else {
            return Ok(false);
        };
        let before: Option<(i64,)> = tx.query_opt(
            "SELECT refunded_minor FROM email_order_refunds WHERE store_id = $1 AND order_id = $2",
            &[&order.store_id, &order.id],
        )?;
        let before = before.map_or(0, |(m,)| m);
        let amount = order.refunded_minor - before;
        if amount <= 0 {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO email_order_refunds (store_id, order_id, refunded_minor) VALUES ($1, $2, $3) \
             ON CONFLICT (store_id, order_id) DO UPDATE SET refunded_minor = excluded.refunded_minor",
            &[&order.store_id, &order.id, &order.refunded_minor],
        )?;
        let refund = json!({ "refund": {
            "amount": format_money(amount, &order.currency),
            "amount_minor": amount,
            "total_refunded": format_money(order.refunded_minor, &order.currency),
            "total_refunded_minor": order.refunded_minor,
        }});
        self.order_mail(tx, event, "refund_issued", refund)
    }

    fn payment_declined(&self, tx: &mut Tx<'_>, event: &EventEnvelope) -> Result<bool, DbError> {
        let Some(PaymentChanged { intent: Some(intent) }) = directory::decode(event) else {
            return Ok(false);
        };
        let store = self.store(tx, &intent.store_id, &intent.currency)?;
        let mut sent = false;
        for staff in directory::opted_in_staff(tx, &intent.store_id, PAYMENT_DECLINES)? {
            let data = json!({ "payment": self.payment_data(&store, &intent) });
            sent |= self.enqueue(
                tx,
                event,
                "staff_payment_declined",
                &store,
                &staff.email,
                recipient(Some(&staff)),
                data,
            )?;
        }
        Ok(sent)
    }

    /// A customer's welcome, unless their address opted out of the store's other mail.
    fn welcome(&self, tx: &mut Tx<'_>, event: &EventEnvelope) -> Result<bool, DbError> {
        let Some(AccountChanged {
            user: Some(user),
            first_name,
            last_name,
        }) = directory::decode(event)
        else {
            return Ok(false);
        };
        if Role::from_proto(user.role).ok().flatten() != Some(Role::Customer) || user.email.is_empty() {
            return Ok(false);
        }
        if unsubscribe::opted_out(tx, &user.store_id, &user.email)? {
            return Ok(false);
        }
        let store = self.store(tx, &user.store_id, "")?;
        let who =
            json!({ "email": user.email.to_lowercase(), "first_name": first_name, "last_name": last_name });
        self.enqueue(tx, event, "welcome", &store, &user.email, who, json!({}))
    }

    /// A `webhook_endpoint_disabled` mail to each enabled owner.
    pub(super) fn endpoint_disabled_mail(
        &self,
        tx: &mut Tx<'_>,
        endpoint: &Endpoint,
        now: i64,
    ) -> Result<(), DbError> {
        let store = self.store(tx, &endpoint.store_id, "")?;
        let reason = match endpoint.disabled_reason.as_str() {
            "" => "its deliveries kept failing".to_owned(),
            r => r.to_owned(),
        };
        // One notice per endpoint and failure run: the key names when the run began.
        let run = if endpoint.failing_since_ms > 0 {
            endpoint.failing_since_ms
        } else {
            now
        };
        let event_id = format!("endpoint-disabled:{}:{run}", endpoint.id);
        for owner in directory::owners(tx, &endpoint.store_id)? {
            let data = json!({ "endpoint": {
                "id": endpoint.id,
                "url": endpoint.url,
                "reason": reason,
                "admin_url": self.links.admin(&store.slug, &format!("webhooks/{}", endpoint.id)),
            }});
            self.enqueue_as(
                tx,
                &event_id,
                "webhook_endpoint_disabled",
                &store,
                &owner.email,
                recipient(Some(&owner)),
                data,
            )?;
        }
        Ok(())
    }

    /// The store from the directory, or a stand-in until its `store_provisioned` is seen.
    fn store(&self, tx: &mut Tx<'_>, store_id: &str, currency: &str) -> Result<StoreInfo, DbError> {
        Ok(directory::store(tx, store_id)?.unwrap_or_else(|| StoreInfo {
            id: store_id.to_owned(),
            slug: store_id.to_owned(),
            name: self.mailer_name.clone(),
            currency: currency.to_owned(),
            time_zone: "UTC".to_owned(),
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn enqueue(
        &self,
        tx: &mut Tx<'_>,
        event: &EventEnvelope,
        template: &'static str,
        store: &StoreInfo,
        to: &str,
        who: Value,
        data: Value,
    ) -> Result<bool, DbError> {
        self.enqueue_as(tx, &event.id, template, store, to, who, data)
    }

    /// Enqueues one mail: the common data (store, recipient, links) merged into `data`.
    #[allow(clippy::too_many_arguments)]
    fn enqueue_as(
        &self,
        tx: &mut Tx<'_>,
        event_id: &str,
        template: &'static str,
        store: &StoreInfo,
        to: &str,
        mut who: Value,
        data: Value,
    ) -> Result<bool, DbError> {
        let to = to.trim().to_lowercase();
        let Some(builtin) = templates::builtin(template) else {
            return Ok(false);
        };
        let staff = template.starts_with("staff_") || template == "webhook_endpoint_disabled";
        let token = self.link_key.token(&store.id, &to);
        let unsubscribe_url = self.links.unsubscribe(&store.slug, &token);
        who["email"] = json!(to);
        let mut full = json!({
            "currency": store.currency,
            "store": { "name": store.name, "slug": store.slug, "url": self.links.storefront(&store.slug) },
            "recipient": who,
            "preferences_url": if staff { self.links.admin(&store.slug, "notifications") } else { self.links.account(&store.slug) },
            "unsubscribe_url": if staff { String::new() } else { unsubscribe_url.clone() },
        });
        if let (Value::Object(f), Value::Object(d)) = (&mut full, data) {
            f.extend(d);
        }
        let input = SendInput {
            template: template.to_owned(),
            to: to.clone(),
            event_id: event_id.to_owned(),
            store_name: store.name.clone(),
            list_unsubscribe: (!builtin.transactional).then(|| self.links.one_click(&token)),
            data: full,
        };
        let job = NewJob {
            kind: job::KIND,
            store_id: store.id.clone(),
            input: serde_json::to_value(&input).map_err(|e| DbError::Decode(e.to_string()))?,
            requested_by: "system".to_owned(),
            dedupe_key: Some(format!("{event_id}:{template}:{to}")),
            max_attempts: job::POLICY.max_attempts,
        };
        self.jobs.queue().enqueue(tx, &job)?;
        Ok(true)
    }

    fn order_data(&self, store: &StoreInfo, order: &Order) -> Value {
        let money = |minor: i64| format_money(minor, &order.currency);
        let charges = order.charges.clone().unwrap_or_default();
        let lines: Vec<Value> = order
            .lines
            .iter()
            .map(|l| {
                let total = l
                    .charges
                    .as_ref()
                    .map_or(l.unit_price_minor * l.quantity, |c| c.total_minor);
                json!({
                    "title": l.title, "sku": l.sku, "quantity": l.quantity,
                    "unit_price": money(l.unit_price_minor), "total": money(total),
                })
            })
            .collect();
        let subtotal = if order.charges.is_some() {
            charges.subtotal_minor
        } else {
            order.lines.iter().map(|l| l.unit_price_minor * l.quantity).sum()
        };
        let discount = charges.discount_minor + charges.shipping_discount_minor;
        json!({
            "id": order.id,
            "number": number(order),
            "url": self.links.order(&store.slug, &order.id),
            "admin_url": self.links.admin(&store.slug, &format!("orders/{}", order.id)),
            "customer_email": order.email,
            "lines": lines,
            "subtotal": money(subtotal),
            "discount": money(discount),
            "has_discount": discount > 0,
            "shipping": money(charges.shipping_minor),
            "shipping_method": charges.shipping_method_name,
            "tax": money(charges.tax_minor),
            "total": money(order.total_minor),
            "total_minor": order.total_minor,
            "shipping_address": order.shipping_address.as_ref().map(address),
        })
    }

    fn payment_data(&self, store: &StoreInfo, intent: &PaymentIntent) -> Value {
        json!({
            "intent_id": intent.id,
            "order_id": intent.order_id,
            "amount": format_money(intent.amount_minor, &intent.currency),
            "amount_minor": intent.amount_minor,
            "reason": failure(intent.failure),
            "card_last4": intent.card_last4,
            "admin_url": self.links.admin(&store.slug, &format!("orders/{}", intent.order_id)),
        })
    }
}

fn order_of(event: &EventEnvelope) -> Option<Order> {
    directory::decode::<OrderChanged>(event)?.order
}

/// `#1001`, or the id's start for an order placed before numbers were kept.
fn number(order: &Order) -> String {
    match order.number {
        0 => format!("#{}", order.id.chars().take(8).collect::<String>()),
        n => format!("#{n}"),
    }
}

fn recipient(account: Option<&Account>) -> Value {
    match account {
        Some(a) => json!({ "email": a.email, "first_name": a.first_name, "last_name": a.last_name }),
        None => json!({ "email": "", "first_name": "", "last_name": "" }),
    }
}

fn address(a: &Address) -> Value {
    json!({
        "name": a.name, "company": a.company, "line1": a.line1, "line2": a.line2,
        "city": a.city, "region": a.region, "postal_code": a.postal_code, "country": a.country,
    })
}

fn failure(code: i32) -> &'static str {
    match PaymentFailure::try_from(code) {
        Ok(PaymentFailure::CardDeclined) => "the card was declined",
        Ok(PaymentFailure::InsufficientFunds) => "insufficient funds",
        Ok(PaymentFailure::FraudBlocked) => "blocked by the fraud checks",
        Ok(PaymentFailure::ProviderUnavailable) => "the payment provider was unavailable",
        _ => "declined",
    }
}
