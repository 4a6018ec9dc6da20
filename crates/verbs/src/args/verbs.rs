//! The verbs: every question Stratus answers, the same on the command line, over HTTP and in
//! Lambda (the adapters build their requests from these declarations).

use super::*;

impl Verb {
    /// Charts are files; every other verb prints a result.
    pub fn is_plot(&self) -> bool {
        matches!(
            self,
            Verb::PlotEfficientFrontier { .. }
                | Verb::PlotRiskProfile(_)
                | Verb::PlotCorrelations { .. }
                | Verb::PlotCorrelation(_)
                | Verb::PlotMovingAverages(_)
                | Verb::PlotYieldCurve { .. }
                | Verb::PlotReturnQq { .. }
                | Verb::PlotReturnDistribution { .. }
                | Verb::PlotDividends { .. }
                | Verb::PlotDrawdown(_)
                | Verb::PlotRiskContribution(_)
                | Verb::PlotBacktest(_)
        )
    }

    /// The file a chart is written to when --save is not given.
    pub fn default_chart_name(&self) -> &'static str {
        match self {
            Verb::PlotEfficientFrontier { .. } => "efficient-frontier.svg",
            Verb::PlotRiskProfile(_) => "risk-profile.svg",
            Verb::PlotDrawdown(_) => "drawdown.svg",
            Verb::PlotBacktest(_) => "backtest.svg",
            Verb::PlotRiskContribution(_) => "risk-contribution.svg",
            Verb::PlotCorrelations { .. } => "correlations.svg",
            Verb::PlotCorrelation(_) => "correlation-heatmap.svg",
            Verb::PlotMovingAverages(_) => "moving-averages.svg",
            Verb::PlotYieldCurve { .. } => "yield-curve.svg",
            Verb::PlotReturnQq { .. } => "return-qq.svg",
            Verb::PlotReturnDistribution { .. } => "return-distribution.svg",
            Verb::PlotDividends { .. } => "dividends.svg",
            _ => "chart.svg",
        }
    }
}

