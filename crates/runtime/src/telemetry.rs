//! Logs and traces: JSON lines for machines or a compact format for a terminal, and
//! OpenTelemetry spans exported over OTLP/gRPC when an endpoint is configured.
//!
//! With an exporter, spans get trace ids that logs carry and calls and events propagate
//! (`traceparent`); without one, no OpenTelemetry work is done at all.

use crate::config::{LogFormat, LogSettings, TelemetrySettings};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider, SpanData, SpanExporter};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Flushes and stops trace export when dropped; keep it alive for the life of the process.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Exports every finished span now (tests; shutdown does it anyway).
    pub fn flush(&self) {
        if let Some(provider) = &self.provider {
            let _ = provider.force_flush();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            // Bounded: with a collector configured but down, shutdown must not hang the process.
            let _ = std::thread::spawn(move || provider.shutdown_with_timeout(Duration::from_secs(3))).join();
        }
    }
}

/// Installs the global subscriber; `RUST_LOG` overrides the configured filter. Calling it
/// twice (as tests do) keeps the first subscriber.
pub fn init(log: &LogSettings, telemetry: &TelemetrySettings, service_name: &str) -> TelemetryGuard {
    let filter =
        EnvFilter::try_from_env(crate::env::LOG_FILTER).unwrap_or_else(|_| EnvFilter::new(&log.filter));
    // Spans go to the tracer at info level whatever the log filter says: quiet logs must not
    // cut traces short. Each span carries its own fields and trace context and nothing more: no
    // busy/idle timing, thread or source location (an `Instant::now` and attribute work on
    // every enter, exit and creation, 3 % of a checkout's CPU), and no activation of an
    // OpenTelemetry context on enter, which only other OpenTelemetry instrumentation would
    // read; `trace_context` reads a span's context from the span itself. Without an exporter
    // nothing reads OpenTelemetry spans, so the layer is not installed at all (it was a tenth
    // of a cached read's CPU): logs then carry request ids but no trace ids.
    let provider = exporter_configured(telemetry).then(|| tracer_provider(telemetry, service_name));
    let otel = provider.as_ref().map(|provider| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("mercato"))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_context_activation(false)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let installed = tracing_subscriber::registry()
        .with(otel)
        .with(log_layer(log.format, std::io::stdout, terminal).with_filter(filter))
        .try_init();
    if installed.is_ok() && provider.is_some() {
        TRACES_EXPORTED.store(true, Ordering::Relaxed);
    }
    TelemetryGuard {
        provider: provider.filter(|_| installed.is_ok()),
    }
}

/// The layer writing log lines to `writer`. Colour codes only for the human format on a
/// terminal: in a file or a pipe they are escape codes a reader has to strip. JSON has none.
fn log_layer<S, W>(format: LogFormat, writer: W, terminal: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_ansi(false)
            .with_writer(writer)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .compact()
            .with_ansi(terminal)
            .with_writer(writer)
            .boxed(),
    }
}

static TRACES_EXPORTED: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces; without an exporter, callers skip trace-context work.
pub fn traces_exported() -> bool {
    TRACES_EXPORTED.load(Ordering::Relaxed)
}

fn exporter_configured(telemetry: &TelemetrySettings) -> bool {
    telemetry.otlp_endpoint.as_deref().is_some_and(|e| !e.is_empty())
}

fn tracer_provider(telemetry: &TelemetrySettings, service_name: &str) -> SdkTracerProvider {
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(telemetry.sample_ratio)));
    let builder = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(sampler);
    let Some(endpoint) = telemetry.otlp_endpoint.as_deref().filter(|e| !e.is_empty()) else {
        return builder.build();
    };
    match OtlpExporter::new(endpoint) {
        Ok(exporter) => builder.with_batch_exporter(exporter).build(),
        Err(e) => {
            eprintln!("tracing: OTLP exporter to {endpoint} not started: {e}");
            builder.build()
        }
    }
}

/// The OTLP/gRPC exporter with a small runtime of its own: the SDK's batch processor exports
/// from a plain OS thread, where tonic would find no Tokio reactor.
#[derive(Debug)]
struct OtlpExporter {
    inner: opentelemetry_otlp::SpanExporter,
    runtime: tokio::runtime::Runtime,
}

impl OtlpExporter {
    /// Built on a thread of its own: this is called from within the application's runtime,
    /// where starting (or later dropping) another runtime is not allowed.
    fn new(endpoint: &str) -> anyhow::Result<Self> {
        let endpoint = endpoint.to_owned();
        std::thread::spawn(move || {
            use opentelemetry_otlp::WithExportConfig;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("otlp-export")
                .enable_all()
                .build()?;
            let inner = runtime.block_on(async {
                opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .with_timeout(Duration::from_secs(3))
                    .build()
            })?;
            Ok(OtlpExporter { inner, runtime })
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the exporter thread panicked"))?
    }
}

impl SpanExporter for OtlpExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let result = self.runtime.block_on(self.inner.export(batch));
        std::future::ready(result)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Log output captured in memory, as a file would receive it.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
        type Writer = Captured;

        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    #[test]
    fn log_lines_carry_colour_codes_only_when_written_to_a_terminal() {
        for (format, terminal, coloured) in [
            (LogFormat::Pretty, false, false),
            (LogFormat::Pretty, true, true),
            (LogFormat::Json, false, false),
            (LogFormat::Json, true, false),
        ] {
            let out = Captured::default();
            let subscriber = tracing_subscriber::registry().with(log_layer(format, out.clone(), terminal));
            tracing::subscriber::with_default(subscriber, || {
                tracing::warn!(order_id = 7, "payment authorization timed out");
            });
            let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
            assert!(text.contains("payment authorization timed out"), "{text}");
            assert_eq!(
                text.contains('\x1b'),
                coloured,
                "{format:?}, terminal: {terminal}: {text:?}"
            );
        }
    }
}
