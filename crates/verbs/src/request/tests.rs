//! Requests from query parameters and JSON values: the CLI arguments they become, and the
//! refusals (bad fields, paths and mutations out of reach, oversized requests).

use super::*;
use crate::args::MethodArg;
use serde_json::json;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

#[test]
fn query_parameters_become_the_cli_arguments() {
    let c = command_from_query(
        "risk-profile",
        &pairs(&[
            ("tickers", "AAPL,MSFT"),
            ("start", "2021-01-04"),
            ("method", "percentiles"),
        ]),
    )
    .unwrap();
    let Verb::RiskProfile(a) = c else {
        panic!("{c:?}")
    };
    assert_eq!(a.tickers, ["AAPL", "MSFT"]);
    assert_eq!(a.analysis.window.start, Some("2021-01-04".parse().unwrap()));
    assert!(matches!(a.analysis.method, Some(MethodArg::Percentiles)));
    // Aliases and JSON events give the same command.
    let c = command_from_json(
        "opt",
        &json!({"tickers": ["AAPL", "MSFT", "JPM"], "sharpe": true, "max_weight": 0.5}),
    )
    .unwrap();
    let Verb::OptimizePortfolio {
        portfolio, sharpe, ..
    } = c
    else {
        panic!("{c:?}")
    };
    assert!(sharpe);
    assert_eq!(portfolio.max_weight, Some(0.5));
    assert_eq!(portfolio.tickers.len(), 3);
}

#[test]
fn bad_parameters_name_the_field() {
    let e = command_from_query(
        "risk-profile",
        &pairs(&[("tickers", "AAPL"), ("start", "2021-13-01")]),
    )
    .unwrap_err();
    assert!(
        matches!(&e, RequestError::BadParameter { field: Some(f), message } if f == "start" && message.contains("YYYY-MM-DD")),
        "{e:?}"
    );
    let e = command_from_query("risk-profile", &pairs(&[("start", "2021-01-04")])).unwrap_err();
    assert!(
        matches!(&e, RequestError::BadParameter { field: Some(f), .. } if f == "tickers"),
        "{e:?}"
    );
    let e = command_from_query(
        "risk-profile",
        &pairs(&[("tickers", "A"), ("colour", "red")]),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("colour") && e.to_string().contains("start"),
        "{e}"
    );
    let e = command_from_query("var", &pairs(&[("tickers", "A"), ("prob", "often")])).unwrap_err();
    assert!(
        matches!(&e, RequestError::BadParameter { field: Some(f), .. } if f == "prob"),
        "{e:?}"
    );
    let e = command_from_query("var", &pairs(&[("tickers", "A"), ("historical", "maybe")]))
        .unwrap_err();
    assert!(e.to_string().contains("true or false"), "{e}");
}

#[test]
fn files_folders_and_mutations_are_out_of_reach() {
    for (verb, params) in [
        ("import-csv", pairs(&[("file", "/etc/passwd")])),
        ("clear-cache", pairs(&[("all", "true")])),
        ("cache", pairs(&[])),
    ] {
        assert!(
            matches!(
                command_from_query(verb, &params),
                Err(RequestError::UnknownVerb { .. })
            ),
            "{verb}"
        );
    }
    for global in ["save", "home", "json", "quiet"] {
        let e = command_from_query(
            "risk-profile",
            &pairs(&[("tickers", "A"), (global, "/tmp/x")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown parameter"), "{global}: {e}");
    }
    // A value is a value, never an option.
    let e = command_from_query(
        "risk-profile",
        &pairs(&[("tickers", "A"), ("start", "--home=/")]),
    )
    .unwrap_err();
    assert!(matches!(e, RequestError::BadParameter { .. }), "{e:?}");
    let c = command_from_query("prices", &pairs(&[("tickers", "--save=x.json")])).unwrap();
    assert!(matches!(c, Verb::Prices { tickers, .. } if tickers == ["--save=x.json"]));
}

#[test]
fn json_values_that_are_not_values_name_the_field() {
    for body in [
        json!({"tickers": [null, null]}),
        json!({"tickers": {"a": 1}}),
        json!({"tickers": [["AAPL"]]}),
        json!({"tickers": ["AAPL"], "start": ["2021-01-04", "2021-02-01"]}),
        json!({"tickers": ["AAPL"], "prob": {"value": 0.05}}),
    ] {
        let e = command_from_json("risk-profile", &body)
            .or_else(|_| command_from_json("var", &body))
            .unwrap_err();
        assert!(
            matches!(&e, RequestError::BadParameter { field: Some(_), .. }),
            "{body}: {e:?}"
        );
        assert!(!e.to_string().contains("NULL"), "{e}");
    }
    let e = command_from_json("risk-profile", &json!({"tickers": [null]})).unwrap_err();
    assert!(
        matches!(&e, RequestError::BadParameter { field: Some(f), .. } if f == "tickers"),
        "{e:?}"
    );
    // Numbers and strings are values.
    assert!(command_from_json("var", &json!({"tickers": "AAPL", "prob": 0.01})).is_ok());
}

#[test]
fn oversized_requests_are_refused() {
    let many: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| format!("T{i}")).collect();
    let e =
        command_from_query("risk-profile", &pairs(&[("tickers", &many.join(","))])).unwrap_err();
    assert!(matches!(e, RequestError::TooLarge { .. }), "{e:?}");
    let e =
        command_from_query("ef", &pairs(&[("tickers", "A,B"), ("steps", "100000")])).unwrap_err();
    assert!(matches!(e, RequestError::TooLarge { .. }), "{e:?}");
}

#[test]
fn every_analytics_verb_is_served() {
    let served = served_verbs();
    for verb in [
        "risk-profile",
        "correlation",
        "efficient-frontier",
        "yield-curve",
        "plot-risk-profile",
    ] {
        assert!(served.iter().any(|v| v == verb), "{verb}");
    }
    assert!(!served.iter().any(|v| v == "import-csv" || v == "cache"));
}
