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
    KeySchemaElement, KeyType, Projection, ProjectionType, ProvisionedThroughput, PutRequest,
    ScalarAttributeType, Select, TableDescription, WriteRequest,
};
use chrono::NaiveDate;
use stratus_core::{Maturity, Method};
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

/// Where profiles and correlations live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AnalyticsLayout {
    /// scrilla's `profile` and `correlations` tables, shared with scrilla; a result whose
    /// scrilla key collides with another's replaces it (last writer wins, never a wrong hit).
    #[default]
    Scrilla,
    /// Stratus's own `stratus_profile` and `stratus_correlations` tables, keyed by every
    /// identifying field, so results never displace each other.
    CollisionFree,
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

/// Which `correlations` layout a table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationLayout {
    /// `id` HASH (what scrilla 1.6.0's code creates; one item per ticker order).
    IdKeyed,
    /// `ticker_1` HASH, `start_date` RANGE (scrilla's deployment document).
    Document,
}

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
pub struct DynamoStore {
    client: Client,
    endpoint: String,
    prices: String,
    interest: String,
    profile: String,
    correlations: String,
    layout: CorrelationLayout,
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
    /// The first (`first`) or last date with a price for `ticker`: one key query of one item.
    async fn end_price_date(&self, ticker: &str, first: bool) -> StoreResult<Option<NaiveDate>> {
        let output = self
            .client
            .query()
            .table_name(&self.prices)
            .key_condition_expression("ticker = :t")
            .expression_attribute_values(":t", s(ticker))
            .scan_index_forward(first)
            .limit(1)
            .send()
            .await
            .map_err(|e| self.error(&self.prices, "Query", e))?;
        output
            .items()
            .first()
            .map(|item| get_date(&self.prices, item, "date"))
            .transpose()
    }

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
        let name = |base: &str| format!("{}{base}", settings.table_prefix);
        let (profile, correlations) = match settings.analytics {
            AnalyticsLayout::Scrilla => (name("profile"), name("correlations")),
            AnalyticsLayout::CollisionFree => {
                (name("stratus_profile"), name("stratus_correlations"))
            }
        };
        let mut store = DynamoStore {
            client,
            endpoint,
            prices: name("prices"),
            interest: name("interest"),
            profile,
            correlations,
            layout: CorrelationLayout::IdKeyed,
            analytics: settings.analytics,
        };
        // Stratus's own correlations table is always id-keyed; only scrilla's has two layouts.
        if settings.analytics == AnalyticsLayout::Scrilla
            && let Some(description) = store.describe(&store.correlations.clone()).await?
        {
            store.layout = correlation_layout(&description).ok_or_else(|| {
                StoreError::new(
                    StoreErrorKind::Invalid,
                    format!("table {} has neither scrilla correlations layout (id, or ticker_1/start_date)", store.correlations),
                )
            })?;
        }
        Ok(store)
    }

    /// The `correlations` layout in use.
    pub fn correlation_layout(&self) -> CorrelationLayout {
        self.layout
    }

    /// The key attributes of the profile table.
    fn profile_key_names(&self) -> &'static [&'static str] {
        match self.analytics {
            AnalyticsLayout::Scrilla => &["ticker", "start_date"],
            AnalyticsLayout::CollisionFree => &["ticker", "profile_id"],
        }
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

    async fn describe(&self, table: &str) -> StoreResult<Option<TableDescription>> {
        match self.client.describe_table().table_name(table).send().await {
            Ok(output) => Ok(output.table),
            Err(e) => {
                let error = self.error(table, "DescribeTable", e);
                if error.kind == StoreErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Creates the four tables that do not exist yet (idempotent) and checks the layout of those
    /// that do. Returns the tables created.
    pub async fn provision(&self, billing: Billing) -> StoreResult<Vec<String>> {
        let mut created = Vec::new();
        for spec in self.table_specs() {
            match self.describe(&spec.name).await? {
                Some(existing) => spec.check(&existing)?,
                None => {
                    self.create(&spec, billing).await?;
                    created.push(spec.name.clone());
                }
            }
        }
        // Wait until every table is ACTIVE (DynamoDB creates asynchronously).
        for spec in self.table_specs() {
            for attempt in 0..120 {
                let status = self
                    .describe(&spec.name)
                    .await?
                    .and_then(|d| d.table_status().map(|s| s.as_str().to_string()));
                if status.as_deref() == Some("ACTIVE") {
                    break;
                }
                if attempt == 119 {
                    return Err(StoreError::new(
                        StoreErrorKind::Unavailable,
                        format!("table {} did not become active", spec.name),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Ok(created)
    }

    fn table_specs(&self) -> Vec<TableSpec> {
        let s_attr = |name: &str| (name.to_string(), ScalarAttributeType::S);
        let n_attr = |name: &str| (name.to_string(), ScalarAttributeType::N);
        let correlations = match self.layout {
            CorrelationLayout::IdKeyed => TableSpec {
                name: self.correlations.clone(),
                attributes: vec![
                    s_attr("id"),
                    s_attr("ticker_1"),
                    s_attr("ticker_2"),
                    s_attr("start_date"),
                    s_attr("end_date"),
                    s_attr("method"),
                    n_attr("weekends"),
                ],
                hash: "id".into(),
                range: None,
                indexes: vec![
                    IndexSpec::new(
                        "AssetTelescoping1",
                        "ticker_1",
                        Some("start_date"),
                        ProjectionType::KeysOnly,
                    ),
                    IndexSpec::new(
                        "AssetTelescoping2",
                        "ticker_2",
                        Some("end_date"),
                        ProjectionType::KeysOnly,
                    ),
                    IndexSpec::new(
                        "WeekendTelescoping",
                        "weekends",
                        None,
                        ProjectionType::KeysOnly,
                    ),
                    IndexSpec::new("EstimationTelescoping", "method", None, ProjectionType::All),
                ],
            },
            CorrelationLayout::Document => TableSpec {
                name: self.correlations.clone(),
                attributes: vec![
                    s_attr("ticker_1"),
                    s_attr("ticker_2"),
                    s_attr("start_date"),
                    s_attr("end_date"),
                    s_attr("method"),
                    n_attr("weekends"),
                ],
                hash: "ticker_1".into(),
                range: Some("start_date".into()),
                indexes: vec![
                    IndexSpec::new(
                        "AssetTelescoping",
                        "ticker_2",
                        Some("end_date"),
                        ProjectionType::KeysOnly,
                    ),
                    IndexSpec::new(
                        "WeekendTelescoping",
                        "weekends",
                        None,
                        ProjectionType::KeysOnly,
                    ),
                    IndexSpec::new("EstimationTelescoping", "method", None, ProjectionType::All),
                ],
            },
        };
        vec![
            TableSpec {
                name: self.prices.clone(),
                attributes: vec![s_attr("ticker"), s_attr("date")],
                hash: "ticker".into(),
                range: Some("date".into()),
                indexes: vec![],
            },
            TableSpec {
                name: self.interest.clone(),
                attributes: vec![s_attr("maturity"), s_attr("date")],
                hash: "maturity".into(),
                range: Some("date".into()),
                indexes: vec![],
            },
            match self.analytics {
                AnalyticsLayout::CollisionFree => TableSpec {
                    name: self.profile.clone(),
                    attributes: vec![s_attr("ticker"), s_attr("profile_id")],
                    hash: "ticker".into(),
                    range: Some("profile_id".into()),
                    indexes: vec![],
                },
                AnalyticsLayout::Scrilla => TableSpec {
                    name: self.profile.clone(),
                    attributes: vec![
                        s_attr("ticker"),
                        s_attr("start_date"),
                        s_attr("end_date"),
                        s_attr("method"),
                        n_attr("weekends"),
                    ],
                    hash: "ticker".into(),
                    range: Some("start_date".into()),
                    indexes: vec![
                        IndexSpec::new(
                            "DateTelescoping",
                            "weekends",
                            Some("end_date"),
                            ProjectionType::KeysOnly,
                        ),
                        IndexSpec::new(
                            "EstimationTelescoping",
                            "method",
                            None,
                            ProjectionType::All,
                        ),
                    ],
                },
            },
            correlations,
        ]
    }

    async fn create(&self, spec: &TableSpec, billing: Billing) -> StoreResult<()> {
        let invalid = |e: aws_sdk_dynamodb::error::BuildError| {
            StoreError::new(StoreErrorKind::Invalid, e.to_string())
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(invalid)
        };
        let throughput = |read: i64, write: i64| {
            ProvisionedThroughput::builder()
                .read_capacity_units(read)
                .write_capacity_units(write)
                .build()
                .map_err(invalid)
        };
        let mut request = self.client.create_table().table_name(&spec.name);
        for (name, kind) in &spec.attributes {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(kind.clone())
                    .build()
                    .map_err(invalid)?,
            );
        }
        request = request.key_schema(key(&spec.hash, KeyType::Hash)?);
        if let Some(range) = &spec.range {
            request = request.key_schema(key(range, KeyType::Range)?);
        }
        for index in &spec.indexes {
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .key_schema(key(&index.hash, KeyType::Hash)?)
                .projection(
                    Projection::builder()
                        .projection_type(index.projection.clone())
                        .build(),
                );
            if let Some(range) = &index.range {
                gsi = gsi.key_schema(key(range, KeyType::Range)?);
            }
            if let Billing::Provisioned { read, write } = billing {
                gsi = gsi.provisioned_throughput(throughput(read, write)?);
            }
            request = request.global_secondary_indexes(gsi.build().map_err(invalid)?);
        }
        request = match billing {
            Billing::OnDemand => request.billing_mode(BillingMode::PayPerRequest),
            Billing::Provisioned { read, write } => request
                .billing_mode(BillingMode::Provisioned)
                .provisioned_throughput(throughput(read, write)?),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let error = self.error(&spec.name, "CreateTable", e);
                // Created concurrently by someone else: fine, the layout check runs next time.
                if error.message.contains("ResourceInUseException") {
                    Ok(())
                } else {
                    Err(error)
                }
            }
        }
    }

    /// Writes items in batches of 25, retrying unprocessed items with exponential backoff and
    /// jitter until all are written or the attempts run out (then `Throttled`).
    async fn batch_write(&self, table: &str, requests: Vec<WriteRequest>) -> StoreResult<usize> {
        use futures_util::stream::{self, StreamExt};
        let total = requests.len();
        // Several batches in flight at once: DynamoDB serves them in parallel, and one request at
        // a time leaves the connection idle most of the round trip.
        let mut writes: Vec<BatchFuture<'_>> = Vec::with_capacity(requests.len() / BATCH + 1);
        for chunk in requests.chunks(BATCH) {
            writes.push(Box::pin(self.write_batch(table, chunk.to_vec())));
        }
        let results: Vec<StoreResult<()>> = stream::iter(writes)
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .collect()
            .await;
        for result in results {
            result?;
        }
        Ok(total)
    }

    /// One batch of at most 25, retried until DynamoDB has processed every item.
    async fn write_batch(&self, table: &str, batch: Vec<WriteRequest>) -> StoreResult<()> {
        let mut pending = batch;
        let mut attempt = 0u32;
        let mut throttled: Option<StoreError>;
        loop {
            let result = self
                .client
                .batch_write_item()
                .request_items(table, pending.clone())
                .send()
                .await;
            let unprocessed = match result {
                Ok(output) => {
                    throttled = None;
                    output
                        .unprocessed_items
                        .and_then(|mut m| m.remove(table))
                        .unwrap_or_default()
                }
                Err(e) => {
                    let error = self.error(table, "BatchWriteItem", e);
                    if error.kind != StoreErrorKind::Throttled {
                        return Err(error);
                    }
                    throttled = Some(error);
                    pending.clone()
                }
            };
            if unprocessed.is_empty() {
                return Ok(());
            }
            attempt += 1;
            if attempt >= MAX_BATCH_ATTEMPTS {
                let gave_up = format!(
                    "DynamoDB kept {} items of a batch to {table} unprocessed after {attempt} attempts; retry later or raise the table's write capacity",
                    unprocessed.len()
                );
                return Err(match throttled {
                    Some(last) => StoreError::new(
                        StoreErrorKind::Throttled,
                        format!("{gave_up} (last answer: {})", last.message),
                    ),
                    None => StoreError::new(StoreErrorKind::Throttled, gave_up),
                });
            }
            tokio::time::sleep(backoff(attempt)).await;
            pending = unprocessed;
        }
    }

    async fn query_all(
        &self,
        table: &str,
        request: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let output = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error(table, "Query", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    /// Every item of `table` with hash key `key` = `value` and a `date` in `[start, end]`.
    async fn dated_range(
        &self,
        table: &str,
        key: &str,
        value: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<Item>> {
        let request = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("#k = :k AND #d BETWEEN :s AND :e")
            .expression_attribute_names("#k", key)
            .expression_attribute_names("#d", "date")
            .expression_attribute_values(":k", s(value))
            .expression_attribute_values(":s", s(date_text(start)))
            .expression_attribute_values(":e", s(date_text(end)));
        self.query_all(table, request).await
    }

    async fn scan_all(
        &self,
        table: &str,
        projection: Option<(&str, &[(&str, &str)])>,
    ) -> StoreResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut request = self
                .client
                .scan()
                .table_name(table)
                .set_exclusive_start_key(start.take());
            if let Some((expression, names)) = projection {
                request = request.projection_expression(expression);
                for (placeholder, name) in names {
                    request = request.expression_attribute_names(*placeholder, *name);
                }
            }
            let output = request
                .send()
                .await
                .map_err(|e| self.error(table, "Scan", e))?;
            items.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }

    async fn count(&self, table: &str) -> StoreResult<u64> {
        let mut total = 0u64;
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(table)
                .select(Select::Count)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.error(table, "Scan", e))?;
            total += output.count.max(0) as u64;
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(total),
            }
        }
    }

    /// Deletes every item of `table` whose key attributes are `keys`.
    async fn delete_keys(&self, table: &str, keys: Vec<Item>) -> StoreResult<()> {
        let requests = keys
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(|e| StoreError::new(StoreErrorKind::Invalid, e.to_string()))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        self.batch_write(table, requests).await.map(|_| ())
    }

    async fn clear_table(&self, table: &str, key_names: &[&str]) -> StoreResult<()> {
        let names: Vec<(String, &str)> = key_names
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("#k{i}"), *k))
            .collect();
        let expression = names
            .iter()
            .map(|(p, _)| p.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let pairs: Vec<(&str, &str)> = names.iter().map(|(p, k)| (p.as_str(), *k)).collect();
        let items = self.scan_all(table, Some((&expression, &pairs))).await?;
        self.delete_keys(table, items).await
    }

    fn correlation_item(&self, key: &CorrelationKey, value: f64) -> Item {
        let weekends = if key.weekends { "1" } else { "0" };
        let mut item: Item = [
            ("ticker_1".to_string(), s(&key.ticker_1)),
            ("ticker_2".to_string(), s(&key.ticker_2)),
            ("start_date".to_string(), s(date_text(key.start))),
            ("end_date".to_string(), s(date_text(key.end))),
            ("method".to_string(), s(key.method.as_str())),
            ("weekends".to_string(), AttributeValue::N(weekends.into())),
            ("correlation".to_string(), n(value)),
            (
                VERSION_ATTRIBUTE.to_string(),
                AttributeValue::N(ANALYTICS_VERSION.to_string()),
            ),
        ]
        .into();
        if self.layout == CorrelationLayout::IdKeyed {
            item.insert("id".into(), s(correlation_id(key)));
        }
        item
    }

    fn profile_key_item(&self, key: &ProfileKey) -> Item {
        let range = match self.analytics {
            AnalyticsLayout::Scrilla => ("start_date".to_string(), s(date_text(key.start))),
            AnalyticsLayout::CollisionFree => ("profile_id".to_string(), s(profile_id(key))),
        };
        [("ticker".to_string(), s(&key.ticker)), range].into()
    }

    fn correlation_key_item(&self, key: &CorrelationKey) -> Item {
        match self.layout {
            CorrelationLayout::IdKeyed => [("id".to_string(), s(correlation_id(key)))].into(),
            CorrelationLayout::Document => [
                ("ticker_1".to_string(), s(&key.ticker_1)),
                ("start_date".to_string(), s(date_text(key.start))),
            ]
            .into(),
        }
    }
}

impl DynamoStore {
    /// The profile `item` holds for `key`: scrilla's key is (ticker, start_date), so only a full
    /// identity match is a hit, and only an item Stratus wrote with its current estimators.
    pub(crate) fn profile_from(
        &self,
        key: &ProfileKey,
        item: &Item,
    ) -> StoreResult<Option<ProfileRecord>> {
        let table = &self.profile;
        let matches = is_current(table, item)?
            && get_s(table, item, "ticker")? == key.ticker
            && get_s(table, item, "start_date")? == date_text(key.start)
            && get_s(table, item, "end_date")? == date_text(key.end)
            && get_s(table, item, "method")? == key.method.as_str()
            && get_n(table, item, "weekends")? == Some(f64::from(u8::from(key.weekends)));
        if !matches {
            return Ok(None);
        }
        let (Some(annual_return), Some(annual_volatility)) = (
            get_n(table, item, "annual_return")?,
            get_n(table, item, "annual_volatility")?,
        ) else {
            return Ok(None);
        };
        Ok(Some(ProfileRecord {
            annual_return,
            annual_volatility,
            sharpe_ratio: get_n(table, item, "sharpe_ratio")?,
            asset_beta: get_n(table, item, "asset_beta")?,
            equity_cost: get_n(table, item, "equity_cost")?,
        }))
    }

    /// The correlation `item` holds for `candidate` (in this ticker order), on a full match.
    pub(crate) fn correlation_from(
        &self,
        candidate: &CorrelationKey,
        item: &Item,
    ) -> StoreResult<Option<f64>> {
        let table = &self.correlations;
        let matches = is_current(table, item)?
            && get_s(table, item, "ticker_1")? == candidate.ticker_1
            && get_s(table, item, "ticker_2")? == candidate.ticker_2
            && get_s(table, item, "start_date")? == date_text(candidate.start)
            && get_s(table, item, "end_date")? == date_text(candidate.end)
            && get_s(table, item, "method")? == candidate.method.as_str()
            && get_n(table, item, "weekends")? == Some(f64::from(u8::from(candidate.weekends)));
        if matches {
            get_n(table, item, "correlation")
        } else {
            Ok(None)
        }
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

fn correlation_layout(description: &TableDescription) -> Option<CorrelationLayout> {
    let keys: Vec<(&str, &str)> = description
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name(), k.key_type().as_str()))
        .collect();
    match keys.as_slice() {
        [("id", "HASH")] => Some(CorrelationLayout::IdKeyed),
        [("ticker_1", "HASH"), ("start_date", "RANGE")]
        | [("start_date", "RANGE"), ("ticker_1", "HASH")] => Some(CorrelationLayout::Document),
        _ => None,
    }
}

struct IndexSpec {
    name: String,
    hash: String,
    range: Option<String>,
    projection: ProjectionType,
}

impl IndexSpec {
    fn new(name: &str, hash: &str, range: Option<&str>, projection: ProjectionType) -> Self {
        IndexSpec {
            name: name.into(),
            hash: hash.into(),
            range: range.map(String::from),
            projection,
        }
    }
}

struct TableSpec {
    name: String,
    attributes: Vec<(String, ScalarAttributeType)>,
    hash: String,
    range: Option<String>,
    indexes: Vec<IndexSpec>,
}

impl TableSpec {
    /// Compares an existing table's keys and indexes with the specification.
    fn check(&self, existing: &TableDescription) -> StoreResult<()> {
        let key_of = |schema: &[KeySchemaElement]| {
            let find = |kind: KeyType| {
                schema
                    .iter()
                    .find(|k| *k.key_type() == kind)
                    .map(|k| k.attribute_name().to_string())
            };
            (find(KeyType::Hash), find(KeyType::Range))
        };
        let mismatch = |what: String| {
            StoreError::new(
                StoreErrorKind::Conflict,
                format!(
                    "table {} exists with a different layout: {what}; use another STRATUS_TABLE_PREFIX or fix the table",
                    self.name
                ),
            )
        };
        let (hash, range) = key_of(existing.key_schema());
        if hash.as_deref() != Some(self.hash.as_str()) || range != self.range {
            return Err(mismatch(format!(
                "key ({hash:?}, {range:?}) instead of ({:?}, {:?})",
                self.hash, self.range
            )));
        }
        for index in &self.indexes {
            let found = existing
                .global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == Some(index.name.as_str()));
            let Some(found) = found else {
                return Err(mismatch(format!("index {} is missing", index.name)));
            };
            let (hash, range) = key_of(found.key_schema());
            if hash.as_deref() != Some(index.hash.as_str()) || range != index.range {
                return Err(mismatch(format!(
                    "index {} has key ({hash:?}, {range:?})",
                    index.name
                )));
            }
        }
        for (name, kind) in &self.attributes {
            let declared = existing
                .attribute_definitions()
                .iter()
                .find(|a| a.attribute_name() == name);
            if declared.is_some_and(|a| a.attribute_type() != kind) {
                return Err(mismatch(format!("attribute {name} has another type")));
            }
        }
        Ok(())
    }
}

fn put(item: Item) -> StoreResult<WriteRequest> {
    PutRequest::builder()
        .set_item(Some(item))
        .build()
        .map(|p| WriteRequest::builder().put_request(p).build())
        .map_err(|e| StoreError::new(StoreErrorKind::Invalid, e.to_string()))
}

fn price_from(table: &str, ticker: &str, item: &Item) -> StoreResult<PriceRow> {
    let date = get_date(table, item, "date")?;
    let close = get_n(table, item, "close")?
        .ok_or_else(|| malformed(table, format!("price of {ticker} on {date} has no close")))?;
    Ok(PriceRow {
        ticker: ticker.to_string(),
        date,
        open: get_n(table, item, "open")?,
        close,
    })
}

#[async_trait]
impl PriceStore for DynamoStore {
    async fn put_prices(&self, rows: &[PriceRow]) -> StoreResult<usize> {
        let mut requests = Vec::with_capacity(rows.len());
        for row in rows {
            check_finite("close", row.close)?;
            let mut item: Item = [
                ("ticker".to_string(), s(&row.ticker)),
                ("date".to_string(), s(date_text(row.date))),
                ("close".to_string(), n(row.close)),
            ]
            .into();
            // scrilla's reader indexes `open` on every item, so an unknown open is a NULL.
            match row.open {
                Some(open) => {
                    check_finite("open", open)?;
                    item.insert("open".into(), n(open));
                }
                None => {
                    item.insert("open".into(), AttributeValue::Null(true));
                }
            }
            requests.push(put(item)?);
        }
        self.batch_write(&self.prices, requests).await
    }

    /// Not atomic on DynamoDB: the new rows are written first, then the dates they do not cover
    /// are deleted, so an interruption leaves the new history with some old dates around it,
    /// never a ticker without prices; rerunning finishes the job.
    async fn replace_prices(&self, ticker: &str, rows: &[PriceRow]) -> StoreResult<usize> {
        stratus_store::check_one_ticker(ticker, rows)?;
        let written = self.put_prices(rows).await?;
        let keep: std::collections::HashSet<NaiveDate> = rows.iter().map(|r| r.date).collect();
        let request = self
            .client
            .query()
            .table_name(&self.prices)
            .key_condition_expression("ticker = :t")
            .expression_attribute_values(":t", s(ticker))
            .projection_expression("ticker, #d")
            .expression_attribute_names("#d", "date");
        let stale: Vec<Item> = self
            .query_all(&self.prices, request)
            .await?
            .into_iter()
            .filter(|key| get_date(&self.prices, key, "date").map_or(true, |d| !keep.contains(&d)))
            .collect();
        self.delete_keys(&self.prices.clone(), stale).await?;
        Ok(written)
    }

    async fn prices(
        &self,
        ticker: &str,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<PriceRow>> {
        if start > end {
            return Ok(Vec::new());
        }
        let items = self
            .dated_range(&self.prices, "ticker", ticker, start, end)
            .await?;
        items
            .iter()
            .map(|item| price_from(&self.prices, ticker, item))
            .collect()
    }

    async fn tickers(&self) -> StoreResult<Vec<TickerSummary>> {
        let items = self
            .scan_all(&self.prices, Some(("ticker, #d", &[("#d", "date")])))
            .await?;
        let mut summary: std::collections::BTreeMap<String, (NaiveDate, NaiveDate, u64)> =
            Default::default();
        for item in &items {
            let ticker = get_s(&self.prices, item, "ticker")?.to_string();
            let date = get_date(&self.prices, item, "date")?;
            let entry = summary.entry(ticker).or_insert((date, date, 0));
            entry.0 = entry.0.min(date);
            entry.1 = entry.1.max(date);
            entry.2 += 1;
        }
        Ok(summary
            .into_iter()
            .map(|(ticker, (first, last, count))| TickerSummary {
                ticker,
                first,
                last,
                count,
            })
            .collect())
    }

    async fn latest_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.end_price_date(ticker, false).await
    }

    async fn first_price_date(&self, ticker: &str) -> StoreResult<Option<NaiveDate>> {
        self.end_price_date(ticker, true).await
    }

    async fn date_ranges(&self, tickers: &[String]) -> StoreResult<Vec<Option<DateRange>>> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        // Two one-item key queries per ticker, all in flight together (boxed: a closure here
        // trips async-trait's lifetime inference).
        let lookups: Vec<RangeFuture<'_>> = tickers
            .iter()
            .map(|ticker| -> RangeFuture<'_> {
                Box::pin(async move {
                    let (first, last) = futures_util::future::try_join(
                        self.end_price_date(ticker, true),
                        self.end_price_date(ticker, false),
                    )
                    .await?;
                    Ok(first
                        .zip(last)
                        .map(|(first, last)| DateRange { first, last }))
                })
            })
            .collect();
        stream::iter(lookups)
            .buffered(QUERIES_IN_FLIGHT)
            .try_collect()
            .await
    }

    async fn has_prices(&self) -> StoreResult<bool> {
        let output = self
            .client
            .scan()
            .table_name(&self.prices)
            .limit(1)
            .send()
            .await
            .map_err(|e| self.error(&self.prices, "Scan", e))?;
        Ok(output.count > 0)
    }
}

#[async_trait]
impl RateStore for DynamoStore {
    async fn put_rates(&self, rows: &[RateRow]) -> StoreResult<usize> {
        let mut requests = Vec::with_capacity(rows.len());
        for row in rows {
            check_finite("yield", row.percent)?;
            requests.push(put([
                ("maturity".to_string(), s(row.maturity.name())),
                ("date".to_string(), s(date_text(row.date))),
                ("value".to_string(), n(row.percent)),
            ]
            .into())?);
        }
        self.batch_write(&self.interest, requests).await
    }

    async fn rates(
        &self,
        maturity: Maturity,
        start: NaiveDate,
        end: NaiveDate,
    ) -> StoreResult<Vec<RateRow>> {
        if start > end {
            return Ok(Vec::new());
        }
        let items = self
            .dated_range(&self.interest, "maturity", maturity.name(), start, end)
            .await?;
        let mut out = Vec::with_capacity(items.len());
        for item in &items {
            if let Some(percent) = get_n(&self.interest, item, "value")? {
                out.push(RateRow {
                    maturity,
                    date: get_date(&self.interest, item, "date")?,
                    percent,
                });
            }
        }
        Ok(out)
    }

    async fn latest_rate_date(&self, on_or_before: NaiveDate) -> StoreResult<Option<NaiveDate>> {
        Ok(self
            .latest_rates(&Maturity::ALL, on_or_before)
            .await?
            .iter()
            .flatten()
            .map(|(date, _)| *date)
            .max())
    }

    async fn publication(
        &self,
        on_or_before: NaiveDate,
        wanted: &[Maturity],
    ) -> StoreResult<Option<Publication>> {
        // Tenors are separate partitions, so "the latest publication" takes one query per tenor
        // — unless every tenor asked for was published on the very date asked, which no other
        // tenor can be later than.
        if !wanted.is_empty() {
            let latest = self.latest_rates(wanted, on_or_before).await?;
            if latest
                .iter()
                .all(|found| matches!(found, Some((date, Some(_))) if *date == on_or_before))
            {
                let rows = wanted
                    .iter()
                    .zip(latest.into_iter().flatten())
                    .filter_map(|(&maturity, (date, percent))| {
                        percent.map(|percent| RateRow {
                            maturity,
                            date,
                            percent,
                        })
                    })
                    .collect();
                return Ok(Some(Publication {
                    date: on_or_before,
                    rows,
                }));
            }
        }
        let latest = self.latest_rates(&Maturity::ALL, on_or_before).await?;
        let Some(date) = latest.iter().flatten().map(|(date, _)| *date).max() else {
            return Ok(None);
        };
        let rows = Maturity::ALL
            .into_iter()
            .zip(latest)
            .filter_map(|(maturity, found)| match found {
                Some((d, Some(percent))) if d == date => Some(RateRow {
                    maturity,
                    date,
                    percent,
                }),
                _ => None,
            })
            .collect();
        Ok(Some(Publication { date, rows }))
    }
}

impl DynamoStore {
    /// For each maturity, its latest item on or before `date`: the date and the yield (`None`
    /// for an item without one). One one-item query per maturity, all in flight together.
    async fn latest_rates(
        &self,
        maturities: &[Maturity],
        on_or_before: NaiveDate,
    ) -> StoreResult<Vec<Option<(NaiveDate, Option<f64>)>>> {
        let queries = maturities.iter().map(|maturity| async move {
            let output = self
                .client
                .query()
                .table_name(&self.interest)
                .key_condition_expression("maturity = :m AND #d <= :e")
                .expression_attribute_names("#d", "date")
                .expression_attribute_values(":m", s(maturity.name()))
                .expression_attribute_values(":e", s(date_text(on_or_before)))
                .scan_index_forward(false)
                .limit(1)
                .send()
                .await
                .map_err(|e| self.error(&self.interest, "Query", e))?;
            match output.items().first() {
                Some(item) => Ok(Some((
                    get_date(&self.interest, item, "date")?,
                    get_n(&self.interest, item, "value")?,
                ))),
                None => Ok(None),
            }
        });
        futures_util::future::try_join_all(queries).await
    }
}

#[async_trait]
impl AnalyticsCache for DynamoStore {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.profile)
            .set_key(Some(self.profile_key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(&self.profile, "GetItem", e))?;
        match output.item {
            Some(item) => self.profile_from(key, &item),
            None => Ok(None),
        }
    }

    async fn put_profile(&self, key: &ProfileKey, record: &ProfileRecord) -> StoreResult<()> {
        check_finite("annual return", record.annual_return)?;
        check_finite("annual volatility", record.annual_volatility)?;
        let mut item: Item = [
            ("ticker".to_string(), s(&key.ticker)),
            ("start_date".to_string(), s(date_text(key.start))),
            ("end_date".to_string(), s(date_text(key.end))),
            ("method".to_string(), s(key.method.as_str())),
            (
                "weekends".to_string(),
                AttributeValue::N(u8::from(key.weekends).to_string()),
            ),
            ("annual_return".to_string(), n(record.annual_return)),
            ("annual_volatility".to_string(), n(record.annual_volatility)),
            (
                VERSION_ATTRIBUTE.to_string(),
                AttributeValue::N(ANALYTICS_VERSION.to_string()),
            ),
        ]
        .into();
        if self.analytics == AnalyticsLayout::CollisionFree {
            item.insert("profile_id".into(), s(profile_id(key)));
        }
        for (name, value) in [
            ("sharpe_ratio", record.sharpe_ratio),
            ("asset_beta", record.asset_beta),
            ("equity_cost", record.equity_cost),
        ] {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                item.insert(name.into(), n(v));
            }
        }
        self.client
            .put_item()
            .table_name(&self.profile)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.error(&self.profile, "PutItem", e))?;
        Ok(())
    }

    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>> {
        for candidate in [key.clone(), key.swapped()] {
            let output = self
                .client
                .get_item()
                .table_name(&self.correlations)
                .set_key(Some(self.correlation_key_item(&candidate)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| self.error(&self.correlations, "GetItem", e))?;
            if let Some(item) = output.item
                && let Some(value) = self.correlation_from(&candidate, &item)?
            {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    async fn cached(
        &self,
        profiles: &[ProfileKey],
        correlations: &[CorrelationKey],
    ) -> StoreResult<Cached> {
        self.cached_in_batches(profiles, correlations).await
    }

    async fn put_correlation(&self, key: &CorrelationKey, value: f64) -> StoreResult<()> {
        check_finite("correlation", value)?;
        let requests = vec![
            put(self.correlation_item(key, value))?,
            put(self.correlation_item(&key.swapped(), value))?,
        ];
        self.batch_write(&self.correlations, requests)
            .await
            .map(|_| ())
    }

    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>> {
        let table = &self.profile;
        let mut out = Vec::new();
        for item in self.scan_all(table, None).await? {
            if !is_current(table, &item)? {
                continue;
            }
            let (Some(annual_return), Some(annual_volatility)) = (
                get_n(table, &item, "annual_return")?,
                get_n(table, &item, "annual_volatility")?,
            ) else {
                continue;
            };
            let method_text = get_s(table, &item, "method")?;
            let method = parse_method(method_text)
                .ok_or_else(|| malformed(table, format!("unknown method {method_text:?}")))?;
            out.push((
                ProfileKey {
                    ticker: get_s(table, &item, "ticker")?.to_string(),
                    start: get_date(table, &item, "start_date")?,
                    end: get_date(table, &item, "end_date")?,
                    method,
                    weekends: get_n(table, &item, "weekends")?.unwrap_or(0.0) != 0.0,
                },
                ProfileRecord {
                    annual_return,
                    annual_volatility,
                    sharpe_ratio: get_n(table, &item, "sharpe_ratio")?,
                    asset_beta: get_n(table, &item, "asset_beta")?,
                    equity_cost: get_n(table, &item, "equity_cost")?,
                },
            ));
        }
        Ok(out)
    }

    async fn all_correlations(&self) -> StoreResult<Vec<(CorrelationKey, f64)>> {
        let table = &self.correlations;
        let mut out = Vec::new();
        for item in self.scan_all(table, None).await? {
            if !is_current(table, &item)? {
                continue;
            }
            let Some(value) = get_n(table, &item, "correlation")? else {
                continue;
            };
            let method_text = get_s(table, &item, "method")?;
            let method = parse_method(method_text)
                .ok_or_else(|| malformed(table, format!("unknown method {method_text:?}")))?;
            out.push((
                CorrelationKey {
                    ticker_1: get_s(table, &item, "ticker_1")?.to_string(),
                    ticker_2: get_s(table, &item, "ticker_2")?.to_string(),
                    start: get_date(table, &item, "start_date")?,
                    end: get_date(table, &item, "end_date")?,
                    method,
                    weekends: get_n(table, &item, "weekends")?.unwrap_or(0.0) != 0.0,
                },
                value,
            ));
        }
        Ok(out)
    }

    async fn invalidate_ticker(&self, ticker: &str) -> StoreResult<()> {
        let request = self
            .client
            .query()
            .table_name(&self.profile)
            .key_condition_expression("ticker = :t")
            .expression_attribute_values(":t", s(ticker))
            .projection_expression(self.profile_key_names().join(", "));
        let profiles = self.query_all(&self.profile, request).await?;
        self.delete_keys(&self.profile.clone(), profiles).await?;
        // Correlations mention the ticker on either side: both asset indexes find them.
        let mut keys: Vec<Item> = Vec::new();
        let indexes: &[(&str, &str)] = match self.layout {
            CorrelationLayout::IdKeyed => &[
                ("AssetTelescoping1", "ticker_1"),
                ("AssetTelescoping2", "ticker_2"),
            ],
            CorrelationLayout::Document => &[("AssetTelescoping", "ticker_2")],
        };
        if self.layout == CorrelationLayout::Document {
            let request = self
                .client
                .query()
                .table_name(&self.correlations)
                .key_condition_expression("ticker_1 = :t")
                .expression_attribute_values(":t", s(ticker));
            keys.extend(self.query_all(&self.correlations, request).await?);
        }
        for (index, attribute) in indexes {
            let request = self
                .client
                .query()
                .table_name(&self.correlations)
                .index_name(*index)
                .key_condition_expression("#a = :t")
                .expression_attribute_names("#a", *attribute)
                .expression_attribute_values(":t", s(ticker));
            keys.extend(self.query_all(&self.correlations, request).await?);
        }
        let key_names: &[&str] = match self.layout {
            CorrelationLayout::IdKeyed => &["id"],
            CorrelationLayout::Document => &["ticker_1", "start_date"],
        };
        let mut unique: Vec<Item> = Vec::new();
        for item in keys {
            let key: Item = key_names
                .iter()
                .filter_map(|k| item.get(*k).map(|v| ((*k).to_string(), v.clone())))
                .collect();
            if key.len() == key_names.len() && !unique.contains(&key) {
                unique.push(key);
            }
        }
        self.delete_keys(&self.correlations.clone(), unique).await
    }

    async fn clear_analytics(&self) -> StoreResult<()> {
        self.clear_table(&self.profile.clone(), self.profile_key_names())
            .await?;
        match self.layout {
            CorrelationLayout::IdKeyed => {
                self.clear_table(&self.correlations.clone(), &["id"]).await
            }
            CorrelationLayout::Document => {
                self.clear_table(&self.correlations.clone(), &["ticker_1", "start_date"])
                    .await
            }
        }
    }
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
                self.endpoint, self.prices, self.interest, self.profile, self.correlations
            ),
            prices: self.count(&self.prices).await?,
            rates: self.count(&self.interest).await?,
            profiles: self.count(&self.profile).await?,
            correlations: self.count(&self.correlations).await?,
        })
    }

    /// `DescribeTable`'s item counts: four small requests instead of a scan of every table.
    async fn estimated_status(&self) -> StoreResult<StoreStatus> {
        let mut counts = [0u64; 4];
        let tables = [
            &self.prices,
            &self.interest,
            &self.profile,
            &self.correlations,
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
                self.endpoint, self.prices, self.interest, self.profile, self.correlations
            ),
            prices: counts[0],
            rates: counts[1],
            profiles: counts[2],
            correlations: counts[3],
        })
    }

    async fn clear_all(&self) -> StoreResult<()> {
        self.clear_analytics().await?;
        self.clear_table(&self.prices.clone(), &["ticker", "date"])
            .await?;
        self.clear_table(&self.interest.clone(), &["maturity", "date"])
            .await
    }
}

/// Parses a stored method name.
pub fn parse_method(text: &str) -> Option<Method> {
    text.parse().ok()
}
