//! Property tests of the command line: every served verb with generated flags (the same
//! generators the HTTP property tests use, from the same clap declarations), run in process on a
//! seeded store. Whatever the flags: no panic; exit code 0, 1 or 2; with `--json`, exactly one
//! JSON document on stdout when the command succeeds and nothing when it fails; every number in
//! it finite; portfolios fully invested within their bounds. `PROPTEST_CASES` sets the cases.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;
use stratus_verbs::request::verb_docs;
use stratus_verbs::testkit::{
    PORTFOLIO_VERBS, Request, any_request, argv_of, check_weights, nulls_and_numbers,
    one_odd_parameter,
};

fn seeded_home() -> &'static Path {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let (code, _, err) = run_in(&dir, &["tickers".to_string()]);
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        dir
    })
}

fn run_in(home: &Path, args: &[String]) -> (ExitCode, String, String) {
    let env: HashMap<String, String> =
        [("STRATUS_HOME".to_string(), home.display().to_string())].into();
    let lookup = move |k: &str| env.get(k).cloned();
    let mut argv = vec!["stratus".to_string(), "--json".to_string()];
    argv.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = match stratus_cli::args::Cli::try_parse_from(&argv) {
        Ok(cli) => stratus_cli::run(cli, &lookup, &mut out, &mut err),
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

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn check((verb, params): &Request) -> Result<(), TestCaseError> {
    let home = seeded_home();
    let mut argv = argv_of(verb, params);
    // Charts go to a file in the home, never into the working folder.
    if verb.starts_with("plot-") {
        argv.insert(0, format!("--save={}", home.join("chart.svg").display()));
    }
    let (code, out, err) = run_in(home, &argv);
    let shown: String = err.chars().take(300).collect();
    let known = [0u8, 1, 2].map(ExitCode::from);
    prop_assert!(known.contains(&code), "{argv:?}: {code:?} {shown}");
    if code != ExitCode::SUCCESS {
        prop_assert!(out.is_empty(), "{argv:?}: output on failure: {out}");
        prop_assert!(
            err.lines().any(|l| l.starts_with("error")),
            "{argv:?}: {shown}"
        );
        return Ok(());
    }
    let json: Value = serde_json::from_str(&out).map_err(|e| {
        TestCaseError::fail(format!("{argv:?}: not one JSON document ({e}): {out}"))
    })?;
    let mut bad = Vec::new();
    nulls_and_numbers(&json, "$", &mut bad);
    if verb == "mov-averages" {
        bad.retain(|p| !p.contains(".MA_"));
    }
    prop_assert!(bad.is_empty(), "{argv:?}: not finite at {bad:?}");
    if PORTFOLIO_VERBS.contains(&verb.as_str()) {
        check_weights(&json, params).map_err(|e| TestCaseError::fail(format!("{argv:?}: {e}")))?;
    }
    Ok(())
}

fn run(name: &str, default_cases: u32, strategy: BoxedStrategy<Request>) {
    let mut runner = TestRunner::new(Config {
        cases: cases(default_cases),
        failure_persistence: None,
        ..Config::default()
    });
    if let Err(e) = runner.run(&strategy, |request| check(&request)) {
        panic!("{name}: {e}");
    }
}

#[test]
fn any_flags_to_any_verb_end_cleanly() {
    run("any flags", 300, any_request());
}

#[test]
fn one_odd_flag_in_an_otherwise_valid_command_ends_cleanly() {
    for verb in verb_docs() {
        let name = verb.name.clone();
        run(&name, 40, one_odd_parameter(verb));
    }
}
