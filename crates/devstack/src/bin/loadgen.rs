use std::process::ExitCode;

use clap::Parser;
use devstack::loadgen::Args;

#[tokio::main]
async fn main() -> ExitCode {
    devstack::loadgen::run(Args::parse()).await
}
