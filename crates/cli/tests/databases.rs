//! PostgreSQL and MariaDB stores end to end through the real binary: provision, migrate from
//! SQLite (resumable, verified), byte-identical JSON on every backend, migrate back and across,
//! several processes writing at once, and the errors of a server that is down or refuses the
//! password. Skipped without `STRATUS_TEST_POSTGRES` / `STRATUS_TEST_MYSQL` (a failure under
//! `CI=true`).

mod support;

use std::path::Path;

use support::databases::{fresh_url, server, stratus};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The verbs compared across backends.
const VERBS: &[&[&str]] = &[
    &["rp", "AAPL", "MSFT", "KO", "--json"],
    &[
        "cor",
        "AAPL",
        "MSFT",
        "KO",
        "--method",
        "percentiles",
        "--json",
    ],
    &["opt", "AAPL", "MSFT", "KO", "--sharpe", "--json"],
    &["var", "AAPL", "--prob", "0.05", "--expiry", "0.5", "--json"],
    &["capm-beta", "AAPL", "--json"],
    &["yield-curve", "--json"],
];

fn round_trip(var: &str) {
    let Some(base) = server(var) else { return };
    let home = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", home.path().join("stratus.db").display());
    let url = fresh_url(&base);

    let provision = stratus(home.path(), &url, &["cache", "provision", "--json"]);
    let created = json(&provision);
    assert_eq!(created["created"].as_array().unwrap().len(), 1, "{created}");

    // Filled deliberately, never seeded behind the user's back.
    let empty = stratus(home.path(), &url, &["rp", "AAPL"]);
    assert_eq!(empty.status.code(), Some(2), "{}", text(&empty.stderr));
    assert!(
        text(&empty.stderr).contains("holds no prices"),
        "{}",
        text(&empty.stderr)
    );

    let migrate = stratus(
        home.path(),
        &sqlite,
        &[
            "cache", "migrate", "--from", "sqlite", "--to", &url, "--json",
        ],
    );
    let report = json(&migrate);
    assert_eq!(report["verified"], true);
    assert!(
        report["prices"]["written"].as_u64().unwrap() > 100_000,
        "{report}"
    );
    let again = json(&stratus(
        home.path(),
        &sqlite,
        &[
            "cache", "migrate", "--from", "sqlite", "--to", &url, "--json",
        ],
    ));
    assert_eq!(again["prices"]["written"], 0, "a rerun rewrites nothing");

    for args in VERBS {
        let local = stratus(home.path(), &sqlite, args);
        let remote = stratus(home.path(), &url, args);
        assert!(
            local.status.success() && remote.status.success(),
            "{args:?}: {}",
            text(&remote.stderr)
        );
        assert_eq!(
            text(&local.stdout),
            text(&remote.stdout),
            "{args:?} differs between sqlite and {var}"
        );
    }
    // The server database now caches results too; a second run reads them and agrees.
    let cached = stratus(home.path(), &url, VERBS[0]);
    assert_eq!(
        text(&cached.stdout),
        text(&stratus(home.path(), &sqlite, VERBS[0]).stdout)
    );

    let status = json(&stratus(home.path(), &url, &["cache", "status", "--json"]));
    assert_eq!(status["items"]["prices"], report["prices"]["source"]);
    let location = status["location"].as_str().unwrap();
    assert!(
        location.contains(":***@") && !location.contains("stratus-test"),
        "{location}"
    );

    // And back into a new SQLite file, verified.
    let back = format!("sqlite://{}", home.path().join("back.db").display());
    let report = json(&stratus(
        home.path(),
        &url,
        &["cache", "migrate", "--from", &url, "--to", &back, "--json"],
    ));
    assert_eq!(report["verified"], true);
    let status = json(&stratus(home.path(), &back, &["cache", "status", "--json"]));
    assert_eq!(status["items"]["prices"], report["prices"]["source"]);
}

#[test]
fn postgres_round_trip_gives_identical_answers() {
    round_trip("STRATUS_TEST_POSTGRES");
}

#[test]
fn mysql_round_trip_gives_identical_answers() {
    round_trip("STRATUS_TEST_MYSQL");
}

#[test]
fn postgres_to_mysql_and_several_processes_at_once() {
    let (Some(pg), Some(my)) = (
        server("STRATUS_TEST_POSTGRES"),
        server("STRATUS_TEST_MYSQL"),
    ) else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let (pg, my) = (fresh_url(&pg), fresh_url(&my));
    // Four processes migrate into one new PostgreSQL database at once: each creates the database
    // and the schema if missing, and all write the same rows.
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_stratus"))
                .args([
                    "cache", "migrate", "--from", "sqlite", "--to", &pg, "--json", "--quiet",
                ])
                .env("STRATUS_HOME", home.path())
                .env_remove("STRATUS_STORE")
                .env_remove("CACHE_MODE")
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let report = json(&stratus(
        home.path(),
        &pg,
        &["cache", "migrate", "--from", &pg, "--to", &my, "--json"],
    ));
    assert_eq!(report["verified"], true);
    let sqlite = format!("sqlite://{}", home.path().join("stratus.db").display());
    let pg_status = json(&stratus(
        home.path(),
        &pg,
        &["cache", "status", "--exact", "--json"],
    ));
    let sqlite_status = json(&stratus(
        home.path(),
        &sqlite,
        &["cache", "status", "--exact", "--json"],
    ));
    assert_eq!(
        pg_status["items"]["prices"],
        sqlite_status["items"]["prices"]
    );
    assert_eq!(
        pg_status["items"]["interest"],
        sqlite_status["items"]["interest"]
    );
    for args in &VERBS[..2] {
        assert_eq!(
            text(&stratus(home.path(), &my, args).stdout),
            text(&stratus(home.path(), &sqlite, args).stdout)
        );
    }
}

fn one_line_error(home: &Path, url: &str, secret: &str) -> String {
    let out = stratus(home, url, &["rp", "AAPL"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains(secret), "{err}");
    err
}

#[test]
fn a_server_that_is_down_or_refuses_the_password_is_one_line_and_exit_1() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://app:hunter2@127.0.0.1:{port}/stratus");
        let err = one_line_error(home.path(), &url, "hunter2");
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    }
    for var in ["STRATUS_TEST_POSTGRES", "STRATUS_TEST_MYSQL"] {
        let Some(base) = server(var) else { continue };
        let mut url = url::Url::parse(&base).unwrap();
        url.set_password(Some("wrong-password-123")).unwrap();
        let err = one_line_error(home.path(), url.as_str(), "wrong-password-123");
        assert!(err.contains("password not shown"), "{err}");
    }
}
