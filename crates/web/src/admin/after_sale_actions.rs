//! The order page's after-sale forms, each posted to the API as the signed-in staff member:
//! create a shipment (`POST …/fulfilments`, with the form's idempotency key), mark it shipped or
//! delivered, request a return (idempotency key), approve, reject or receive it. Success goes
//! back to the order page (303) with a notice; a refusal shows the page with the message next to
//! the form that was refused (`after_sale::Problem`).

use super::access::{Staff, plain_segment};
use super::after_sale::{Form, Problem};
use super::order::{field, fields, page_with_problem};
use crate::WebState;
use crate::api::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub(crate) fn routes() -> Router<WebState> {
    Router::new()
        .route("/admin/{store}/orders/{order}/shipments", post(create_shipment))
        .route(
            "/admin/{store}/orders/{order}/shipments/{shipment}/ship",
            post(ship),
        )
        .route(
            "/admin/{store}/orders/{order}/shipments/{shipment}/deliver",
            post(deliver),
        )
        .route("/admin/{store}/orders/{order}/returns", post(request_return))
        .route(
            "/admin/{store}/orders/{order}/returns/{ret}/approve",
            post(approve),
        )
        .route("/admin/{store}/orders/{order}/returns/{ret}/reject", post(reject))
        .route(
            "/admin/{store}/orders/{order}/returns/{ret}/receive",
            post(receive),
        )
}

/// What a finished after-sale action says on the order page.
pub(crate) fn notice(done: &str) -> Option<&'static str> {
    match done {
        "shipment" => Some("The shipment is created."),
        "shipped" => Some("The shipment is marked as shipped."),
        "delivered" => Some("The shipment is marked as delivered."),
        "return-requested" => Some("The return is requested."),
        "return-approved" => Some("The return is approved."),
        "return-rejected" => Some("The return is rejected."),
        "return-received" => {
            Some("The return is received: its units are refunded and the sellable ones go back in stock.")
        }
        _ => None,
    }
}

/// A refusal made here, before the API is asked.
fn invalid(detail: &str) -> ApiError {
    ApiError {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code: "validation_failed".to_owned(),
        detail: detail.to_owned(),
        fields: Vec::new(),
    }
}

/// A SKU and what is wrong with its line.
type LineError = (String, String);

/// The lines of a shipment or return form: each `sku` with the `quantity` after it, above zero.
/// A quantity that is not a whole number is named by its SKU.
fn lines(fields: &[(String, String)]) -> Result<Vec<(String, i64)>, Vec<LineError>> {
    let skus = fields.iter().filter(|(k, _)| k == "sku").map(|(_, v)| v);
    let quantities = fields.iter().filter(|(k, _)| k == "quantity").map(|(_, v)| v);
    let mut lines = Vec::new();
    let mut wrong = Vec::new();
    for (sku, quantity) in skus.zip(quantities) {
        match quantity.trim() {
            "" => {}
            q => match q.parse::<i64>() {
                Ok(0) => {}
                Ok(n) if n > 0 => lines.push((sku.clone(), n)),
                _ => wrong.push((sku.clone(), "enter a whole number of units, 0 or more".to_owned())),
            },
        }
    }
    if wrong.is_empty() { Ok(lines) } else { Err(wrong) }
}

/// The API's `lines[i]…` messages as messages of the lines' SKUs.
fn line_errors(error: &ApiError, sent: &[(String, i64)]) -> Vec<LineError> {
    error
        .fields
        .iter()
        .filter_map(|f| {
            let index = f
                .field
                .strip_prefix("lines[")?
                .split(']')
                .next()?
                .parse::<usize>()
                .ok()?;
            Some((sent.get(index)?.0.clone(), f.message.clone()))
        })
        .collect()
}

/// The text of an optional field: absent when empty.
fn optional(fields: &[(String, String)], name: &str) -> Value {
    match field(fields, name).trim() {
        "" => Value::Null,
        text => Value::String(text.to_owned()),
    }
}

