//! The DynamoDB backend (`CACHE_MODE=dynamodb`).
//!
//! Tables and items follow scrilla 1.6.0's layouts exactly (`shared/spec/cloud-tables.md`), so a
//! cache can be shared with scrilla users: `prices` (ticker, date), `interest` (maturity, date),
//! `profile` (ticker, start_date) and `correlations` in either of its two published layouts
//! (`id`-keyed, as scrilla's code creates it, or (ticker_1, start_date) as its deployment document
//! shows). The layout of an existing table is read with `DescribeTable`, never assumed.
//!
//! scrilla's keys for `profile` (and the document layout of `correlations`) do not identify a
//! result: two profiles with the same ticker and start date but another end date or method share a
//! key. Stratus keeps the layout (it is the shared format) but never serves a wrong hit — a read
//! counts only when every identifying attribute matches — and a write replaces the colliding item
//! (last writer wins, as a cache may).
//!
//! Where that is not good enough, [`AnalyticsLayout::CollisionFree`] (an opt-in setting) keeps
//! profiles and correlations in Stratus's own tables instead, `stratus_profile` keyed by
//! (ticker, `profile_id` = start/end/method/weekends) and `stratus_correlations` keyed by scrilla's
//! full `id`, so no two results ever share a key; scrilla's tables are then left alone.
//!
//! Unlike scrilla: typed attribute values, `Query` with a correct `BETWEEN` on the sort key,
//! pagination everywhere, one client per process, batch writes of 25 with retries of
//! `UnprocessedItems` (exponential backoff with jitter), and SDK errors mapped to
//! [`StoreErrorKind`]s. Tables are created only by [`DynamoStore::provision`], with billing and
//! capacity from run-time settings; provisioned capacity is applied to every index too.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, LocalSecondaryIndex, Projection, ProjectionType,
    ProvisionedThroughput, PutRequest, ScalarAttributeType, Select, TableDescription, WriteRequest,
};
use chrono::NaiveDate;
use stratus_core::{Maturity, Method};
mod cache;
mod market;
mod requests;
mod tables;
mod tasks;

pub use tasks::DynamoTaskStore;

pub use stratus_store::tables::{AnalyticsLayout, CacheTables, CorrelationLayout};
mod batch_get;

use stratus_store::{
    ANALYTICS_VERSION, AnalyticsCache, Cached, Capabilities, CorrelationKey, DateRange, PriceRow,
    PriceStore, ProfileKey, ProfileRecord, Publication, RateRow, RateStore, Store, StoreError,
    StoreErrorKind, StoreResult, StoreStatus, TickerSummary, check_finite,
};

/// How tables are billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Billing {
    /// On demand (`PAY_PER_REQUEST`, the default).
    #[default]
    OnDemand,
    /// Provisioned read and write capacity units, for tables and every index.
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

/// Settings of the DynamoDB backend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DynamoSettings {
    /// Prefix of every table name (for stages and tests); empty for scrilla's names.
    pub table_prefix: String,
    /// Billing mode used when creating tables.
    pub billing: Billing,
    /// Which tables hold profiles and correlations.
    pub analytics: AnalyticsLayout,
    /// Longest wait for a connection (default [`DEFAULT_CONNECT_TIMEOUT`]).
    pub connect_timeout: Option<Duration>,
    /// Longest wait for one operation, retries included (default [`DEFAULT_TIMEOUT`]): an
    /// endpoint that accepts connections and never answers is an error, never a hang.
    pub timeout: Option<Duration>,
}

/// Connection timeout unless [`DynamoSettings::connect_timeout`] says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Operation timeout unless [`DynamoSettings::timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

const BATCH: usize = 25;
const MAX_BATCH_ATTEMPTS: u32 = 12;
const BATCHES_IN_FLIGHT: usize = 8;
/// Independent one-item queries sent at once (ticker date ranges).
const QUERIES_IN_FLIGHT: usize = 16;

/// One in-flight date-range lookup.
type RangeFuture<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = StoreResult<Option<DateRange>>> + Send + 'a>,
>;

