//! `@FILE` values on the command line: a file gives the same answer as the same entries inline,
//! every unusable file is exit code 2 naming the option and the path, nothing after `--` is
//! touched, and no file content makes the CLI panic (property test).

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;
use std::sync::OnceLock;

use clap::Parser;
use proptest::prelude::*;
use serde_json::Value;
use stratus_cli::argfiles::expand;

fn home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// As the binary does: expand, parse, run.
fn run(args: &[String]) -> (ExitCode, String, String) {
    let env: HashMap<String, String> =
        [("STRATUS_HOME".to_string(), home().display().to_string())].into();
    let lookup = move |k: &str| env.get(k).cloned();
    let mut argv: Vec<OsString> = vec!["stratus".into()];
    argv.extend(args.iter().map(OsString::from));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = match expand(argv) {
        Err(e) => {
            err.extend_from_slice(e.to_string().as_bytes());
            ExitCode::from(2)
        }
        Ok(argv) => match stratus_cli::args::Cli::try_parse_from(argv) {
            Ok(cli) => stratus_cli::run(cli, &lookup, &mut out, &mut err),
            Err(e) => {
                err.extend_from_slice(e.to_string().as_bytes());
                ExitCode::from(2)
            }
        },
    };
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn json(list: Vec<String>) -> Value {
    let (code, out, err) = run(&list);
    assert_eq!(code, ExitCode::SUCCESS, "{list:?}: {err}");
    serde_json::from_str(&out).unwrap()
}

fn file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn a_file_answers_as_the_same_entries_inline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let window = ["--start", "2018-01-02", "--end", "2022-12-28", "--json"];
    let cases: Vec<(Vec<&str>, &str, &str, String)> = vec![
        (
            vec!["risk-parity", "AAPL", "MSFT", "XOM"],
            "--budgets",
            "AAPL=2,MSFT=1,XOM=1",
            file(
                d,
                "budgets.txt",
                "# risk budgets\nAAPL=2\nMSFT=1   # half\n\nXOM=1\n",
            ),
        ),
        (
            vec!["black-litterman", "AAPL", "KO", "XOM"],
            "--views",
            "AAPL=0.12@0.6;KO-XOM=0.02",
            file(d, "views.txt", "AAPL=0.12@0.6\nKO-XOM=0.02\n"),
        ),
        (
            vec!["risk-report", "AAPL", "KO"],
            "--weights",
            "AAPL=0.4,KO=0.6",
            file(d, "weights.csv", "AAPL=0.4\r\nKO=0.6\r\n"),
        ),
        (
            vec![
                "optimize-portfolio",
                "AAPL",
                "KO",
                "XOM",
                "JNJ",
                "--sector-max",
                "Staples=0.3",
            ],
            "--sectors",
            "AAPL=Tech,KO=Staples,XOM=Energy,JNJ=Health",
            file(
                d,
                "sectors.txt",
                "AAPL=Tech\nKO=Staples\nXOM=Energy\nJNJ=Health\n",
            ),
        ),
    ];
    for (verb, option, inline, path) in cases {
        let mut with_inline = args(&verb);
        with_inline.extend(args(&window));
        let mut with_file = with_inline.clone();
        with_inline.extend([option.to_string(), inline.to_string()]);
        with_file.extend([option.to_string(), format!("@{path}")]);
        let (a, b) = (json(with_inline), json(with_file.clone()));
        assert_eq!(a, b, "{with_file:?}");
        // The --option=@FILE spelling too.
        let joined: Vec<String> = with_file[..with_file.len() - 2]
            .iter()
            .cloned()
            .chain([format!("{option}=@{path}")])
            .collect();
        assert_eq!(json(joined), a);
    }
    // --mu bl:@FILE on an optimiser.
    let views = file(d, "bl.txt", "AAPL=0.15@0.5\n");
    let base = args(&["optimize-portfolio", "AAPL", "KO", "XOM", "--sharpe"]);
    let mut inline = base.clone();
    inline.extend(args(&window));
    let mut from_file = inline.clone();
    inline.extend(args(&["--mu", "bl:AAPL=0.15@0.5"]));
    from_file.extend(["--mu".to_string(), format!("bl:@{views}")]);
    assert_eq!(json(inline), json(from_file));
}

