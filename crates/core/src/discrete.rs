//! Whole-share allocation of a long-only portfolio.
//!
//! - `floor`: ⌊wᵢV/pᵢ⌋ shares each (scrilla's rule; the rest stays in cash);
//! - `greedy`: PyPortfolioOpt's `greedy_portfolio` — floors, then one share at a time to the
//!   asset furthest below its weight while the cash lasts;
//! - `lp`: PyPortfolioOpt's `lp_portfolio` objective, min Σ|wᵢV − xᵢpᵢ| + (V − Σxᵢpᵢ) over whole
//!   xᵢ ≥ 0 within the budget, solved **exactly**. With aᵢ = wᵢV the objective equals
//!   V − 2·Σ min(xᵢpᵢ, aᵢ): every share up to the floor is worth its price, the share that rounds
//!   up is worth only the remainder, and more is worth nothing. A depth-first branch and bound
//!   over the assets (most expensive first) with the bound "each remaining unit of cash is worth
//!   at most one unit of value, and asset j at most aⱼ" proves optimality; a node limit keeps it
//!   bounded, and the result then says it is not proven.

use crate::AnalyticsError;

/// How whole shares are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Round every position down.
    Floor,
    /// PyPortfolioOpt's greedy second round.
    Greedy,
    /// The exact integer programme.
    Lp,
}

/// Whole shares per asset.
#[derive(Debug, Clone, PartialEq)]
pub struct Shares {
    /// Shares per asset.
    pub shares: Vec<u64>,
    /// V − Σ xᵢpᵢ.
    pub leftover: f64,
    /// Whether the lp rounding proved its optimum (always true for floor and greedy).
    pub proven_optimal: bool,
}

const NODE_LIMIT: u64 = 2_000_000;

fn check(weights: &[f64], prices: &[f64], total: f64) -> Result<(), AnalyticsError> {
    if weights.iter().any(|w| !w.is_finite() || *w < -1e-12) {
        return Err(AnalyticsError::InvalidParameter {
            name: "--invest",
            value: format!("{weights:?}"),
            reason: "whole shares are allocated for long-only portfolios; use --min-weight 0",
        });
    }
    if prices.iter().any(|p| !(p.is_finite() && *p > 0.0)) || !(total.is_finite() && total > 0.0) {
        return Err(AnalyticsError::InvalidParameter {
            name: "--invest",
            value: total.to_string(),
            reason: "a positive amount and positive prices are needed",
        });
    }
    Ok(())
}

/// Whole shares for `total` at `prices` following `weights`.
pub fn allocate(
    weights: &[f64],
    prices: &[f64],
    total: f64,
    rounding: Rounding,
) -> Result<Shares, AnalyticsError> {
    check(weights, prices, total)?;
    let weights: Vec<f64> = weights.iter().map(|w| w.max(0.0)).collect();
    let floors: Vec<u64> = weights
        .iter()
        .zip(prices)
        .map(|(w, p)| (w * total / p).floor() as u64)
        .collect();
    let spent =
        |shares: &[u64]| -> f64 { shares.iter().zip(prices).map(|(s, p)| *s as f64 * p).sum() };
    let shares = match rounding {
        Rounding::Floor => floors,
        Rounding::Greedy => greedy(&weights, prices, total, floors),
        Rounding::Lp => {
            let (shares, proven) = exact(&weights, prices, total, &floors);
            return Ok(Shares {
                leftover: total - spent(&shares),
                shares,
                proven_optimal: proven,
            });
        }
    };
    Ok(Shares {
        leftover: total - spent(&shares),
        shares,
        proven_optimal: true,
    })
}

