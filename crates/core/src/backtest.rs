//! The bookkeeping of a walk-forward backtest: when to rebalance, how weights drift between
//! rebalances, and what trading costs. Choosing the target weights is the caller's business —
//! this module never sees a price after the session it is told about, which is what makes the
//! "no look-ahead" guarantee checkable in one place (the caller hands it the targets one
//! rebalance at a time).
//!
//! Conventions (the ones issue 17 fixes, and the numpy reference in `tools/reference` repeats):
//! equity starts at 1 in cash; a rebalance happens at a session's close; between rebalances each
//! holding grows with its daily simple return, so the weights drift; at a rebalance the cost is
//! `rate × Σ|w_target − w_drifted| × equity` (the first allocation trades from cash, so its
//! turnover is Σ|w|), paid from equity at that close, and the targets are weights of what is left.
//! Weights need not sum to 1: the rest is cash, which earns nothing (whole-share rounding leaves
//! some).

use chrono::{Datelike, NaiveDate};

use crate::AnalyticsError;

/// When a backtest rebalances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Every N sessions (1 = daily), counting from the first.
    Every(usize),
    /// The first session of each calendar week (ISO weeks).
    Weekly,
    /// The first session of each calendar month.
    Monthly,
    /// The first session of each calendar quarter.
    Quarterly,
    /// The first session on or after each of these dates.
    Dates(Vec<NaiveDate>),
}

impl Schedule {
    /// Indices into `sessions` (increasing dates) of the rebalances. The first session is always
    /// one: that is where the portfolio is first bought.
    pub fn rebalances(&self, sessions: &[NaiveDate]) -> Vec<usize> {
        if sessions.is_empty() {
            return Vec::new();
        }
        let changed = |key: fn(NaiveDate) -> (i32, u32)| -> Vec<usize> {
            std::iter::once(0)
                .chain((1..sessions.len()).filter(|&i| key(sessions[i]) != key(sessions[i - 1])))
                .collect()
        };
        match self {
            Schedule::Every(n) => (0..sessions.len()).step_by((*n).max(1)).collect(),
            Schedule::Weekly => changed(|d| (d.iso_week().year(), d.iso_week().week())),
            Schedule::Monthly => changed(|d| (d.year(), d.month())),
            Schedule::Quarterly => changed(|d| (d.year(), d.month0() / 3)),
            Schedule::Dates(dates) => {
                let mut out = vec![0];
                for date in dates {
                    let i = sessions.partition_point(|s| s < date);
                    if i < sessions.len() && !out.contains(&i) {
                        out.push(i);
                    }
                }
                out.sort_unstable();
                out
            }
        }
    }

    /// A short name for tables and reports (`monthly`, `every 21 sessions`, `12 dates`).
    pub fn name(&self) -> String {
        match self {
            Schedule::Every(1) => "daily".into(),
            Schedule::Every(n) => format!("every {n} sessions"),
            Schedule::Weekly => "weekly".into(),
            Schedule::Monthly => "monthly".into(),
            Schedule::Quarterly => "quarterly".into(),
            Schedule::Dates(d) => format!("{} dates", d.len()),
        }
    }
}

/// What one rebalance traded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trade {
    /// Σ|w_target − w_drifted|.
    pub turnover: f64,
    /// The cost paid, in units of the starting equity.
    pub cost: f64,
}

/// A portfolio between rebalances: weights of the current equity (the rest is cash).
#[derive(Debug, Clone, PartialEq)]
pub struct Book {
    weights: Vec<f64>,
    equity: f64,
}

impl Book {
    /// All cash, equity 1.
    pub fn new(assets: usize) -> Self {
        Book {
            weights: vec![0.0; assets],
            equity: 1.0,
        }
    }

    /// The weights as they have drifted since the last rebalance.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The equity (1 at the start).
    pub fn equity(&self) -> f64 {
        self.equity
    }

    /// Trades to `target` at this close, paying `cost_rate` (e.g. 10 bp = 0.001) per unit of
    /// turnover out of equity.
    pub fn rebalance(&mut self, target: &[f64], cost_rate: f64) -> Result<Trade, AnalyticsError> {
        if target.len() != self.weights.len() || target.iter().any(|w| !w.is_finite()) {
            return Err(AnalyticsError::InvalidParameter {
                name: "weights",
                value: format!("{target:?}"),
                reason: "one finite target weight per asset is needed",
            });
        }
        let turnover: f64 = target
            .iter()
            .zip(&self.weights)
            .map(|(t, w)| (t - w).abs())
            .sum();
        let cost = cost_rate * turnover * self.equity;
        self.equity -= cost;
        self.weights.copy_from_slice(target);
        Ok(Trade { turnover, cost })
    }

