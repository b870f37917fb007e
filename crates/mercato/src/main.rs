//! The `mercato` command: parse arguments, load settings, start logging, run.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = mercato::cli::Cli::parse();
    mercato::cli::run(cli).await
}
