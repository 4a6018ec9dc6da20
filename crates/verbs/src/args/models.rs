//! Options of the risk models and of the allocation methods that need no expected returns
//! (kept apart from the scrilla verbs' options, which fill `args.rs`).

use clap::{Args, ValueEnum};
use stratus_core::cluster::Linkage;
use stratus_core::risk_models::RiskModel;

use super::{AnalysisArgs, ReturnsArg, parse_amount, parse_number, parse_rate};

/// Covariance estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CovArg {
    /// Sample covariance (scrilla's σᵢσⱼρᵢⱼ with --returns log).
    Sample,
    /// Ledoit–Wolf shrinkage towards a scaled identity (scikit-learn's LedoitWolf).
    LedoitWolf,
    /// Ledoit–Wolf shrinkage towards constant correlation (PyPortfolioOpt).
    LedoitWolfCc,
    /// Ledoit–Wolf shrinkage towards a single-factor model (PyPortfolioOpt).
    LedoitWolfSf,
    /// Oracle approximating shrinkage (scikit-learn's OAS).
    Oas,
    /// Exponentially weighted (see --span).
    Exp,
    /// Semicovariance of returns below --benchmark.
    Semi,
}

/// Expected-returns estimator: `mean`, `ema`, `capm` or `bl:VIEWS`.
#[derive(Debug, Clone, PartialEq)]
pub enum MuArg {
    /// The convention's mean: scrilla's drift (log) or 252 × the mean (simple).
    Mean,
    /// 252 × the exponentially weighted mean of daily returns (--span; PyPortfolioOpt's
    /// ema_historical_return without compounding).
    Ema,
    /// CAPM: r_f + β(252 × mean market return − r_f) against MARKET_PROXY (PyPortfolioOpt's
    /// capm_return without compounding).
    Capm,
    /// The Black–Litterman posterior of these views over an equal-weight prior (τ 0.05, δ implied
    /// by MARKET_PROXY); `black-litterman` shows it and takes caps, τ and δ.
    Bl(super::Views),
}

pub(super) fn parse_mu(text: &str) -> Result<MuArg, String> {
    match text.trim() {
        "mean" => Ok(MuArg::Mean),
        "ema" => Ok(MuArg::Ema),
        "capm" => Ok(MuArg::Capm),
        other => match other.strip_prefix("bl:") {
            Some(views) => super::parse_views(views).map(MuArg::Bl),
            None => Err(format!(
                "{other:?} is not an estimator; use mean, ema, capm or bl:VIEWS (e.g. \"bl:AAPL = 0.1 @ 0.6\")"
            )),
        },
    }
}

pub(super) fn parse_tau(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    if value.is_finite() && value > 0.0 && value <= 10.0 {
        Ok(value)
    } else {
        Err("a positive τ of at most 10 is needed, e.g. 0.05".into())
    }
}

pub(super) fn parse_delta(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    if value.is_finite() && value > 0.0 && value <= 1000.0 {
        Ok(value)
    } else {
        Err("a positive risk aversion of at most 1000 is needed, e.g. 2.5".into())
    }
}

/// Options of `black-litterman`.
#[derive(Debug, Clone, Args)]
pub struct BlackLittermanArgs {
    /// Tickers (at least two).
    #[arg(required = true, num_args = 2.., value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// Window and method.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Return convention for Σ.
    #[arg(long, value_enum, default_value = "log")]
    pub returns: ReturnsArg,
    /// Covariance estimator.
    #[command(flatten)]
    pub risk: RiskModelArgs,
    /// Views: "AAPL = 0.10 @ 0.6; MSFT - KO = 0.03" (annual returns; @ confidence 0–1, ½ if
    /// omitted); separate views with ';' or new lines.
    #[arg(long, required = true, value_name = "VIEWS", value_parser = super::parse_views)]
    pub views: super::Views,
    /// Market capitalisations as TICKER=CAP,… (every ticker once) for the prior's market
    /// weights (default: equal weights).
    #[arg(long, value_name = "TICKER=CAP,…", value_parser = parse_budgets)]
    pub market_caps: Option<PerTicker>,
    /// τ: the prior's uncertainty relative to Σ.
    #[arg(long, default_value_t = 0.05, value_parser = parse_tau)]
    pub tau: f64,
    /// Risk aversion δ of the prior π = δΣw + r_f (default: implied by MARKET_PROXY over the
    /// window, (E[r_m] − r_f)/σ²_m).
    #[arg(long, value_parser = parse_delta)]
    pub delta: Option<f64>,
    /// Risk-free rate, as a decimal (default: the RISK_FREE yield as of the window's end).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub risk_free: Option<f64>,
}

