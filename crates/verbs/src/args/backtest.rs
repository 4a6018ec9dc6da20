//! Options of `backtest`. A strategy is written the way its verb is typed — `"min-variance --cov
//! ledoit-wolf"`, `"hrp --linkage ward"` — and parsed by that verb's own declarations, so every
//! option an allocation verb has is a strategy option with the same checks and messages.

use std::sync::Arc;

use chrono::NaiveDate;
use clap::Args;
use stratus_analytics::backtest::MIN_LOOKBACK;
use stratus_core::backtest::Schedule;

use super::{RoundingArg, Verb, WindowArgs, parse_amount, parse_number, parse_probability};

/// Strategy names beyond the verbs' own: what they stand for.
const SHORTHANDS: [(&str, &[&str]); 3] = [
    ("min-variance", &["optimize-portfolio"]),
    ("max-sharpe", &["optimize-portfolio", "--sharpe"]),
    ("target-return", &["optimize-portfolio"]),
];

/// The verbs a strategy may name (with their aliases, as `stratus help` lists them).
pub const STRATEGY_VERBS: [&str; 8] = [
    "optimize-portfolio",
    "max-return",
    "risk-parity",
    "hrp",
    "herc",
    "max-diversification",
    "inverse-volatility",
    "equal-weight",
];

/// Options the backtest itself sets, refused inside a strategy.
const OWNED: [(&str, &str); 7] = [
    (
        "--start",
        "the backtest's --start/--end and --lookback set each estimate's window",
    ),
    (
        "--end",
        "the backtest's --start/--end and --lookback set each estimate's window",
    ),
    ("--invest", "give --invest to the backtest"),
    ("--allocation", "give --allocation to the backtest"),
    (
        "--current",
        "the backtest holds the drifted weights as the current portfolio",
    ),
    (
        "--method",
        "backtests estimate from simple returns; drop --method",
    ),
    (
        "--returns",
        "backtests estimate from simple returns; drop --returns",
    ),
];

/// Two stand-in tickers a strategy is parsed with; the backtest's own replace them.
pub(crate) const PLACEHOLDERS: [&str; 2] = ["PLACEHOLDER-A", "PLACEHOLDER-B"];

/// One strategy: its text and the verb it parses to.
#[derive(Debug, Clone)]
pub struct StrategySpec {
    /// What was typed, as the results name it.
    pub text: String,
    /// The parsed verb (tickers are placeholders).
    pub verb: Arc<Verb>,
}

/// Parses `"min-variance --cov ledoit-wolf"` with the named verb's declarations.
pub(crate) fn parse_strategy(text: &str) -> Result<StrategySpec, String> {
    let words = shlex::split(text.trim()).ok_or_else(|| {
        format!("{text:?} has an unclosed quote; quote option values as a shell would")
    })?;
    let Some((name, options)) = words.split_first() else {
        return Err(format!(
            "an empty strategy; name one of min-variance, max-sharpe, target-return, {}",
            STRATEGY_VERBS.join(", ")
        ));
    };
    let not_a_method = || {
        format!(
            "{name:?} is not an allocation method; name one of min-variance, max-sharpe, target-return, {}",
            STRATEGY_VERBS.join(", ")
        )
    };
    if !SHORTHANDS.iter().any(|(s, _)| s == name)
        && !crate::request::canonical_verb(name)
            .is_some_and(|verb| STRATEGY_VERBS.contains(&verb.as_str()))
    {
        return Err(not_a_method());
    }
    let mut argv: Vec<String> = match SHORTHANDS.iter().find(|(s, _)| s == name) {
        Some((_, expansion)) => expansion.iter().map(|s| s.to_string()).collect(),
        None => vec![name.clone()],
    };
    if name == "target-return" && !options.iter().any(|o| o.starts_with("--target")) {
        return Err("target-return needs --target R, e.g. \"target-return --target 0.12\"".into());
    }
    for option in options {
        if let Some((flag, why)) = OWNED
            .iter()
            .find(|(flag, _)| option == flag || option.starts_with(&format!("{flag}=")))
        {
            return Err(format!("{flag} cannot be part of a strategy: {why}"));
        }
        if option == "--" {
            return Err("a strategy takes options only; the backtest's tickers are used".into());
        }
    }
    argv.extend(options.iter().cloned());
    argv.push("--".into());
    argv.extend(PLACEHOLDERS.iter().map(|s| s.to_string()));
    let verb = crate::request::parse_verb(&argv).map_err(|e| {
        let first = e.render().to_string();
        let first = first
            .lines()
            .next()
            .unwrap_or("invalid")
            .trim_start_matches("error: ");
        format!("strategy {text:?}: {first}")
    })?;
    if !is_strategy(&verb) {
        return Err(not_a_method());
    }
    if strategy_tickers(&verb).len() != PLACEHOLDERS.len() {
        return Err(format!(
            "strategy {text:?} names tickers of its own; give the universe to the backtest and options only to the strategy"
        ));
    }
    Ok(StrategySpec {
        text: text.trim().to_string(),
        verb: Arc::new(verb),
    })
}

