//! Walk-forward backtests over the store.
//!
//! The prices of every ticker (and of the benchmark, and of the market proxy when CAPM or
//! Black–Litterman needs it) are read once, aligned on the dates all share, and then the core's
//! [`Book`] is walked session by session. At each rebalance the strategy sees only the daily
//! simple returns of the `lookback` sessions that end **the session before** — the rows are cut
//! out of the panel by index, so no later price can reach an estimate — and its weights are found
//! by the same synchronous solvers `optimize-portfolio` and the allocation verbs use.
//!
//! Estimates are made from simple returns (PyPortfolioOpt's and skfolio's convention): a backtest
//! compounds simple returns, and scrilla's log-return drift has no meaning for a rebalanced book.

use faer::Mat;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Serialize;
use stratus_core::backtest::{Book, Schedule, limit_turnover};
use stratus_core::discrete::{Rounding, allocate};
use stratus_core::measures::{RiskReport, risk_report};
use stratus_core::{NaiveDate, PriceSeries, Window};

use crate::allocation::AllocationMethod;
use crate::portfolio::{ExpectedReturns, Goal, PortfolioRequest};
use crate::{Analytics, AppError, ErrorClass};

mod weights;
use weights::{Holdings, target_weights};

/// How many sessions of returns each rebalance estimates from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookback {
    /// The last N daily returns before the rebalance.
    Sessions(usize),
    /// Every return the tickers share before the rebalance.
    Expanding,
}

impl Lookback {
    /// `756 sessions` or `expanding`.
    pub fn name(&self) -> String {
        match self {
            Lookback::Sessions(n) => format!("{n} sessions"),
            Lookback::Expanding => "expanding".into(),
        }
    }
}

/// The fewest returns an estimate is made from (an expanding window starts here).
pub const MIN_LOOKBACK: usize = 20;

/// How a strategy turns a window of returns into weights.
#[derive(Debug, Clone)]
pub enum Rule {
    /// A mean–variance goal with the request's risk model, expected returns and constraints.
    Optimize(Goal),
    /// A method that needs only the covariance.
    Allocate(AllocationMethod),
}

/// One strategy of a backtest.
#[derive(Debug, Clone)]
pub struct Strategy {
    /// Its name in the results (what the user typed).
    pub name: String,
    /// Risk model, expected returns, bounds and constraints; tickers in the backtest's order;
    /// the window is ignored (each rebalance has its own).
    pub request: PortfolioRequest,
    /// The rule.
    pub rule: Rule,
}

impl Strategy {
    fn needs_risk_free(&self) -> bool {
        self.request.risk_free.is_none()
            && (matches!(self.rule, Rule::Optimize(Goal::MaxSharpe))
                || matches!(
                    self.request.mu,
                    ExpectedReturns::Capm | ExpectedReturns::BlackLitterman(_)
                ))
    }

    fn needs_market(&self) -> bool {
        matches!(
            self.request.mu,
            ExpectedReturns::Capm
                | ExpectedReturns::BlackLitterman(crate::BlackLittermanSpec { delta: None, .. })
        )
    }
}

/// What to backtest.
#[derive(Debug, Clone)]
pub struct BacktestRequest {
    /// Checked tickers (each once).
    pub tickers: Vec<String>,
    /// First session (default: the first with a full lookback behind it).
    pub start: Option<NaiveDate>,
    /// Last session (default: the latest date all tickers share).
    pub end: Option<NaiveDate>,
    /// Estimation window.
    pub lookback: Lookback,
    /// When to rebalance.
    pub schedule: Schedule,
    /// Proportional cost in basis points of the value traded.
    pub cost_bps: f64,
    /// Largest turnover Σ|Δw| of a rebalance after the first.
    pub turnover: Option<f64>,
    /// Buy-and-hold comparison (default: the market proxy).
    pub benchmark: Option<String>,
    /// Whole shares: the amount first invested, and how weights round to shares.
    pub invest: Option<(f64, Rounding)>,
    /// Tail probability of the risk reports' VaR family.
    pub prob: f64,
    /// The strategies, run on the same data.
    pub strategies: Vec<Strategy>,
}

/// One rebalance.
#[derive(Debug, Clone, Serialize)]
pub struct Rebalance {
    /// The session at whose close it traded.
    pub date: NaiveDate,
    /// Target weights in ticker order (the rest is cash).
    pub weights: Vec<f64>,
    /// Σ|w_target − w_drifted|.
    pub turnover: f64,
    /// Cost paid, in units of the starting equity.
    pub cost: f64,
}

