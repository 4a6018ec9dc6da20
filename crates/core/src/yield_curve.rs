//! Treasury maturities and the yield curve on a date.
//!
//! The published par-yield history has real gaps: tenors introduced late (1M in 2001, 2M in 2018,
//! 4M in 2022), the 30-year suspended 2002–2006, single missing days. scrilla crashed on them
//! (defect D16) or left zeros; Stratus fills a missing tenor by linear interpolation in maturity
//! between the nearest published tenors of the same date, and flat beyond the shortest or
//! longest one, and says which values were filled.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::AnalyticsError;

/// A Treasury constant-maturity tenor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum Maturity {
    OneMonth,
    TwoMonth,
    ThreeMonth,
    FourMonth,
    SixMonth,
    OneYear,
    TwoYear,
    ThreeYear,
    FiveYear,
    SevenYear,
    TenYear,
    TwentyYear,
    ThirtyYear,
}

impl Maturity {
    /// Every tenor in the bundled history, shortest first.
    pub const ALL: [Maturity; 13] = [
        Maturity::OneMonth,
        Maturity::TwoMonth,
        Maturity::ThreeMonth,
        Maturity::FourMonth,
        Maturity::SixMonth,
        Maturity::OneYear,
        Maturity::TwoYear,
        Maturity::ThreeYear,
        Maturity::FiveYear,
        Maturity::SevenYear,
        Maturity::TenYear,
        Maturity::TwentyYear,
        Maturity::ThirtyYear,
    ];

    /// scrilla's name, used as the key in cache tables and JSON (`TEN_YEAR`).
    pub fn name(self) -> &'static str {
        match self {
            Maturity::OneMonth => "ONE_MONTH",
            Maturity::TwoMonth => "TWO_MONTH",
            Maturity::ThreeMonth => "THREE_MONTH",
            Maturity::FourMonth => "FOUR_MONTH",
            Maturity::SixMonth => "SIX_MONTH",
            Maturity::OneYear => "ONE_YEAR",
            Maturity::TwoYear => "TWO_YEAR",
            Maturity::ThreeYear => "THREE_YEAR",
            Maturity::FiveYear => "FIVE_YEAR",
            Maturity::SevenYear => "SEVEN_YEAR",
            Maturity::TenYear => "TEN_YEAR",
            Maturity::TwentyYear => "TWENTY_YEAR",
            Maturity::ThirtyYear => "THIRTY_YEAR",
        }
    }

    /// The Treasury's column label (`10Y`).
    pub fn label(self) -> &'static str {
        match self {
            Maturity::OneMonth => "1M",
            Maturity::TwoMonth => "2M",
            Maturity::ThreeMonth => "3M",
            Maturity::FourMonth => "4M",
            Maturity::SixMonth => "6M",
            Maturity::OneYear => "1Y",
            Maturity::TwoYear => "2Y",
            Maturity::ThreeYear => "3Y",
            Maturity::FiveYear => "5Y",
            Maturity::SevenYear => "7Y",
            Maturity::TenYear => "10Y",
            Maturity::TwentyYear => "20Y",
            Maturity::ThirtyYear => "30Y",
        }
    }

    /// Time to maturity in years.
    pub fn years(self) -> f64 {
        match self {
            Maturity::OneMonth => 1.0 / 12.0,
            Maturity::TwoMonth => 2.0 / 12.0,
            Maturity::ThreeMonth => 0.25,
            Maturity::FourMonth => 4.0 / 12.0,
            Maturity::SixMonth => 0.5,
            Maturity::OneYear => 1.0,
            Maturity::TwoYear => 2.0,
            Maturity::ThreeYear => 3.0,
            Maturity::FiveYear => 5.0,
            Maturity::SevenYear => 7.0,
            Maturity::TenYear => 10.0,
            Maturity::TwentyYear => 20.0,
            Maturity::ThirtyYear => 30.0,
        }
    }
}

impl std::fmt::Display for Maturity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Maturity {
    type Err = AnalyticsError;

