//! End-to-end tests of the `stratus` command line on the bundled data, through a real SQLite file.
//!
//! Most tests call [`stratus_cli::run`] in process with their own `STRATUS_HOME`; a few spawn the
//! real binary to check exit codes and streams. Expected numbers come from
//! `crates/core/tests/fixtures/reference.json` (numpy/scipy, see tools/reference), so these tests
//! check the whole path — seeding, storage, window resolution, caching — not just the core.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;
use serde_json::Value;

/// A seeded database, built once and copied into each test's home.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_path_buf();
        let (code, _, err) = run_in(&home, &["stratus", "tickers"]);
        assert_eq!(code, ExitCode::SUCCESS, "{err}");
        (dir, home.join("stratus.db"))
    });
    path
}

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn seeded() -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(template(), dir.path().join("stratus.db")).unwrap();
        Home { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> (ExitCode, String, String) {
        let mut full = vec!["stratus"];
        full.extend_from_slice(args);
        run_in(self.path(), &full)
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut full = args.to_vec();
        full.push("--json");
        let (code, out, err) = self.run(&full);
        assert_eq!(code, ExitCode::SUCCESS, "stderr: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not one JSON document ({e}): {out}"))
    }
}

fn run_in(home: &Path, args: &[&str]) -> (ExitCode, String, String) {
    let env: HashMap<String, String> =
        [("STRATUS_HOME".to_string(), home.display().to_string())].into();
    let lookup = move |k: &str| env.get(k).cloned();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = match stratus_cli::args::Cli::try_parse_from(args) {
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

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fixtures/reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn assert_rel(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol * want.abs(),
        "{what}: got {got}, want {want}"
    );
}

#[test]
fn risk_profile_matches_independent_reference_values_cold_and_warm() {
    let home = Home::seeded();
    let r = reference();
    let s = &r["scrilla"];
    let cold = home.json(&["risk-profile", "AAPL", "msft", "JPM", "KO"]);
    let keys: Vec<&String> = cold.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["AAPL", "MSFT", "JPM", "KO"],
        "tickers in the order asked, upper-cased"
    );
    for t in ["AAPL", "MSFT", "JPM", "KO"] {
        let got = &cold[t];
        let (ret, vol) = (
            f(&s["profiles"][t]["moments"][0]),
            f(&s["profiles"][t]["moments"][1]),
        );
        assert_rel(f(&got["annual_return"]), ret, 1e-12, "annual_return");
        assert_rel(
            f(&got["annual_volatility"]),
            vol,
            1e-12,
            "annual_volatility",
        );
        for k in ["sharpe_ratio", "asset_beta", "equity_cost"] {
            assert_rel(f(&got[k]), f(&s["capm"][t][k]), 1e-12, k);
        }
    }
    // The second run is served from the cache and must agree exactly.
    let warm = home.json(&["rp", "AAPL", "MSFT", "JPM", "KO"]);
    assert_eq!(cold, warm);
    let methods = home.json(&["rp", "AAPL", "--method", "likelihood"]);
    assert_rel(
        f(&methods["AAPL"]["annual_volatility"]),
        f(&s["profiles"]["AAPL"]["likelihood"][1]),
        1e-12,
        "likelihood",
    );
}

