//! The `stratus` binary: parse, run, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = stratus_cli::args::Cli::parse();
    let env = |key: &str| std::env::var(key).ok();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    stratus_cli::run(cli, &env, &mut stdout.lock(), &mut stderr.lock())
}
