//! Customers on every backend: profiles, address books with their defaults, search with keyset
//! paging, tenancy, and the order figures learnt from orders events exactly once.

use crate::support::{Env, PASSWORD, code};
use mercato_identity::customer_orders::ORDERS_GROUP;
use mercato_proto::common::Address;
use mercato_proto::events::{EventEnvelope, OrderChanged};
use mercato_proto::identity::identity_server::Identity;
use mercato_proto::identity::{
    AddCustomerAddressRequest, Customer, CustomerAddress, DeleteCustomerAddressRequest, GetCustomerRequest,
    ListCustomersRequest, RegisterCustomerRequest, UpdateCustomerAddressRequest, UpdateCustomerRequest,
};
use mercato_proto::orders::{Order, OrderStatus};
use mercato_runtime::error::{ErrorCode, ServiceError};
use tonic::Request;

mercato_runtime::backend_tests! {
    setup: Env::on,
    cases: [
        sign_up_takes_names_and_consent_and_a_profile_change_keeps_what_it_does_not_name,
        a_bad_profile_field_is_422_and_changes_nothing,
        a_sign_up_with_a_bad_name_and_email_reports_both_and_writes_nothing,
        the_first_address_becomes_both_defaults_and_defaults_move_and_clear,
        a_bad_postal_code_is_422_naming_the_field_and_stores_nothing,
        an_address_edit_is_validated_whole_and_an_unknown_address_is_404,
        customers_of_another_store_and_other_roles_are_not_found,
        search_finds_email_or_name_in_any_case_and_pages_do_not_repeat_or_skip,
        order_figures_count_confirmed_orders_minus_refunds_once_per_event,
    ],
}

/// A store and the id of a customer registered in it with `email`.
async fn store_with_customer(env: &Env, slug: &str, email: &str) -> (String, String) {
    let store = env.provision(slug).await.store.unwrap();
    let id = sign_up(env, &store.id, email, "", "").await;
    (store.id, id)
}

async fn sign_up(env: &Env, store_id: &str, email: &str, first: &str, last: &str) -> String {
    env.service
        .register_customer(Request::new(RegisterCustomerRequest {
            store_id: store_id.to_owned(),
            email: email.to_owned(),
            password: PASSWORD.to_owned(),
            first_name: first.to_owned(),
            last_name: last.to_owned(),
            marketing_consent: false,
        }))
        .await
        .unwrap()
        .into_inner()
        .id
}

