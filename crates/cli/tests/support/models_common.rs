//! The bundled-data harness shared by `models.rs` and `models_constrained.rs`: one store per test
//! binary, the twenty tickers of the reference fixture, and the fixture itself.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;
use serde_json::Value;

pub(crate) const TWENTY: [&str; 20] = [
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO", "LLY", "MRK", "MSFT",
    "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
];
pub(crate) const WINDOW: [&str; 4] = ["--start", "2015-01-02", "--end", "2022-12-28"];

pub(crate) fn home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

pub(crate) fn run(args: &[&str]) -> (ExitCode, String, String) {
    run_in(home(), args)
}

/// [`run`] with another data folder.
pub(crate) fn run_in(home: &Path, args: &[&str]) -> (ExitCode, String, String) {
    let env: HashMap<String, String> =
        [("STRATUS_HOME".to_string(), home.display().to_string())].into();
    let lookup = move |k: &str| env.get(k).cloned();
    let mut full = vec!["stratus"];
    full.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = match stratus_cli::args::Cli::try_parse_from(&full) {
        Ok(mut cli) => {
            // As the binary does: `--remote` and `--sweep` re-read the arguments as given.
            cli.argv = full.iter().map(std::ffi::OsString::from).collect();
            stratus_cli::run(cli, &lookup, &mut out, &mut err)
        }
        Err(e) => {
            err.extend_from_slice(e.to_string().as_bytes());
            ExitCode::from(2)
        }
    };
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

pub(crate) fn twenty(command: &str, extra: &[&str]) -> Value {
    let mut args: Vec<&str> = vec![command];
    args.extend(TWENTY);
    args.extend(WINDOW);
    args.extend(["--returns", "simple", "--json"]);
    args.extend(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, ExitCode::SUCCESS, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

/// Each command fails with exit code 2, prints nothing, and its error names the given text.
pub(crate) fn refused(cases: &[(Vec<&str>, &str)]) {
    for (args, says) in cases {
        let (code, out, err) = run(args);
        assert_eq!(code, ExitCode::from(2), "{args:?}: {out} {err}");
        assert!(err.contains(says), "{args:?} should name {says}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
    }
}

pub(crate) fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/models.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

pub(crate) fn weights(allocation: &Value) -> Vec<f64> {
    let holdings = allocation["holdings"].as_array().unwrap();
    assert_eq!(holdings.len(), 20);
    holdings
        .iter()
        .enumerate()
        .map(|(i, h)| {
            assert_eq!(h["ticker"], TWENTY[i]);
            f(&h["allocation"])
        })
        .collect()
}