/// PyPortfolioOpt's second round: while cash remains, buy one share of the asset with the largest
/// shortfall of weight that is affordable (at most ten affordable-or-not tries a round).
fn greedy(weights: &[f64], prices: &[f64], total: f64, mut shares: Vec<u64>) -> Vec<u64> {
    // PyPortfolioOpt sorts by weight, descending (stable), and breaks ties in that order.
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| weights[b].total_cmp(&weights[a]));
    let mut cash = total
        - shares
            .iter()
            .zip(prices)
            .map(|(s, p)| *s as f64 * p)
            .sum::<f64>();
    let argmax = |deficit: &[f64]| -> usize {
        let mut best = 0;
        for k in 1..deficit.len() {
            if deficit[k] > deficit[best] {
                best = k;
            }
        }
        best
    };
    while cash > 0.0 {
        let held: Vec<f64> = order
            .iter()
            .map(|&i| shares[i] as f64 * prices[i])
            .collect();
        let held_total: f64 = held.iter().sum();
        let mut deficit: Vec<f64> = order
            .iter()
            .zip(&held)
            .map(|(&i, h)| {
                weights[i]
                    - if held_total > 0.0 {
                        h / held_total
                    } else {
                        0.0
                    }
            })
            .collect();
        let mut k = argmax(&deficit);
        let mut counter = 0;
        while prices[order[k]] > cash {
            deficit[k] = 0.0;
            k = argmax(&deficit);
            if deficit[k] < 0.0 || counter == 10 {
                break;
            }
            counter += 1;
        }
        if deficit[k] <= 0.0 || counter == 10 || prices[order[k]] > cash {
            break;
        }
        shares[order[k]] += 1;
        cash -= prices[order[k]];
    }
    shares
}

struct Search<'a> {
    order: Vec<usize>,
    targets: &'a [f64],
    prices: &'a [f64],
    /// Σ aⱼ over the assets from position k on.
    suffix_targets: Vec<f64>,
    best_value: f64,
    best: Vec<u64>,
    current: Vec<u64>,
    nodes: u64,
}

impl Search<'_> {
    fn value(&self, i: usize, x: u64) -> f64 {
        (x as f64 * self.prices[i]).min(self.targets[i])
    }

    fn descend(&mut self, k: usize, cash: f64, value: f64) {
        self.nodes += 1;
        if self.nodes > NODE_LIMIT {
            return;
        }
        if k == self.order.len() {
            if value > self.best_value + 1e-9 {
                self.best_value = value;
                self.best = self.current.clone();
            }
            return;
        }
        // Every unit of cash buys at most one unit of value, and no asset is worth more than its
        // target.
        if value + cash.min(self.suffix_targets[k]) <= self.best_value + 1e-9 {
            return;
        }
        let i = self.order[k];
        let p = self.prices[i];
        let ceiling = (self.targets[i] / p).ceil() as u64;
        let affordable = (cash / p).floor() as u64;
        let top = ceiling.min(affordable);
        let floor = (self.targets[i] / p).floor() as u64;
        for x in (0..=top).rev() {
            let spent = x as f64 * p;
            let gained = value + self.value(i, x);
            // Below the floor, one share fewer loses its price in value and gains at most its
            // price in cash for the rest: the bound only falls, so the first failure ends the loop
            // (which also keeps huge share counts from being enumerated).
            if gained + (cash - spent).min(self.suffix_targets[k + 1]) <= self.best_value + 1e-9 {
                if x <= floor {
                    break;
                }
                continue;
            }
            self.current[i] = x;
            self.descend(k + 1, cash - spent, gained);
            if self.nodes > NODE_LIMIT {
                break;
            }
        }
        self.current[i] = 0;
    }
}