    /// Accepts scrilla's names (`TEN_YEAR`) and Treasury labels (`10Y`), in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_ascii_uppercase();
        Maturity::ALL
            .into_iter()
            .find(|m| m.name() == wanted || m.label() == wanted)
            .ok_or(AnalyticsError::InvalidParameter {
                name: "maturity",
                value: s.to_string(),
                reason: "expected one of ONE_MONTH, TWO_MONTH, THREE_MONTH, FOUR_MONTH, SIX_MONTH, ONE_YEAR, TWO_YEAR, THREE_YEAR, FIVE_YEAR, SEVEN_YEAR, TEN_YEAR, TWENTY_YEAR, THIRTY_YEAR (or 1M … 30Y)",
            })
    }
}

/// How a curve point was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PointSource {
    /// Published for this date.
    Observed,
    /// Linear in maturity between published neighbours.
    Interpolated,
    /// Flat from the nearest published tenor.
    Extrapolated,
}

/// One point of a curve: a rate as a decimal (0.0388 for 3.88 %).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// The tenor.
    pub maturity: Maturity,
    /// The rate, decimal.
    pub rate: f64,
    /// Where it came from.
    pub source: PointSource,
}

/// Completes a curve: every tenor of `wanted`, filling those absent from `observed` (rates as
/// decimals). Returns `None` when nothing was observed.
pub fn complete_curve(
    observed: &[(Maturity, f64)],
    wanted: &[Maturity],
) -> Option<Vec<CurvePoint>> {
    let mut known: Vec<(f64, f64)> = observed
        .iter()
        .filter(|(_, r)| r.is_finite())
        .map(|(m, r)| (m.years(), *r))
        .collect();
    if known.is_empty() {
        return None;
    }
    known.sort_by(|a, b| a.0.total_cmp(&b.0));
    let points = wanted
        .iter()
        .map(|&maturity| {
            if let Some((_, rate)) = observed
                .iter()
                .find(|(m, r)| *m == maturity && r.is_finite())
            {
                return CurvePoint {
                    maturity,
                    rate: *rate,
                    source: PointSource::Observed,
                };
            }
            let t = maturity.years();
            let (first, last) = (known[0], known[known.len() - 1]);
            if t <= first.0 {
                return CurvePoint {
                    maturity,
                    rate: first.1,
                    source: PointSource::Extrapolated,
                };
            }
            if t >= last.0 {
                return CurvePoint {
                    maturity,
                    rate: last.1,
                    source: PointSource::Extrapolated,
                };
            }
            let upper = known
                .iter()
                .position(|(years, _)| *years > t)
                .unwrap_or(known.len() - 1);
            let (t0, r0) = known[upper - 1];
            let (t1, r1) = known[upper];
            let rate = r0 + (r1 - r0) * (t - t0) / (t1 - t0);
            CurvePoint {
                maturity,
                rate,
                source: PointSource::Interpolated,
            }
        })
        .collect();
    Some(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings() {
        assert_eq!("ten_year".parse::<Maturity>().unwrap(), Maturity::TenYear);
        assert_eq!("10y".parse::<Maturity>().unwrap(), Maturity::TenYear);
        assert_eq!("'TEN_YEAR'".parse::<Maturity>().unwrap(), Maturity::TenYear);
        let err = "ELEVEN_YEAR".parse::<Maturity>().unwrap_err().to_string();
        assert!(err.contains("ELEVEN_YEAR") && err.contains("TEN_YEAR"));
    }

    #[test]
    fn fills_gaps_linearly_and_flat_at_the_ends() {
        let observed = [
            (Maturity::ThreeMonth, 0.04),
            (Maturity::OneYear, 0.05),
            (Maturity::TenYear, 0.03),
        ];
        let curve = complete_curve(&observed, &Maturity::ALL).unwrap();
        let get = |m: Maturity| curve.iter().find(|p| p.maturity == m).unwrap();
        assert_eq!(get(Maturity::OneMonth).source, PointSource::Extrapolated);
        assert_eq!(get(Maturity::OneMonth).rate, 0.04);
        let six = get(Maturity::SixMonth);
        assert_eq!(six.source, PointSource::Interpolated);
        assert!((six.rate - (0.04 + 0.01 * (0.25 / 0.75))).abs() < 1e-15);
        let five = get(Maturity::FiveYear);
        assert!((five.rate - (0.05 - 0.02 * 4.0 / 9.0)).abs() < 1e-15);
        assert_eq!(get(Maturity::ThirtyYear).rate, 0.03);
        assert_eq!(get(Maturity::TenYear).source, PointSource::Observed);
        assert!(complete_curve(&[], &Maturity::ALL).is_none());
    }
}