fn is_strategy(verb: &Verb) -> bool {
    matches!(
        verb,
        Verb::OptimizePortfolio { .. }
            | Verb::MaxReturn { .. }
            | Verb::RiskParity { .. }
            | Verb::Hrp { .. }
            | Verb::Herc { .. }
            | Verb::MaxDiversification(_)
            | Verb::InverseVolatility(_)
            | Verb::EqualWeight(_)
    )
}

fn strategy_tickers(verb: &Verb) -> &[String] {
    match verb {
        Verb::OptimizePortfolio { portfolio, .. } | Verb::MaxReturn { portfolio } => {
            &portfolio.tickers
        }
        Verb::RiskParity { allocation, .. }
        | Verb::Hrp { allocation, .. }
        | Verb::Herc { allocation, .. }
        | Verb::MaxDiversification(allocation)
        | Verb::InverseVolatility(allocation)
        | Verb::EqualWeight(allocation) => &allocation.tickers,
        _ => &[],
    }
}

/// `--lookback`: sessions, or the whole history before each rebalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookbackArg {
    /// The last N sessions.
    Sessions(usize),
    /// Everything before.
    Expanding,
}

/// Most sessions a lookback may span (about 40 years).
pub const MAX_LOOKBACK: usize = 10_000;

pub(super) fn parse_lookback(text: &str) -> Result<LookbackArg, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("expanding") {
        return Ok(LookbackArg::Expanding);
    }
    match text.parse::<usize>() {
        Ok(n) if (MIN_LOOKBACK..=MAX_LOOKBACK).contains(&n) => Ok(LookbackArg::Sessions(n)),
        _ => Err(format!(
            "{text:?} is not a lookback; give a number of sessions from {MIN_LOOKBACK} to {MAX_LOOKBACK} (756 ≈ 3 years) or expanding"
        )),
    }
}

/// Most dates a rebalance calendar may list.
pub const MAX_CALENDAR: usize = 10_000;

pub(super) fn parse_schedule(text: &str) -> Result<Schedule, String> {
    let text = text.trim();
    let wrong = || {
        format!(
            "{text:?} is not a rebalance schedule; give daily, weekly, monthly, quarterly, a number of sessions (e.g. 21) or dates:YYYY-MM-DD,YYYY-MM-DD,…"
        )
    };
    Ok(match text.to_ascii_lowercase().as_str() {
        "daily" => Schedule::Every(1),
        "weekly" => Schedule::Weekly,
        "monthly" => Schedule::Monthly,
        "quarterly" => Schedule::Quarterly,
        other => {
            if let Some(list) = other.strip_prefix("dates:") {
                let dates: Vec<NaiveDate> = list
                    .split([',', ' ', '\n', ';'])
                    .filter(|d| !d.trim().is_empty())
                    .map(|d| {
                        NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                            format!("bad date {d:?} in the rebalance calendar; expected YYYY-MM-DD")
                        })
                    })
                    .collect::<Result<_, _>>()?;
                if dates.is_empty() || dates.len() > MAX_CALENDAR {
                    return Err(format!(
                        "a rebalance calendar needs 1 to {MAX_CALENDAR} dates, e.g. dates:2020-01-02,2020-07-01"
                    ));
                }
                Schedule::Dates(dates)
            } else {
                match other.parse::<usize>() {
                    Ok(n) if (1..=MAX_CALENDAR).contains(&n) => Schedule::Every(n),
                    _ => return Err(wrong()),
                }
            }
        }
    })
}

