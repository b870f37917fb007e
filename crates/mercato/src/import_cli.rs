//! `mercato import`: a legacy shop moved onto a store through a running platform's REST API,
//! and reconciled (the work is `mercato_migrate`'s; this is the command line). Being written.

use clap::Subcommand;

/// `mercato import …`.
#[derive(Subcommand, Debug)]
pub enum ImportCommand {}

/// Runs an import command; returns the process's exit code.
pub async fn run(command: ImportCommand) -> i32 {
    match command {}
}
