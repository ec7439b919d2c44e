use std::process::ExitCode;

use clap::Parser;
use gateway::cli::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    gateway::cli::run(Cli::parse()).await
}
