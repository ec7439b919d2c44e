use std::process::ExitCode;

use clap::Parser;
use devstack::stack::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    devstack::stack::run(Cli::parse()).await
}
