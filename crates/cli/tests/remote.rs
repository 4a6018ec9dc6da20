//! `stratus --remote URL <verb>` against a real `stratus serve`: the same bytes on stdout, the
//! same error line and exit code as the local command; and `stratus connect URL`.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn stratus(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(args)
        .env("STRATUS_HOME", home)
        .env_remove("STRATUS_REMOTE")
        .env_remove("STRATUS_STORE")
        .env_remove("CACHE_MODE")
        .output()
        .unwrap()
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(home: &Path) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stratus"))
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("STRATUS_HOME", home)
        .env_remove("STRATUS_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string();
    (Server(child), base)
}

#[test]
fn remote_verbs_print_what_local_verbs_print() {
    let server_home = tempfile::tempdir().unwrap();
    let client_home = tempfile::tempdir().unwrap();
    assert!(
        stratus(server_home.path(), &["--quiet", "tickers"])
            .status
            .success()
    );
    let (_server, base) = serve(server_home.path());
    for args in [
        &["rp", "AAPL", "MSFT"][..],
        &["rp", "AAPL", "MSFT", "--json"],
        &[
            "cor",
            "AAPL",
            "KO",
            "JPM",
            "--start",
            "2021-01-04",
            "--end",
            "2021-12-31",
        ],
        &["opt", "AAPL", "MSFT", "KO", "--sharpe", "--json"],
        &["var", "AAPL", "--prob", "0.05", "--expiry", "0.5"],
        &["yc", "--date", "2022-06-01", "--json"],
        &["mas", "KO", "--method", "percentiles"],
        &["capm-beta", "AAPL"],
        &["tickers"],
        // Errors: the same line and exit code.
        &["rp", "NOPE"],
        &["opt", "AAPL", "--sharpe"],
        &[
            "var",
            "AAPL",
            "--prob",
            "0.05",
            "--expiry",
            "0.5",
            "--start",
            "2030-01-01",
        ],
    ] {
        let local = stratus(server_home.path(), args);
        let mut remote_args = vec!["--remote", base.as_str()];
        remote_args.extend_from_slice(args);
        let remote = stratus(client_home.path(), &remote_args);
        assert_eq!(
            remote.status.code(),
            local.status.code(),
            "{args:?}: {}",
            text(&remote.stderr)
        );
        assert_eq!(text(&remote.stdout), text(&local.stdout), "{args:?}");
        assert_eq!(text(&remote.stderr), text(&local.stderr), "{args:?}");
    }
    // A plot comes back as the chart file.
    let chart = client_home.path().join("rp.svg");
    let plotted = stratus(
        client_home.path(),
        &[
            "--remote",
            &base,
            "plot-rp",
            "AAPL",
            "KO",
            "--save",
            chart.to_str().unwrap(),
        ],
    );
    assert!(plotted.status.success(), "{}", text(&plotted.stderr));
    assert!(std::fs::read_to_string(&chart).unwrap().contains("<svg"));
    // Nothing was computed or stored on the client.
    assert!(!client_home.path().join("stratus.db").exists());

    // Commands that are not served run locally only.
    let refused = stratus(
        client_home.path(),
        &["--remote", &base, "clear-cache", "--yes"],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("--remote runs the analytics verbs"),
        "{}",
        text(&refused.stderr)
    );

    let connect = stratus(client_home.path(), &["connect", &base]);
    assert!(connect.status.success(), "{}", text(&connect.stderr));
    let report = text(&connect.stdout);
    assert!(
        report.contains(&format!("stratus {}", env!("CARGO_PKG_VERSION")))
            && report.contains("store sqlite (ready)")
            && report.contains(&format!("page: {base}/")),
        "{report}"
    );
    let connect = stratus(
        client_home.path(),
        &["--json", "connect", &format!("{base}/")],
    );
    let report: serde_json::Value = serde_json::from_slice(&connect.stdout).unwrap();
    assert_eq!(report["backend"], "sqlite");
    assert_eq!(report["url"], base.as_str());
}

#[test]
fn an_unreachable_or_bad_remote_is_one_line_and_the_right_exit_code() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["--remote", base.as_str(), "rp", "AAPL"],
        vec!["connect", base.as_str()],
    ] {
        let out = stratus(home.path(), &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("cannot reach the Stratus API") && err.contains(&base),
            "{err}"
        );
    }
    let out = stratus(home.path(), &["--remote", "ftp://x", "rp", "AAPL"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not an http(s) URL"));
}
