//! One ingest run: every source in turn, each in isolation; then the exports and the report.
//!
//! A source's failure is recorded against it and the run moves on. Within a source, a problem
//! with one symbol (unknown, malformed answer) costs that symbol; a problem with the provider
//! itself (unreachable, timing out, refusing the key, out of daily calls) ends the source, since
//! every further call would fail the same way, slowly.
//!
//! Status, as in the calendar scraper's report: **Operational** (records, no problems),
//! **Errors** (records, but some symbols failed or records were rejected), **No data** (nothing
//! published, nothing wrong), **Broken** (problems and no records).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;
use stratus_analytics::{Analytics, AppError};
use stratus_app::LiveSettings;
use stratus_app::providers;
use stratus_core::Maturity;
use stratus_providers::bundled::Bundled;
use stratus_providers::{History, Provider, ProviderError, ProviderErrorKind};
use stratus_store::RateRow;

use crate::config::{IngestConfig, ProviderName, SourceConfig, SourceKind};
use crate::export::{Destination, ExportError, PutOutcome};
use crate::records::{Record, Rejected, dataset_name, to_csv, validate};

/// How a source fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    /// Records, no problems.
    Operational,
    /// Records, and some problems.
    Errors,
    /// No records, no problems.
    #[serde(rename = "No data")]
    NoData,
    /// Problems and no records.
    Broken,
}

impl Status {
    /// The report's wording.
    pub fn label(self) -> &'static str {
        match self {
            Status::Operational => "Operational",
            Status::Errors => "Errors",
            Status::NoData => "No data",
            Status::Broken => "Broken",
        }
    }

    /// Whether the source failed (the exit code says so).
    pub fn failed(self) -> bool {
        matches!(self, Status::Errors | Status::Broken)
    }
}

/// One source's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    /// Name from the config.
    pub name: String,
    /// Provider.
    pub provider: String,
    /// Dataset.
    pub dataset: String,
    /// Outcome.
    pub status: Status,
    /// Records that passed validation.
    pub records: usize,
    /// Rows written to the store (new dates; prices and yields only).
    pub stored: usize,
    /// Records rejected by validation (at most the first 20 are listed).
    pub rejected: usize,
    /// Examples of rejected records.
    pub rejected_examples: Vec<Rejected>,
    /// Problems, one line each.
    pub errors: Vec<String>,
    /// Seconds spent.
    pub duration_seconds: f64,
}

/// One exported object.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedObject {
    /// Full object path.
    pub path: String,
    /// Size in bytes.
    pub bytes: usize,
    /// Rows (excluding the header).
    pub rows: usize,
    /// What happened.
    pub outcome: PutOutcome,
}

/// The run report.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The date the files are stamped with.
    pub run_date: NaiveDate,
    /// Where the exports went.
    pub destination: String,
    /// Per source.
    pub sources: Vec<SourceReport>,
    /// Data objects exported (the report objects are not listed in themselves).
    pub exports: Vec<ExportedObject>,
    /// Seconds for the whole run.
    pub duration_seconds: f64,
}

impl RunReport {
    /// Whether any source failed.
    pub fn any_failed(&self) -> bool {
        self.sources.iter().any(|s| s.status.failed())
    }

    /// The report as CSV, one row per source.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([
            "run_date",
            "source",
            "provider",
            "dataset",
            "status",
            "records",
            "stored",
            "rejected",
            "duration_seconds",
            "errors",
        ]);
        for s in &self.sources {
            let _ = w.write_record([
                self.run_date.to_string(),
                s.name.clone(),
                s.provider.clone(),
                s.dataset.clone(),
                s.status.label().to_string(),
                s.records.to_string(),
                s.stored.to_string(),
                s.rejected.to_string(),
                format!("{:.3}", s.duration_seconds),
                s.errors.join(" | "),
            ]);
        }
        w.into_inner().unwrap_or_default()
    }
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// The date stamped on the files; records dated after it are rejected.
    pub run_date: NaiveDate,
    /// Overwrite existing objects.
    pub force: bool,
    /// Fetch full histories.
    pub full: bool,
}