/// The exact lp rounding and whether it was proven within the node limit.
fn exact(weights: &[f64], prices: &[f64], total: f64, floors: &[u64]) -> (Vec<u64>, bool) {
    let targets: Vec<f64> = weights.iter().map(|w| w * total).collect();
    let mut order: Vec<usize> = (0..weights.len()).filter(|&i| targets[i] > 0.0).collect();
    order.sort_by(|&a, &b| prices[b].total_cmp(&prices[a]));
    let mut suffix_targets = vec![0.0; order.len() + 1];
    for k in (0..order.len()).rev() {
        suffix_targets[k] = suffix_targets[k + 1] + targets[order[k]];
    }
    // The greedy allocation is the first incumbent.
    let start = greedy(weights, prices, total, floors.to_vec());
    let value = |x: &[u64]| -> f64 {
        x.iter()
            .enumerate()
            .map(|(i, s)| (*s as f64 * prices[i]).min(targets[i]))
            .sum()
    };
    let mut search = Search {
        order,
        targets: &targets,
        prices,
        suffix_targets,
        best_value: value(&start),
        best: start,
        current: vec![0; weights.len()],
        nodes: 0,
    };
    search.descend(0, total, 0.0);
    // Shares beyond an asset's ceiling add nothing; the search never buys them.
    (search.best, search.nodes <= NODE_LIMIT)
}

/// PyPortfolioOpt's `lp_portfolio` objective of an allocation.
pub fn lp_objective(weights: &[f64], prices: &[f64], total: f64, shares: &[u64]) -> f64 {
    let spent: f64 = shares.iter().zip(prices).map(|(s, p)| *s as f64 * p).sum();
    weights
        .iter()
        .zip(prices)
        .zip(shares)
        .map(|((w, p), s)| (w * total - *s as f64 * p).abs())
        .sum::<f64>()
        + (total - spent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lp_beats_or_ties_greedy_and_floor() {
        let weights = [0.35, 0.25, 0.2, 0.12, 0.08];
        let prices = [312.5, 97.3, 45.1, 180.0, 12.7];
        for total in [1000.0, 2500.0, 10_000.0, 33_333.0] {
            let floor = allocate(&weights, &prices, total, Rounding::Floor).unwrap();
            let greedy = allocate(&weights, &prices, total, Rounding::Greedy).unwrap();
            let lp = allocate(&weights, &prices, total, Rounding::Lp).unwrap();
            assert!(lp.proven_optimal && lp.leftover >= -1e-9);
            let objective = |s: &Shares| lp_objective(&weights, &prices, total, &s.shares);
            assert!(objective(&lp) <= objective(&greedy) + 1e-9);
            assert!(objective(&greedy) <= objective(&floor) + 1e-9);
            assert!(greedy.leftover >= 0.0 && greedy.leftover <= floor.leftover);
        }
    }

    #[test]
    fn lp_is_exact_on_a_brute_forced_case() {
        let weights = [0.5, 0.3, 0.2];
        let prices = [70.0, 45.0, 33.0];
        let total = 400.0;
        let mut best = f64::INFINITY;
        for a in 0..=6u64 {
            for b in 0..=9u64 {
                for c in 0..=13u64 {
                    let spent = a as f64 * 70.0 + b as f64 * 45.0 + c as f64 * 33.0;
                    if spent <= total {
                        best = best.min(lp_objective(&weights, &prices, total, &[a, b, c]));
                    }
                }
            }
        }
        let lp = allocate(&weights, &prices, total, Rounding::Lp).unwrap();
        assert!((lp_objective(&weights, &prices, total, &lp.shares) - best).abs() < 1e-9);
    }

    #[test]
    fn huge_amounts_finish() {
        let weights = [0.4, 0.35, 0.25];
        let prices = [0.01, 0.013, 0.017];
        let lp = allocate(&weights, &prices, 1e15, Rounding::Lp).unwrap();
        assert!(lp.proven_optimal && lp.leftover >= 0.0);
    }

    #[test]
    fn shorts_and_bad_amounts_are_refused() {
        assert!(allocate(&[1.2, -0.2], &[10.0, 10.0], 100.0, Rounding::Lp).is_err());
        assert!(allocate(&[0.5, 0.5], &[10.0, 0.0], 100.0, Rounding::Greedy).is_err());
        assert!(allocate(&[0.5, 0.5], &[10.0, 10.0], f64::NAN, Rounding::Floor).is_err());
    }
}
