//! Every plot command writes a real SVG or PNG with labelled axes (and labelled points), and
//! refuses other file types before doing any work.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;

fn home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn run(args: &[&str]) -> (ExitCode, String, String) {
    let env: HashMap<String, String> =
        [("STRATUS_HOME".to_string(), home().display().to_string())].into();
    let lookup = move |k: &str| env.get(k).cloned();
    let mut full = vec!["stratus"];
    full.extend_from_slice(args);
    let cli = stratus_cli::args::Cli::try_parse_from(full).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = stratus_cli::run(cli, &lookup, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn svg(args: &[&str], name: &str) -> String {
    let path = home().join(name);
    let mut full = args.to_vec();
    let path_text = path.display().to_string();
    full.extend(["--save", &path_text]);
    let (code, out, err) = run(&full);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains(&format!("wrote {path_text}")), "{out}");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("<svg"), "{name} is not an SVG");
    text
}

#[test]
fn every_chart_is_written_with_its_labels() {
    let ef = svg(
        &[
            "plot-ef",
            "AAPL",
            "KO",
            "PG",
            "JNJ",
            "--start",
            "2020-01-02",
        ],
        "ef.svg",
    );
    for label in [
        "AAPL",
        "KO",
        "annual volatility (%)",
        "annual return (%)",
        "minimum variance",
        "maximum Sharpe",
    ] {
        assert!(ef.contains(label), "frontier lacks {label}");
    }
    let rp = svg(&["plot-rp", "AAPL", "MSFT", "KO"], "rp.svg");
    assert!(rp.contains("MSFT") && rp.contains("annual volatility (%)"));
    let cors = svg(
        &["plot-cors", "AAPL", "MSFT", "--start", "2022-10-03"],
        "cors.svg",
    );
    assert!(cors.contains("correlation") && cors.contains("AAPL/MSFT") && cors.contains("date"));
    let heat = svg(&["plot-cor", "AAPL", "MSFT", "KO"], "heat.svg");
    assert!(heat.contains("1.00") && heat.contains("KO"));
    let mas = svg(&["plot-mas", "AAPL", "--start", "2022-09-01"], "mas.svg");
    assert!(mas.contains("20-day") && mas.contains("annualised return (%)"));
    let yc = svg(&["plot-yc", "--date", "1995-06-02"], "yc.svg");
    assert!(
        yc.contains("maturity (years)")
            && yc.contains("par yield (%)")
            && yc.contains("filled (not published)")
    );
    let qq = svg(&["plot-qq", "AAPL"], "qq.svg");
    assert!(qq.contains("standard normal quantile") && qq.contains("daily log return (%)"));
    let dist = svg(&["plot-dist", "AAPL"], "dist.svg");
    assert!(dist.contains("number of days"));
    let dd = svg(
        &["plot-dd", "AAPL", "KO", "--weights", "AAPL=0.6,KO=0.4"],
        "dd.svg",
    );
    assert!(dd.contains("drawdown (%)") && dd.contains("portfolio (max") && dd.contains("KO"));
    let rc = svg(&["plot-rc", "AAPL", "KO", "XOM"], "rc.svg");
    for label in [
        "share of volatility",
        "share of CVaR (0.05)",
        "weight",
        "XOM",
        "% of total",
    ] {
        assert!(rc.contains(label), "risk contributions lack {label}");
    }
}

#[test]
fn png_output_and_bad_extensions() {
    let path = home().join("rp.png");
    let (code, _, err) = run(&["plot-rp", "AAPL", "KO", "--save", path.to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let bad = home().join("rp.jpg");
    let (code, out, err) = run(&["plot-rp", "AAPL", "--save", bad.to_str().unwrap()]);
    assert_eq!(code, ExitCode::from(2));
    assert!(
        out.is_empty() && err.contains(".svg or .png") && !bad.exists(),
        "{err}"
    );
    let (code, _, err) = run(&[
        "rp",
        "AAPL",
        "--save",
        home().join("x.svg").to_str().unwrap(),
    ]);
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains(".json or .csv"), "{err}");
    let json_path = home().join("j.svg");
    let (code, out, _) = run(&["plot-yc", "--json", "--save", json_path.to_str().unwrap()]);
    assert_eq!(code, ExitCode::SUCCESS);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["file"], json_path.display().to_string());
}