/// What the run is doing, for a progress display.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    /// The run will make this many steps (symbols, yield and series fetches, exports).
    Planned(u64),
    /// One step done.
    Step(&'a str),
}

/// Why a run could not finish (source failures are not this: they are in the report).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The export failed.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The store failed (every source would fail the same way).
    #[error(transparent)]
    Store(#[from] AppError),
}

impl IngestError {
    /// The one classification every adapter uses: the destination or the store failed, which
    /// is never the command's fault.
    pub fn class(&self) -> stratus_analytics::ErrorClass {
        match self {
            IngestError::Export(_) => stratus_analytics::ErrorClass::Unavailable,
            IngestError::Store(e) if e.class().is_user_error() => {
                stratus_analytics::ErrorClass::Unavailable
            }
            IngestError::Store(e) => e.class(),
        }
    }
}

/// A record with the name of the source it came from.
type SourcedRecord = (String, Record);

struct Outcome {
    records: Vec<Record>,
    stored: usize,
    rejected: Vec<Rejected>,
    errors: Vec<String>,
}

fn provider_for(
    source: &SourceConfig,
    live_settings: &LiveSettings,
) -> Result<Arc<dyn Provider>, ProviderError> {
    let url = source.url.as_deref();
    Ok(match source.provider {
        ProviderName::Alphavantage => Arc::new(providers::alphavantage(live_settings, url)?),
        ProviderName::Csv => Arc::new(providers::csv_url(live_settings, url.unwrap_or_default())?),
        ProviderName::Treasury => Arc::new(providers::treasury(live_settings, url)?),
        ProviderName::Fred => Arc::new(providers::fred(live_settings, url)?),
        ProviderName::Bundled => Arc::new(Bundled),
    })
}

/// Whether an error is about the provider as a whole, so further calls are pointless.
fn ends_source(error: &ProviderError) -> bool {
    matches!(
        error.kind(),
        ProviderErrorKind::Unavailable
            | ProviderErrorKind::Credentials
            | ProviderErrorKind::Throttled
            | ProviderErrorKind::Unsupported
    )
}

fn steps(source: &SourceConfig) -> u64 {
    match source.kind() {
        SourceKind::Prices | SourceKind::Dividends => source.symbols.len() as u64,
        SourceKind::Series => source.series.len() as u64,
        SourceKind::Yields => 1,
    }
}

