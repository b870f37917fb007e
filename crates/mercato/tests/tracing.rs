//! One request is one trace: a call through a gateway to a remote service arrives at an OTLP
//! collector as spans of a single trace, continuing the caller's W3C `traceparent`.
//!
//! Its own test binary, because it installs the process-wide subscriber with an exporter.

use mercato::app::App;
use mercato::roles::Roles;
use mercato_runtime::config::{LogFormat, LogSettings, Secret, Settings, TelemetrySettings};
use mercato_runtime::env::{TEST_NATS_URL, TEST_POSTGRES_URL, TEST_REDIS_URL, test_url};
use mercato_runtime::shutdown::Shutdown;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A collector that keeps (trace id, span name) of everything it receives.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<(String, String)>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                for span in scope.spans {
                    let id: String = span.trace_id.iter().map(|b| format!("{b:02x}")).collect();
                    spans.push((id, span.name));
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

async fn start(settings: &Settings, roles: &str, shutdown: &Shutdown) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = App::build(settings, Roles::parse(roles).unwrap())
        .await
        .expect("builds");
    let shutdown = shutdown.clone();
    tokio::spawn(async move { app.serve(listener, shutdown).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_through_the_gateway_is_one_trace_across_services() {
    let (Some(pg), Some(nats), Some(redis)) = (
        test_url(TEST_POSTGRES_URL),
        test_url(TEST_NATS_URL),
        test_url(TEST_REDIS_URL),
    ) else {
        eprintln!("skipped: the distributed topology needs the MERCATO_TEST_* URLs");
        return;
    };
    let collector = Collector::default();
    let otlp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let otlp_url = format!("http://{}", otlp.local_addr().unwrap());
    let server = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(server)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(otlp)),
    );
    let log = LogSettings {
        format: LogFormat::Json,
        filter: "warn".to_owned(),
    };
    let telemetry = TelemetrySettings {
        otlp_endpoint: Some(otlp_url),
        sample_ratio: 1.0,
    };
    let guard = mercato_runtime::telemetry::init(&log, &telemetry, "mercato-test");

    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut s = Settings::default();
    s.demo.seed = false;
    s.data_dir = std::env::temp_dir().join("mercato-tests").join(&run);
    s.postgres.url = Some(Secret::new(pg));
    s.postgres.database_prefix = format!("mercato_e2e_{}_", &run[20..]);
    s.nats.url = Some(Secret::new(nats.clone()));
    s.nats.namespace = format!("e2e{run}");
    let _nats = mercato_runtime::testing::NatsNamespaceGuard::new(&nats, &s.nats.namespace);
    s.redis.url = Some(Secret::new(redis));
    s.redis.key_prefix = format!("e2e:{run}:");
    let shutdown = Shutdown::new();
    let identity = start(&s, "identity", &shutdown).await;
    s.services.identity = vec![identity];
    let catalog = start(&s, "catalog", &shutdown).await;
    s.services.catalog = vec![catalog];
    let inventory = start(&s, "inventory", &shutdown).await;
    s.services.inventory = vec![inventory];
    let payments = start(&s, "payments", &shutdown).await;
    s.services.payments = vec![payments];
    let orders = start(&s, "orders", &shutdown).await;
    s.services.orders = vec![orders];
    let realtime = start(&s, "realtime", &shutdown).await;
    s.services.realtime = vec![realtime];
    let analytics = start(&s, "analytics", &shutdown).await;
    s.services.analytics = vec![analytics];
    let notifications = start(&s, "notifications", &shutdown).await;
    s.services.notifications = vec![notifications];
    let gateway = start(&s, "gateway", &shutdown).await;

    let http = reqwest::Client::new();
    let read_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let response = http
        .get(format!("{gateway}/v1/stores/no-such-store/products"))
        .header("traceparent", format!("00-{read_trace}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // A write's event carries the trace to its consumers: catalog records the new store.
    let write_trace = "0af7651916cd43dd8448eb211c80319c";
    let body = serde_json::json!({"slug": format!("traced-{}", &run[24..]), "name": "Traced", "currency": "EUR",
        "owner": {"email": "o@example.com", "password": "long enough password"}});
    let response = http
        .post(format!("{gateway}/v1/stores"))
        .header("traceparent", format!("00-{write_trace}-b7ad6b7169203331-01"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let expected = [
        (read_trace, &["http", "rpc.client", "rpc.server"][..]),
        (write_trace, &["http", "rpc.server", "consume"][..]),
    ];
    let names_in = |trace: &str| -> Vec<String> {
        collector
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|(id, _)| id == trace)
            .map(|(_, n)| n.clone())
            .collect()
    };
    for _ in 0..50 {
        // Blocks this worker briefly; the exporter runs on its own runtime, so it cannot deadlock.
        guard.flush();
        let complete = expected.iter().all(|(trace, spans)| {
            let names = names_in(trace);
            spans.iter().all(|s| names.iter().any(|n| n == s))
        });
        if complete {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (trace, spans) in expected {
        let names = names_in(trace);
        for span in spans {
            assert!(
                names.iter().any(|n| n == span),
                "no {span} span in trace {trace}: {names:?}"
            );
        }
    }
    shutdown.cancel();
}