/// Back to the order page with its notice, or the page with the refusal next to `form`.
async fn after(
    staff: Staff,
    order: &str,
    result: Result<(), ApiError>,
    done: &str,
    problem: impl FnOnce(ApiError) -> Problem,
) -> Response {
    match result {
        Ok(()) => {
            let anchor = if done.starts_with("return") {
                "returns"
            } else {
                "shipments"
            };
            Redirect::to(&format!(
                "/admin/{}/orders/{order}?done={done}#{anchor}",
                staff.store
            ))
            .into_response()
        }
        Err(e) if e.is_unauthenticated() || e.is_not_found() => staff.failure("orders", &e),
        Err(e) => page_with_problem(staff, order, problem(e)).await,
    }
}

fn problem(form: Form, typed: Vec<(String, String)>) -> impl FnOnce(ApiError) -> Problem {
    move |error| Problem {
        form,
        error,
        line_errors: Vec::new(),
        typed,
    }
}

async fn create_shipment(staff: Staff, Path((_, order)): Path<(String, String)>, body: Bytes) -> Response {
    if !plain_segment(&order) {
        return staff.not_found("orders");
    }
    let fields = fields(&body);
    let sent = match lines(&fields) {
        Ok(sent) if !sent.is_empty() => sent,
        Ok(_) => {
            let error = invalid("choose at least one unit to send");
            return after(staff, &order, Err(error), "", problem(Form::Shipment, fields)).await;
        }
        Err(wrong) => {
            let p = Problem {
                form: Form::Shipment,
                error: invalid("some quantities are not whole numbers"),
                line_errors: wrong,
                typed: fields,
            };
            return page_with_problem(staff, &order, p).await;
        }
    };
    let body = json!({
        "lines": sent.iter().map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity})).collect::<Vec<_>>(),
        "location": optional(&fields, "location"),
        "carrier": optional(&fields, "carrier"),
        "tracking_number": optional(&fields, "tracking_number"),
        "tracking_url": optional(&fields, "tracking_url"),
    });
    let path = staff.api_path(&format!("/orders/{order}/fulfilments"));
    let result = staff
        .session
        .post(&path)
        .header_str("idempotency-key", field(&fields, "key"))
        .json(&body)
        .send_empty()
        .await;
    after(staff, &order, result, "shipment", move |error| Problem {
        form: Form::Shipment,
        line_errors: line_errors(&error, &sent),
        error,
        typed: fields,
    })
    .await
}