/// How the covariance is estimated.
#[derive(Debug, Clone, Args)]
pub struct RiskModelArgs {
    /// Covariance estimator; anything but `sample` works on the daily returns of the --returns
    /// convention on the dates all tickers share, × 252.
    #[arg(long = "cov", value_enum, default_value = "sample")]
    pub cov: CovArg,
    /// Span in days of the exponential weights of `--cov exp` and `--mu ema` (α = 2/(span + 1)).
    #[arg(long, default_value_t = 180.0, value_parser = parse_span)]
    pub span: f64,
    /// Daily return below which `--cov semi` counts a day as a loss (PyPortfolioOpt's default
    /// is 0.000079; Stratus's is 0).
    #[arg(long, default_value_t = 0.0, value_parser = parse_benchmark)]
    pub benchmark: f64,
}

impl RiskModelArgs {
    /// The core's risk model.
    pub fn model(&self) -> RiskModel {
        match self.cov {
            CovArg::Sample => RiskModel::Sample,
            CovArg::LedoitWolf => RiskModel::LedoitWolf,
            CovArg::LedoitWolfCc => RiskModel::LedoitWolfConstantCorrelation,
            CovArg::LedoitWolfSf => RiskModel::LedoitWolfSingleFactor,
            CovArg::Oas => RiskModel::Oas,
            CovArg::Exp => RiskModel::Exponential { span: self.span },
            CovArg::Semi => RiskModel::Semi {
                benchmark: self.benchmark,
            },
        }
    }
}

pub(super) fn parse_span(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    RiskModel::Exponential { span: value }
        .validate()
        .map(|()| value)
        .map_err(|_| "a span of at least 1 day is needed, e.g. 180".to_string())
}

pub(super) fn parse_benchmark(text: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    RiskModel::Semi { benchmark: value }
        .validate()
        .map(|()| value)
        .map_err(|_| "a daily return between -1 and 1 is needed, e.g. 0 or 0.0001".to_string())
}

/// Options of `covariance` and `correlation`.
#[derive(Debug, Clone, Args)]
pub struct MatrixArgs {
    /// Tickers, e.g. AAPL MSFT.
    #[arg(required = true, value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// Window and method.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Return convention: log (scrilla) or simple (PyPortfolioOpt, scikit-learn on simple returns).
    #[arg(long, value_enum, default_value = "log")]
    pub returns: ReturnsArg,
    /// Covariance estimator.
    #[command(flatten)]
    pub risk: RiskModelArgs,
}

/// Options shared by the allocation methods that need only a covariance.
#[derive(Debug, Clone, Args)]
pub struct AllocationArgs {
    /// Tickers (at least two).
    #[arg(required = true, num_args = 2.., value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// Window and method.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Return convention for μ (reported) and Σ.
    #[arg(long, value_enum, default_value = "log")]
    pub returns: ReturnsArg,
    /// Covariance estimator.
    #[command(flatten)]
    pub risk: RiskModelArgs,
    /// Risk-free rate for the Sharpe ratio, as a decimal (default: the RISK_FREE yield published on
    /// or before the window's end).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub risk_free: Option<f64>,
    /// Buy whole shares for this amount at the last closes; report the cash left.
    #[arg(long, visible_alias = "investment", value_name = "AMOUNT", value_parser = parse_amount)]
    pub invest: Option<f64>,
    /// How --invest rounds to whole shares.
    #[arg(long, value_enum, default_value = "floor", requires = "invest")]
    pub allocation: RoundingArg,
}

