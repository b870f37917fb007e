//! Error codes on the wire and over gRPC: names, statuses and round trips.

use super::*;

#[test]
fn a_service_error_survives_the_trip_through_grpc() {
    let e = ServiceError::invalid_field("slug", "must be lower case");
    let back = ServiceError::from(tonic::Status::from(e.clone()));
    assert_eq!(back, e);
}

#[test]
fn a_specific_conflict_code_and_its_retry_after_survive_grpc() {
    let e = ServiceError::in_progress("still running", 3);
    let mut back = ServiceError::from(tonic::Status::from(e.clone()));
    assert_eq!(back.code, ErrorCode::CheckoutInProgress);
    assert_eq!(back.code.http_status(), 409);
    assert_eq!(back.take_retry_after(), Some(3));
    assert!(back.fields.is_empty());
    for code in ErrorCode::ALL.into_iter().filter(|c| c.http_status() == 409) {
        let back = ServiceError::from(tonic::Status::from(ServiceError::new(code, "x")));
        assert_eq!(back.code, code);
    }
    assert_eq!(ErrorCode::for_http_status(409), Some(ErrorCode::Conflict));
}

#[test]
fn store_conflicts_have_their_own_codes_on_the_wire_and_over_grpc() {
    let expected = [
        (ErrorCode::SlugTaken, "slug_taken", tonic::Code::AlreadyExists),
        (ErrorCode::SkuTaken, "sku_taken", tonic::Code::AlreadyExists),
        (
            ErrorCode::ReservationIdReused,
            "reservation_id_reused",
            tonic::Code::AlreadyExists,
        ),
        (
            ErrorCode::ReservationStatusConflict,
            "reservation_status_conflict",
            tonic::Code::FailedPrecondition,
        ),
        (
            ErrorCode::StockOutOfBounds,
            "stock_out_of_bounds",
            tonic::Code::FailedPrecondition,
        ),
    ];
    for (code, name, grpc) in expected {
        assert_eq!(
            (code.as_str(), code.http_status(), code.grpc_code()),
            (name, 409, grpc)
        );
        assert_eq!(ErrorCode::from_str(name), Some(code));
        assert!(ErrorCode::ALL.contains(&code), "{name} is missing from ALL");
    }
    let stale = ServiceError::changed_concurrently("retry");
    assert_eq!(ServiceError::from(tonic::Status::from(stale.clone())), stale);
}

#[test]
fn identity_and_payments_conflicts_have_their_own_codes_on_the_wire_and_over_grpc() {
    let expected = [
        (ErrorCode::EmailTaken, "email_taken", tonic::Code::AlreadyExists),
        (
            ErrorCode::CannotDisableSelf,
            "cannot_disable_self",
            tonic::Code::FailedPrecondition,
        ),
        (
            ErrorCode::LastOwner,
            "last_owner",
            tonic::Code::FailedPrecondition,
        ),
        (
            ErrorCode::IdempotencyKeyReused,
            "idempotency_key_reused",
            tonic::Code::AlreadyExists,
        ),
        (
            ErrorCode::PaymentStatusConflict,
            "payment_status_conflict",
            tonic::Code::FailedPrecondition,
        ),
        (
            ErrorCode::PaymentAlreadyCaptured,
            "payment_already_captured",
            tonic::Code::FailedPrecondition,
        ),
        (
            ErrorCode::ProviderRefused,
            "provider_refused",
            tonic::Code::FailedPrecondition,
        ),
    ];
    for (code, name, grpc) in expected {
        assert_eq!(
            (code.as_str(), code.http_status(), code.grpc_code()),
            (name, 409, grpc)
        );
        let back = ServiceError::from(tonic::Status::from(ServiceError::new(code, "x")));
        assert_eq!(back.code, code, "{name} survives gRPC");
    }
    let disabled = ErrorCode::AccountDisabled;
    assert_eq!(
        (disabled.as_str(), disabled.http_status(), disabled.grpc_code()),
        ("account_disabled", 403, tonic::Code::PermissionDenied)
    );
    assert_eq!(ErrorCode::for_http_status(403), Some(ErrorCode::Forbidden));
}

#[test]
fn a_transport_failure_becomes_unavailable_without_details() {
    let back = ServiceError::from(tonic::Status::unavailable("tcp connect error 10.0.0.1"));
    assert_eq!(back.code, ErrorCode::Unavailable);
    assert!(!back.message.contains("10.0.0.1"));
}

#[test]
fn a_connection_lost_mid_call_is_unavailable_not_internal() {
    let back = ServiceError::from(tonic::Status::internal("h2 protocol error: connection reset"));
    assert_eq!(back.code, ErrorCode::Unavailable);
    assert_eq!(back.code.http_status(), 503);
}

#[test]
fn a_field_error_is_the_validation_error_naming_its_field() {
    let e = ServiceError::from(FieldError::new("slug", "must be lower case"));
    assert_eq!(e.code.http_status(), 422);
    assert_eq!(e.message, "slug must be lower case");
    assert_eq!(e.fields, [FieldError::new("slug", "must be lower case")]);
    let mut v = Validator::new();
    assert_eq!(
        v.check(Err::<(), _>(FieldError::new("name", "is required"))),
        None
    );
    assert_eq!(
        v.finish().unwrap_err().fields,
        [FieldError::new("name", "is required")]
    );
}

#[test]
fn validator_reports_every_bad_field() {
    let mut v = Validator::new();
    v.add("slug", "is required");
    v.add("name", "is required");
    let e = v.finish().unwrap_err();
    assert_eq!(e.fields.len(), 2);
    assert_eq!(e.code.http_status(), 422);
}

#[test]
fn every_code_is_listed_once_and_statuses_name_their_general_code() {
    let names: std::collections::HashSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(names.len(), ErrorCode::ALL.len());
    for code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_str(code.as_str()), Some(code));
    }
    assert_eq!(ErrorCode::for_http_status(400), Some(ErrorCode::InvalidRequest));
    assert_eq!(ErrorCode::for_http_status(405), Some(ErrorCode::MethodNotAllowed));
    assert_eq!(ErrorCode::for_http_status(431), Some(ErrorCode::HeadersTooLarge));
    assert_eq!(ErrorCode::for_http_status(418), None);
}
