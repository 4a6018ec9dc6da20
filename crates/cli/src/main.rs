//! The `stratus` binary: expand argument files, parse, run, exit.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let argv = match stratus_cli::argfiles::expand(std::env::args_os().collect()) {
        Ok(argv) => argv,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error}");
            return ExitCode::from(stratus_cli::EXIT_BAD_INPUT);
        }
    };
    let mut cli = stratus_cli::args::Cli::parse_from(&argv);
    cli.argv = argv;
    let env = |key: &str| std::env::var(key).ok();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    stratus_cli::run(cli, &env, &mut stdout.lock(), &mut stderr.lock())
}