    /// Moves one session on: each holding grows by its simple return, the weights drift, and the
    /// portfolio's return over the session is returned.
    pub fn step(&mut self, returns: &[f64]) -> f64 {
        let cash = 1.0 - self.weights.iter().sum::<f64>();
        let grown: f64 = self
            .weights
            .iter()
            .zip(returns)
            .map(|(w, r)| w * (1.0 + r))
            .sum::<f64>()
            + cash;
        for (w, r) in self.weights.iter_mut().zip(returns) {
            *w *= (1.0 + r) / grown;
        }
        self.equity *= grown;
        grown - 1.0
    }
}

/// The target moved only part of the way from `current` when its turnover exceeds `max`: the
/// point `max / turnover` of the way along the straight line, which keeps a fully invested,
/// long-only book so (both ends are).
pub fn limit_turnover(current: &[f64], target: &[f64], max: f64) -> Vec<f64> {
    let turnover: f64 = target.iter().zip(current).map(|(t, c)| (t - c).abs()).sum();
    if turnover <= max || turnover == 0.0 {
        return target.to_vec();
    }
    let step = max / turnover;
    current
        .iter()
        .zip(target)
        .map(|(c, t)| c + step * (t - c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn sessions() -> Vec<NaiveDate> {
        [
            "2021-12-30",
            "2021-12-31",
            "2022-01-03",
            "2022-01-04",
            "2022-01-10",
            "2022-02-01",
            "2022-03-31",
            "2022-04-01",
        ]
        .map(date)
        .to_vec()
    }

    #[test]
    fn schedules_pick_the_first_session_of_each_period() {
        let s = sessions();
        assert_eq!(Schedule::Monthly.rebalances(&s), vec![0, 2, 5, 6, 7]);
        assert_eq!(Schedule::Quarterly.rebalances(&s), vec![0, 2, 7]);
        // ISO weeks: 2021-12-30/31 are week 52, 01-03/04 week 1, 01-10 week 2.
        assert_eq!(Schedule::Weekly.rebalances(&s), vec![0, 2, 4, 5, 6]);
        assert_eq!(Schedule::Every(3).rebalances(&s), vec![0, 3, 6]);
        assert_eq!(Schedule::Every(1).rebalances(&s).len(), s.len());
        let dates = Schedule::Dates(vec![
            date("2022-01-05"),
            date("2022-01-06"),
            date("2030-01-01"),
        ]);
        assert_eq!(dates.rebalances(&s), vec![0, 4]);
        assert!(Schedule::Monthly.rebalances(&[]).is_empty());
    }

    #[test]
    fn weights_drift_and_costs_are_paid_from_equity() {
        let mut book = Book::new(2);
        let first = book.rebalance(&[0.5, 0.5], 0.001).unwrap();
        assert_eq!(first.turnover, 1.0);
        assert!((book.equity() - 0.999).abs() < 1e-15);
        let r = book.step(&[0.10, -0.10]);
        assert!(r.abs() < 1e-15);
        assert!((book.weights()[0] - 0.55).abs() < 1e-15);
        assert!((book.weights()[1] - 0.45).abs() < 1e-15);
        let trade = book.rebalance(&[0.5, 0.5], 0.001).unwrap();
        assert!((trade.turnover - 0.1).abs() < 1e-15);
        assert!((trade.cost - 0.0001 * 0.999).abs() < 1e-18);
        // Cash (weights summing to 0.8) earns nothing.
        let mut book = Book::new(1);
        book.rebalance(&[0.8], 0.0).unwrap();
        let r = book.step(&[0.5]);
        assert!((r - 0.4).abs() < 1e-15);
        assert!((book.weights()[0] - 1.2 / 1.4).abs() < 1e-15);
        assert!(book.rebalance(&[f64::NAN], 0.0).is_err());
        assert!(book.rebalance(&[0.5, 0.5], 0.0).is_err());
    }

    #[test]
    fn a_turnover_limit_moves_part_of_the_way() {
        let moved = limit_turnover(&[1.0, 0.0], &[0.0, 1.0], 0.5);
        assert!((moved[0] - 0.75).abs() < 1e-15 && (moved[1] - 0.25).abs() < 1e-15);
        assert_eq!(
            limit_turnover(&[0.5, 0.5], &[0.6, 0.4], 0.5),
            vec![0.6, 0.4]
        );
    }
}