/// The out-of-sample path of one strategy (or of the benchmark).
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Strategy name, or the benchmark's ticker.
    pub name: String,
    /// Equity at each session's close, after that close's costs (starts at 1 before the first).
    pub equity: Vec<f64>,
    /// Daily returns, from the second session (`returns[k]` ends on session k + 1).
    pub returns: Vec<f64>,
    /// Every rebalance (none for the benchmark, which is held).
    pub rebalances: Vec<Rebalance>,
    /// Every measure of the daily returns.
    pub risk_report: RiskReport,
}

impl Run {
    /// Σ turnover over every rebalance.
    pub fn total_turnover(&self) -> f64 {
        self.rebalances.iter().fold(0.0, |t, r| t + r.turnover)
    }

    /// Σ costs over every rebalance.
    pub fn total_cost(&self) -> f64 {
        self.rebalances.iter().fold(0.0, |t, r| t + r.cost)
    }
}

/// A finished backtest.
#[derive(Debug, Clone)]
pub struct Backtest {
    /// Tickers in order.
    pub tickers: Vec<String>,
    /// The sessions of the backtest.
    pub dates: Vec<NaiveDate>,
    /// Strategies in the order asked.
    pub strategies: Vec<Run>,
    /// The benchmark, held from the first session.
    pub benchmark: Run,
    /// Risk-free rate of the reports' Sharpe and Sortino ratios (as of the last session).
    pub risk_free: f64,
}

/// Price histories read at once by a backtest.
const READS_IN_FLIGHT: usize = 4;

/// Prices of several tickers on the dates all share.
struct Panel {
    dates: Vec<NaiveDate>,
    /// `prices[j][k]`: ticker j at `dates[k]`.
    prices: Vec<Vec<f64>>,
    /// `returns[(k, j)]`: ticker j's simple return from `dates[k − 1]` to `dates[k]` (row 0 is
    /// NaN). Computed once, so a rebalance's window of returns is a view of rows, not a copy.
    returns: Mat<f64>,
}

impl Panel {
    fn new(dates: Vec<NaiveDate>, prices: Vec<Vec<f64>>) -> Panel {
        let returns = Mat::from_fn(dates.len(), prices.len(), |k, j| match k {
            0 => f64::NAN,
            _ => prices[j][k] / prices[j][k - 1] - 1.0,
        });
        Panel {
            dates,
            prices,
            returns,
        }
    }

    fn returns(&self, j: usize, k: usize) -> f64 {
        self.returns[(k, j)]
    }
}

