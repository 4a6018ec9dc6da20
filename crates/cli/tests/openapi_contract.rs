//! The API against its own OpenAPI document, by tools that did not write it: the real `stratus
//! serve` on 127.0.0.1 with the bundled data, `openapi-spec-validator` on `/openapi.json`, and
//! schemathesis (PyPI) generating requests from the document — valid and invalid — and checking
//! every answer: no server error, a documented status, the documented content type, and a body
//! that matches the documented schema (every number a number, never a NaN written as `null`).
//!
//! Both tools come from PyPI (`.ci/run` installs them). Without them the test says SKIPPED and
//! passes, except under `CI=true`, where it fails.

#![allow(clippy::print_stderr)] // the tools' reports are the failure message

use std::io::BufRead;
use std::process::{Command, Stdio};

fn tool(name: &str) -> bool {
    Command::new(name)
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The live-data verbs answer 501 ("need live data") by design on an offline server, which
/// schemathesis counts as a server error; their behaviour with a provider is tested in
/// `live.rs` against the mock provider.
const OFFLINE_ONLY_501: &str =
    "^/api/(dividends|discount-dividend-model|plot-dividends|stat|stats|screen)$";

#[test]
fn the_api_keeps_the_contract_its_openapi_document_states() {
    let ci = std::env::var("CI").as_deref() == Ok("true");
    if !(tool("schemathesis") && tool("openapi-spec-validator")) {
        assert!(
            !ci,
            "CI=true but schemathesis / openapi-spec-validator are not installed (see .ci/run)"
        );
        eprintln!("SKIPPED: needs `pip install schemathesis openapi-spec-validator` (see .ci/run)");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_stratus");
    let seeded = Command::new(bin)
        .args(["--quiet", "tickers"])
        .env("STRATUS_HOME", home.path())
        .status()
        .unwrap();
    assert!(seeded.success());
    let mut server = Command::new(bin)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("STRATUS_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    let spec = format!("{base}/openapi.json");

    let document = home.path().join("openapi.json");
    let fetched = Command::new("python3")
        .args([
            "-c",
            "import sys, urllib.request; open(sys.argv[2], 'wb').write(urllib.request.urlopen(sys.argv[1]).read())",
            &spec,
            document.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(fetched.success());
    let validated = Command::new("openapi-spec-validator")
        .arg(&document)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&validated.stdout).to_string()
        + &String::from_utf8_lossy(&validated.stderr);
    assert!(validated.status.success(), "{report}");

    let examples = std::env::var("STRATUS_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "20".into());
    // Run in the temporary home: schemathesis keeps a cache folder where it runs.
    let fuzzed = Command::new("schemathesis")
        .current_dir(home.path())
        .args([
            "run",
            &spec,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            &examples,
            "--seed",
            "20261129",
            "--exclude-path-regex",
            OFFLINE_ONLY_501,
            "--no-color",
        ])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let report = String::from_utf8_lossy(&fuzzed.stdout).to_string()
        + &String::from_utf8_lossy(&fuzzed.stderr);
    if !fuzzed.status.success() {
        eprintln!("{report}");
    }
    assert!(
        fuzzed.status.success(),
        "schemathesis found failures (report above)"
    );
    assert!(report.contains("Tested:"), "{report}");
}
