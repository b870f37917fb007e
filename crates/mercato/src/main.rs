//! The `mercato` command: parse arguments, load settings, start logging, run.

use clap::Parser;

/// jemalloc, chosen by measurement (docs/adr/0002-allocator.md): against mimalloc it keeps the
/// process a third smaller idle and under load at the same throughput; glibc's kept the peak of
/// the first start (seeding, argon2's 19 MiB per hash) mapped for good. The features
/// `alloc-mimalloc` and `alloc-system` build the alternatives for `benchmarks/allocators.sh`.
#[cfg(not(any(feature = "alloc-mimalloc", feature = "alloc-system")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[cfg(all(feature = "alloc-mimalloc", not(feature = "alloc-system")))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = mercato::cli::Cli::parse();
    mercato::cli::run(cli).await
}
