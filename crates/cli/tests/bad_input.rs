//! Regression tests for input that once crashed a command, hung it, or gave a wrong answer
//! silently: each case names the input and the answer it must get (a clear error with exit
//! code 2, or the right result).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::OnceLock;

use clap::Parser;
use serde_json::Value;

/// A seeded database, built once and copied into each test's home.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_path_buf();
        let (code, _, err) = run_in(&home, &["tickers"]);
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        (dir, home.join("stratus.db"))
    });
    path
}

fn home() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(template(), dir.path().join("stratus.db")).unwrap();
    dir
}

fn run_in(home: &Path, args: &[&str]) -> (ExitCode, String, String) {
    let env: HashMap<String, String> =
        [("STRATUS_HOME".to_string(), home.display().to_string())].into();
    let lookup = move |k: &str| env.get(k).cloned();
    let mut argv = vec!["stratus"];
    argv.extend_from_slice(args);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    // As the binary does: a command line clap refuses is exit code 2 with its message.
    let code = match stratus_cli::args::Cli::try_parse_from(argv) {
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

fn json_in(home: &Path, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.push("--json");
    let (code, out, err) = run_in(home, &full);
    assert_eq!(code, ExitCode::SUCCESS, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Exit code 2, nothing on stdout, and a message containing every one of `says`.
fn refused(home: &Path, args: &[&str], says: &[&str]) {
    let (code, out, err) = run_in(home, args);
    assert_eq!(code, ExitCode::from(2), "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?}: {out}");
    for text in says {
        assert!(err.contains(text), "{args:?}: {err:?} lacks {text:?}");
    }
}

#[test]
fn horizons_that_are_not_a_number_of_years_are_refused_by_every_var_path() {
    let h = home();
    for verb in ["var", "cvar"] {
        for expiry in ["1e308", "inf", "0", "-1", "NaN", "101"] {
            for historical in [true, false] {
                let flag = format!("--expiry={expiry}");
                let mut args = vec![verb, "AAPL", flag.as_str()];
                if historical {
                    args.push("--historical");
                }
                refused(h.path(), &args, &["--expiry"]);
            }
        }
    }
    let flag = "--expiry=1e308";
    refused(
        h.path(),
        &["opt-cvar", "KO", "PG", "--historical", flag],
        &["--expiry"],
    );
    refused(h.path(), &["opt-cvar", "KO", "PG", flag], &["--expiry"]);
    // The longest horizon allowed still gives finite prices.
    let far = json_in(h.path(), &["cvar", "AAPL", "--expiry", "100"]);
    assert!(
        far["AAPL"]["conditional_value_at_risk"].is_number(),
        "{far}"
    );
}

#[test]
fn non_finite_and_oversized_portfolio_numbers_are_refused() {
    let h = home();
    refused(
        h.path(),
        &["opt", "AAPL", "MSFT", "KO", "--target", "NaN"],
        &["--target"],
    );
    refused(
        h.path(),
        &["opt", "KO", "PG", "JNJ", "--invest", "1e300"],
        &["--invest"],
    );
    refused(
        h.path(),
        &["opt", "KO", "PG", "--risk-free", "1e308"],
        &["--risk-free"],
    );
    refused(
        h.path(),
        &["ef", "AAPL", "MSFT", "--steps=1000000"],
        &["--steps", "2000"],
    );
    refused(
        h.path(),
        &[
            "opt",
            "AAPL",
            "MSFT",
            "--min-weight",
            "0.5",
            "--max-weight",
            "0.2",
        ],
        &["--min-weight", "--max-weight"],
    );
    // A cardinality limit the method cannot honour is refused, not ignored.
    refused(
        h.path(),
        &["opt-cvar", "AAPL", "MSFT", "KO", "--max-assets", "1"],
        &["--max-assets"],
    );
    refused(
        h.path(),
        &["ef", "AAPL", "MSFT", "KO", "--max-assets", "1"],
        &["--max-assets"],
    );
}

#[test]
fn tickers_are_validated_and_listed_once() {
    let h = home();
    refused(h.path(), &["rp", "AAPL", "AAPL"], &["AAPL is listed twice"]);
    refused(h.path(), &["rp", "AAPL", "aapl"], &["listed twice"]);
    refused(h.path(), &["rp", ""], &["invalid ticker"]);
    let long = "X".repeat(10_000);
    let (code, _, err) = run_in(h.path(), &["rp", long.as_str()]);
    assert_eq!(code, ExitCode::from(2));
    assert!(
        err.contains("invalid ticker") && err.contains("10000 characters") && err.len() < 300,
        "{} bytes: {}",
        err.len(),
        &err[..err.len().min(300)]
    );
}

#[test]
fn a_ticker_whose_history_starts_inside_the_window_cuts_the_window() {
    let h = home();
    // MTUM starts 2014-01-02: β over the dates both MTUM and the market have.
    let (code, out, err) = run_in(
        h.path(),
        &["rp", "MTUM", "--start", "2010-01-04", "--end", "2015-01-02"],
    );
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(
        err.contains("cut to MTUM's data: 2014-01-02"),
        "a note on stderr: {err}"
    );
    assert!(
        out.contains("2014-01-02 to 2015-01-02 (253 sessions)"),
        "{out}"
    );
    let cut = json_in(
        h.path(),
        &["rp", "MTUM", "--start", "2010-01-04", "--end", "2015-01-02"],
    );
    let explicit = json_in(
        h.path(),
        &["rp", "MTUM", "--start", "2014-01-02", "--end", "2015-01-02"],
    );
    assert_eq!(cut, explicit);
    // numpy on the dates both have (tools/reference/make_reference.py, `window_cut`), at the
    // 1e-12 relative tolerance of every statistic.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/reference.json");
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let want = reference["window_cut"]["asset_beta"].as_f64().unwrap();
    let beta = cut["MTUM"]["asset_beta"].as_f64().unwrap();
    assert!(
        ((beta - want) / want).abs() < 1e-12,
        "beta {beta}, numpy {want}"
    );
    assert_eq!(reference["window_cut"]["sessions"], 253);
}

#[test]
fn close_is_the_last_close_on_or_before_the_date_however_long_ago() {
    let h = home();
    let file = h.path().join("fut.csv");
    std::fs::write(
        &file,
        "date,ticker,close\n2021-01-04,FUT,10\n2021-01-05,FUT,11\n2021-01-06,FUT,12\n",
    )
    .unwrap();
    json_in(h.path(), &["import-csv", file.to_str().unwrap()]);
    let close = json_in(h.path(), &["close", "FUT", "--date", "2021-06-01"]);
    assert_eq!(close["FUT"], 12.0);
    let (code, out, _) = run_in(h.path(), &["close", "FUT", "--date", "2021-06-01"]);
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(out.contains("2021-01-06"), "{out}");
    let before = json_in(h.path(), &["close", "FUT", "--date", "2021-01-05"]);
    assert_eq!(before["FUT"], 11.0);
    refused(
        h.path(),
        &["close", "FUT", "--date", "2020-12-31"],
        &["no close for FUT on or before 2020-12-31"],
    );
}

#[test]
fn imported_prices_must_be_sessions_of_the_past() {
    let h = home();
    for (name, date, says) in [
        ("saturday.csv", "2021-06-05", "not an NYSE trading session"),
        ("ancient.csv", "1900-01-02", "before 1960-01-01"),
        ("future.csv", "2031-06-02", "in the future"),
    ] {
        let file = h.path().join(name);
        std::fs::write(&file, format!("date,ticker,close\n{date},NEW,10\n")).unwrap();
        refused(
            h.path(),
            &["import-csv", file.to_str().unwrap()],
            &[says, ":2"],
        );
        refused(h.path(), &["prices", "NEW"], &["unknown ticker NEW"]);
    }
}

#[test]
fn another_vendors_prices_for_a_stored_ticker_are_refused_or_replace_the_history() {
    let h = home();
    let cal = stratus_core::TradingCalendar::get(stratus_core::CalendarKind::Nyse);
    // Another vendor's AAPL, 2015–2018, unadjusted: ~103 where the bundled adjusted close is ~25.
    let mut text = String::from("date,ticker,close\n");
    for (i, d) in cal
        .sessions("2015-01-02".parse().unwrap(), "2018-12-31".parse().unwrap())
        .iter()
        .enumerate()
    {
        text.push_str(&format!("{d},AAPL,{}\n", 103.07 + (i as f64 * 0.1).sin()));
    }
    let file = h.path().join("vendor.csv");
    std::fs::write(&file, &text).unwrap();
    let before = json_in(
        h.path(),
        &[
            "prices",
            "AAPL",
            "--start",
            "2014-12-01",
            "--end",
            "2015-01-30",
        ],
    );
    refused(
        h.path(),
        &["import-csv", file.to_str().unwrap()],
        &["AAPL", "--replace", "nothing was imported"],
    );
    assert_eq!(
        json_in(
            h.path(),
            &[
                "prices",
                "AAPL",
                "--start",
                "2014-12-01",
                "--end",
                "2015-01-30"
            ]
        ),
        before,
        "the store is unchanged"
    );
    let (code, _, err) = run_in(
        h.path(),
        &["import-csv", "--replace", file.to_str().unwrap()],
    );
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    // The history is the file's now: nothing before it, so no seam and no invented return.
    let prices = json_in(
        h.path(),
        &[
            "prices",
            "AAPL",
            "--start",
            "2014-12-01",
            "--end",
            "2015-01-30",
        ],
    );
    let first = prices["AAPL"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    assert_eq!(first, "2015-01-02");
    let listed = json_in(h.path(), &["tickers"]);
    let aapl = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["ticker"] == "AAPL")
        .unwrap();
    assert_eq!(aapl["first"], "2015-01-02");
    assert_eq!(aapl["last"], "2018-12-31");
}

#[test]
fn a_damaged_store_file_says_so_and_clear_cache_all_rebuilds_it() {
    let h = home();
    let db = h.path().join("stratus.db");
    std::fs::write(&db, b"this is not an SQLite database, it is a text file").unwrap();
    let (code, out, err) = run_in(h.path(), &["rp", "AAPL"]);
    assert_eq!(code, ExitCode::from(1), "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains("damaged") && err.contains("clear-cache --all") && err.contains("stratus.db"),
        "{err}"
    );
    let (code, _, err) = run_in(h.path(), &["clear-cache", "--all"]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(err.contains("stratus.db.corrupt"), "{err}");
    assert!(h.path().join("stratus.db.corrupt").exists());
    json_in(h.path(), &["rp", "AAPL"]);
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let h = home();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["prices", "AAPL", "--start", "2000-01-03"])
        .env("STRATUS_HOME", h.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    {
        use std::io::BufRead;
        let stdout = child.stdout.take().unwrap();
        let mut first = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with("window"), "{first}");
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn the_command_line_binary_is_not_packaged_as_the_lambda_handler() {
    let h = home();
    let zip = h.path().join("lambda.zip");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args([
            "package",
            "lambda",
            "--binary",
            env!("CARGO_BIN_EXE_stratus"),
            "--out",
            zip.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("not the Stratus Lambda handler"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!zip.exists());
}

#[test]
fn serve_refuses_a_job_worker_count_that_is_not_one_before_listening() {
    let h = home();
    for bad in ["lots", "-1", "70000", "2.5", "0x2"] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_stratus"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env("STRATUS_HOME", h.path())
            .env("STRATUS_SERVE_WORKERS", bad)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > std::time::Duration::from_secs(30) {
                let _ = child.kill();
                panic!("STRATUS_SERVE_WORKERS={bad:?}: the server started");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{bad:?}: {stderr}");
        assert!(
            stderr.contains("STRATUS_SERVE_WORKERS") && stderr.contains(bad),
            "{bad:?}: {stderr}"
        );
        assert!(output.stdout.is_empty(), "{bad:?}: nothing served");
    }
}
