//! The `mercato` command: parse arguments, load settings, start logging, run.

use clap::Parser;

/// mimalloc returns freed memory to the system: with glibc's allocator the process kept the
/// peak of the first start (seeding the demo store, argon2's 19 MiB per hash) for good, about
/// five times its idle size (see `benchmarks/README.md`, memory).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = mercato::cli::Cli::parse();
    mercato::cli::run(cli).await
}