/// One in-flight batch write (boxed: a closure here trips async-trait's lifetime inference).
type BatchFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = StoreResult<()>> + Send + 'a>>;

/// A store in four DynamoDB tables.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    endpoint: String,
    tables: CacheTables,
    analytics: AnalyticsLayout,
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: f64) -> AttributeValue {
    AttributeValue::N(format!("{value:?}"))
}

fn date_text(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

type Item = HashMap<String, AttributeValue>;

fn malformed(table: &str, what: String) -> StoreError {
    StoreError::new(
        StoreErrorKind::Invalid,
        format!("malformed item in table {table}: {what}"),
    )
}

fn get_s<'a>(table: &str, item: &'a Item, name: &str) -> StoreResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        other => Err(malformed(
            table,
            format!("attribute {name} should be a string, found {other:?}"),
        )),
    }
}

fn get_n(table: &str, item: &Item, name: &str) -> StoreResult<Option<f64>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse::<f64>()
            .map(Some)
            .map_err(|_| malformed(table, format!("attribute {name} = {v:?} is not a number"))),
        Some(other) => Err(malformed(
            table,
            format!("attribute {name} should be a number, found {other:?}"),
        )),
    }
}

fn get_date(table: &str, item: &Item, name: &str) -> StoreResult<NaiveDate> {
    let text = get_s(table, item, name)?;
    text.get(..10).and_then(|t| t.parse().ok()).ok_or_else(|| {
        malformed(
            table,
            format!("attribute {name} = {text:?} is not a YYYY-MM-DD date"),
        )
    })
}

/// The attribute that marks an analytics item as computed by Stratus with its current estimators
/// ([`ANALYTICS_VERSION`]); items without it (scrilla's, in a shared table) are never served.
const VERSION_ATTRIBUTE: &str = "stratus_version";

fn is_current(table: &str, item: &Item) -> StoreResult<bool> {
    Ok(get_n(table, item, VERSION_ATTRIBUTE)? == Some(ANALYTICS_VERSION as f64))
}

/// Says which of region or credentials is missing or wrong before any request is made: the SDK
/// would otherwise report either as a failure to reach DynamoDB, which it is not.
async fn check_region_and_credentials(
    config: &aws_config::SdkConfig,
    settings: &DynamoSettings,
) -> StoreResult<()> {
    use aws_sdk_dynamodb::config::ProvideCredentials;
    let unavailable = |message: String| StoreError::new(StoreErrorKind::Unavailable, message);
    let Some(region) = config.region() else {
        return Err(unavailable(
            "no AWS region is set for DynamoDB: set AWS_REGION (for example us-east-1), or AWS_PROFILE for a profile with a region".into(),
        ));
    };
    let name = region.as_ref();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(unavailable(format!(
            "the AWS region {name:?} is not a region name; set AWS_REGION to one such as us-east-1"
        )));
    }
    let how = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE; on AWS, give the function or instance a role";
    let Some(provider) = config.credentials_provider() else {
        return Err(unavailable(format!(
            "no AWS credentials are configured for DynamoDB: {how}"
        )));
    };
    let wait = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
    match tokio::time::timeout(wait, provider.provide_credentials()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unavailable(format!(
            "no AWS credentials found for DynamoDB ({}): {how}",
            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
        ))),
        Err(_) => Err(unavailable(format!(
            "looking up AWS credentials took more than {} s: {how}",
            wait.as_secs()
        ))),
    }
}

