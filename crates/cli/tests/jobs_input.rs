//! `stratus jobs` inputs: any job file, tickers file or option is either submitted or refused
//! with exit code 2 and a message naming what to fix — never a panic, never a half-written job.

use std::path::Path;
use std::process::ExitCode;

use proptest::prelude::*;

fn run(home: &Path, args: &[&str]) -> (ExitCode, String, String) {
    use clap::Parser;
    let mut argv = vec!["stratus".to_string(), "--json".to_string()];
    argv.extend(args.iter().map(|a| (*a).to_string()));
    let home = home.display().to_string();
    let Ok(cli) = stratus_cli::args::Cli::try_parse_from(argv) else {
        return (ExitCode::from(2), String::new(), "usage".into());
    };
    let env = move |k: &str| (k == "STRATUS_HOME").then(|| home.clone());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = stratus_cli::run(cli, &env, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn job_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("verb = \"risk-profile\"".to_string()),
        Just("verb = \"no-such-verb\"".to_string()),
        Just("work = \"noop\"".to_string()),
        Just("work = \"dance\"".to_string()),
        Just("isolate_tickers = true".to_string()),
        Just("isolate_days = true".to_string()),
        Just("st_date = \"2021-01-04\"".to_string()),
        Just("en_date = \"2021-01-08\"".to_string()),
        Just("en_date = \"2020-01-08\"".to_string()),
        Just("period = \"last_9999999_days\"".to_string()),
        Just("max_tickers_per_batch = 0".to_string()),
        Just("tasks = []".to_string()),
        Just("tasks = [1, 2]".to_string()),
        Just("labourer = \"bad name!\"".to_string()),
        Just("job_id = \"\"".to_string()),
        prop::collection::vec("[A-Z]{1,5}", 0..4).prop_map(|t| format!("tickers = {t:?}")),
        "[ -~]{0,30}",
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| {
        let mut seen = std::collections::BTreeSet::new();
        let kept: Vec<String> = lines
            .into_iter()
            .filter(|l| seen.insert(l.split('=').next().unwrap_or("").trim().to_string()))
            .collect();
        kept.join("\n") + "\n[params]\nstart = \"2021-01-04\"\n"
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn any_job_file_is_submitted_or_refused_with_a_reason(text in job_text()) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("job.toml");
        std::fs::write(&file, &text).unwrap();
        let (code, out, err) = run(dir.path(), &["jobs", "submit", file.to_str().unwrap()]);
        if code == ExitCode::SUCCESS {
            let json: serde_json::Value = serde_json::from_str(&out).unwrap();
            prop_assert!(json["tasks"].as_u64().unwrap() >= 1);
        } else {
            prop_assert_eq!(code, ExitCode::from(2), "{}", err);
            prop_assert!(err.starts_with("error: ") && out.is_empty(), "{err}");
        }
    }

    #[test]
    fn any_tickers_file_and_options_are_submitted_or_refused(lines in prop::collection::vec("[A-Z ,#]{0,20}", 0..6), option in "[-a-z=0-9]{0,16}") {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("calls.txt");
        std::fs::write(&file, lines.join("\n")).unwrap();
        let (code, _, err) = run(dir.path(), &["jobs", "submit", "--verb", "risk-profile", "--tickers-file", file.to_str().unwrap(), "--", &option]);
        prop_assert!(code == ExitCode::SUCCESS || code == ExitCode::from(2), "{err}");
    }
}

#[test]
fn named_refusals_say_what_to_fix_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let write = |name: &str, text: &str| {
        let path = home.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    for (text, expected) in [
        (
            "verb = \"risk-profile\"\ntickers = [\"AAPL\"]\n[params]\nstrat = \"2021\"\n",
            "strat",
        ),
        (
            "verb = \"risk-profile\"\ntickers = [\"AAPL\"]\nst_date = \"2021-02-01\"\nen_date = \"2021-01-01\"\n",
            "before st_date",
        ),
        ("work = \"noop\"\ntasks = []\n", "no tasks"),
        (
            "verb = \"risk-profile\"\ntickers = [\"AAPL\"]\nperiod = \"last_fortnight\"\n",
            "unsupported period",
        ),
        ("not toml [", "job.toml"),
    ] {
        let file = write("job.toml", text);
        let (code, out, err) = run(home, &["jobs", "submit", &file]);
        assert_eq!(code, ExitCode::from(2), "{text}: {err}");
        assert!(err.contains(expected) && out.is_empty(), "{text}: {err}");
    }
    let (code, _, err) = run(home, &["jobs", "status", "no-such-job"]);
    assert_eq!(code, ExitCode::from(2), "{err}");
    assert!(err.contains("no job no-such-job"), "{err}");
    let (code, _, err) = run(
        home,
        &["jobs", "config", "set", "task_config.max_attempts", "0"],
    );
    assert_eq!(code, ExitCode::from(2), "{err}");
    assert!(err.contains("task_config.max_attempts"), "{err}");
    let (code, _, err) = run(home, &["jobs", "redrive", "--task", "nope"]);
    assert_ne!(code, ExitCode::SUCCESS, "{err}");
    let lambda_job = write(
        "lambda.toml",
        "labourer = \"my-worker\"\njob_id = \"remote\"\nwork = \"noop\"\ntasks = [{}]\n",
    );
    assert_eq!(
        run(home, &["jobs", "submit", &lambda_job]).0,
        ExitCode::SUCCESS
    );
    let (code, _, err) = run(home, &["jobs", "run", "remote"]);
    assert_eq!(code, ExitCode::from(2), "{err}");
    assert!(err.contains("--labourer my-worker"), "{err}");
    let empty = write("calls.txt", "# nothing\n\n");
    let (code, _, err) = run(
        home,
        &[
            "jobs",
            "submit",
            "--verb",
            "risk-profile",
            "--tickers-file",
            &empty,
        ],
    );
    assert_eq!(code, ExitCode::from(2), "{err}");
    assert!(err.contains("no lines of tickers"), "{err}");
}

#[test]
fn an_ingest_job_is_one_task_per_symbol_each_exported_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let exports = home.join("exports");
    std::fs::write(
        home.join("ingest.toml"),
        format!(
            "destination = {:?}\n[[source]]\nname = \"prices\"\nprovider = \"bundled\"\nsymbols = [\"AAPL\", \"MSFT\", \"KO\"]\n[[source]]\nname = \"yields\"\nprovider = \"bundled\"\nkind = \"yields\"\n",
            exports.display().to_string()
        ),
    )
    .unwrap();
    std::fs::write(
        home.join("job.toml"),
        "job_id = \"ingest-1\"\ningest_config = \"ingest.toml\"\nisolate_symbols = true\n",
    )
    .unwrap();
    let job = home.join("job.toml").display().to_string();
    let (code, out, err) = run(home, &["jobs", "submit", &job]);
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    let submitted: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(submitted["tasks"], 4, "three symbols and the yields: {out}");
    let (code, out, err) = run(home, &["--quiet", "jobs", "run", "ingest-1"]);
    assert_eq!(code, ExitCode::SUCCESS, "{out} {err}");
    let (_, out, _) = run(home, &["jobs", "results", "ingest-1"]);
    let results: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = results["results"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{results}");
    for row in rows {
        let params = &row["params"];
        let source = params["sources"][0].as_str().unwrap();
        let reported: Vec<&str> = row["result"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(reported, [source], "each task runs its own source: {row}");
        // Each task exports under its own folder, so tasks never overwrite each other.
        let folder = exports.join("ingest-1").join(row["task"].as_str().unwrap());
        assert!(folder.is_dir(), "{}", folder.display());
    }
    let symbols: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["params"]["symbols"][0].as_str())
        .collect();
    assert_eq!(symbols.len(), 3);
}
