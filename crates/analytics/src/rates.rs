//! Treasury yields: the curve on a date, the risk-free rate, yield histories.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use stratus_core::yield_curve::{CurvePoint, complete_curve};
use stratus_core::{Maturity, Window};

use crate::service::far_future;
use crate::{Analytics, AppError};

impl Analytics {
    /// The yield curve as of `date` (the latest publication on or before it), rates as decimals,
    /// with every tenor in `wanted` present (gaps filled and marked).
    pub async fn yield_curve(
        &self,
        date: NaiveDate,
        wanted: &[Maturity],
    ) -> Result<(NaiveDate, Vec<CurvePoint>), AppError> {
        let no_data = || AppError::NoData {
            message: format!(
                "no Treasury yields on or before {date}; the bundled history starts 1990-01-02"
            ),
        };
        self.refresh_rates().await?;
        let publication = self
            .store
            .publication(date, wanted)
            .await?
            .ok_or_else(no_data)?;
        let published = publication.date;
        let observed: Vec<(Maturity, f64)> = publication
            .rows
            .iter()
            .map(|row| (row.maturity, row.percent / 100.0))
            .collect();
        let curve = complete_curve(&observed, wanted).ok_or_else(no_data)?;
        Ok((published, curve))
    }

    /// The risk-free rate (decimal) as of `date`, and the publication date it comes from.
    pub async fn risk_free(&self, date: NaiveDate) -> Result<(NaiveDate, f64), AppError> {
        let (published, curve) = self.yield_curve(date, &[self.config.risk_free]).await?;
        Ok((published, curve[0].rate))
    }

    /// Yield history per maturity in the window, as decimals.
    pub async fn interest(
        &self,
        maturities: &[Maturity],
        window: Window,
    ) -> Result<BTreeMap<Maturity, Vec<(NaiveDate, f64)>>, AppError> {
        self.refresh_rates().await?;
        let mut out = BTreeMap::new();
        for &m in maturities {
            let rows = self.store.rates(m, window.start, window.end).await?;
            out.insert(
                m,
                rows.into_iter()
                    .map(|r| (r.date, r.percent / 100.0))
                    .collect(),
            );
        }
        Ok(out)
    }

    /// The latest date with any Treasury yield.
    pub async fn latest_rate_date(&self) -> Result<NaiveDate, AppError> {
        self.refresh_rates().await?;
        self.store
            .latest_rate_date(far_future())
            .await?
            .ok_or_else(|| AppError::NoData {
                message: "the store holds no Treasury yields".into(),
            })
    }
}