#[test]
fn unusable_files_are_refused_naming_the_option_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = file(d, "empty.txt", "# nothing but a comment\n\n");
    let binary = d.join("binary.bin");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let missing = d.join("missing.txt").display().to_string();
    let folder = d.display().to_string();
    let bad_entries = file(d, "bad.txt", "AAPL=abc\n");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            args(&[
                "risk-parity",
                "AAPL",
                "KO",
                "--budgets",
                &format!("@{missing}"),
            ]),
            missing.clone(),
        ),
        (
            args(&[
                "risk-parity",
                "AAPL",
                "KO",
                "--budgets",
                &format!("@{empty}"),
            ]),
            "holds no entries".into(),
        ),
        (
            args(&[
                "risk-report",
                "AAPL",
                "--weights",
                &format!("@{}", binary.display()),
            ]),
            "not UTF-8".into(),
        ),
        (
            args(&["risk-parity", "AAPL", "KO", "--budgets", "@"]),
            "names no file".into(),
        ),
        (
            args(&["risk-parity", "AAPL", "KO", &format!("--budgets=@{folder}")]),
            "--budgets".into(),
        ),
        (
            args(&[
                "optimize-portfolio",
                "AAPL",
                "KO",
                "--mu",
                &format!("bl:@{missing}"),
            ]),
            "--mu".into(),
        ),
        // A readable file with a bad entry is the option's own error.
        (
            args(&[
                "risk-parity",
                "AAPL",
                "KO",
                "--budgets",
                &format!("@{bad_entries}"),
            ]),
            "--budgets".into(),
        ),
    ];
    for (list, says) in cases {
        let (code, out, err) = run(&list);
        assert_eq!(code, ExitCode::from(2), "{list:?}: {out} {err}");
        assert!(err.contains(&says), "{list:?} should name {says}: {err}");
        assert!(out.is_empty(), "{list:?} printed {out}");
    }
}

#[test]
fn only_the_named_options_are_expanded_and_never_after_a_double_dash() {
    let argv: Vec<OsString> = [
        "stratus",
        "prices",
        "--save",
        "@out.json",
        "--",
        "--views",
        "@x",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    assert_eq!(expand(argv.clone()).unwrap(), argv);
    let plain: Vec<OsString> = [
        "stratus", "bl", "AAPL", "--views", "AAPL=0.1", "--mu", "ema",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    assert_eq!(expand(plain.clone()).unwrap(), plain);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever a weights file holds, the CLI answers or refuses with exit code 2 — no panic, no
    /// other failure.
    #[test]
    fn any_weights_file_is_answered_or_refused(
        content in prop::collection::vec(
            prop_oneof![
                Just("AAPL=0.5".to_string()),
                Just("KO=0.5".to_string()),
                Just("KO=NaN".to_string()),
                Just("AAPL=1e308".to_string()),
                Just("# comment".to_string()),
                Just("=".to_string()),
                Just("AAPL=0.2,KO=0.8".to_string()),
                "[ -~]{0,20}",
                "\\PC{0,8}",
            ],
            0..6,
        ),
        separator in prop_oneof![Just("\n"), Just("\r\n"), Just(","), Just(" ")],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path(), "w.txt", &content.join(separator));
        let list = args(&["risk-report", "AAPL", "KO", "--start", "2020-01-02", "--json",
            "--weights", &format!("@{path}")]);
        let (code, out, err) = run(&list);
        prop_assert!(
            code == ExitCode::SUCCESS || code == ExitCode::from(2),
            "{list:?}: {code:?} {err}"
        );
        if code == ExitCode::SUCCESS {
            prop_assert!(serde_json::from_str::<Value>(&out).is_ok());
        } else {
            prop_assert!(out.is_empty() && !err.is_empty());
        }
    }
}
