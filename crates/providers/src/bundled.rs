//! The real dataset compiled into the binary, so every command works offline from any folder.
//! Provenance and licences: `data/README.md` in the repository.

use std::io::Read;

use crate::csv_import::{parse_prices, parse_treasury};
use crate::{PricePoint, ProviderError, YieldPoint};

const STOCKS: &[u8] = include_bytes!("../../../data/sp500_dataset.csv.gz");
const INDEX: &[u8] = include_bytes!("../../../data/sp500_index.csv.gz");
const FACTORS: &[u8] = include_bytes!("../../../data/factors_dataset.csv.gz");
const TREASURY: &[u8] = include_bytes!("../../../data/us_treasury_par_yields_1990_2025.csv");

/// Names the bundled dataset; stored prices are reloaded when it changes.
pub const DATASET_VERSION: &str = "skfolio-1.12.2/treasury-par-yields-2025-07-11";

fn gunzip(name: &str, bytes: &[u8]) -> Result<Vec<u8>, ProviderError> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| ProviderError::Unreadable {
            file: name.to_string(),
            reason: e.to_string(),
        })?;
    Ok(out)
}

/// Every bundled price: 20 stocks, `SP500`, and 5 factor ETFs.
pub fn prices() -> Result<Vec<PricePoint>, ProviderError> {
    let mut all = Vec::with_capacity(200_000);
    for (name, bytes) in [
        ("sp500_dataset.csv.gz", STOCKS),
        ("sp500_index.csv.gz", INDEX),
        ("factors_dataset.csv.gz", FACTORS),
    ] {
        all.extend(parse_prices(name, &gunzip(name, bytes)?)?);
    }
    Ok(all)
}

/// The bundled Treasury par-yield history, percent.
pub fn treasury_yields() -> Result<Vec<YieldPoint>, ProviderError> {
    parse_treasury("us_treasury_par_yields_1990_2025.csv", TREASURY)
}

/// The bundled dataset as a [`Provider`]: the offline default. It has prices and yields, and
/// says clearly that dividends and economic series need a live provider.
#[derive(Debug, Default, Clone, Copy)]
pub struct Bundled;

#[async_trait::async_trait]
impl crate::Provider for Bundled {
    fn name(&self) -> &str {
        "bundled"
    }

    async fn daily_prices(
        &self,
        ticker: &str,
        _history: crate::History,
    ) -> Result<Vec<PricePoint>, ProviderError> {
        // Decompressing the dataset takes a fraction of a second: once per process is enough.
        static ALL: std::sync::OnceLock<Vec<PricePoint>> = std::sync::OnceLock::new();
        let all = match ALL.get() {
            Some(all) => all,
            None => {
                let loaded = prices()?;
                ALL.get_or_init(|| loaded)
            }
        };
        let points: Vec<PricePoint> = all.iter().filter(|p| p.ticker == ticker).cloned().collect();
        if points.is_empty() {
            return Err(ProviderError::UnknownSymbol {
                provider: "bundled".into(),
                symbol: ticker.into(),
                detail:
                    "not in the bundled dataset; set STRATUS_PROVIDER=alphavantage for live prices"
                        .into(),
            });
        }
        Ok(points)
    }

    async fn treasury_yields(
        &self,
        start: chrono::NaiveDate,
        end: chrono::NaiveDate,
    ) -> Result<Vec<YieldPoint>, ProviderError> {
        let mut points = treasury_yields()?;
        points.retain(|y| y.date >= start && y.date <= end);
        Ok(points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_data_loads_completely() {
        let prices = prices().unwrap();
        // 20 stocks and the index over 8313 dates, 5 ETFs over 2264 dates.
        assert_eq!(prices.len(), 21 * 8313 + 5 * 2264);
        let mut tickers: Vec<&str> = prices.iter().map(|p| p.ticker.as_str()).collect();
        tickers.sort_unstable();
        tickers.dedup();
        assert_eq!(tickers.len(), 26);
        assert!(tickers.contains(&"SP500") && tickers.contains(&"MTUM"));
        let yields = treasury_yields().unwrap();
        assert!(yields.iter().all(|y| y.percent.is_finite()));
        assert_eq!(
            yields.iter().map(|y| y.date).max().unwrap().to_string(),
            "2025-07-11"
        );
    }
}
