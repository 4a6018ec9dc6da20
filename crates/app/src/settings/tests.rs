//! Layering, validation, and the messages that name what is wrong.

use super::*;
use std::collections::HashMap;

fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load(&move |k| map.get(k).cloned())
}

#[test]
fn live_settings_layer_validate_and_hide_keys() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let s = load(&[("STRATUS_HOME", home)]).unwrap();
    assert_eq!(s.live.provider, ProviderChoice::Bundled);
    assert_eq!(s.market_proxy, "SP500");
    std::fs::write(
        dir.path().join("stratus.toml"),
        "provider = \"alphavantage\"\nalpha_vantage_rate = 75\nhttp_timeout = 2.5\n",
    )
    .unwrap();
    let s = load(&[
        ("STRATUS_HOME", home),
        ("ALPHA_VANTAGE_KEY", "SECRET123"),
        ("STRATUS_HTTP_RETRIES", "1"),
        ("STRATUS_TODAY", "2024-06-10"),
    ])
    .unwrap();
    assert_eq!(s.live.provider, ProviderChoice::AlphaVantage);
    assert_eq!(s.live.alpha_vantage_rate, 75);
    assert_eq!(s.live.http.timeout, std::time::Duration::from_millis(2500));
    assert_eq!(s.live.http.retries, 1);
    assert_eq!(s.market_proxy, "SPY", "live providers quote SPY");
    assert_eq!(
        s.live.alpha_vantage_key.as_ref().unwrap().expose(),
        "SECRET123"
    );
    assert!(!format!("{s:?}").contains("SECRET123"));
    let err = |vars: &[(&str, &str)]| load(vars).unwrap_err().to_string();
    assert!(
        err(&[("STRATUS_HOME", home), ("STRATUS_FRED_URL", "ftp://x")])
            .contains("STRATUS_FRED_URL")
    );
    assert!(err(&[("STRATUS_HOME", home), ("STRATUS_PROVIDER", "yahoo")]).contains("alphavantage"));
    assert!(
        err(&[("STRATUS_HOME", home), ("STRATUS_PROVIDER", "csv")]).contains("STRATUS_CSV_URL")
    );
    assert!(err(&[("STRATUS_HOME", home), ("STRATUS_TODAY", "tomorrow")]).contains("YYYY-MM-DD"));
    assert!(err(&[("STRATUS_HOME", home), ("STRATUS_HTTP_TIMEOUT", "0")]).contains("seconds"));
}

#[test]
fn defaults_then_file_then_environment() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let s = load(&[("STRATUS_HOME", home)]).unwrap();
    assert_eq!(
        (s.store.clone(), s.risk_free, s.method),
        (
            StoreLocation::Sqlite(dir.path().join("stratus.db")),
            Maturity::TenYear,
            Method::Moments
        )
    );
    assert_eq!(s.sqlite_file, dir.path().join("stratus.db"));
    std::fs::write(
        dir.path().join("stratus.toml"),
        "risk_free = \"ONE_YEAR\"\nmarket_proxy = \"spy\"\n",
    )
    .unwrap();
    let s = load(&[("STRATUS_HOME", home)]).unwrap();
    assert_eq!(
        (s.risk_free, s.market_proxy.as_str()),
        (Maturity::OneYear, "SPY")
    );
    // The environment wins over the file, and STRATUS_ names over scrilla's.
    let s = load(&[
        ("STRATUS_HOME", home),
        ("RISK_FREE", "TWO_YEAR"),
        ("STRATUS_RISK_FREE", "FIVE_YEAR"),
        ("MA_1", "10"),
    ])
    .unwrap();
    assert_eq!(s.risk_free, Maturity::FiveYear);
    assert_eq!(s.moving_average_periods, vec![10, 60, 100]);
}