impl Analytics {
    /// Runs every strategy of `request` over the same sessions and the benchmark beside them.
    pub async fn backtest(&self, request: &BacktestRequest) -> Result<Backtest, AppError> {
        let n = request.tickers.len();
        if n == 0 {
            return Err(AppError::InvalidInput {
                field: "tickers",
                message: "a backtest needs at least one ticker".into(),
            });
        }
        if request.strategies.is_empty() {
            return Err(AppError::InvalidInput {
                field: "strategy",
                message: "no strategy given; e.g. --strategy min-variance".into(),
            });
        }
        check_options(request)?;
        let benchmark = request
            .benchmark
            .clone()
            .unwrap_or_else(|| self.config().market_proxy.clone());
        let proxy = self.config().market_proxy.clone();
        let mut names = request.tickers.clone();
        let (benchmark, _) = self.known(&benchmark).await?;
        let bench_col = column_of(&mut names, &benchmark);
        let market_col = if request.strategies.iter().any(Strategy::needs_market) {
            let (proxy, _) = self.known(&proxy).await?;
            Some(column_of(&mut names, &proxy))
        } else {
            None
        };
        // Only the sessions a fixed lookback reaches back to are read (with a margin for days the
        // data skips); if the data has more holes than that, everything before is read instead.
        let from = match (request.lookback, request.start) {
            (Lookback::Sessions(l), Some(start)) => {
                Some(self.calendar().sessions_back(start, l + 1) - chrono::Duration::days(31))
            }
            _ => None,
        };
        let mut panel = self.panel(&names, from, request.end).await?;
        let mut span = self.sessions_of(request, &panel);
        if from.is_some() && span.is_err() {
            panel = self.panel(&names, None, request.end).await?;
            span = self.sessions_of(request, &panel);
        }
        let (first, last) = span?;
        let dates = panel.dates[first..=last].to_vec();
        let mut risk_free_at = RiskFreeCache::default();
        let report_rf = self.risk_free(panel.dates[last]).await?.1;
        let total = (request.strategies.len() * (last - first + 1)) as u64;
        // The same sessions for every strategy: the schedule is a function of the dates alone.
        let rebalances: Vec<usize> = request
            .schedule
            .rebalances(&dates)
            .into_iter()
            .map(|i| i + first)
            .collect();
        let mut runs = Vec::with_capacity(request.strategies.len());
        for (s, strategy) in request.strategies.iter().enumerate() {
            let base = (s * (last - first + 1)) as u64;
            let mut book = Book::new(n);
            let mut equity = Vec::with_capacity(dates.len());
            let mut records = Vec::with_capacity(rebalances.len());
            let mut next = rebalances.iter().peekable();
            for k in first..=last {
                if k > first {
                    let row: Vec<f64> = (0..n).map(|j| panel.returns(j, k)).collect();
                    book.step(&row);
                }
                if next.peek() == Some(&&k) {
                    next.next();
                    self.report("backtest", base + (k - first) as u64, total);
                    let risk_free = match strategy.request.risk_free {
                        Some(rate) => rate,
                        None if strategy.needs_risk_free() => {
                            risk_free_at.get(self, panel.dates[k - 1]).await?
                        }
                        None => 0.0,
                    };
                    let date = panel.dates[k];
                    let context = |e: AppError| at_rebalance(e, &strategy.name, date);
                    let window = lookback_rows(request.lookback, k);
                    let held = Holdings {
                        weights: book.weights(),
                        first: records.is_empty(),
                    };
                    let mut target =
                        target_weights(strategy, &panel, window, market_col, risk_free, held)
                            .map_err(context)?;
                    if let (Some(max), false) = (request.turnover, records.is_empty()) {
                        target = limit_turnover(book.weights(), &target, max);
                    }
                    if let Some((amount, rounding)) = request.invest {
                        let prices: Vec<f64> = (0..n).map(|j| panel.prices[j][k]).collect();
                        let money = amount * book.equity();
                        let shares = allocate(&target, &prices, money, rounding)
                            .map_err(|e| context(e.into()))?;
                        target = shares
                            .shares
                            .iter()
                            .zip(&prices)
                            .map(|(s, p)| *s as f64 * p / money)
                            .collect();
                    }
                    let trade = book
                        .rebalance(&target, request.cost_bps / 10_000.0)
                        .map_err(|e| context(e.into()))?;
                    records.push(Rebalance {
                        date,
                        weights: target,
                        turnover: trade.turnover,
                        cost: trade.cost,
                    });
                }
                if !(book.equity() > 0.0 && book.equity().is_finite()) {
                    return Err(AppError::NoData {
                        message: format!(
                            "{}: the equity fell to {} on {}; a leveraged book that loses everything cannot be followed further — lower --leverage or shorten the backtest",
                            strategy.name,
                            book.equity(),
                            panel.dates[k]
                        ),
                    });
                }
                equity.push(book.equity());
            }
            runs.push(finish(
                strategy.name.clone(),
                equity,
                records,
                report_rf,
                request.prob,
            )?);
        }
        self.report("backtest", total, total);
        let held: Vec<f64> = (first..=last)
            .map(|k| panel.prices[bench_col][k] / panel.prices[bench_col][first])
            .collect();
        let benchmark = finish(benchmark, held, Vec::new(), report_rf, request.prob)?;
        Ok(Backtest {
            tickers: request.tickers.clone(),
            dates,
            strategies: runs,
            benchmark,
            risk_free: report_rf,
        })
    }

