//! The command line. Flags override the layered settings (file, then `MERCATO__…` environment).

use crate::roles::Roles;
use clap::{Parser, Subcommand};
use mercato_runtime::clients::{
    catalog::CatalogClient, identity::IdentityClient, inventory::InventoryClient,
};
use mercato_runtime::config::{LogFormat, Secret, Settings};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "mercato",
    version,
    about = "Multi-tenant commerce platform: one binary, embedded or distributed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the platform, or the given roles of it (the default command).
    Serve(ServeArgs),
    /// Create and migrate every service's database, then exit.
    Migrate,
    /// Measure: load generators and the bare-hyper baseline (see benchmarks/README.md).
    #[command(subcommand)]
    Bench(crate::bench::BenchCommand),
    /// Seed the demo store through remote identity and catalog services (distributed topology).
    SeedDemo(SeedArgs),
    /// The access-token signing keys: rotate now, or list them (on identity's database).
    #[command(subcommand)]
    Keys(crate::keys::KeysCommand),
    /// Certificates for mutual TLS between services: `init` makes a development CA and one
    /// certificate per service.
    #[command(subcommand)]
    Certs(crate::certs::CertsCommand),
    /// A store's figures: `verify` recomputes them from the orders history through the REST API
    /// and reports each difference (exit 1 when there is any).
    #[command(subcommand)]
    Analytics(crate::analytics_cli::AnalyticsCommand),
    /// A store's background jobs through the REST API: `list`, `show`, `retry`, `cancel`.
    #[command(subcommand)]
    Jobs(crate::jobs_cli::JobsCommand),
    /// Moving a shop off a legacy platform through the REST API: `woocommerce` (from its
    /// MariaDB/MySQL database), `verify` (reconciliation alone); exit 0 when source and store
    /// agree.
    #[command(subcommand)]
    Import(crate::import_cli::ImportCommand),
}

#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    /// gRPC endpoint of the identity service.
    #[arg(long)]
    pub identity_url: String,
    /// gRPC endpoint of the catalog service.
    #[arg(long)]
    pub catalog_url: String,
    /// gRPC endpoint of the inventory service, to give the products stock.
    #[arg(long)]
    pub inventory_url: Option<String>,
    /// How many products to create.
    #[arg(long, default_value_t = 500)]
    pub products: u32,
}

#[derive(clap::Args, Debug, Default)]
pub struct CommonArgs {
    /// Where embedded services keep their SQLite files.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL server URL; each service gets its own database on it.
    #[arg(long, global = true, env = "MERCATO_POSTGRES_URL", hide_env_values = true)]
    pub postgres_url: Option<String>,
    /// NATS URL; events go through JetStream instead of the in-process bus.
    #[arg(long, global = true, env = "MERCATO_NATS_URL", hide_env_values = true)]
    pub nats_url: Option<String>,
    /// Redis URL for the shared cache.
    #[arg(long, global = true, env = "MERCATO_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    pub json_logs: bool,
}

#[derive(clap::Args, Debug, Default)]
pub struct ServeArgs {
    /// Services to run here: `all`, or a comma list of gateway, identity, catalog, inventory, payments,
    /// orders, realtime, analytics, notifications.
    #[arg(long, default_value = "all")]
    pub roles: String,
    /// Address of this process's one port (REST, gRPC, health, metrics).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// gRPC endpoint of a remote identity service; repeat or comma-separate for replicas.
    #[arg(long, value_delimiter = ',')]
    pub identity_url: Vec<String>,
    /// gRPC endpoint of a remote catalog service; repeat or comma-separate for replicas.
    #[arg(long, value_delimiter = ',')]
    pub catalog_url: Vec<String>,
    /// gRPC endpoint of a remote inventory service; repeat or comma-separate for replicas.
    #[arg(long, value_delimiter = ',')]
    pub inventory_url: Vec<String>,
    /// gRPC endpoint of a remote payments service; repeat or comma-separate for replicas.
    #[arg(long, value_delimiter = ',')]
    pub payments_url: Vec<String>,
    /// gRPC endpoint of a remote orders service; repeat or comma-separate for replicas.
    #[arg(long, value_delimiter = ',')]
    pub orders_url: Vec<String>,
    /// Endpoint of a remote realtime replica (gRPC and WebSocket); repeat or comma-separate.
    #[arg(long, value_delimiter = ',')]
    pub realtime_url: Vec<String>,
    /// gRPC endpoint of a remote analytics service; repeat or comma-separate for replicas.
    #[arg(long, value_delimiter = ',')]
    pub analytics_url: Vec<String>,
    /// gRPC endpoint of a remote notifications service; repeat or comma-separate for replicas.
    #[arg(long, value_delimiter = ',')]
    pub notifications_url: Vec<String>,
    /// Do not seed the demo store.
    #[arg(long)]
    pub no_demo: bool,
}

/// Applies the flags on top of the loaded settings.
fn settings(common: &CommonArgs, serve: Option<&ServeArgs>) -> anyhow::Result<Settings> {
    let mut s = Settings::load()?;
    if let Some(d) = &common.data_dir {
        s.data_dir = d.clone();
    }
    if let Some(u) = &common.postgres_url {
        s.postgres.url = Some(Secret::new(u.clone()));
    }
    if let Some(u) = &common.nats_url {
        s.nats.url = Some(Secret::new(u.clone()));
    }
    if let Some(u) = &common.redis_url {
        s.redis.url = Some(Secret::new(u.clone()));
    }
    if common.json_logs {
        s.log.format = LogFormat::Json;
    }
    if let Some(serve) = serve {
        if let Some(l) = serve.listen {
            s.http.listen = l;
        }
        if !serve.identity_url.is_empty() {
            s.services.identity = serve.identity_url.clone();
        }
        if !serve.catalog_url.is_empty() {
            s.services.catalog = serve.catalog_url.clone();
        }
        if !serve.inventory_url.is_empty() {
            s.services.inventory = serve.inventory_url.clone();
        }
        if !serve.payments_url.is_empty() {
            s.services.payments = serve.payments_url.clone();
        }
        if !serve.orders_url.is_empty() {
            s.services.orders = serve.orders_url.clone();
        }
        if !serve.realtime_url.is_empty() {
            s.services.realtime = serve.realtime_url.clone();
        }
        if !serve.analytics_url.is_empty() {
            s.services.analytics = serve.analytics_url.clone();
        }
        if !serve.notifications_url.is_empty() {
            s.services.notifications = serve.notifications_url.clone();
        }
        if serve.no_demo {
            s.demo.seed = false;
        }
    }
    Ok(s)
}