async fn get(env: &Env, store_id: &str, id: &str) -> Result<Customer, ServiceError> {
    let req = GetCustomerRequest {
        store_id: store_id.to_owned(),
        customer_id: id.to_owned(),
    };
    env.service
        .get_customer(Request::new(req))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

fn berlin() -> Address {
    Address {
        name: "Ann Lee".into(),
        line1: "Invalidenstraße 117".into(),
        city: "Berlin".into(),
        postal_code: "10115".into(),
        country: "de".into(),
        ..Address::default()
    }
}

fn london() -> Address {
    Address {
        name: "Ann Lee".into(),
        line1: "10 Downing Street".into(),
        city: "London".into(),
        postal_code: "sw1a2aa".into(),
        country: "GB".into(),
        ..Address::default()
    }
}

async fn add(
    env: &Env,
    store_id: &str,
    id: &str,
    address: Address,
    shipping: bool,
) -> Result<CustomerAddress, ServiceError> {
    let req = AddCustomerAddressRequest {
        store_id: store_id.to_owned(),
        customer_id: id.to_owned(),
        address: Some(address),
        default_shipping: shipping,
        default_billing: false,
    };
    env.service
        .add_customer_address(Request::new(req))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

async fn update_address(
    env: &Env,
    req: UpdateCustomerAddressRequest,
) -> Result<CustomerAddress, ServiceError> {
    env.service
        .update_customer_address(Request::new(req))
        .await
        .map(tonic::Response::into_inner)
        .map_err(ServiceError::from)
}

fn fields(e: &ServiceError) -> Vec<&str> {
    e.fields.iter().map(|f| f.field.as_str()).collect()
}

async fn sign_up_takes_names_and_consent_and_a_profile_change_keeps_what_it_does_not_name(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let user = env
        .service
        .register_customer(Request::new(RegisterCustomerRequest {
            store_id: store.id.clone(),
            email: "ann@example.com".into(),
            password: PASSWORD.into(),
            first_name: " Ann ".into(),
            last_name: "Lee".into(),
            marketing_consent: true,
        }))
        .await
        .unwrap()
        .into_inner();
    let me = get(&env, &store.id, &user.id).await.unwrap();
    assert_eq!((me.first_name.as_str(), me.last_name.as_str()), ("Ann", "Lee"));
    assert!(me.marketing_consent && me.marketing_consent_changed_at_ms > 0);

    let changed = env
        .service
        .update_customer(Request::new(UpdateCustomerRequest {
            store_id: store.id.clone(),
            customer_id: user.id.clone(),
            phone: Some("+44 20 7946 0958".into()),
            marketing_consent: Some(false),
            ..UpdateCustomerRequest::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(changed.first_name, "Ann");
    assert_eq!(changed.phone, "+44 20 7946 0958");
    assert!(!changed.marketing_consent);
    assert!(changed.marketing_consent_changed_at_ms >= me.marketing_consent_changed_at_ms);
}

async fn a_bad_profile_field_is_422_and_changes_nothing(env: Env) {
    let (store, id) = store_with_customer(&env, "tea-house", "ann@example.com").await;
    let err = env
        .service
        .update_customer(Request::new(UpdateCustomerRequest {
            store_id: store.clone(),
            customer_id: id.clone(),
            first_name: Some("Ann".into()),
            phone: Some("call me".into()),
            ..UpdateCustomerRequest::default()
        }))
        .await
        .unwrap_err();
    let err = ServiceError::from(err);
    assert_eq!(
        (err.code, fields(&err)),
        (ErrorCode::ValidationFailed, vec!["phone"])
    );
    assert_eq!(get(&env, &store, &id).await.unwrap().first_name, "");
}

async fn a_sign_up_with_a_bad_name_and_email_reports_both_and_writes_nothing(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap();
    let users = env.count("SELECT COUNT(*) FROM users").await;
    let err = env
        .service
        .register_customer(Request::new(RegisterCustomerRequest {
            store_id: store.id,
            email: "ann@".into(),
            password: PASSWORD.into(),
            first_name: "Ann\u{1b}[2J".into(),
            last_name: "x".repeat(81),
            marketing_consent: true,
        }))
        .await
        .unwrap_err();
    let err = ServiceError::from(err);
    assert_eq!(fields(&err), ["email", "first_name", "last_name"]);
    assert_eq!(env.count("SELECT COUNT(*) FROM users").await, users);
}

async fn the_first_address_becomes_both_defaults_and_defaults_move_and_clear(env: Env) {
    let (store, id) = store_with_customer(&env, "tea-house", "ann@example.com").await;
    let first = add(&env, &store, &id, berlin(), false).await.unwrap();
    assert!(first.default_shipping && first.default_billing);
    assert_eq!(first.address.as_ref().unwrap().country, "DE");
    let second = add(&env, &store, &id, london(), true).await.unwrap();
    assert_eq!(second.address.as_ref().unwrap().postal_code, "SW1A 2AA");
    assert!(second.default_shipping && !second.default_billing);

    let me = get(&env, &store, &id).await.unwrap();
    let flags: Vec<(bool, bool)> = me
        .addresses
        .iter()
        .map(|a| (a.default_shipping, a.default_billing))
        .collect();
    assert_eq!(flags, [(false, true), (true, false)]);

    let billing = update_address(
        &env,
        UpdateCustomerAddressRequest {
            store_id: store.clone(),
            customer_id: id.clone(),
            address_id: second.id.clone(),
            default_billing: Some(true),
            default_shipping: Some(false),
            ..UpdateCustomerAddressRequest::default()
        },
    )
    .await
    .unwrap();
    assert!(billing.default_billing && !billing.default_shipping);

    env.service
        .delete_customer_address(Request::new(DeleteCustomerAddressRequest {
            store_id: store.clone(),
            customer_id: id.clone(),
            address_id: second.id.clone(),
        }))
        .await
        .unwrap();
    let me = get(&env, &store, &id).await.unwrap();
    assert_eq!(me.addresses.len(), 1);
    assert!(
        !me.addresses[0].default_billing,
        "the deleted address's default is cleared"
    );
}

async fn a_bad_postal_code_is_422_naming_the_field_and_stores_nothing(env: Env) {
    let (store, id) = store_with_customer(&env, "tea-house", "ann@example.com").await;
    let bad = Address {
        postal_code: "1011".into(),
        ..berlin()
    };
    let err = add(&env, &store, &id, bad, true).await.unwrap_err();
    assert_eq!(
        (err.code, fields(&err)),
        (ErrorCode::ValidationFailed, vec!["address.postal_code"])
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM customer_addresses").await, 0);
}

async fn an_address_edit_is_validated_whole_and_an_unknown_address_is_404(env: Env) {
    let (store, id) = store_with_customer(&env, "tea-house", "ann@example.com").await;
    let added = add(&env, &store, &id, berlin(), false).await.unwrap();
    let edit = |address_id: &str, country: &str| UpdateCustomerAddressRequest {
        store_id: store.clone(),
        customer_id: id.clone(),
        address_id: address_id.to_owned(),
        country: Some(country.to_owned()),
        ..UpdateCustomerAddressRequest::default()
    };
    // A German postal code is not a US one, and a US address needs a state.
    let err = update_address(&env, edit(&added.id, "US")).await.unwrap_err();
    assert_eq!(fields(&err), ["address.region"]);
    let me = get(&env, &store, &id).await.unwrap();
    assert_eq!(me.addresses[0].address.as_ref().unwrap().country, "DE");
    let moved = update_address(&env, edit(&added.id, "FR")).await.unwrap();
    assert_eq!(moved.address.unwrap().country, "FR");
    let err = update_address(&env, edit("no-such-address", "FR"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
}

async fn customers_of_another_store_and_other_roles_are_not_found(env: Env) {
    let (store, id) = store_with_customer(&env, "tea-house", "ann@example.com").await;
    let (other_store, _) = store_with_customer(&env, "coffee-house", "bob@example.com").await;
    assert_eq!(
        get(&env, &other_store, &id).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        add(&env, &other_store, &id, berlin(), false)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    let owner = env.provision("bakery").await.owner.unwrap();
    assert_eq!(
        get(&env, &owner.store_id, &owner.id).await.unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(
        get(&env, &store, "not-a-uuid").await.unwrap_err().code,
        ErrorCode::NotFound
    );
    assert_eq!(env.count("SELECT COUNT(*) FROM customer_addresses").await, 0);
}

async fn list(env: &Env, store: &str, query: &str, limit: u32, after: &str) -> (Vec<String>, String) {
    let page = env
        .service
        .list_customers(Request::new(ListCustomersRequest {
            store_id: store.to_owned(),
            query: query.to_owned(),
            limit,
            after: after.to_owned(),
        }))
        .await
        .unwrap()
        .into_inner();
    (
        page.customers.into_iter().map(|c| c.email).collect(),
        page.next_cursor,
    )
}

async fn search_finds_email_or_name_in_any_case_and_pages_do_not_repeat_or_skip(env: Env) {
    let store = env.provision("tea-house").await.store.unwrap().id;
    for i in 0..5 {
        sign_up(
            &env,
            &store,
            &format!("c{i}@example.com"),
            "Zoë",
            &format!("Müller{i}"),
        )
        .await;
    }
    sign_up(&env, &store, "ann@example.com", "Ann", "Lee").await;

    assert_eq!(list(&env, &store, "ANN@", 10, "").await.0, ["ann@example.com"]);
    assert_eq!(list(&env, &store, "ann lee", 10, "").await.0, ["ann@example.com"]);
    assert_eq!(
        list(&env, &store, "zoë müller3", 10, "").await.0,
        ["c3@example.com"]
    );
    assert_eq!(list(&env, &store, "100%", 10, "").await.0, Vec::<String>::new());

    let (first, cursor) = list(&env, &store, "müller", 2, "").await;
    assert_eq!(first.len(), 2);
    // A customer signing up between pages goes to the front, not into the next page.
    sign_up(&env, &store, "late@example.com", "Zoë", "Müller9").await;
    let (second, cursor) = list(&env, &store, "müller", 2, &cursor).await;
    let (third, end) = list(&env, &store, "müller", 2, &cursor).await;
    assert_eq!(end, "");
    let mut seen: Vec<String> = first.into_iter().chain(second).chain(third).collect();
    seen.sort();
    assert_eq!(
        seen,
        (0..5).map(|i| format!("c{i}@example.com")).collect::<Vec<_>>()
    );

    let err = env
        .service
        .list_customers(Request::new(ListCustomersRequest {
            store_id: store.clone(),
            after: "garbage".into(),
            ..ListCustomersRequest::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(code(err), ErrorCode::ValidationFailed);
}

fn order_event(
    store: &str,
    customer: &str,
    order: &str,
    status: OrderStatus,
    refunded: i64,
    version: i64,
) -> EventEnvelope {
    let order = Order {
        id: order.to_owned(),
        store_id: store.to_owned(),
        customer_id: customer.to_owned(),
        currency: "EUR".into(),
        total_minor: 2500,
        refunded_minor: refunded,
        status: status as i32,
        version,
        ..Order::default()
    };
    mercato_runtime::outbox::envelope(
        store,
        "mercato.orders.order_confirmed",
        1,
        &OrderChanged { order: Some(order) },
    )
}

async fn order_figures_count_confirmed_orders_minus_refunds_once_per_event(env: Env) {
    let (store, id) = store_with_customer(&env, "tea-house", "ann@example.com").await;
    let confirmed = order_event(&store, &id, "o1", OrderStatus::Confirmed, 0, 5);
    env.service.on_order_event(confirmed.clone()).await.unwrap();
    // Redelivered: no second effect.
    env.service.on_order_event(confirmed).await.unwrap();
    env.service
        .on_order_event(order_event(&store, &id, "o2", OrderStatus::Confirmed, 0, 5))
        .await
        .unwrap();
    let refunded = order_event(&store, &id, "o2", OrderStatus::PartiallyRefunded, 1000, 9);
    env.service.on_order_event(refunded).await.unwrap();
    // A late, older event of o2 does not undo its refund.
    env.service
        .on_order_event(order_event(&store, &id, "o2", OrderStatus::Confirmed, 0, 6))
        .await
        .unwrap();
    // Pending and failed orders count for nothing.
    env.service
        .on_order_event(order_event(&store, &id, "o3", OrderStatus::Pending, 0, 1))
        .await
        .unwrap();
    env.service
        .on_order_event(order_event(&store, &id, "o4", OrderStatus::Failed, 0, 3))
        .await
        .unwrap();

    let me = get(&env, &store, &id).await.unwrap();
    assert_eq!((me.order_count, me.total_spent_minor), (2, 4000));
    let listed = env
        .service
        .list_customers(Request::new(ListCustomersRequest {
            store_id: store.clone(),
            ..ListCustomersRequest::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.customers[0].total_spent_minor, 4000);
    let (seen,): (i64,) = env
        .db
        .query_one(
            "SELECT COUNT(*) FROM processed_events WHERE consumer = $1",
            &[&ORDERS_GROUP],
        )
        .await
        .unwrap();
    assert_eq!(
        seen, 4,
        "the confirmed, refunded and late events of o1 and o2, each once"
    );

    // Several at once, as the consumer hands them over: one transaction, each event once, the
    // newest version of an order winning within the batch too.
    let o5 = order_event(&store, &id, "o5", OrderStatus::Confirmed, 0, 2);
    let batch = vec![
        o5.clone(),
        o5,
        order_event(&store, &id, "o5", OrderStatus::PartiallyRefunded, 500, 4),
        order_event(&store, &id, "o5", OrderStatus::Confirmed, 0, 3),
        order_event(&store, &id, "o6", OrderStatus::Pending, 0, 1),
    ];
    env.service.on_order_events(batch).await.unwrap();
    let me = get(&env, &store, &id).await.unwrap();
    assert_eq!((me.order_count, me.total_spent_minor), (3, 4000 + 2500 - 500));
}