impl DynamoStore {
    /// Connects with the standard AWS configuration (region, credentials chain,
    /// `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_DYNAMODB` for a local emulator) and reads the
    /// layout of an existing `correlations` table. Creates nothing: see
    /// [`provision`](Self::provision).
    pub async fn connect(settings: &DynamoSettings) -> StoreResult<Self> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        Self::with_config(&config, settings).await
    }

    /// Like [`connect`](Self::connect), with an explicit SDK configuration (tests, tools).
    pub async fn with_config(
        config: &aws_config::SdkConfig,
        settings: &DynamoSettings,
    ) -> StoreResult<Self> {
        Self::with_client_config(config, settings, |builder| builder).await
    }

    /// Like [`with_config`](Self::with_config), letting the caller adjust the DynamoDB client's
    /// own configuration first (interceptors, retry policy, timeouts).
    pub async fn with_client_config(
        config: &aws_config::SdkConfig,
        settings: &DynamoSettings,
        customize: impl FnOnce(aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder,
    ) -> StoreResult<Self> {
        let endpoint = config
            .endpoint_url()
            .map(|u| format!("DynamoDB at {u}"))
            .unwrap_or_else(|| {
                format!(
                    "DynamoDB in {}",
                    config
                        .region()
                        .map_or("the default region".into(), |r| r.to_string())
                )
            });
        check_region_and_credentials(config, settings).await?;
        let connect_timeout = settings.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .connect_timeout(connect_timeout)
            .operation_attempt_timeout(timeout)
            .operation_timeout(timeout)
            .build();
        let builder = aws_sdk_dynamodb::config::Builder::from(config).timeout_config(timeouts);
        let client = Client::from_conf(customize(builder).build());
        let tables = |layout| CacheTables::new(&settings.table_prefix, settings.analytics, layout);
        let mut store = DynamoStore {
            client,
            endpoint,
            tables: tables(CorrelationLayout::IdKeyed),
            analytics: settings.analytics,
        };
        // Stratus's own correlations table is always id-keyed; only scrilla's has two layouts.
        let correlations = store.tables.correlations.name.clone();
        if settings.analytics == AnalyticsLayout::Scrilla
            && let Some(description) = store.describe(&correlations).await?
        {
            let layout = tables::correlation_layout(&description).ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Invalid,
                    format!("table {correlations} has neither scrilla correlations layout (id, or ticker_1/start_date)"),
                )
            })?;
            store.tables = tables(layout);
        }
        Ok(store)
    }

    /// The `correlations` layout in use.
    pub fn correlation_layout(&self) -> CorrelationLayout {
        self.tables.correlation_layout()
    }

    /// The tables this store reads and writes.
    pub fn tables(&self) -> &CacheTables {
        &self.tables
    }

    fn error<E, R>(&self, table: &str, operation: &str, error: SdkError<E, R>) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let (kind, message) = match &error {
            SdkError::TimeoutError(_) => (
                StoreErrorKind::Unavailable,
                format!(
                    "{} did not answer {operation} on {table} in time (STRATUS_DYNAMO_TIMEOUT); check that the endpoint is DynamoDB and reachable (AWS_ENDPOINT_URL, the region, the network)",
                    self.endpoint
                ),
            ),
            SdkError::DispatchFailure(failure) if failure.is_timeout() => (
                StoreErrorKind::Unavailable,
                format!(
                    "{} did not answer {operation} on {table} in time (STRATUS_DYNAMO_CONNECT_TIMEOUT); check AWS_ENDPOINT_URL, the region and the network",
                    self.endpoint
                ),
            ),
            SdkError::DispatchFailure(_) => (
                StoreErrorKind::Unavailable,
                format!(
                    "cannot reach {}: {operation} on {table} failed to connect; start DynamoDB or check AWS_ENDPOINT_URL and the region",
                    self.endpoint
                ),
            ),
            SdkError::ConstructionFailure(_) => (
                StoreErrorKind::Unavailable,
                format!(
                    "cannot build the DynamoDB {operation} request for {table} ({}); check AWS_REGION and the AWS credentials",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&error)
                ),
            ),
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("unknown");
                let detail = service.err().message().unwrap_or("");
                let kind = match code {
                    "ResourceNotFoundException" => StoreErrorKind::NotFound,
                    "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded" => StoreErrorKind::Throttled,
                    "ConditionalCheckFailedException" | "TransactionConflictException" => {
                        StoreErrorKind::Conflict
                    }
                    "ValidationException" | "SerializationException" => StoreErrorKind::Invalid,
                    "UnrecognizedClientException"
                    | "AccessDeniedException"
                    | "MissingAuthenticationToken" => StoreErrorKind::Unavailable,
                    _ => StoreErrorKind::Internal,
                };
                let hint = if kind == StoreErrorKind::NotFound {
                    "; create the tables with `stratus cache provision`"
                } else {
                    ""
                };
                (
                    kind,
                    format!("DynamoDB {operation} on {table}: {code}: {detail}{hint}"),
                )
            }
            _ => (
                StoreErrorKind::Internal,
                format!("DynamoDB {operation} on {table} failed: {error}"),
            ),
        };
        StoreError::with_source(kind, message, error)
    }
}