/// Runs the chosen command.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let default_serve = ServeArgs {
        roles: "all".to_owned(),
        ..ServeArgs::default()
    };
    match cli.command {
        Some(Command::Migrate) => {
            let s = settings(&cli.common, None)?;
            let _telemetry = mercato_runtime::telemetry::init(&s.log, &s.telemetry, "mercato");
            crate::app::migrate_all(&s).await
        }
        Some(Command::Keys(command)) => {
            let s = settings(&cli.common, None)?;
            let _telemetry = mercato_runtime::telemetry::init(&s.log, &s.telemetry, "mercato");
            print!("{}", crate::keys::run(&s, command).await?);
            Ok(())
        }
        Some(Command::Certs(command)) => {
            print!("{}", crate::certs::run(&command)?);
            Ok(())
        }
        Some(Command::Analytics(command)) => match crate::analytics_cli::run(command).await {
            0 => Ok(()),
            code => std::process::exit(code),
        },
        Some(Command::Jobs(command)) => match crate::jobs_cli::run(command).await {
            0 => Ok(()),
            code => std::process::exit(code),
        },
        Some(Command::Import(command)) => match crate::import_cli::run(command).await {
            0 => Ok(()),
            code => std::process::exit(code),
        },
        Some(Command::Serve(serve)) => serve_with(&cli.common, &serve).await,
        Some(Command::Bench(command)) => crate::bench::run(command).await,
        Some(Command::SeedDemo(seed)) => {
            let s = settings(&cli.common, None)?;
            let _telemetry = mercato_runtime::telemetry::init(&s.log, &s.telemetry, "mercato");
            let deadline = s.services.call_timeout;
            // Under mutual TLS the seed presents the configured certificate (one the call graph
            // lets call identity, catalog and inventory: the gateway's).
            let presented = s.services.tls.as_ref().map(mercato_runtime::tls::ClientTls::load);
            let presented = presented.transpose()?;
            let channel = |url: &str, callee: &str| {
                let tls = presented
                    .as_ref()
                    .map(|presented| mercato_runtime::tls::Dialer::grpc(presented, callee))
                    .transpose()?;
                mercato_runtime::clients::balanced_tls_channel(&[url.to_owned()], deadline, tls.as_ref())
            };
            let token = s.services.internal_token.as_ref().map(|t| t.expose().to_owned());
            let identity = IdentityClient::remote(
                channel(&seed.identity_url, "identity")?,
                deadline,
                token.as_deref(),
            )?;
            let catalog =
                CatalogClient::remote(channel(&seed.catalog_url, "catalog")?, deadline, token.as_deref())?;
            let inventory = match &seed.inventory_url {
                Some(url) => Some(InventoryClient::remote(
                    channel(url, "inventory")?,
                    deadline,
                    token.as_deref(),
                )?),
                None => None,
            };
            // Pricing needs the orders service, which `seed` does not reach: the demo store gets
            // no shipping zones, tax or code this way (`serve` seeds them).
            crate::seed::demo_store(&identity, &catalog, inventory.as_ref(), None, seed.products).await
        }
        None => serve_with(&cli.common, &default_serve).await,
    }
}

async fn serve_with(common: &CommonArgs, serve: &ServeArgs) -> anyhow::Result<()> {
    let s = settings(common, Some(serve))?;
    let roles = Roles::parse(&serve.roles).map_err(anyhow::Error::msg)?;
    // Traces name the process by its roles: `mercato` embedded, `mercato-catalog` for a replica.
    let service_name = if roles.is_all() {
        "mercato".to_owned()
    } else {
        format!("mercato-{roles}")
    };
    let _telemetry = mercato_runtime::telemetry::init(&s.log, &s.telemetry, &service_name);
    let listener =
        listen(s.http.listen).map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", s.http.listen))?;
    let shutdown = mercato_runtime::shutdown::on_os_signal();
    if s.http.work_lane && roles.gateway_with_services() {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        mercato_runtime::lanes::start_work_lane(threads)
            .map_err(|e| anyhow::anyhow!("cannot start the work lane: {e}"))?;
    }
    crate::app::run(s, roles, listener, shutdown).await
}

/// Connections the kernel may hold for us before we accept them. The default (128) is too few
/// when a realtime replica stops and thousands of WebSocket clients reconnect to the others at
/// once: the surplus is dropped and each client waits out a retransmission.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the process's one port with a backlog fit for reconnect storms.
fn listen(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Role;
    use clap::CommandFactory;

    #[test]
    fn serve_help_names_every_role() {
        let command = Cli::command();
        let serve = command.find_subcommand("serve").expect("serve");
        let roles = serve
            .get_arguments()
            .find(|a| a.get_id() == "roles")
            .expect("--roles");
        let help = roles.get_help().expect("help").to_string();
        for role in Role::ALL {
            assert!(help.contains(role.name()), "{} missing from: {help}", role.name());
        }
    }
}
