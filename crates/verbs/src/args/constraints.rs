//! Options of the constrained portfolio (the QP solver): sectors and their limits, linear constraints,
//! turnover and costs against a current portfolio, L2 regularisation and gross exposure.

use clap::{ArgAction, Args};

use super::{PerTicker, parse_number, parse_weights};

/// `TICKER=SECTOR` pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct SectorMap(pub Vec<(String, String)>);

/// `SECTOR=W` pairs (one option may hold several, separated by commas).
#[derive(Debug, Clone, PartialEq)]
pub struct SectorLimits(pub Vec<(String, f64)>);

/// How a linear constraint compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// ≤.
    AtMost,
    /// ≥.
    AtLeast,
    /// =.
    Equal,
}

/// `0.5*AAPL + MSFT <= 0.3` as written, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearSpec {
    /// The text, for messages.
    pub text: String,
    /// (ticker, coefficient) pairs.
    pub terms: Vec<(String, f64)>,
    /// The comparison.
    pub comparison: Comparison,
    /// The right-hand side.
    pub bound: f64,
}

fn split_pairs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
}

fn parse_sectors(text: &str) -> Result<SectorMap, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in split_pairs(text) {
        let (ticker, sector) = part.split_once('=').ok_or_else(|| {
            format!("{part:?} is not TICKER=SECTOR; give e.g. AAPL=Tech,XOM=Energy")
        })?;
        let (ticker, sector) = (ticker.trim().to_ascii_uppercase(), sector.trim());
        if ticker.is_empty() || sector.is_empty() || sector.len() > 64 {
            return Err(format!(
                "{part:?} needs a ticker and a sector name of at most 64 characters"
            ));
        }
        if out.iter().any(|(t, _)| *t == ticker) {
            return Err(format!(
                "{ticker} is given two sectors; give each ticker once"
            ));
        }
        out.push((ticker, sector.to_string()));
    }
    if out.is_empty() {
        return Err("no sectors given; give e.g. AAPL=Tech,XOM=Energy".into());
    }
    Ok(SectorMap(out))
}

fn parse_sector_limits(text: &str) -> Result<SectorLimits, String> {
    let mut out = Vec::new();
    for part in split_pairs(text) {
        let (sector, value) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not SECTOR=W; give e.g. Tech=0.3"))?;
        let value = parse_number(value)?;
        if !(value.is_finite() && (-10.0..=10.0).contains(&value)) {
            return Err(format!(
                "the limit of {sector} must be a weight between -10 and 10, e.g. 0.3"
            ));
        }
        out.push((sector.trim().to_string(), value));
    }
    if out.is_empty() {
        return Err("no limit given; give e.g. Tech=0.3".into());
    }
    Ok(SectorLimits(out))
}

fn parse_constraint(text: &str) -> Result<LinearSpec, String> {
    let normalised = text.replace('≤', "<=").replace('≥', ">=");
    let (lhs, comparison, rhs) = if let Some((l, r)) = normalised.split_once("<=") {
        (l, Comparison::AtMost, r)
    } else if let Some((l, r)) = normalised.split_once(">=") {
        (l, Comparison::AtLeast, r)
    } else if let Some((l, r)) = normalised.split_once('=') {
        (l, Comparison::Equal, r)
    } else {
        return Err(format!(
            "{text:?} has no <=, >= or =; give e.g. \"AAPL + MSFT <= 0.3\""
        ));
    };
    let bound = parse_number(rhs)?;
    if !(bound.is_finite() && bound.abs() <= 1e6) {
        return Err(format!("the bound of {text:?} must be a finite number"));
    }
    Ok(LinearSpec {
        text: text.trim().to_string(),
        terms: super::parse_terms(lhs)?,
        comparison,
        bound,
    })
}

fn bounded(text: &str, lo: f64, hi: f64, what: &str) -> Result<f64, String> {
    let value = parse_number(text)?;
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{what} between {lo} and {hi} is needed"))
    }
}

fn parse_turnover(text: &str) -> Result<f64, String> {
    bounded(text, 0.0, 200.0, "a turnover Σ|w − w₀|")
}

fn parse_cost(text: &str) -> Result<f64, String> {
    bounded(text, 0.0, 10_000.0, "a cost in basis points (10 = 0.1 %)")
}

fn parse_l2(text: &str) -> Result<f64, String> {
    bounded(text, 0.0, 1e6, "an L2 weight γ ≥ 0")
}

fn parse_leverage(text: &str) -> Result<f64, String> {
    bounded(text, 1.0, 100.0, "a gross exposure Σ|w| (1 = no leverage)")
}

/// Constraints that send a portfolio to the QP solver.
#[derive(Debug, Clone, Args)]
pub struct ConstraintArgs {
    /// Sector of each ticker, TICKER=SECTOR,… (`"$(cat sectors.txt)"` reads a file of lines).
    #[arg(long, value_name = "TICKER=SECTOR,…", value_parser = parse_sectors)]
    pub sectors: Option<SectorMap>,
    /// Largest total weight of a sector, SECTOR=W (repeatable or comma-separated).
    #[arg(long, value_name = "SECTOR=W", action = ArgAction::Append, value_parser = parse_sector_limits)]
    pub sector_max: Vec<SectorLimits>,
    /// Smallest total weight of a sector, SECTOR=W (repeatable or comma-separated).
    #[arg(long, value_name = "SECTOR=W", action = ArgAction::Append, value_parser = parse_sector_limits)]
    pub sector_min: Vec<SectorLimits>,
    /// A linear constraint on the weights, e.g. "AAPL + MSFT <= 0.3" or "0.5*KO - PG >= 0"
    /// (repeatable).
    #[arg(long, value_name = "EXPR", action = ArgAction::Append, value_parser = parse_constraint)]
    pub constraint: Vec<LinearSpec>,
    /// The portfolio held now, TICKER=W,… (for --turnover and --cost; tickers left out hold 0).
    #[arg(long, value_name = "TICKER=W,…", value_parser = parse_weights)]
    pub current: Option<PerTicker>,
    /// Largest turnover Σ|w − w₀| against --current.
    #[arg(long, value_name = "T", value_parser = parse_turnover)]
    pub turnover: Option<f64>,
    /// Proportional transaction cost in basis points of the amount traded, charged in the
    /// objective (PyPortfolioOpt's transaction_cost).
    #[arg(long, value_name = "BPS", value_parser = parse_cost)]
    pub cost: Option<f64>,
    /// L2 regularisation γ‖w‖² added to the objective (PyPortfolioOpt's L2_reg).
    #[arg(long, value_name = "GAMMA", value_parser = parse_l2)]
    pub l2: Option<f64>,
    /// Largest gross exposure Σ|w| (with a negative --min-weight for a long-short book).
    #[arg(long, value_name = "L", value_parser = parse_leverage)]
    pub leverage: Option<f64>,
}

impl ConstraintArgs {
    /// Whether any option here was given.
    pub fn any(&self) -> bool {
        self.sectors.is_some()
            || !self.sector_max.is_empty()
            || !self.sector_min.is_empty()
            || !self.constraint.is_empty()
            || self.current.is_some()
            || self.turnover.is_some()
            || self.cost.is_some()
            || self.l2.is_some()
            || self.leverage.is_some()
    }
}
