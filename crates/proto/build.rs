//! Compiles the contracts under `/proto` with protox, so no system `protoc` is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "mercato/common.proto",
        "mercato/jobs.proto",
        "mercato/imports.proto",
        "mercato/identity.proto",
        "mercato/catalog.proto",
        "mercato/events.proto",
        "mercato/analytics.proto",
        "mercato/inventory.proto",
        "mercato/payments.proto",
        "mercato/orders.proto",
        "mercato/realtime.proto",
        "mercato/notifications.proto",
    ];
    let fds = protox::compile(files, ["../../proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    println!("cargo:rerun-if-changed=../../proto");
    Ok(())
}