#[test]
fn correlation_all_methods_keep_scrillas_shape() {
    let home = Home::seeded();
    let r = reference();
    let want = &r["scrilla"]["correlation"];
    for (method, tol) in [
        ("moments", 1e-12),
        ("percentiles", 1e-4),
        ("likelihood", 1e-12),
    ] {
        let got = home.json(&[
            "correlation",
            "AAPL",
            "MSFT",
            "JPM",
            "KO",
            "--method",
            method,
        ]);
        assert_eq!(
            got["tickers"],
            serde_json::json!(["AAPL", "MSFT", "JPM", "KO"])
        );
        let key = if method == "percentiles" {
            "percentiles"
        } else {
            "moments"
        };
        for i in 0..4 {
            for j in 0..4 {
                let (g, w) = (f(&got["correlation_matrix"][i][j]), f(&want[key][i][j]));
                assert!((g - w).abs() <= tol, "{method} {i},{j}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn reversed_windows_are_refused_and_weekends_snap_back() {
    let home = Home::seeded();
    let (code, out, err) = home.run(&["rp", "KO", "--start", "2022-11-30", "--end", "2022-06-01"]);
    assert_eq!(code, ExitCode::from(stratus_cli::EXIT_BAD_INPUT));
    assert!(out.is_empty());
    assert!(
        err.contains("start 2022-11-30 is after end 2022-06-01")
            && err.contains("swap --start and --end"),
        "{err}"
    );
    let (code, _, err) = home.run(&["rp", "KO", "--start", "2023-02-01"]);
    assert_eq!(code, ExitCode::from(stratus_cli::EXIT_BAD_INPUT));
    assert!(
        err.contains("after the last date with data 2022-12-28"),
        "{err}"
    );
    // Saturday 2022-12-24 and Sunday the 25th both snap back to Friday the 23rd.
    let saturday = home.json(&[
        "prices",
        "KO",
        "--start",
        "2022-12-20",
        "--end",
        "2022-12-24",
    ]);
    let sunday = home.json(&[
        "prices",
        "KO",
        "--start",
        "2022-12-20",
        "--end",
        "2022-12-25",
    ]);
    assert_eq!(saturday, sunday);
    assert_eq!(
        saturday["KO"]
            .as_object()
            .unwrap()
            .keys()
            .next_back()
            .unwrap(),
        "2022-12-23"
    );
}

#[test]
fn var_and_cvar_match_the_reference() {
    let home = Home::seeded();
    let r = reference();
    let v = &r["scrilla"]["var_aapl"];
    let var = home.json(&["var", "AAPL", "--prob", "0.05", "--expiry", "0.5"]);
    assert_rel(
        f(&var["AAPL"]["value_at_risk"]),
        f(&v["value_at_risk"]),
        1e-12,
        "var",
    );
    let cvar = home.json(&["cvar", "AAPL", "--prob", "0.05", "--expiry", "0.5"]);
    assert_rel(
        f(&cvar["AAPL"]["conditional_value_at_risk"]),
        f(&v["conditional_value_at_risk"]),
        1e-10,
        "cvar",
    );
    let hist = home.json(&["var", "AAPL", "--historical"]);
    let h = f(&hist["AAPL"]["value_at_risk"]);
    assert!(
        h < f(&v["spot"]) && h > 0.8 * f(&v["spot"]),
        "one-day historical VaR price {h}"
    );
    let (code, _, err) = home.run(&["var", "AAPL", "--prob", "1.5"]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("--prob") && err.contains("1.5"), "{err}");
}

#[test]
fn yield_curve_fills_gaps_and_risk_free_is_as_of_a_date() {
    let home = Home::seeded();
    // 1995-06-03 is a Saturday; the 2nd was published without 1M, 2M and 4M.
    let curve = home.json(&["yield-curve", "--date", "1995-06-03"]);
    assert_eq!(curve.as_object().unwrap().len(), 13);
    assert_rel(f(&curve["THREE_MONTH"]), 0.0558, 1e-12, "3M");
    assert_rel(
        f(&curve["FOUR_MONTH"]),
        0.0558 + (0.0555 - 0.0558) / 3.0,
        1e-12,
        "4M interpolated",
    );
    assert_rel(f(&curve["ONE_MONTH"]), 0.0558, 1e-12, "1M flat");
    let rf = home.json(&["risk-free", "--date", "2022-12-28"]);
    assert_rel(f(&rf["TEN_YEAR"]), 0.0388, 1e-12, "risk free");
    let interest = home.json(&[
        "interest",
        "TEN_YEAR",
        "--start",
        "2022-12-27",
        "--end",
        "2022-12-28",
    ]);
    assert_eq!(
        interest,
        serde_json::json!({"TEN_YEAR": {"2022-12-27": 0.0384, "2022-12-28": 0.0388}})
    );
    let (code, _, err) = home.run(&["interest", "ELEVEN_YEAR"]);
    assert_eq!(code, ExitCode::from(2));
    assert!(
        err.contains("ELEVEN_YEAR") && err.contains("TEN_YEAR"),
        "{err}"
    );
}

#[test]
fn moving_averages_and_rolling_correlation() {
    let home = Home::seeded();
    let r = reference();
    let mas = home.json(&["mas", "AAPL", "--start", "2022-12-28"]);
    let want = &r["scrilla"]["moving_averages_aapl_2022_12_28"];
    for k in ["MA_20", "MA_60", "MA_100"] {
        assert_rel(f(&mas["2022-12-28"][k]), f(&want[k]), 1e-12, k);
    }
    let cors = home.json(&["cors", "AAPL", "MSFT", "--start", "2022-12-27"]);
    assert_eq!(cors.as_object().unwrap().len(), 2);
    assert_rel(
        f(&cors["2022-12-28"]),
        f(&r["scrilla"]["correlation"]["moments"][0][1]),
        1e-12,
        "rolling",
    );
}

#[test]
fn bad_input_fails_cleanly_with_nothing_on_stdout() {
    let home = Home::seeded();
    let (code, out, err) = home.run(&["rp", "AAPL", "NOPE"]);
    assert_eq!(code, ExitCode::from(2));
    assert!(out.is_empty());
    assert!(
        err.contains("unknown ticker NOPE") && err.contains("AAPL") && err.contains("import-csv"),
        "{err}"
    );
    let (code, out, err) =
        home.run(&["rp", "AAPL", "--start", "2022-12-28", "--end", "2022-12-28"]);
    assert_eq!(code, ExitCode::from(2));
    assert!(
        out.is_empty() && err.contains("too few prices for AAPL"),
        "{err}"
    );
    let (code, _, err) = home.run(&["cor", "AAPL"]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("at least 2 tickers"), "{err}");
    let (code, _, err) = home.run(&["rp", "AAPL", "--end", "12/28/2022"]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("expected YYYY-MM-DD"), "{err}");
    let (code, _, _) = home.run(&["rp", "AAPL", "--method", "percents"]);
    assert_eq!(code, ExitCode::from(2));
}

#[test]
fn import_csv_is_all_or_nothing() {
    let home = Home::seeded();
    let good = home.path().join("good.csv");
    let mut text = String::from("Date,ACME\n");
    let cal = stratus_core::TradingCalendar::get(stratus_core::CalendarKind::Nyse);
    for (i, d) in cal
        .sessions("2022-06-01".parse().unwrap(), "2022-12-28".parse().unwrap())
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "{d},{}\n",
            100.0 + (i as f64 * 0.7).sin() * 5.0 + i as f64 * 0.1
        ));
    }
    std::fs::write(&good, &text).unwrap();
    let imported = home.json(&["import-csv", good.to_str().unwrap()]);
    assert_eq!(imported["tickers"], serde_json::json!(["ACME"]));
    let profile = home.json(&["rp", "ACME"]);
    assert!(f(&profile["ACME"]["annual_volatility"]) > 0.0);

    let bad = home.path().join("bad.csv");
    std::fs::write(
        &bad,
        "date,ticker,close\n2022-12-27,ZZZ,10\n2022-12-28,ZZZ,NaN\n",
    )
    .unwrap();
    let (code, out, err) = home.run(&["import-csv", bad.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(2));
    assert!(out.is_empty());
    assert!(err.contains("bad.csv:3") && err.contains("NaN"), "{err}");
    let (code, _, err) = home.run(&["prices", "ZZZ"]);
    assert_eq!(
        code,
        ExitCode::from(2),
        "nothing of the bad file was stored"
    );
    assert!(err.contains("unknown ticker ZZZ"));
    let (code, _, err) = home.run(&["import-csv", "/nonexistent.csv"]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("/nonexistent.csv"), "{err}");
}

#[test]
fn save_writes_json_or_csv_and_refuses_other_extensions_before_working() {
    let home = Home::seeded();
    let json_path = home.path().join("rp.json");
    let csv_path = home.path().join("rp.csv");
    home.json(&["rp", "AAPL", "--save", json_path.to_str().unwrap()]);
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert!(saved["AAPL"]["annual_return"].is_number());
    home.run(&["cor", "AAPL", "KO", "--save", csv_path.to_str().unwrap()]);
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert!(csv.starts_with(",AAPL,KO\nAAPL,1,"), "{csv}");
    // CSV cells are the numbers themselves, not their display ("-61.14%", "$24.77").
    let rp_csv = home.path().join("rp.csv");
    home.run(&["rp", "AAPL", "KO", "--save", rp_csv.to_str().unwrap()]);
    let text = std::fs::read_to_string(&rp_csv).unwrap();
    let row: Vec<&str> = text.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(row[0], "AAPL");
    assert!(!text.contains('%') && !text.contains('$'), "{text}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(
        row[1].parse::<f64>().unwrap(),
        saved["AAPL"]["annual_return"].as_f64().unwrap()
    );
    let txt = home.path().join("rp.txt");
    let (code, out, err) = home.run(&["rp", "AAPL", "--save", txt.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(2));
    assert!(out.is_empty() && err.contains(".json or .csv") && !txt.exists());
}

#[test]
fn clear_cache_empties_the_analytics_and_all_reloads_bundled_data() {
    let home = Home::seeded();
    let before = home.json(&["rp", "AAPL"]);
    home.json(&["clear-cache"]);
    assert_eq!(home.json(&["rp", "AAPL"]), before);
    home.json(&["clear-cache", "--all"]);
    // The next command reloads the bundled data and gives the same answer.
    assert_eq!(home.json(&["rp", "AAPL"]), before);
}

#[test]
fn a_store_that_cannot_be_opened_is_a_clear_failure() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let (code, out, err) = run_in(&file, &["stratus", "rp", "AAPL"]);
    assert_eq!(code, ExitCode::from(1));
    assert!(out.is_empty());
    assert!(
        err.contains("not-a-folder") && err.contains("STRATUS_HOME"),
        "{err}"
    );
}

#[test]
fn the_binary_prints_one_json_document_and_sets_exit_codes() {
    let home = Home::seeded();
    let bin = env!("CARGO_BIN_EXE_stratus");
    let ok = std::process::Command::new(bin)
        .args(["--json", "rp", "AAPL", "MSFT"])
        .env("STRATUS_HOME", home.path())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let doc: Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert!(doc["MSFT"]["asset_beta"].is_number());
    let bad = std::process::Command::new(bin)
        .args(["rp", "NOPE"])
        .env("STRATUS_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(bad.stdout.is_empty());
    assert!(String::from_utf8_lossy(&bad.stderr).starts_with("error: unknown ticker NOPE"));
    let version = std::process::Command::new(bin)
        .args(["version", "--json"])
        .output()
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&version.stdout).unwrap()["version"],
        env!("CARGO_PKG_VERSION")
    );
}

#[test]
fn concurrent_first_runs_share_one_fresh_store() {
    let home = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_stratus");
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(bin)
                .args(["--json", "rp", "KO"])
                .env("STRATUS_HOME", home.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(outputs[0].stdout, outputs[1].stdout);
    assert_eq!(outputs[1].stdout, outputs[2].stdout);
}