/// How `--invest` rounds to whole shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoundingArg {
    /// Round every position down (scrilla).
    Floor,
    /// Then buy one share at a time of the asset furthest below its weight (PyPortfolioOpt's
    /// greedy_portfolio).
    Greedy,
    /// The integer programme min Σ|wᵢV − xᵢpᵢ| + cash, solved exactly (PyPortfolioOpt's
    /// lp_portfolio objective).
    Lp,
}

impl From<RoundingArg> for stratus_core::discrete::Rounding {
    fn from(r: RoundingArg) -> Self {
        match r {
            RoundingArg::Floor => Self::Floor,
            RoundingArg::Greedy => Self::Greedy,
            RoundingArg::Lp => Self::Lp,
        }
    }
}

/// Linkage of the hierarchical clustering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LinkageArg {
    /// Nearest members (PyPortfolioOpt's default).
    Single,
    /// Least increase of within-cluster variance.
    Ward,
    /// Mean distance over all pairs.
    Average,
    /// Farthest members.
    Complete,
}

impl From<LinkageArg> for Linkage {
    fn from(l: LinkageArg) -> Linkage {
        match l {
            LinkageArg::Single => Linkage::Single,
            LinkageArg::Ward => Linkage::Ward,
            LinkageArg::Average => Linkage::Average,
            LinkageArg::Complete => Linkage::Complete,
        }
    }
}

/// A number per ticker, written `TICKER=V,TICKER=V` (commas, spaces or new lines between pairs,
/// so `--weights "$(cat weights.txt)"` reads a file of `TICKER=V` lines).
#[derive(Debug, Clone, PartialEq)]
pub struct PerTicker(pub Vec<(String, f64)>);

/// Risk budgets (positive numbers, normalised to sum to 1).
pub type Budgets = PerTicker;

/// Portfolio weights (finite, summing to 1).
pub type Weights = PerTicker;

fn parse_per_ticker(
    text: &str,
    what: &str,
    valid: fn(f64) -> bool,
    rule: &str,
) -> Result<PerTicker, String> {
    let mut out: Vec<(String, f64)> = Vec::new();
    let example = "e.g. AAPL=0.5,MSFT=0.3,XOM=0.2";
    for part in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
    {
        let (ticker, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not TICKER={what}; give {example}"))?;
        let ticker = ticker.trim().to_ascii_uppercase();
        let number = parse_number(value)?;
        if !valid(number) {
            return Err(format!("the {what} of {ticker} is {value:?}; {rule}"));
        }
        if out.iter().any(|(t, _)| *t == ticker) {
            return Err(format!("{ticker} is given twice; give each ticker once"));
        }
        out.push((ticker, number));
    }
    if out.is_empty() {
        return Err(format!("nothing given; give {example}"));
    }
    Ok(PerTicker(out))
}

pub(super) fn parse_budgets(text: &str) -> Result<Budgets, String> {
    parse_per_ticker(
        text,
        "budget",
        |v| v.is_finite() && v > 0.0,
        "every budget must be a positive number",
    )
}

pub(super) fn parse_weights(text: &str) -> Result<Weights, String> {
    parse_per_ticker(
        text,
        "weight",
        |v| v.is_finite() && v.abs() <= 100.0,
        "every weight must be a finite number (they must sum to 1)",
    )
}

/// Options of `risk-report`, `plot-drawdown` and `plot-risk-contribution`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Tickers, e.g. AAPL KO XOM.
    #[arg(required = true, value_name = "TICKER")]
    pub tickers: Vec<String>,
    /// The window.
    #[command(flatten)]
    pub window: super::WindowArgs,
    /// Portfolio weights as TICKER=W,TICKER=W (every ticker once, summing to 1); adds the
    /// portfolio, rebalanced daily, and each asset's share of its risk.
    #[arg(long, value_name = "TICKER=W,…", value_parser = parse_weights)]
    pub weights: Option<Weights>,
    /// Tail probability of the VaR, CVaR, CDaR, EVaR and EDaR, e.g. 0.05.
    #[arg(long, default_value_t = 0.05, value_parser = super::parse_probability)]
    pub prob: f64,
    /// Risk-free rate for the Sharpe and Sortino ratios, as a decimal (default: the RISK_FREE
    /// yield published on or before the window's end).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub risk_free: Option<f64>,
}
