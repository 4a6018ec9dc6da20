//! Whole shares for an allocation: floor, greedy or the exact integer programme.

use stratus_core::{Window, checked, discrete};

use crate::portfolio::{Allocation, Rounding};
use crate::{Analytics, AppError};

impl Analytics {
    /// Whole shares of each holding for `amount` at the window's last closes, and the cash left:
    /// rounded down (`floor`), then topped up greedily, or by the exact integer programme.
    pub async fn invest(
        &self,
        allocation: &mut Allocation,
        window: Window,
        amount: f64,
        rounding: Rounding,
    ) -> Result<(), AppError> {
        let amount = checked::amount("--invest", amount)?;
        let mut prices = Vec::with_capacity(allocation.holdings.len());
        for holding in &allocation.holdings {
            let series = self.series(&holding.ticker, window).await?;
            let (_, price) = series.last().ok_or_else(|| AppError::NoData {
                message: format!("no close for {} in the window", holding.ticker),
            })?;
            if holding.allocation < -1e-12 {
                return Err(AppError::InvalidInput {
                    field: "invest",
                    message: format!(
                        "--invest buys whole shares of a long-only portfolio, but {} has weight {:.4}; drop --invest or keep --min-weight ≥ 0",
                        holding.ticker, holding.allocation
                    ),
                });
            }
            // Checks the price and that the share count is exactly representable.
            checked::whole_units((holding.allocation * amount).max(0.0), price)?;
            prices.push(price);
        }
        let shares: Vec<u64> = match rounding {
            Rounding::Floor => allocation
                .holdings
                .iter()
                .zip(&prices)
                .map(|(h, p)| checked::whole_units((h.allocation * amount).max(0.0), *p))
                .collect::<Result<_, _>>()?,
            other => {
                let weights: Vec<f64> = allocation.holdings.iter().map(|h| h.allocation).collect();
                let solved = discrete::allocate(&weights, &prices, amount, other)?;
                allocation.rounding_proven = Some(solved.proven_optimal);
                solved.shares
            }
        };
        let mut total = 0.0;
        for ((holding, price), n) in allocation.holdings.iter_mut().zip(&prices).zip(&shares) {
            holding.shares = Some(*n);
            holding.price = Some(*price);
            holding.achieved_weight = Some(*n as f64 * price / amount);
            total += *n as f64 * price;
        }
        allocation.rounding = Some(
            match rounding {
                Rounding::Floor => "floor",
                Rounding::Greedy => "greedy",
                Rounding::Lp => "lp",
            }
            .into(),
        );
        allocation.total = Some(total);
        allocation.cash = Some(amount - total);
        Ok(())
    }
}
