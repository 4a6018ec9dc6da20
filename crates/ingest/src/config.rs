//! The ingest config file (`ingest.toml`): where to export, and the sources.
//!
//! Provider keys and default URLs come from the environment (`ALPHA_VANTAGE_KEY`, `FRED_KEY`,
//! …) exactly as for every other command, so a secret never sits in a config file that may be
//! committed; a source may point at another URL (a mirror, a test server) with `url`.

use std::path::Path;

use serde::Deserialize;

/// A whole ingest config.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// A local folder or `s3://bucket/prefix`.
    pub destination: String,
    /// The sources, run in order, each in isolation.
    #[serde(rename = "source", default)]
    pub sources: Vec<SourceConfig>,
}

/// What a source fetches.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Daily prices (AlphaVantage, a CSV URL, or the bundled data).
    Prices,
    /// Dividend payments (AlphaVantage).
    Dividends,
    /// Treasury par yields.
    Yields,
    /// FRED series.
    Series,
}

/// Which provider a source uses.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProviderName {
    /// AlphaVantage (prices, dividends).
    Alphavantage,
    /// A CSV URL (prices).
    Csv,
    /// The US Treasury feed (yields).
    Treasury,
    /// FRED (series).
    Fred,
    /// The bundled dataset (prices, yields), for offline runs and benchmarks.
    Bundled,
}

/// One source.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Name in the report.
    pub name: String,
    /// Provider.
    pub provider: ProviderName,
    /// What it fetches (default: prices for alphavantage/csv/bundled, yields for treasury,
    /// series for fred).
    #[serde(default)]
    pub kind: Option<SourceKind>,
    /// Tickers (prices, dividends).
    #[serde(default)]
    pub symbols: Vec<String>,
    /// FRED series codes (series).
    #[serde(default)]
    pub series: Vec<String>,
    /// Maturities to keep (yields; default all), e.g. `["TEN_YEAR", "3M"]`.
    #[serde(default)]
    pub maturities: Vec<String>,
    /// Days back from the run date for yields and series (default 30).
    #[serde(default)]
    pub lookback_days: Option<u32>,
    /// Another base URL for this source's provider.
    #[serde(default)]
    pub url: Option<String>,
}

impl SourceConfig {
    /// The kind, defaulted from the provider.
    pub fn kind(&self) -> SourceKind {
        self.kind.unwrap_or(match self.provider {
            ProviderName::Treasury => SourceKind::Yields,
            ProviderName::Fred => SourceKind::Series,
            _ => SourceKind::Prices,
        })
    }
}

/// A config that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    /// The file.
    pub path: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl IngestConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<IngestConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: shown.clone(),
            reason: format!("cannot read it ({e}); pass --config FILE (see ingest.example.toml)"),
        })?;
        Self::parse(&shown, &text)
    }

    /// Parses and checks config text; `path` names it in errors.
    pub fn parse(path: &str, text: &str) -> Result<IngestConfig, ConfigError> {
        let error = |reason: String| ConfigError {
            path: path.to_string(),
            reason,
        };
        let config: IngestConfig = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        if config.destination.trim().is_empty() {
            return Err(error(
                "`destination` is empty; give a folder or s3://bucket/prefix".into(),
            ));
        }
        if config.sources.is_empty() {
            return Err(error("no [[source]] tables; add at least one".into()));
        }
        let mut names = std::collections::HashSet::new();
        for source in &config.sources {
            let at = format!("source {:?}", source.name);
            if source.name.trim().is_empty() || !names.insert(source.name.clone()) {
                return Err(error(format!(
                    "{at}: every source needs a unique, non-empty name"
                )));
            }
            let allowed = match source.provider {
                ProviderName::Alphavantage => &[SourceKind::Prices, SourceKind::Dividends][..],
                ProviderName::Csv => &[SourceKind::Prices],
                ProviderName::Treasury => &[SourceKind::Yields],
                ProviderName::Fred => &[SourceKind::Series],
                ProviderName::Bundled => &[SourceKind::Prices, SourceKind::Yields],
            };
            if !allowed.contains(&source.kind()) {
                return Err(error(format!(
                    "{at}: provider {:?} does not offer {:?}",
                    source.provider,
                    source.kind()
                )));
            }
            let needs = match source.kind() {
                SourceKind::Prices | SourceKind::Dividends => {
                    (source.symbols.is_empty(), "symbols = [\"AAPL\", …]")
                }
                SourceKind::Series => (source.series.is_empty(), "series = [\"UNRATE\", …]"),
                SourceKind::Yields => (false, ""),
            };
            if needs.0 {
                return Err(error(format!("{at}: nothing to fetch; add {}", needs.1)));
            }
            if source.provider == ProviderName::Csv && source.url.is_none() {
                return Err(error(format!(
                    "{at}: a csv source needs url = \"https://…/{{ticker}}.csv\""
                )));
            }
            for m in &source.maturities {
                m.parse::<stratus_core::Maturity>()
                    .map_err(|e| error(format!("{at}: {e}")))?;
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../../ingest.example.toml");
        let config = IngestConfig::parse("ingest.example.toml", text).unwrap();
        assert!(config.sources.len() >= 4);
    }

    #[test]
    fn bad_configs_say_what_to_fix() {
        let err = |text: &str| IngestConfig::parse("x.toml", text).unwrap_err().to_string();
        assert!(err("destination = \"out\"").contains("no [[source]]"));
        assert!(
            err("destination = \"out\"\n[[source]]\nname = \"a\"\nprovider = \"alphavantage\"\n")
                .contains("symbols")
        );
        assert!(
            err("destination = \"out\"\n[[source]]\nname = \"a\"\nprovider = \"fred\"\nkind = \"prices\"\nsymbols=[\"A\"]\n")
                .contains("does not offer")
        );
        assert!(
            err("destination = \"out\"\n[[source]]\nname = \"a\"\nprovider = \"nope\"\n")
                .contains("unknown variant")
        );
        assert!(
            err("destination = \"out\"\n[[source]]\nname = \"t\"\nprovider = \"treasury\"\nmaturities = [\"11Y\"]\n")
                .contains("source \"t\"")
        );
    }
}
