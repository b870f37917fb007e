//! Bad ranges are INVALID_ARGUMENT naming the field; a timeseries wants a known metric.

use crate::support::*;
use mercato_proto::analytics::*;

mercato_runtime::backend_tests! {
    setup: Analytics::on,
    cases: [bad_ranges_name_their_field],
}

async fn bad_ranges_name_their_field(a: Analytics) {
    a.store_in("Asia/Kolkata").await;
    let summary = |from: &str, to: &str| SummaryRequest {
        store_id: STORE.into(),
        range: Some(range(from, to)),
        ..SummaryRequest::default()
    };
    for (from, to, field) in [
        ("2026-12-05", "2026-12-01", "from"),
        ("2025-01-01", "2026-12-01", "to"),
        ("12/01/2026", "", "from"),
        ("", "2026-12-01T10:00:00Z", "to"),
    ] {
        let e = a.service.summary(summary(from, to)).await.unwrap_err();
        let status = tonic::Status::from(e.clone());
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{from}–{to}");
        assert_eq!(e.fields[0].field, field, "{from}–{to}");
    }
    // Kolkata's hours start on the half hour.
    assert!(
        a.service
            .summary(summary("2026-12-01T10:30:00Z", ""))
            .await
            .is_ok()
    );
    let e = a
        .service
        .timeseries(TimeseriesRequest {
            store_id: STORE.into(),
            ..TimeseriesRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.fields[0].field, "metric");
}