fn parse_bps(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    if value.is_finite() && (0.0..=10_000.0).contains(&value) {
        Ok(value)
    } else {
        Err("a cost from 0 to 10000 basis points is needed, e.g. 10".into())
    }
}

fn parse_max_turnover(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    if value.is_finite() && (0.0..=200.0).contains(&value) {
        Ok(value)
    } else {
        Err("a turnover Σ|Δw| from 0 to 200 is needed, e.g. 0.2".into())
    }
}

/// Options of `backtest`.
#[derive(Debug, Clone, Args)]
pub struct BacktestArgs {
    /// The universe (at least two tickers): --tickers AAPL MSFT KO, or "AAPL,MSFT,KO"; on the
    /// command line --tickers @FILE reads a file of them (commas, spaces or lines).
    #[arg(long, required = true, num_args = 1.., value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// A strategy: an allocation verb and its options, e.g. "min-variance --cov ledoit-wolf",
    /// "max-sharpe", "target-return --target 0.1", "risk-parity", "hrp --linkage ward",
    /// "equal-weight" (repeatable; default min-variance).
    #[arg(long, value_name = "STRATEGY", value_parser = parse_strategy)]
    pub strategy: Vec<StrategySpec>,
    /// More strategies run beside --strategy on the same data.
    #[arg(long, num_args = 1.., value_name = "STRATEGY", value_parser = parse_strategy)]
    pub compare: Vec<StrategySpec>,
    /// First and last session (default: from the first session with a full lookback behind it
    /// to the latest date all tickers share).
    #[command(flatten)]
    pub window: WindowArgs,
    /// Sessions of returns each rebalance estimates from (ending the session before), or
    /// expanding.
    #[arg(long, default_value = "756", value_name = "N|expanding", value_parser = parse_lookback)]
    pub lookback: LookbackArg,
    /// When to rebalance: daily, weekly, monthly, quarterly (the first session of each period),
    /// every N sessions, or dates:YYYY-MM-DD,… (the first session on or after each).
    #[arg(long, default_value = "monthly", value_name = "WHEN", value_parser = parse_schedule)]
    pub rebalance: Schedule,
    /// Proportional trading cost in basis points of the value traded, paid at each rebalance.
    #[arg(long, default_value_t = 0.0, value_name = "BPS", value_parser = parse_bps)]
    pub cost: f64,
    /// Largest turnover Σ|Δw| of a rebalance after the first (the trade stops part of the way).
    #[arg(long, value_name = "MAX", value_parser = parse_max_turnover)]
    pub turnover: Option<f64>,
    /// Buy-and-hold benchmark (default: MARKET_PROXY).
    #[arg(long, value_name = "TICKER")]
    pub benchmark: Option<String>,
    /// Hold whole shares of this amount (the rest in cash).
    #[arg(long, visible_alias = "investment", value_name = "AMOUNT", value_parser = parse_amount)]
    pub invest: Option<f64>,
    /// How --invest rounds to whole shares.
    #[arg(long, value_enum, default_value = "floor", requires = "invest")]
    pub allocation: RoundingArg,
    /// Only the measures: leave the equity curves, daily returns and each rebalance's weights
    /// out of the JSON (what a sweep's tasks return).
    #[arg(long)]
    pub summary: bool,
    /// Tail probability of the risk reports' VaR, CVaR and drawdown measures.
    #[arg(long, default_value_t = 0.05, value_parser = parse_probability)]
    pub prob: f64,
}