/// The sort key of a profile in the collision-free layout: every identifying field but the
/// ticker (the partition key), e.g. `2021-01-04/2021-12-31/moments/0`.
pub fn profile_id(key: &ProfileKey) -> String {
    format!(
        "{}/{}/{}/{}",
        date_text(key.start),
        date_text(key.end),
        key.method.as_str(),
        u8::from(key.weekends)
    )
}

/// scrilla's correlation id: ticker_1 + ticker_2 + end_date + start_date + method + weekends.
pub fn correlation_id(key: &CorrelationKey) -> String {
    format!(
        "{}{}{}{}{}{}",
        key.ticker_1,
        key.ticker_2,
        date_text(key.end),
        date_text(key.start),
        key.method.as_str(),
        u8::from(key.weekends)
    )
}

fn backoff(attempt: u32) -> Duration {
    // Exponential from 25 ms, capped at 2 s, with "full jitter" from the clock's nanoseconds.
    let ceiling = (25u64 << attempt.min(7)).min(2000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    Duration::from_millis(1 + u64::from(nanos) % ceiling)
}

#[async_trait]
impl Store for DynamoStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities::SHARED
    }

    fn backend(&self) -> &'static str {
        "dynamodb"
    }

    async fn status(&self) -> StoreResult<StoreStatus> {
        Ok(StoreStatus {
            description: format!(
                "dynamodb:{} (tables {}, {}, {}, {})",
                self.endpoint,
                self.tables.prices.name,
                self.tables.interest.name,
                self.tables.profile.name,
                self.tables.correlations.name
            ),
            prices: self.count(&self.tables.prices.name).await?,
            rates: self.count(&self.tables.interest.name).await?,
            profiles: self.count(&self.tables.profile.name).await?,
            correlations: self.count(&self.tables.correlations.name).await?,
        })
    }

    /// `DescribeTable`'s item counts: four small requests instead of a scan of every table.
    async fn estimated_status(&self) -> StoreResult<StoreStatus> {
        let mut counts = [0u64; 4];
        let tables = [
            &self.tables.prices.name,
            &self.tables.interest.name,
            &self.tables.profile.name,
            &self.tables.correlations.name,
        ];
        for (count, table) in counts.iter_mut().zip(tables) {
            *count = self
                .describe(table)
                .await?
                .and_then(|d| d.item_count)
                .map_or(0, |n| n.max(0) as u64);
        }
        Ok(StoreStatus {
            description: format!(
                "dynamodb:{} (tables {}, {}, {}, {}; item counts as DynamoDB last refreshed them)",
                self.endpoint,
                self.tables.prices.name,
                self.tables.interest.name,
                self.tables.profile.name,
                self.tables.correlations.name
            ),
            prices: counts[0],
            rates: counts[1],
            profiles: counts[2],
            correlations: counts[3],
        })
    }

    async fn clear_all(&self) -> StoreResult<()> {
        self.clear_analytics().await?;
        self.clear_table(&self.tables.prices.name.clone(), &["ticker", "date"])
            .await?;
        self.clear_table(&self.tables.interest.name.clone(), &["maturity", "date"])
            .await
    }
}

/// Parses a stored method name.
pub fn parse_method(text: &str) -> Option<Method> {
    text.parse().ok()
}