async fn ship(
    staff: Staff,
    Path((_, order, shipment)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if !plain_segment(&order) || !plain_segment(&shipment) {
        return staff.not_found("orders");
    }
    let fields = fields(&body);
    let body = json!({
        "carrier": optional(&fields, "carrier"),
        "tracking_number": optional(&fields, "tracking_number"),
    });
    let path = staff.api_path(&format!("/orders/{order}/fulfilments/{shipment}/ship"));
    let result = staff.session.post(&path).json(&body).send_empty().await;
    after(
        staff,
        &order,
        result,
        "shipped",
        problem(Form::Ship(shipment), fields),
    )
    .await
}

async fn deliver(staff: Staff, Path((_, order, shipment)): Path<(String, String, String)>) -> Response {
    if !plain_segment(&order) || !plain_segment(&shipment) {
        return staff.not_found("orders");
    }
    let path = staff.api_path(&format!("/orders/{order}/fulfilments/{shipment}/deliver"));
    let result = staff.session.post(&path).send_empty().await;
    after(
        staff,
        &order,
        result,
        "delivered",
        problem(Form::Deliver(shipment), Vec::new()),
    )
    .await
}

async fn request_return(staff: Staff, Path((_, order)): Path<(String, String)>, body: Bytes) -> Response {
    if !plain_segment(&order) {
        return staff.not_found("orders");
    }
    let fields = fields(&body);
    let sent = match lines(&fields) {
        Ok(sent) if !sent.is_empty() => sent,
        Ok(_) => {
            let error = invalid("choose at least one unit to return");
            return after(
                staff,
                &order,
                Err(error),
                "",
                problem(Form::RequestReturn, fields),
            )
            .await;
        }
        Err(wrong) => {
            let p = Problem {
                form: Form::RequestReturn,
                error: invalid("some quantities are not whole numbers"),
                line_errors: wrong,
                typed: fields,
            };
            return page_with_problem(staff, &order, p).await;
        }
    };
    let body = json!({
        "lines": sent.iter().map(|(sku, quantity)| json!({"sku": sku, "quantity": quantity})).collect::<Vec<_>>(),
        "reason": optional(&fields, "reason"),
    });
    let path = staff.api_path(&format!("/orders/{order}/returns"));
    let result = staff
        .session
        .post(&path)
        .header_str("idempotency-key", field(&fields, "key"))
        .json(&body)
        .send_empty()
        .await;
    after(staff, &order, result, "return-requested", move |error| Problem {
        form: Form::RequestReturn,
        line_errors: line_errors(&error, &sent),
        error,
        typed: fields,
    })
    .await
}

async fn decide(staff: Staff, order: String, ret: String, verb: &str) -> Response {
    if !plain_segment(&order) || !plain_segment(&ret) {
        return staff.not_found("orders");
    }
    let path = staff.api_path(&format!("/orders/{order}/returns/{ret}/{verb}"));
    let result = staff.session.post(&path).send_empty().await;
    let done = if verb == "approve" {
        "return-approved"
    } else {
        "return-rejected"
    };
    after(
        staff,
        &order,
        result,
        done,
        problem(Form::Decide(ret), Vec::new()),
    )
    .await
}

async fn approve(staff: Staff, Path((_, order, ret)): Path<(String, String, String)>) -> Response {
    decide(staff, order, ret, "approve").await
}

async fn reject(staff: Staff, Path((_, order, ret)): Path<(String, String, String)>) -> Response {
    decide(staff, order, ret, "reject").await
}

/// Receives every unit of the return: each posted line (`sku`, `quantity`) sellable when its
/// `sellable-{n}` box (n from 1, in the lines' order) is ticked.
async fn receive(
    staff: Staff,
    Path((_, order, ret)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if !plain_segment(&order) || !plain_segment(&ret) {
        return staff.not_found("orders");
    }
    let fields = fields(&body);
    let skus = fields.iter().filter(|(k, _)| k == "sku").map(|(_, v)| v);
    let quantities = fields.iter().filter(|(k, _)| k == "quantity").map(|(_, v)| v);
    let mut received = Vec::new();
    for (n, (sku, quantity)) in skus.zip(quantities).enumerate() {
        let Ok(quantity) = quantity.parse::<i64>() else {
            continue;
        };
        let sellable = !field(&fields, &format!("sellable-{}", n + 1)).is_empty();
        received.push(json!({"sku": sku, "quantity": quantity, "sellable": sellable}));
    }
    let path = staff.api_path(&format!("/orders/{order}/returns/{ret}/receive"));
    // A receipt is idempotent by the return itself: no key needed.
    let result = staff
        .session
        .post(&path)
        .json(&json!({ "lines": received }))
        .send_empty()
        .await;
    after(
        staff,
        &order,
        result,
        "return-received",
        problem(Form::Receive(ret), fields),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn lines_skip_zeros_and_name_the_sku_of_a_wrong_quantity() {
        let form = pairs(&[("sku", "A"), ("quantity", "0"), ("sku", "B"), ("quantity", "2")]);
        assert_eq!(lines(&form).unwrap(), [("B".to_owned(), 2)]);
        let wrong = lines(&pairs(&[
            ("sku", "A"),
            ("quantity", "-1"),
            ("sku", "B"),
            ("quantity", "x"),
        ]))
        .unwrap_err();
        assert_eq!(
            wrong.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(),
            ["A", "B"]
        );
    }

    #[test]
    fn the_apis_line_errors_name_the_skus_sent() {
        let error = ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed".to_owned(),
            detail: String::new(),
            fields: vec![crate::api::FieldError {
                field: "lines[1].quantity".to_owned(),
                message: "B: must be between 1 and 2".to_owned(),
            }],
        };
        let sent = [("A".to_owned(), 1), ("B".to_owned(), 3)];
        assert_eq!(
            line_errors(&error, &sent),
            [("B".to_owned(), "B: must be between 1 and 2".to_owned())]
        );
    }
}
