//! Renewals on the caller's side of mutual TLS, over real connections: a client built once
//! presents the certificate its files hold now on its next connection, keeps the old one (and
//! says so) while the changed files do not load, and trusts a rotated CA once its CA file does.

use super::mtls::{Stock, files, inventory_presenting, pem_der, serve, stock, temp_dir};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use mercato_proto::inventory::inventory_server::InventoryServer;
use mercato_runtime::config::TlsFiles;
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::tls::issue::{DevCa, write_identity};
use mercato_runtime::tls::{ClientTls, Dialer, ServerTls};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// How often the clients' files are looked at in these tests.
const LOOK_EVERY: Duration = Duration::from_millis(50);

/// A service port (inventory's gRPC) that records the certificate each client presents, and
/// can hang up on every open connection so that a client's next call opens a new one.
struct RecordingPort {
    addr: SocketAddr,
    presented: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Cancelled to hang up on the connections open now; replaced by a fresh one each time.
    open_connections: Arc<Mutex<Shutdown>>,
    stop: Shutdown,
}

impl RecordingPort {
    async fn serve(tls: &TlsFiles) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = RecordingPort {
            addr: listener.local_addr().unwrap(),
            presented: Arc::default(),
            open_connections: Arc::default(),
            stop: Shutdown::new(),
        };
        let server = ServerTls::load(tls).unwrap();
        let router = tonic::service::Routes::new(InventoryServer::new(Stock)).into_axum_router();
        let (presented, open, stop) = (
            Arc::clone(&port.presented),
            Arc::clone(&port.open_connections),
            port.stop.clone(),
        );
        tokio::spawn(async move {
            loop {
                let tcp = tokio::select! {
                    accepted = listener.accept() => accepted.unwrap().0,
                    () = stop.cancelled() => return,
                };
                let (acceptor, presented, router) =
                    (server.acceptor(), Arc::clone(&presented), router.clone());
                let hang_up = open.lock().unwrap().clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let certificate = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
                    presented.lock().unwrap().push(certificate);
                    let service = hyper::service::service_fn(move |request| router.clone().oneshot(request));
                    let builder = auto::Builder::new(TokioExecutor::new());
                    tokio::select! {
                        _ = builder.serve_connection(TokioIo::new(stream), service) => {}
                        () = hang_up.cancelled() => {}
                    }
                });
            }
        });
        port
    }

    fn hang_up(&self) {
        let mut open = self.open_connections.lock().unwrap();
        open.cancel();
        *open = Shutdown::new();
    }

    fn handshakes(&self) -> usize {
        self.presented.lock().unwrap().len()
    }

    /// The certificate of the latest handshake.
    fn last_presented(&self) -> Option<Vec<u8>> {
        self.presented.lock().unwrap().last().cloned()
    }

    /// The certificate of the first handshake after `before` (the server may finish one a moment
    /// after the client did).
    async fn presented_after(&self, before: usize) -> Vec<u8> {
        for _ in 0..100 {
            if let Some(certificate) = self.presented.lock().unwrap().get(before) {
                return certificate.clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no handshake after the {before}th");
    }
}

impl Drop for RecordingPort {
    fn drop(&mut self) {
        self.stop.cancel();
        self.hang_up();
    }
}

/// A directory holding a CA (`ca.pem`) and inventory's and orders' certificates of it.
fn platform() -> (PathBuf, DevCa) {
    let dir = temp_dir();
    let ca = DevCa::generate("test CA").unwrap();
    write_identity(&dir, "ca", ca.cert()).unwrap();
    for service in ["inventory", "orders"] {
        write_identity(&dir, service, &ca.issue(&[service]).unwrap()).unwrap();
    }
    (dir, ca)
}

/// Orders' identity as a caller, its files looked at every [`LOOK_EVERY`] until `stop`.
fn watched_identity(orders: &TlsFiles, stop: &Shutdown) -> ClientTls {
    let identity = ClientTls::load(orders).unwrap();
    identity.watch(orders.clone(), LOOK_EVERY, stop.clone());
    identity
}

/// Hangs up and calls again until the port sees `expected` presented, for up to two seconds
/// (the watch may not have looked at the files yet); returns the last certificate seen.
async fn presented_on_reconnection(
    port: &RecordingPort,
    client: &mercato_runtime::clients::inventory::InventoryClient,
    expected: &[u8],
) -> Option<Vec<u8>> {
    for _ in 0..40 {
        port.hang_up();
        // A call may meet the connection just hung up on; the next one opens a new one.
        let _ = stock(client).await;
        if port.last_presented().as_deref() == Some(expected) {
            break;
        }
        tokio::time::sleep(LOOK_EVERY).await;
    }
    port.last_presented()
}

#[tokio::test]
async fn a_renewed_client_certificate_is_presented_on_the_next_connection_without_rebuilding_the_client() {
    let (dir, ca) = platform();
    let port = RecordingPort::serve(&files(&dir, &dir, "inventory")).await;
    let orders = files(&dir, &dir, "orders");
    let stop = Shutdown::new();
    let identity = watched_identity(&orders, &stop);
    // Built once, before the renewal: a gRPC client and the relay's kind of dialer.
    let client = inventory_presenting(port.addr, &identity);
    let dialer = Dialer::tls(&identity, "inventory").unwrap();
    assert_eq!(stock(&client).await.unwrap().available_total, 7);
    let original = pem_der(&orders.cert);
    assert_eq!(port.last_presented(), Some(original.clone()));

    // A renewal: a new key and certificate (new serial) in place of the old ones.
    write_identity(&dir, "orders", &ca.issue(&["orders"]).unwrap()).unwrap();
    let renewed = pem_der(&orders.cert);
    assert_ne!(renewed, original);
    let presented = presented_on_reconnection(&port, &client, &renewed).await;
    assert_eq!(
        presented,
        Some(renewed.clone()),
        "the same client presents the renewal"
    );
    assert_eq!(stock(&client).await.unwrap().available_total, 7);
    // The dialer made before the renewal presents it as well.
    let before = port.handshakes();
    dialer.connect(&format!("https://{}", port.addr)).await.unwrap();
    assert_eq!(port.presented_after(before).await, renewed);

    stop.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_client_keeps_its_certificate_while_the_changed_files_do_not_load_and_warns() {
    let (warnings, _guard) = capture_warnings();
    let (dir, ca) = platform();
    let port = RecordingPort::serve(&files(&dir, &dir, "inventory")).await;
    let orders = files(&dir, &dir, "orders");
    let stop = Shutdown::new();
    let client = inventory_presenting(port.addr, &watched_identity(&orders, &stop));
    assert_eq!(stock(&client).await.unwrap().available_total, 7);
    let original = pem_der(&orders.cert);

    // Half written: the certificate file cut short.
    let pem = std::fs::read(&orders.cert).unwrap();
    std::fs::write(&orders.cert, &pem[..pem.len() / 2]).unwrap();
    warnings.wait_for("the changed TLS files do not load yet").await;
    let before = port.handshakes();
    port.hang_up();
    assert_eq!(stock(&client).await.unwrap().available_total, 7, "calls go on");
    assert!(port.handshakes() > before, "over a new connection");
    assert_eq!(port.last_presented(), Some(original.clone()));

    // The renewal's certificate written, its key not yet: they do not belong together.
    let renewal = ca.issue(&["orders"]).unwrap();
    std::fs::write(&orders.cert, &renewal.cert_pem).unwrap();
    warnings.wait_for("KeyMismatch").await;
    let before = port.handshakes();
    port.hang_up();
    assert_eq!(stock(&client).await.unwrap().available_total, 7, "calls go on");
    assert!(port.handshakes() > before, "over a new connection");
    assert_eq!(port.last_presented(), Some(original));

    // The key arrives: the renewal loads and is presented.
    write_identity(&dir, "orders", &renewal).unwrap();
    let renewed = pem_der(&orders.cert);
    let presented = presented_on_reconnection(&port, &client, &renewed).await;
    assert_eq!(presented, Some(renewed));

    stop.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_client_trusts_a_rotated_ca_once_its_ca_file_holds_it() {
    let (dir, _old) = platform();
    let rotated = DevCa::generate("rotated CA").unwrap();
    // Inventory's new certificate comes from the rotated CA; it still trusts the old one for
    // its callers.
    write_identity(&dir, "inventory", &rotated.issue(&["inventory"]).unwrap()).unwrap();
    let (inventory, stop_inventory) = serve(
        tonic::service::Routes::new(InventoryServer::new(Stock)),
        &files(&dir, &dir, "inventory"),
    )
    .await;
    let trusted = dir.join("trusted.pem");
    std::fs::copy(dir.join("ca.pem"), &trusted).unwrap();
    let orders = TlsFiles {
        ca: trusted.clone(),
        ..files(&dir, &dir, "orders")
    };
    let stop = Shutdown::new();
    let dialer = Dialer::tls(&watched_identity(&orders, &stop), "inventory").unwrap();
    let url = format!("https://{inventory}");
    assert!(
        dialer.connect(&url).await.is_err(),
        "an issuer it does not trust yet"
    );

    // The CA bundle during a rotation: the old CA and the new one.
    let bundle = std::fs::read_to_string(dir.join("ca.pem")).unwrap() + &rotated.cert().cert_pem;
    std::fs::write(&trusted, bundle).unwrap();
    let mut connected = dialer.connect(&url).await;
    for _ in 0..40 {
        if connected.is_ok() {
            break;
        }
        tokio::time::sleep(LOOK_EVERY).await;
        connected = dialer.connect(&url).await;
    }
    assert!(connected.is_ok(), "{:?}", connected.err());

    stop.cancel();
    stop_inventory.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}

/// What is logged at WARN and above on this thread (where a `#[tokio::test]` runs its tasks,
/// the file watch included), until the guard is dropped.
struct Warnings(Arc<Mutex<Vec<u8>>>);

impl Warnings {
    /// Waits up to two seconds for a warning containing `text`.
    async fn wait_for(&self, text: &str) {
        for _ in 0..100 {
            if String::from_utf8_lossy(&self.0.lock().unwrap()).contains(text) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "no warning with {text:?} in:\n{}",
            String::from_utf8_lossy(&self.0.lock().unwrap())
        );
    }
}

fn capture_warnings() -> (Warnings, tracing::subscriber::DefaultGuard) {
    let logged = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&logged);
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || Sink(Arc::clone(&sink)))
        .finish();
    (Warnings(logged), tracing::subscriber::set_default(subscriber))
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
