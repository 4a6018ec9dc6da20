//! Statistics over a ticker's history rather than one window's profile: historical value at
//! risk, moving averages, rolling correlation. The maths is the core's; this loads the history
//! each needs (a longer lookback than the window, for the rolling ones).

use chrono::NaiveDate;
use stratus_core::correlation::rolling_correlation;
use stratus_core::moving_average::{MovingAverages, moving_averages};
use stratus_core::risk;
use stratus_core::{AnalyticsError, EQUITY_PERIODS_PER_YEAR, Method, Window};

use crate::risk::TailRisk;
use crate::{Analytics, AppError};

impl Analytics {
    /// Historical value at risk and expected shortfall of one ticker as price levels: the loss
    /// fractions of overlapping `horizon`-session returns in the window (order-statistic rule),
    /// applied to the last close, which is returned with them.
    pub async fn historical_var(
        &self,
        ticker: &str,
        window: Window,
        prob: f64,
        expiry: f64,
    ) -> Result<TailRisk, AppError> {
        let horizon = stratus_core::checked::horizon_sessions("--expiry", expiry)?;
        let series = self.series(ticker, window).await?;
        series.require(horizon + 2)?;
        let closes = series.closes();
        let returns = risk::horizon_returns(closes, horizon);
        let spot = closes[closes.len() - 1];
        let var = risk::historical_var(&returns, prob)?;
        let cvar = risk::historical_cvar(&returns, prob)?;
        Ok(TailRisk {
            spot,
            var: spot * (1.0 - var),
            cvar: spot * (1.0 - cvar),
        })
    }

    /// Moving averages of one ticker for every session of the window.
    pub async fn moving_averages(
        &self,
        ticker: &str,
        window: Window,
        method: Method,
    ) -> Result<MovingAverages, AppError> {
        let periods = &self.config.moving_average_periods;
        let longest = periods.iter().copied().max().unwrap_or(1);
        let history = Window {
            start: self.calendar.sessions_back(window.start, longest),
            end: window.end,
        };
        let series = self.series(ticker, history).await?;
        Ok(moving_averages(
            &series,
            self.calendar,
            periods,
            window.start,
            method,
            EQUITY_PERIODS_PER_YEAR,
        )?)
    }

    /// scrilla's `correlations`: for each session of the window, the moments correlation of the
    /// pair over the default-length window ending on that session.
    pub async fn correlation_series(
        &self,
        a: &str,
        b: &str,
        window: Window,
    ) -> Result<Vec<(NaiveDate, f64)>, AppError> {
        let lookback = self.config.window_returns;
        let history = Window {
            start: self.calendar.sessions_back(window.start, lookback),
            end: window.end,
        };
        let (sa, sb) = (
            self.series(a, history).await?,
            self.series(b, history).await?,
        );
        rolling_correlation(
            &sa,
            &sb,
            self.calendar,
            lookback,
            window.start,
            EQUITY_PERIODS_PER_YEAR,
        )?
        .ok_or_else(|| {
            AppError::Analytics(AnalyticsError::TooLittleOverlap {
                first: a.to_string(),
                second: b.to_string(),
                common: sa.restricted_to_dates_of(&sb).len(),
                needed: lookback + 1,
            })
        })
    }
}