/// The verbs served over HTTP and Lambda as well as the command line: every analytics command and
/// chart. Commands that change the store or the machine are not here but in [`Command`], so a new
/// command-line command can never become an endpoint by accident.
#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Annual return, volatility, Sharpe ratio, CAPM beta and cost of equity per ticker.
    #[command(visible_alias = "rp")]
    RiskProfile(TickersArgs),
    /// Correlation matrix of two or more tickers.
    #[command(visible_alias = "cor")]
    Correlation(MatrixArgs),
    /// Rolling correlation of two tickers: one value per session of the window, each over the
    /// default-length window ending that day (moments).
    #[command(visible_alias = "cors")]
    Correlations {
        /// First ticker.
        first: String,
        /// Second ticker.
        second: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Annualised covariance matrix: σᵢσⱼρᵢⱼ (log returns, scrilla), the sample covariance of
    /// simple returns, or a shrinkage, exponential or semi-covariance estimate (--cov).
    #[command(visible_alias = "cov")]
    Covariance(MatrixArgs),
    /// Sharpe ratio (μ − r_f)/σ with r_f as of the window's end.
    #[command(visible_alias = "sr")]
    SharpeRatio(TickersArgs),
    /// CAPM beta against MARKET_PROXY (default SP500).
    #[command(visible_alias = "capm-b")]
    CapmBeta(TickersArgs),
    /// CAPM cost of equity r_f + β(μ_market − r_f).
    #[command(visible_alias = "capm-e")]
    CapmEquity(TickersArgs),
    /// Value at risk: the price level undershot with probability --prob at --expiry.
    Var(VarArgs),
    /// Conditional value at risk: the expected price given it is below the VaR.
    #[command(visible_alias = "cv")]
    Cvar(VarArgs),
    /// Moving averages of the return (MA_1, MA_2, MA_3 sessions) for each session of the window.
    #[command(visible_alias = "mas")]
    MovAverages(TickersArgs),
    /// Treasury yield curve on a date (decimals; missing tenors interpolated and marked).
    #[command(visible_alias = "yc")]
    YieldCurve {
        /// The date (default: the latest publication); non-publication days use the previous one.
        #[arg(long, visible_alias = "start", value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Treasury yield history for maturities (decimals), e.g. TEN_YEAR or 10Y.
    #[command(visible_alias = "int")]
    Interest {
        /// Maturities.
        #[arg(required = true, value_name = "MATURITY")]
        maturities: Vec<String>,
        /// Window (default: the last 100 sessions of the yield history).
        #[command(flatten)]
        window: WindowArgs,
    },
    /// The risk-free rate (RISK_FREE maturity, default TEN_YEAR) as of a date.
    #[command(visible_alias = "rf")]
    RiskFree {
        /// As-of date (default: the latest publication).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Closing prices in the window.
    #[command(visible_alias = "pr")]
    Prices {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// The last close on or before a date (scrilla returned the open here; Stratus the close).
    #[command(visible_alias = "cl")]
    Close {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
        /// As-of date (default: latest).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Asset type of each ticker (every stored ticker is an equity).
    Asset {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
    },
    /// Tickers in the store with their date ranges.
    Tickers,
    /// Minimum-variance portfolio (or --sharpe, or --target R), long only and fully invested.
    #[command(visible_alias = "opt")]
    OptimizePortfolio {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Maximise the Sharpe ratio (risk-free rate as of the window's end).
        #[arg(long, visible_alias = "sh", conflicts_with = "target")]
        sharpe: bool,
        /// Minimum variance at exactly this annual return, e.g. 0.2.
        #[arg(long, visible_alias = "target-return", value_parser = parse_finite)]
        target: Option<f64>,
    },
    /// Maximum-return portfolio.
    #[command(visible_alias = "max")]
    MaxReturn {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
    },
    /// Portfolio with the least conditional value at risk.
    #[command(visible_alias = "opt-cvar")]
    OptimizeCvar {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Tail probability, e.g. 0.05.
        #[arg(long, default_value_t = 0.05, value_parser = parse_probability)]
        prob: f64,
        /// Horizon in years (default one trading day; at most 100).
        #[arg(long, default_value_t = 1.0 / 252.0, value_parser = parse_horizon)]
        expiry: f64,
        /// Minimise the historical CVaR of the window's returns (a linear programme) instead of
        /// the GBM model's.
        #[arg(long)]
        historical: bool,
    },
    /// Efficient frontier from the minimum-variance to the maximum-return portfolio, inclusive.
    #[command(visible_alias = "ef")]
    EfficientFrontier {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Number of portfolios (both ends included).
        #[arg(long, visible_alias = "frontier-steps", default_value_t = 5)]
        steps: usize,
    },
    /// Black–Litterman: the market-implied prior moved by views, with the posterior returns and
    /// covariance (use the views in any optimiser with --mu bl:VIEWS).
    #[command(visible_alias = "bl")]
    BlackLitterman(BlackLittermanArgs),
    /// Risk parity: long-only weights whose risk contributions are equal (or --budgets).
    #[command(visible_alias = "rparity")]
    RiskParity {
        /// Allocation options.
        #[command(flatten)]
        allocation: AllocationArgs,
        /// Risk budgets as TICKER=B,TICKER=B (positive, normalised to sum to 1; every ticker once).
        #[arg(long, value_name = "TICKER=B,…", value_parser = parse_budgets)]
        budgets: Option<Budgets>,
    },
    /// Hierarchical risk parity (López de Prado; PyPortfolioOpt's HRPOpt).
    Hrp {
        /// Allocation options.
        #[command(flatten)]
        allocation: AllocationArgs,
        /// Linkage of the hierarchical clustering.
        #[arg(long, value_enum, default_value = "single")]
        linkage: LinkageArg,
    },
    /// Hierarchical equal risk contribution (Raffinot; skfolio's HierarchicalEqualRiskContribution):
    /// clusters cut from the dendrogram, inverse variance inside, risk split between clusters.
    Herc {
        /// Allocation options.
        #[command(flatten)]
        allocation: AllocationArgs,
        /// Linkage of the hierarchical clustering.
        #[arg(long, value_enum, default_value = "ward")]
        linkage: LinkageArg,
    },
    /// Maximum diversification: the highest ratio of weighted volatilities to portfolio volatility.
    #[command(visible_alias = "maxdiv")]
    MaxDiversification(AllocationArgs),
    /// Weights proportional to 1/volatility.
    #[command(visible_alias = "ivol")]
    InverseVolatility(AllocationArgs),
    /// Equal weights (1/N), with the portfolio's return, volatility and Sharpe ratio.
    #[command(visible_alias = "ew")]
    EqualWeight(AllocationArgs),
    /// Walk-forward backtest: each strategy rebalanced on a schedule from estimates over the
    /// sessions before, weights drifting between rebalances, costs paid; equity, returns, turnover
    /// and the full risk report beside a buy-and-hold benchmark.
    #[command(visible_alias = "bt")]
    Backtest(BacktestArgs),
    /// Risk and performance measures of each ticker (and of a portfolio with --weights):
    /// Sharpe, Sortino, Calmar, Omega, drawdowns, CDaR, Ulcer index, VaR/CVaR, EVaR, moments.
    #[command(visible_alias = "rr")]
    RiskReport(ReportArgs),
    /// Chart: a backtest's equity, drawdown, rolling volatility and Sharpe ratio beside the
    /// benchmark, and the first strategy's weights over time.
    #[command(visible_alias = "plot-bt")]
    PlotBacktest(BacktestArgs),
    /// Chart: the drawdown of each ticker (and of the portfolio with --weights) over the window.
    #[command(visible_alias = "plot-dd")]
    PlotDrawdown(ReportArgs),
    /// Chart: each asset's share of the portfolio's volatility and CVaR (equal weights unless
    /// --weights).
    #[command(visible_alias = "plot-rc")]
    PlotRiskContribution(ReportArgs),
    /// Chart: the efficient frontier with each asset, minimum variance and maximum Sharpe marked.
    #[command(visible_alias = "plot-ef")]
    PlotEfficientFrontier {
        /// Portfolio options.
        #[command(flatten)]
        portfolio: PortfolioArgs,
        /// Points along the frontier (2 to 2000).
        #[arg(long, default_value_t = 60)]
        steps: usize,
    },
    /// Chart: assets on the volatility–return plane.
    #[command(visible_alias = "plot-rp")]
    PlotRiskProfile(TickersArgs),
    /// Chart: rolling correlation of two tickers.
    #[command(visible_alias = "plot-cors")]
    PlotCorrelations {
        /// First ticker.
        first: String,
        /// Second ticker.
        second: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Chart: correlation heat map of two or more tickers.
    #[command(visible_alias = "plot-cor")]
    PlotCorrelation(TickersArgs),
    /// Chart: moving averages of one ticker's return.
    #[command(visible_alias = "plot-mas")]
    PlotMovingAverages(TickersArgs),
    /// Chart: the Treasury yield curve on a date.
    #[command(visible_alias = "plot-yc")]
    PlotYieldCurve {
        /// The date (default: the latest publication).
        #[arg(long, visible_alias = "start", value_name = "YYYY-MM-DD", value_parser = parse_date)]
        date: Option<NaiveDate>,
    },
    /// Chart: QQ plot of a ticker's daily log returns against the normal distribution.
    #[command(visible_alias = "plot-qq")]
    PlotReturnQq {
        /// Ticker.
        ticker: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Chart: histogram of a ticker's daily log returns with the fitted normal density.
    #[command(visible_alias = "plot-dist")]
    PlotReturnDistribution {
        /// Ticker.
        ticker: String,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Dividend history per ticker (live data: STRATUS_PROVIDER=alphavantage).
    #[command(visible_alias = "divs")]
    Dividends {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
    },
    /// Dividend discount model: the present value of the dividends the fitted trend of the
    /// history predicts (live data).
    #[command(visible_alias = "ddm")]
    DiscountDividendModel {
        /// Tickers.
        #[arg(required = true, value_name = "TICKER")]
        tickers: Vec<String>,
        /// Discount rate as a decimal (default: the CAPM cost of equity over the default window).
        #[arg(long, value_name = "RATE", value_parser = parse_rate)]
        discount: Option<f64>,
        /// Estimation method for the cost of equity.
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
    },
    /// The watchlist.
    #[command(visible_alias = "w-ls")]
    Watchlist,
    /// Watchlist tickers whose dividend-discount value exceeds the latest close (live data).
    #[command(visible_alias = "scr")]
    Screen {
        /// Discount rate as a decimal (default: each ticker's CAPM cost of equity).
        #[arg(long, value_name = "RATE", value_parser = parse_rate)]
        discount: Option<f64>,
        /// Estimation method for the cost of equity.
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
    },
    /// Latest value of FRED economic series, e.g. UNRATE DGS10 (live data: FRED_KEY).
    #[command(visible_alias = "s")]
    Stat {
        /// FRED series codes.
        #[arg(required = true, value_name = "SERIES")]
        series: Vec<String>,
    },
    /// History of FRED economic series (default: the last year).
    #[command(visible_alias = "ss")]
    Stats {
        /// FRED series codes.
        #[arg(required = true, value_name = "SERIES")]
        series: Vec<String>,
        /// Window.
        #[command(flatten)]
        window: WindowArgs,
    },
    /// Chart: a ticker's dividends, the fitted trend and the next modelled payments, with the
    /// model value in the title (live data).
    #[command(visible_alias = "plot-divs")]
    PlotDividends {
        /// Ticker.
        ticker: String,
        /// Discount rate as a decimal (default: the CAPM cost of equity).
        #[arg(long, value_name = "RATE", value_parser = parse_rate)]
        discount: Option<f64>,
        /// Estimation method for the cost of equity.
        #[arg(long, value_enum)]
        method: Option<MethodArg>,
    },
}
