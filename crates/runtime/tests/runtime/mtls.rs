//! Mutual TLS and the call graph, over real connections: an inventory and an identity server on
//! the runtime's own server loop under TLS, certificates made by the code behind
//! `mercato certs init`. Allowed callers are answered, a valid certificate of a service the
//! table does not admit gets PERMISSION_DENIED, a caller without a certificate or with one of
//! another CA does not get through the handshake, and renewed files are served without a restart
//! and presented by live clients without rebuilding them.

use mercato_proto::identity::identity_server::{Identity, IdentityServer};
use mercato_proto::identity::*;
use mercato_proto::inventory::inventory_server::{Inventory, InventoryServer};
use mercato_proto::inventory::*;
use mercato_runtime::clients::balanced_tls_channel;
use mercato_runtime::clients::identity::IdentityClient;
use mercato_runtime::clients::inventory::InventoryClient;
use mercato_runtime::config::TlsFiles;
use mercato_runtime::error::ErrorCode;
use mercato_runtime::shutdown::Shutdown;
use mercato_runtime::tls::issue::{DevCa, identity_paths, init_dir, write_identity};
use mercato_runtime::tls::{ClientTls, Dialer, ServerTls};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tonic::{Request, Response, Status};

pub(crate) struct Stock;

#[tonic::async_trait]
impl Inventory for Stock {
    async fn import_stock(
        &self,
        _: Request<mercato_proto::imports::ImportStockRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn import_checksums(
        &self,
        _: Request<mercato_proto::imports::ChecksumsRequest>,
    ) -> Result<Response<mercato_proto::imports::ChecksumsReply>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn imported_records(
        &self,
        _: Request<mercato_proto::imports::RecordsRequest>,
    ) -> Result<Response<mercato_proto::imports::StockRecords>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn get_import_progress(
        &self,
        _: Request<mercato_proto::imports::ImportProgressRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportProgress>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn get_stock(&self, r: Request<GetStockRequest>) -> Result<Response<StockLevels>, Status> {
        Ok(Response::new(StockLevels {
            sku: r.into_inner().sku,
            available_total: 7,
            ..Default::default()
        }))
    }
    async fn adjust_stock(&self, _: Request<AdjustStockRequest>) -> Result<Response<StockLevel>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn set_stock(&self, _: Request<SetStockRequest>) -> Result<Response<StockLevel>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn reserve(&self, _: Request<ReserveRequest>) -> Result<Response<ReserveResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn commit(&self, _: Request<CommitRequest>) -> Result<Response<Reservation>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn release(&self, _: Request<ReleaseRequest>) -> Result<Response<Reservation>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn restock(&self, _: Request<RestockRequest>) -> Result<Response<Reservation>, Status> {
        Err(Status::unimplemented("not used"))
    }
}

struct Keys;

#[tonic::async_trait]
impl Identity for Keys {
    async fn import_customers(
        &self,
        _: Request<mercato_proto::imports::ImportCustomersRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportReply>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn import_checksums(
        &self,
        _: Request<mercato_proto::imports::ChecksumsRequest>,
    ) -> Result<Response<mercato_proto::imports::ChecksumsReply>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn imported_records(
        &self,
        _: Request<mercato_proto::imports::RecordsRequest>,
    ) -> Result<Response<mercato_proto::imports::CustomerRecords>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn get_import_progress(
        &self,
        _: Request<mercato_proto::imports::ImportProgressRequest>,
    ) -> Result<Response<mercato_proto::imports::ImportProgress>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn record_import_pass(
        &self,
        _: Request<mercato_proto::imports::ImportPass>,
    ) -> Result<Response<mercato_proto::imports::ImportWatermark>, Status> {
        Err(Status::unimplemented("not used"))
    }

    async fn get_jwks(&self, _: Request<GetJwksRequest>) -> Result<Response<Jwks>, Status> {
        Ok(Response::new(Jwks::default()))
    }
    async fn provision_store(
        &self,
        _: Request<ProvisionStoreRequest>,
    ) -> Result<Response<ProvisionStoreResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn get_store(&self, _: Request<GetStoreRequest>) -> Result<Response<Store>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn update_store(&self, _: Request<UpdateStoreRequest>) -> Result<Response<Store>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn register_customer(&self, _: Request<RegisterCustomerRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn create_staff(&self, _: Request<CreateStaffRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn issue_token(&self, _: Request<TokenRequest>) -> Result<Response<TokenResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn set_user_disabled(&self, _: Request<SetUserDisabledRequest>) -> Result<Response<User>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn get_customer(&self, _: Request<GetCustomerRequest>) -> Result<Response<Customer>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn update_customer(&self, _: Request<UpdateCustomerRequest>) -> Result<Response<Customer>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn list_customers(
        &self,
        _: Request<ListCustomersRequest>,
    ) -> Result<Response<ListCustomersResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn add_customer_address(
        &self,
        _: Request<AddCustomerAddressRequest>,
    ) -> Result<Response<CustomerAddress>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn update_customer_address(
        &self,
        _: Request<UpdateCustomerAddressRequest>,
    ) -> Result<Response<CustomerAddress>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn delete_customer_address(
        &self,
        _: Request<DeleteCustomerAddressRequest>,
    ) -> Result<Response<DeleteCustomerAddressResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn revoke_token(
        &self,
        _: Request<RevokeTokenRequest>,
    ) -> Result<Response<RevokeTokenResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn list_staff(&self, _: Request<ListStaffRequest>) -> Result<Response<ListStaffResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn create_api_client(
        &self,
        _: Request<CreateApiClientRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn list_api_clients(
        &self,
        _: Request<ListApiClientsRequest>,
    ) -> Result<Response<ListApiClientsResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn revoke_api_client(
        &self,
        _: Request<RevokeApiClientRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn rotate_api_client_secret(
        &self,
        _: Request<RotateApiClientSecretRequest>,
    ) -> Result<Response<ApiClient>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn start_export(
        &self,
        _: Request<mercato_proto::jobs::StartExportRequest>,
    ) -> Result<Response<mercato_proto::jobs::Job>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn list_jobs(
        &self,
        _: Request<mercato_proto::jobs::ListJobsRequest>,
    ) -> Result<Response<mercato_proto::jobs::ListJobsResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn get_job(
        &self,
        _: Request<mercato_proto::jobs::JobRequest>,
    ) -> Result<Response<mercato_proto::jobs::Job>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn cancel_job(
        &self,
        _: Request<mercato_proto::jobs::JobRequest>,
    ) -> Result<Response<mercato_proto::jobs::Job>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn retry_job(
        &self,
        _: Request<mercato_proto::jobs::JobRequest>,
    ) -> Result<Response<mercato_proto::jobs::Job>, Status> {
        Err(Status::unimplemented("not used"))
    }
}

/// A fresh directory under the system's temporary one.
pub(crate) fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mercato-mtls-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The files of identity `name` in `dir`, with the CA of `ca_dir`.
pub(crate) fn files(ca_dir: &Path, dir: &Path, name: &str) -> TlsFiles {
    let (cert, key) = identity_paths(dir, name);
    TlsFiles {
        ca: ca_dir.join("ca.pem"),
        cert,
        key,
    }
}

/// Serves `routes` as a service process under mutual TLS (the call graph checked as in
/// production), its files looked at every 50 ms.
pub(crate) async fn serve(routes: tonic::service::Routes, tls: &TlsFiles) -> (SocketAddr, Shutdown) {
    let router = routes
        .into_axum_router()
        .layer(axum::middleware::from_fn(mercato_runtime::tls::authorize));
    serve_router(router, tls).await
}

/// Serves `router` under mutual TLS, its files looked at every 50 ms.
async fn serve_router(router: axum::Router, tls: &TlsFiles) -> (SocketAddr, Shutdown) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = ServerTls::load(tls).unwrap();
    let stop = Shutdown::new();
    server.watch(tls.clone(), Duration::from_millis(50), stop.clone());
    tokio::spawn(mercato_runtime::http::serve_with(
        listener,
        router,
        stop.clone(),
        Some(server),
    ));
    (addr, stop)
}

fn inventory_as(addr: SocketAddr, caller: &TlsFiles) -> InventoryClient {
    inventory_presenting(addr, &ClientTls::load(caller).unwrap())
}

/// An inventory client presenting `identity`, built once whatever happens to its files later.
pub(crate) fn inventory_presenting(addr: SocketAddr, identity: &ClientTls) -> InventoryClient {
    let dialer = Dialer::grpc(identity, "inventory").unwrap();
    let channel = balanced_tls_channel(
        &[format!("https://{addr}")],
        Duration::from_secs(3),
        Some(&dialer),
    )
    .unwrap();
    InventoryClient::remote(channel, Duration::from_secs(3), None).unwrap()
}

fn identity_as(addr: SocketAddr, caller: &TlsFiles) -> IdentityClient {
    let dialer = Dialer::grpc(&ClientTls::load(caller).unwrap(), "identity").unwrap();
    let channel = balanced_tls_channel(
        &[format!("https://{addr}")],
        Duration::from_secs(3),
        Some(&dialer),
    )
    .unwrap();
    IdentityClient::remote(channel, Duration::from_secs(3), None).unwrap()
}

pub(crate) async fn stock(
    client: &InventoryClient,
) -> Result<StockLevels, mercato_runtime::error::ServiceError> {
    client
        .get_stock(GetStockRequest {
            sku: "SKU-1".into(),
            ..Default::default()
        })
        .await
}

#[tokio::test]
async fn each_service_answers_only_the_callers_the_table_admits() {
    let dir = temp_dir();
    init_dir(&dir).unwrap();
    let as_service = |name| files(&dir, &dir, name);
    let (inventory, stop_inventory) = serve(
        tonic::service::Routes::new(InventoryServer::new(Stock)),
        &as_service("inventory"),
    )
    .await;
    let (identity, stop_identity) = serve(
        tonic::service::Routes::new(IdentityServer::new(Keys)),
        &as_service("identity"),
    )
    .await;

    for caller in ["orders", "gateway"] {
        let answer = stock(&inventory_as(inventory, &as_service(caller))).await;
        assert_eq!(answer.unwrap().available_total, 7, "{caller} → inventory");
    }
    let realtime = identity_as(identity, &as_service("realtime"));
    realtime.get_jwks(GetJwksRequest::default()).await.unwrap();

    // Valid certificates of the platform, of services the table does not admit.
    let refused = stock(&inventory_as(inventory, &as_service("payments")))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "{refused:?}");
    let orders = identity_as(identity, &as_service("orders"));
    let refused = orders.get_jwks(GetJwksRequest::default()).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden, "{refused:?}");

    stop_inventory.cancel();
    stop_identity.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_caller_without_a_certificate_of_the_platforms_ca_does_not_get_through() {
    let (dir, other) = (temp_dir(), temp_dir());
    init_dir(&dir).unwrap();
    init_dir(&other).unwrap();
    let (inventory, stop) = serve(
        tonic::service::Routes::new(InventoryServer::new(Stock)),
        &files(&dir, &dir, "inventory"),
    )
    .await;

    // The orders certificate of another CA (trusting ours, so only our side can refuse it).
    let foreign = inventory_as(inventory, &files(&dir, &other, "orders"));
    let refused = stock(&foreign).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Unavailable, "{refused:?}");

    // No client certificate at all.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(
            std::fs::read(dir.join("ca.pem")).unwrap(),
        ))
        .domain_name(mercato_runtime::tls::dns_name("inventory"));
    let channel = tonic::transport::Endpoint::from_shared(format!("https://{inventory}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect_lazy();
    let anonymous = InventoryClient::remote(channel, Duration::from_secs(3), None).unwrap();
    let refused = stock(&anonymous).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Unavailable, "{refused:?}");

    // And a plain-text caller.
    let channel =
        mercato_runtime::clients::balanced_channel(&[format!("http://{inventory}")], Duration::from_secs(3))
            .unwrap();
    let plain = InventoryClient::remote(channel, Duration::from_secs(3), None).unwrap();
    assert!(stock(&plain).await.is_err());

    stop.cancel();
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(other).unwrap();
}

#[tokio::test]
async fn renewed_certificate_files_are_served_without_a_restart() {
    let dir = temp_dir();
    let ca = DevCa::generate("test CA").unwrap();
    write_identity(&dir, "ca", ca.cert()).unwrap();
    for service in ["inventory", "orders"] {
        write_identity(&dir, service, &ca.issue(&[service]).unwrap()).unwrap();
    }
    let server_files = files(&dir, &dir, "inventory");
    let (inventory, stop) = serve(
        tonic::service::Routes::new(InventoryServer::new(Stock)),
        &server_files,
    )
    .await;
    let orders = files(&dir, &dir, "orders");
    assert_eq!(
        served_certificate(inventory, &orders).await,
        pem_der(&server_files.cert)
    );

    // A renewal: a new key and certificate (new serial) in place of the old ones.
    write_identity(&dir, "inventory", &ca.issue(&["inventory"]).unwrap()).unwrap();
    let renewed = pem_der(&server_files.cert);
    let mut served = served_certificate(inventory, &orders).await;
    for _ in 0..40 {
        if served == renewed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        served = served_certificate(inventory, &orders).await;
    }
    assert_eq!(served, renewed, "the renewed certificate is served");
    // And calls go on with it.
    assert_eq!(
        stock(&inventory_as(inventory, &orders))
            .await
            .unwrap()
            .available_total,
        7
    );

    stop.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}

/// The DER of the first certificate in a PEM file.
pub(crate) fn pem_der(path: &Path) -> Vec<u8> {
    use tokio_rustls::rustls::pki_types::{CertificateDer, pem::PemObject};
    CertificateDer::from_pem_file(path).unwrap().to_vec()
}

/// The certificate the server at `addr` presents in a handshake, as `caller`.
async fn served_certificate(addr: SocketAddr, caller: &TlsFiles) -> Vec<u8> {
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore, crypto::ring};
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&caller.ca).unwrap())
        .unwrap();
    let config = ClientConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(
            vec![CertificateDer::from_pem_file(&caller.cert).unwrap()],
            PrivateKeyDer::from_pem_file(&caller.key).unwrap(),
        )
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from(mercato_runtime::tls::dns_name("inventory")).unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

/// The status line of `GET path` sent over `stream`.
async fn get(mut stream: mercato_runtime::tls::ServiceStream, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nhost: realtime\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn the_dialer_reaches_a_service_port_over_mutual_tls_whose_http_routes_admit_only_its_callers() {
    use mercato_runtime::tls::authorize_http;
    let dir = temp_dir();
    init_dir(&dir).unwrap();
    // The shape of a realtime replica's WebSocket endpoint: only the gateways may reach it.
    let live = axum::Router::new()
        .route("/live", axum::routing::get(|| async { "live" }))
        .route_layer(axum::middleware::from_fn(|request, next| {
            authorize_http("realtime", request, next)
        }));
    let (realtime, stop) = serve_router(live, &files(&dir, &dir, "realtime")).await;

    let gateway = Dialer::tls(
        &ClientTls::load(&files(&dir, &dir, "gateway")).unwrap(),
        "realtime",
    )
    .unwrap();
    let stream = gateway.connect(&format!("https://{realtime}")).await.unwrap();
    assert_eq!(get(stream, "/live").await, "HTTP/1.1 200 OK");
    let orders = Dialer::tls(
        &ClientTls::load(&files(&dir, &dir, "orders")).unwrap(),
        "realtime",
    )
    .unwrap();
    let stream = orders.connect(&format!("https://{realtime}")).await.unwrap();
    assert_eq!(get(stream, "/live").await, "HTTP/1.1 403 Forbidden");

    let plain = gateway
        .connect(&format!("http://{realtime}"))
        .await
        .err()
        .unwrap();
    assert_eq!(plain.kind(), std::io::ErrorKind::InvalidInput);
    // A certificate for the wrong name: the gateway's dialer for realtime meeting inventory's.
    let (inventory, stop_inventory) = serve(
        tonic::service::Routes::new(InventoryServer::new(Stock)),
        &files(&dir, &dir, "inventory"),
    )
    .await;
    assert!(gateway.connect(&format!("https://{inventory}")).await.is_err());

    stop.cancel();
    stop_inventory.cancel();
    std::fs::remove_dir_all(dir).unwrap();
}
