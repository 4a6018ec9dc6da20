//! The `stratus` binary: parse, run, exit.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut cli = stratus_cli::args::Cli::parse();
    cli.argv = std::env::args_os().collect();
    let env = |key: &str| std::env::var(key).ok();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    stratus_cli::run(cli, &env, &mut stdout.lock(), &mut stderr.lock())
}
