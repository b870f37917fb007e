//! W3C trace context across process boundaries: HTTP headers, gRPC metadata and bus events.
//!
//! Spans are `tracing` spans bridged to OpenTelemetry; these helpers move the current span's
//! context into a carrier (`traceparent`) and make a new span the child of a received one, so
//! one checkout is one trace through gateway, services and consumers. Each does nothing in a
//! process that exports no traces (`telemetry::traces_exported`).

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::collections::HashMap;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::try_from(key),
            http::HeaderValue::try_from(value),
        ) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes the current span's context into HTTP (or gRPC, which travels as HTTP/2) headers.
pub fn inject_headers(headers: &mut http::HeaderMap) {
    if !crate::telemetry::traces_exported() {
        return;
    }
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}

/// Makes `span` the child of the context carried by `headers`, if any, and records its trace id
/// in the span's `trace_id` field (declared by the caller), so that JSON logs carry it.
pub fn adopt_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    if !crate::telemetry::traces_exported() {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    adopt(span, parent);
}

/// The current span's context as a `traceparent` value; empty when there is no sampled trace.
pub fn current_traceparent() -> String {
    if !crate::telemetry::traces_exported() {
        return String::new();
    }
    let cx = tracing::Span::current().context();
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent").unwrap_or_default()
}

/// Makes `span` the child of a `traceparent` value (from an event), if it is valid.
pub fn adopt_traceparent(span: &tracing::Span, traceparent: &str) {
    if !crate::telemetry::traces_exported() {
        return;
    }
    let mut carrier = HashMap::new();
    if !traceparent.is_empty() {
        carrier.insert("traceparent".to_owned(), traceparent.to_owned());
    }
    let parent = TraceContextPropagator::new().extract(&carrier);
    adopt(span, parent);
}

fn adopt(span: &tracing::Span, parent: opentelemetry::Context) {
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    let trace_id = span.context().span().span_context().trace_id();
    if trace_id != opentelemetry::trace::TraceId::INVALID {
        span.record("trace_id", tracing::field::display(trace_id));
    }
}

/// The trace id of the current span, for log lines and error reports.
pub fn current_trace_id() -> Option<String> {
    let id = tracing::Span::current()
        .context()
        .span()
        .span_context()
        .trace_id();
    (id != opentelemetry::trace::TraceId::INVALID).then(|| id.to_string())
}