/// Runs every source, stores what passes validation, exports, and returns the report.
pub async fn ingest(
    analytics: &Analytics,
    live: &LiveSettings,
    config: &IngestConfig,
    destination: &Destination,
    options: &IngestOptions,
    observer: &(dyn Fn(Event<'_>) + Sync),
) -> Result<RunReport, IngestError> {
    let started = Instant::now();
    let planned: u64 = config.sources.iter().map(steps).sum::<u64>() + 6;
    observer(Event::Planned(planned));
    let mut reports = Vec::with_capacity(config.sources.len());
    let mut datasets: BTreeMap<&'static str, (SourceKind, Vec<SourcedRecord>)> = BTreeMap::new();
    for source in &config.sources {
        let source_started = Instant::now();
        let outcome = match provider_for(source, live) {
            Ok(provider) => {
                run_source(analytics, source, provider.as_ref(), options, observer).await?
            }
            Err(e) => {
                for _ in 0..steps(source) {
                    observer(Event::Step(&source.name));
                }
                Outcome {
                    records: Vec::new(),
                    stored: 0,
                    rejected: Vec::new(),
                    errors: vec![e.to_string()],
                }
            }
        };
        let status = match (
            outcome.errors.is_empty(),
            outcome.rejected.is_empty(),
            outcome.records.is_empty(),
        ) {
            (false, _, true) => Status::Broken,
            (false, _, false) | (true, false, _) => Status::Errors,
            (true, true, true) => Status::NoData,
            (true, true, false) => Status::Operational,
        };
        reports.push(SourceReport {
            name: source.name.clone(),
            provider: format!("{:?}", source.provider).to_ascii_lowercase(),
            dataset: dataset_name(source.kind()).to_string(),
            status,
            records: outcome.records.len(),
            stored: outcome.stored,
            rejected: outcome.rejected.len(),
            rejected_examples: outcome.rejected.into_iter().take(20).collect(),
            errors: outcome.errors,
            duration_seconds: source_started.elapsed().as_secs_f64(),
        });
        let entry = datasets
            .entry(dataset_name(source.kind()))
            .or_insert_with(|| (source.kind(), Vec::new()));
        entry.1.extend(
            outcome
                .records
                .into_iter()
                .map(|r| (source.name.clone(), r)),
        );
    }

    let mut exports = Vec::new();
    for (name, (kind, mut rows)) in datasets {
        observer(Event::Step("export"));
        if rows.is_empty() {
            continue;
        }
        let relative = format!("{name}/{name}-{}.csv", options.run_date);
        let bytes = to_csv(kind, &mut rows);
        let size = bytes.len();
        let outcome = destination.put(&relative, bytes, options.force).await?;
        exports.push(ExportedObject {
            path: destination.path_of(&relative),
            bytes: size,
            rows: rows.len(),
            outcome,
        });
    }
    let report = RunReport {
        run_date: options.run_date,
        destination: destination.shown().to_string(),
        sources: reports,
        exports,
        duration_seconds: started.elapsed().as_secs_f64(),
    };
    // The reports go last: their presence says the run's data objects are all there.
    let stem = format!("reports/ingest-report-{}", options.run_date);
    destination
        .put(&format!("{stem}.csv"), report.to_csv(), options.force)
        .await?;
    let json = serde_json::to_vec_pretty(&report).unwrap_or_default();
    destination
        .put(&format!("{stem}.json"), json, options.force)
        .await?;
    observer(Event::Step("report"));
    Ok(report)
}

async fn run_source(
    analytics: &Analytics,
    source: &SourceConfig,
    provider: &dyn Provider,
    options: &IngestOptions,
    observer: &(dyn Fn(Event<'_>) + Sync),
) -> Result<Outcome, IngestError> {
    let mut out = Outcome {
        records: Vec::new(),
        stored: 0,
        rejected: Vec::new(),
        errors: Vec::new(),
    };
    let today = options.run_date;
    let lookback = chrono::Duration::days(i64::from(source.lookback_days.unwrap_or(30)));
    match source.kind() {
        SourceKind::Prices | SourceKind::Dividends => {
            let mut stopped: Option<String> = None;
            for symbol in &source.symbols {
                observer(Event::Step(&source.name));
                if let Some(reason) = &stopped {
                    out.errors.push(format!("{symbol}: not fetched ({reason})"));
                    continue;
                }
                let result = if source.kind() == SourceKind::Prices {
                    fetch_prices(analytics, provider, symbol, options, &mut out).await
                } else {
                    fetch_dividends(provider, symbol, today, &mut out).await
                };
                match result {
                    Ok(()) => {}
                    Err(FetchError::Provider(e)) => {
                        if ends_source(&e) {
                            stopped =
                                Some(format!("{} failed earlier in this run", provider.name()));
                        }
                        out.errors.push(format!("{symbol}: {e}"));
                    }
                    Err(FetchError::Store(e)) => return Err(e.into()),
                }
            }
        }
        SourceKind::Yields => {
            observer(Event::Step(&source.name));
            let wanted: Vec<Maturity> = source
                .maturities
                .iter()
                .filter_map(|m| m.parse().ok())
                .collect();
            match provider.treasury_yields(today - lookback, today).await {
                Ok(points) => {
                    let records = points
                        .into_iter()
                        .filter(|y| wanted.is_empty() || wanted.contains(&y.maturity))
                        .map(|y| Record {
                            key: y.maturity.name().to_string(),
                            date: y.date,
                            value: y.percent,
                            open: None,
                        })
                        .collect();
                    let (good, bad) = validate(SourceKind::Yields, records, today);
                    let rows: Vec<RateRow> = good
                        .iter()
                        .filter_map(|r| {
                            Some(RateRow {
                                maturity: r.key.parse().ok()?,
                                date: r.date,
                                percent: r.value,
                            })
                        })
                        .collect();
                    out.stored += analytics
                        .store()
                        .put_rates(&rows)
                        .await
                        .map_err(AppError::from)?;
                    out.records.extend(good);
                    out.rejected.extend(bad);
                }
                Err(e) => out.errors.push(e.to_string()),
            }
        }
        SourceKind::Series => {
            let mut stopped = false;
            for code in &source.series {
                observer(Event::Step(&source.name));
                if stopped {
                    out.errors.push(format!(
                        "{code}: not fetched (fred failed earlier in this run)"
                    ));
                    continue;
                }
                match provider.series(code, today - lookback, today).await {
                    Ok(observations) => {
                        let records = observations
                            .into_iter()
                            .map(|o| Record {
                                key: o.series,
                                date: o.date,
                                value: o.value,
                                open: None,
                            })
                            .collect();
                        let (good, bad) = validate(SourceKind::Series, records, today);
                        out.records.extend(good);
                        out.rejected.extend(bad);
                    }
                    Err(e) => {
                        stopped = ends_source(&e);
                        out.errors.push(format!("{code}: {e}"));
                    }
                }
            }
        }
    }
    Ok(out)
}

enum FetchError {
    Provider(ProviderError),
    Store(AppError),
}

impl From<ProviderError> for FetchError {
    fn from(e: ProviderError) -> Self {
        FetchError::Provider(e)
    }
}

impl From<AppError> for FetchError {
    /// A provider failure inside a service call is still about this symbol, not the store.
    fn from(e: AppError) -> Self {
        match e {
            AppError::Provider(p) => FetchError::Provider(p),
            other => FetchError::Store(other),
        }
    }
}

async fn fetch_prices(
    analytics: &Analytics,
    provider: &dyn Provider,
    symbol: &str,
    options: &IngestOptions,
    out: &mut Outcome,
) -> Result<(), FetchError> {
    let ticker = stratus_providers::normalise_ticker(symbol).ok_or_else(|| {
        ProviderError::UnknownSymbol {
            provider: provider.name().to_string(),
            symbol: symbol.to_string(),
            detail: "not a ticker symbol".into(),
        }
    })?;
    let history = if options.full {
        History::Full
    } else {
        analytics
            .history_needed(&ticker)
            .await?
            .unwrap_or(History::Recent)
    };
    let mut points = provider.daily_prices(&ticker, history).await?;
    let (good, bad) = validate_prices(&mut points, options.run_date);
    out.rejected.extend(bad);
    let run_date = options.run_date;
    let merged = analytics
        .store_fetched(
            provider,
            &ticker,
            &points,
            history == History::Full,
            move |mut whole| {
                validate_prices(&mut whole, run_date);
                whole
            },
        )
        .await?;
    out.stored += merged.written;
    out.records.extend(good);
    Ok(())
}

/// Validates fetched prices; leaves only the good ones in `points` and returns them as records
/// with the rejected ones.
fn validate_prices(
    points: &mut Vec<stratus_providers::PricePoint>,
    today: NaiveDate,
) -> (Vec<Record>, Vec<Rejected>) {
    let records: Vec<Record> = points
        .iter()
        .map(|p| Record {
            key: p.ticker.clone(),
            date: p.date,
            value: p.close,
            open: p.open,
        })
        .collect();
    let (good, bad) = validate(SourceKind::Prices, records, today);
    let keep: std::collections::HashSet<NaiveDate> = good.iter().map(|r| r.date).collect();
    points.retain(|p| keep.contains(&p.date));
    points.dedup_by_key(|p| p.date);
    (good, bad)
}

async fn fetch_dividends(
    provider: &dyn Provider,
    symbol: &str,
    today: NaiveDate,
    out: &mut Outcome,
) -> Result<(), FetchError> {
    let payments = provider.dividends(symbol).await?;
    let records = payments
        .into_iter()
        .map(|d| Record {
            key: d.ticker,
            date: d.date,
            value: d.amount,
            open: None,
        })
        .collect();
    let (good, bad) = validate(SourceKind::Dividends, records, today);
    out.records.extend(good);
    out.rejected.extend(bad);
    Ok(())
}