    /// The prices of `names` from `from` (default: their common start) to `end`, on the dates all
    /// of them share.
    async fn panel(
        &self,
        names: &[String],
        from: Option<NaiveDate>,
        end: Option<NaiveDate>,
    ) -> Result<Panel, AppError> {
        let ranges = self.known_ranges(names).await?;
        let common = ranges
            .iter()
            .map(|(_, r)| r.first)
            .max()
            .unwrap_or_default();
        let latest = ranges.iter().map(|(_, r)| r.last).min().unwrap_or_default();
        let end = end.map_or(latest, |e| e.min(latest));
        // A start after the end reads from the common start, so the error names the real range.
        let first = from.map_or(common, |f| f.max(common));
        let first = if end < first { common } else { first };
        if end < first {
            return Err(AppError::NoData {
                message: format!(
                    "the tickers share no dates up to {end}: their common history starts {first}; choose a later --end or other tickers"
                ),
            });
        }
        let window = Window { start: first, end };
        // Several histories in flight: on a file store another core decodes the next while one
        // is read, and a network store answers several round trips at once.
        let reads: Vec<_> = names.iter().map(|n| self.series(n, window)).collect();
        let series: Vec<PriceSeries> = stream::iter(reads)
            .buffered(READS_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut common = series[0].clone();
        for s in &series[1..] {
            common = common.restricted_to_dates_of(s);
        }
        let prices = series
            .iter()
            .map(|s| s.restricted_to_dates_of(&common).closes().to_vec())
            .collect();
        Ok(Panel::new(common.dates().to_vec(), prices))
    }

    /// The first and last panel index of the backtest, checked against the lookback.
    fn sessions_of(
        &self,
        request: &BacktestRequest,
        panel: &Panel,
    ) -> Result<(usize, usize), AppError> {
        let needed = match request.lookback {
            Lookback::Sessions(l) => l + 1,
            Lookback::Expanding => MIN_LOOKBACK + 1,
        };
        let count = panel.dates.len();
        let last = count.checked_sub(1).ok_or_else(|| AppError::NoData {
            message: "the tickers share no dates; choose tickers whose histories overlap".into(),
        })?;
        let first = match request.start {
            Some(start) => panel.dates.partition_point(|d| *d < start),
            None => needed,
        };
        if first >= count {
            return Err(AppError::NoData {
                message: format!(
                    "no session on or after --start {} that all tickers share (their common data ends {}); choose an earlier --start",
                    request.start.map(|d| d.to_string()).unwrap_or_default(),
                    panel.dates[last]
                ),
            });
        }
        if first < needed {
            let earliest = panel
                .dates
                .get(needed)
                .map_or_else(|| "no date in the data".to_string(), |d| d.to_string());
            return Err(AppError::InvalidInput {
                field: "lookback",
                message: format!(
                    "a {} lookback needs {} sessions of prices before the first rebalance on {}, but the tickers share only {first} from {}; start on or after {earliest}, or shorten --lookback",
                    request.lookback.name(),
                    needed,
                    panel.dates[first],
                    panel.dates[0],
                ),
            });
        }
        if last <= first + 2 {
            return Err(AppError::NoData {
                message: format!(
                    "the backtest from {} to {} has {} sessions; at least four are needed — widen --start/--end",
                    panel.dates[first],
                    panel.dates[last],
                    last - first + 1
                ),
            });
        }
        Ok((first, last))
    }
}

/// The position of `name` among `names`, added when missing.
fn column_of(names: &mut Vec<String>, name: &str) -> usize {
    match names.iter().position(|n| n == name) {
        Some(i) => i,
        None => {
            names.push(name.to_string());
            names.len() - 1
        }
    }
}

fn check_options(request: &BacktestRequest) -> Result<(), AppError> {
    if !(request.cost_bps.is_finite() && (0.0..=10_000.0).contains(&request.cost_bps)) {
        return Err(AppError::InvalidInput {
            field: "cost",
            message: format!(
                "--cost {} is not a cost in basis points; give 0 to 10000, e.g. 10",
                request.cost_bps
            ),
        });
    }
    if let Some(t) = request.turnover
        && !(t.is_finite() && t > 0.0 && t <= 200.0)
    {
        return Err(AppError::InvalidInput {
            field: "turnover",
            message: format!(
                "--turnover {t} is not a turnover limit; give Σ|Δw| above 0 and at most 200, e.g. 0.2"
            ),
        });
    }
    if let Lookback::Sessions(l) = request.lookback
        && l < MIN_LOOKBACK
    {
        return Err(AppError::InvalidInput {
            field: "lookback",
            message: format!(
                "--lookback {l} is too short to estimate from; give at least {MIN_LOOKBACK} sessions, or expanding"
            ),
        });
    }
    Ok(())
}

/// The panel rows (first, last) of the returns a rebalance at session `k` may use: those ending
/// on sessions up to k − 1.
fn lookback_rows(lookback: Lookback, k: usize) -> (usize, usize) {
    let last = k - 1;
    let first = match lookback {
        Lookback::Sessions(l) => k - l,
        Lookback::Expanding => 1,
    };
    (first, last)
}

/// Names the strategy and the rebalance in an error the user can act on.
fn at_rebalance(error: AppError, strategy: &str, date: NaiveDate) -> AppError {
    if error.class() == ErrorClass::UserInput {
        AppError::NoData {
            message: format!("{strategy}, rebalance of {date}: {error}"),
        }
    } else {
        error
    }
}

/// A run from its equity path: daily returns and their risk report.
fn finish(
    name: String,
    equity: Vec<f64>,
    rebalances: Vec<Rebalance>,
    risk_free: f64,
    prob: f64,
) -> Result<Run, AppError> {
    let returns: Vec<f64> = equity.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
    let risk_report = risk_report(&returns, risk_free, prob).map_err(|e| AppError::NoData {
        message: format!("{name}: {e}"),
    })?;
    Ok(Run {
        name,
        equity,
        returns,
        rebalances,
        risk_report,
    })
}

/// Risk-free rates already looked up, by date.
#[derive(Default)]
struct RiskFreeCache(Vec<(NaiveDate, f64)>);

impl RiskFreeCache {
    async fn get(&mut self, analytics: &Analytics, date: NaiveDate) -> Result<f64, AppError> {
        if let Some((_, r)) = self.0.iter().find(|(d, _)| *d == date) {
            return Ok(*r);
        }
        let rate = analytics.risk_free(date).await?.1;
        self.0.push((date, rate));
        Ok(rate)
    }
}