#[test]
fn dynamodb_billing_is_validated() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    assert_eq!(
        load(&[("STRATUS_HOME", home)]).unwrap().dynamo_billing,
        DynamoBilling::PayPerRequest
    );
    let p = load(&[
        ("STRATUS_HOME", home),
        ("STRATUS_DYNAMO_BILLING", "provisioned"),
        ("STRATUS_DYNAMO_RCU", "5"),
        ("STRATUS_DYNAMO_WCU", "3"),
    ])
    .unwrap();
    assert_eq!(
        p.dynamo_billing,
        DynamoBilling::Provisioned { read: 5, write: 3 }
    );
    let e = load(&[
        ("STRATUS_HOME", home),
        ("STRATUS_DYNAMO_BILLING", "PROVISIONED"),
        ("STRATUS_DYNAMO_RCU", "5"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("STRATUS_DYNAMO_WCU"), "{e}");
    let e = load(&[("STRATUS_HOME", home), ("STRATUS_DYNAMO_RCU", "5")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("PROVISIONED"), "{e}");
    let e = load(&[
        ("STRATUS_HOME", home),
        ("STRATUS_DYNAMO_BILLING", "PROVISIONED"),
        ("STRATUS_DYNAMO_RCU", "0"),
        ("STRATUS_DYNAMO_WCU", "1"),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("STRATUS_DYNAMO_RCU") && e.contains("positive"),
        "{e}"
    );
    let e = load(&[
        ("STRATUS_HOME", home),
        ("STRATUS_TABLE_PREFIX", "bad prefix"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("STRATUS_TABLE_PREFIX"), "{e}");
}

#[test]
fn dynamo_conf_is_read_and_stratus_variables_win() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let provisioned = r#"{"BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 4}}"#;
    let s = load(&[("STRATUS_HOME", home), ("DYNAMO_CONF", provisioned)]).unwrap();
    assert_eq!(
        s.dynamo_billing,
        DynamoBilling::Provisioned { read: 7, write: 4 }
    );
    // scrilla's Python literal, single quotes and all.
    let s = load(&[
        ("STRATUS_HOME", home),
        ("DYNAMO_CONF", "{'BillingMode': 'PAY_PER_REQUEST'}"),
    ])
    .unwrap();
    assert_eq!(s.dynamo_billing, DynamoBilling::PayPerRequest);
    let s = load(&[
        ("STRATUS_HOME", home),
        ("DYNAMO_CONF", provisioned),
        ("STRATUS_DYNAMO_BILLING", "PAY_PER_REQUEST"),
    ])
    .unwrap();
    assert_eq!(s.dynamo_billing, DynamoBilling::PayPerRequest);
    let e = load(&[
        ("STRATUS_HOME", home),
        ("DYNAMO_CONF", r#"{"BillingMode": "PROVISIONED"}"#),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("DYNAMO_CONF") && e.contains("required"), "{e}");
    let e = load(&[("STRATUS_HOME", home), ("DYNAMO_CONF", "PROVISIONED")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("DYNAMO_CONF") && e.contains("BillingMode"),
        "{e}"
    );
}

#[test]
fn dynamo_settings_come_from_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    std::fs::write(
        dir.path().join("stratus.toml"),
        "table_prefix = \"prod_\"\ndynamo_billing = \"PROVISIONED\"\ndynamo_rcu = 9\ndynamo_wcu = 3\ndynamo_layout = \"collision-free\"\n",
    )
    .unwrap();
    let s = load(&[("STRATUS_HOME", home)]).unwrap();
    assert_eq!(s.table_prefix, "prod_");
    assert_eq!(
        s.dynamo_billing,
        DynamoBilling::Provisioned { read: 9, write: 3 }
    );
    assert_eq!(s.dynamo_layout, DynamoLayout::CollisionFree);
    let s = load(&[
        ("STRATUS_HOME", home),
        ("STRATUS_DYNAMO_LAYOUT", "scrilla"),
        ("STRATUS_DYNAMO_BILLING", "PAY_PER_REQUEST"),
    ])
    .unwrap();
    assert_eq!(s.dynamo_layout, DynamoLayout::Scrilla);
    assert_eq!(s.dynamo_billing, DynamoBilling::PayPerRequest);
    let e = load(&[("STRATUS_HOME", home), ("STRATUS_DYNAMO_LAYOUT", "wide")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("STRATUS_DYNAMO_LAYOUT") && e.contains("collision-free"),
        "{e}"
    );
}

#[test]
fn bad_values_name_their_variable() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let e = load(&[("STRATUS_HOME", home), ("CACHE_MODE", "postgres")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("CACHE_MODE") && e.contains("postgres") && e.contains("sqlite or dynamodb"),
        "{e}"
    );
    let e = load(&[
        ("STRATUS_HOME", home),
        ("DEFAULT_ESTIMATION_METHOD", "percents"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("DEFAULT_ESTIMATION_METHOD"), "{e}");
    let e = load(&[("STRATUS_HOME", home), ("MA_1", "200")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("MA_1/MA_2/MA_3"), "{e}");
    std::fs::write(dir.path().join("stratus.toml"), "colour = 1\n").unwrap();
    let e = load(&[("STRATUS_HOME", home)]).unwrap_err().to_string();
    assert!(e.contains("stratus.toml") && e.contains("colour"), "{e}");
}

#[test]
fn the_store_url_beats_cache_mode_and_the_environment_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().to_str().unwrap();
    let s = load(&[("STRATUS_HOME", home), ("CACHE_MODE", "dynamodb")]).unwrap();
    assert_eq!(s.store, StoreLocation::Dynamodb { prefix: None });
    let s = load(&[
        ("STRATUS_HOME", home),
        ("CACHE_MODE", "dynamodb"),
        ("STRATUS_STORE", "postgres://app:hunter2@db:5432/stratus"),
    ])
    .unwrap();
    assert_eq!(s.store.kind(), "postgres");
    assert!(!format!("{s:?}").contains("hunter2"));
    // CACHE_MODE=sqlite means the configured file.
    let s = load(&[
        ("STRATUS_HOME", home),
        ("CACHE_MODE", "sqlite"),
        ("STRATUS_SQLITE_FILE", "/x/y.db"),
    ])
    .unwrap();
    assert_eq!(s.store, StoreLocation::Sqlite("/x/y.db".into()));
    std::fs::write(
        dir.path().join("stratus.toml"),
        "store = \"dynamodb://from_file_\"\nsnapshot_ttl = 5\n",
    )
    .unwrap();
    let s = load(&[("STRATUS_HOME", home)]).unwrap();
    assert_eq!(
        s.store,
        StoreLocation::Dynamodb {
            prefix: Some("from_file_".into())
        }
    );
    assert_eq!(s.snapshot_ttl, std::time::Duration::from_secs(5));
    // scrilla's variable in the environment beats the file's URL.
    let s = load(&[("STRATUS_HOME", home), ("CACHE_MODE", "sqlite")]).unwrap();
    assert_eq!(
        s.store,
        StoreLocation::Sqlite(dir.path().join("stratus.db"))
    );
    // A bad URL names the variable and never echoes the password.
    let e = load(&[
        ("STRATUS_HOME", home),
        ("STRATUS_STORE", "postgres://app:hunter2@/stratus"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("STRATUS_STORE") && !e.contains("hunter2"), "{e}");
    for (var, bad) in [
        ("STRATUS_DB_POOL_SIZE", "0"),
        ("STRATUS_DB_POOL_SIZE", "x"),
        ("STRATUS_DB_CONNECT_TIMEOUT", "-1"),
        ("STRATUS_SNAPSHOT_TTL", "NaN"),
    ] {
        let e = load(&[("STRATUS_HOME", home), (var, bad)])
            .unwrap_err()
            .to_string();
        assert!(e.contains(var), "{e}");
    }
}
