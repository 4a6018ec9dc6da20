//! The scheduled ingest job, after the calendar scraper our notes describe: each source runs in
//! isolation and is validated record by record, what passes is stored, and the run leaves
//! date-stamped CSVs plus a report (JSON and CSV, one status per source) in a folder or an S3
//! prefix — written whole and never clobbered by a rerun. `schedule` turns cron expressions
//! into run times for a long-running process.

pub mod config;
pub mod export;
pub mod records;
pub mod run;
pub mod schedule;

pub use config::{IngestConfig, ProviderName, SourceConfig, SourceKind};
pub use export::{Destination, ExportError, PutOutcome};
pub use run::{Event, IngestError, IngestOptions, RunReport, SourceReport, Status, ingest};
