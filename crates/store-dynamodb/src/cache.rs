//! The analytics cache: profiles and correlations, matched on their full identity (scrilla's
//! keys do not identify a result) and served only when Stratus wrote them with its current
//! estimators.

use super::*;
use crate::requests::put;

impl DynamoStore {
    pub(crate) fn correlation_item(&self, key: &CorrelationKey, value: f64) -> Item {
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
        if self.tables.correlation_layout() == CorrelationLayout::IdKeyed {
            item.insert("id".into(), s(correlation_id(key)));
        }
        item
    }

    pub(crate) fn profile_key_item(&self, key: &ProfileKey) -> Item {
        let range = match self.analytics {
            AnalyticsLayout::Scrilla => ("start_date".to_string(), s(date_text(key.start))),
            AnalyticsLayout::CollisionFree => ("profile_id".to_string(), s(profile_id(key))),
        };
        [("ticker".to_string(), s(&key.ticker)), range].into()
    }

    pub(crate) fn correlation_key_item(&self, key: &CorrelationKey) -> Item {
        match self.tables.correlation_layout() {
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
        let table = &self.tables.profile.name;
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
        let table = &self.tables.correlations.name;
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

#[async_trait]
impl AnalyticsCache for DynamoStore {
    async fn profile(&self, key: &ProfileKey) -> StoreResult<Option<ProfileRecord>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.profile.name)
            .set_key(Some(self.profile_key_item(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(&self.tables.profile.name, "GetItem", e))?;
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
            .table_name(&self.tables.profile.name)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| self.error(&self.tables.profile.name, "PutItem", e))?;
        Ok(())
    }

    async fn correlation(&self, key: &CorrelationKey) -> StoreResult<Option<f64>> {
        for candidate in [key.clone(), key.swapped()] {
            let output = self
                .client
                .get_item()
                .table_name(&self.tables.correlations.name)
                .set_key(Some(self.correlation_key_item(&candidate)))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| self.error(&self.tables.correlations.name, "GetItem", e))?;
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
        self.batch_write(&self.tables.correlations.name, requests)
            .await
            .map(|_| ())
    }

    async fn all_profiles(&self) -> StoreResult<Vec<(ProfileKey, ProfileRecord)>> {
        let table = &self.tables.profile.name;
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
        let table = &self.tables.correlations.name;
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
            .table_name(&self.tables.profile.name)
            .key_condition_expression("ticker = :t")
            .expression_attribute_values(":t", s(ticker))
            .projection_expression(self.tables.profile.key_names().join(", "));
        let profiles = self.query_all(&self.tables.profile.name, request).await?;
        self.delete_keys(&self.tables.profile.name.clone(), profiles)
            .await?;
        // Correlations mention the ticker on either side: both asset indexes find them.
        let mut keys: Vec<Item> = Vec::new();
        let indexes: &[(&str, &str)] = match self.tables.correlation_layout() {
            CorrelationLayout::IdKeyed => &[
                ("AssetTelescoping1", "ticker_1"),
                ("AssetTelescoping2", "ticker_2"),
            ],
            CorrelationLayout::Document => &[("AssetTelescoping", "ticker_2")],
        };
        if self.tables.correlation_layout() == CorrelationLayout::Document {
            let request = self
                .client
                .query()
                .table_name(&self.tables.correlations.name)
                .key_condition_expression("ticker_1 = :t")
                .expression_attribute_values(":t", s(ticker));
            keys.extend(
                self.query_all(&self.tables.correlations.name, request)
                    .await?,
            );
        }
        for (index, attribute) in indexes {
            let request = self
                .client
                .query()
                .table_name(&self.tables.correlations.name)
                .index_name(*index)
                .key_condition_expression("#a = :t")
                .expression_attribute_names("#a", *attribute)
                .expression_attribute_values(":t", s(ticker));
            keys.extend(
                self.query_all(&self.tables.correlations.name, request)
                    .await?,
            );
        }
        let key_names: &[&str] = match self.tables.correlation_layout() {
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
        self.delete_keys(&self.tables.correlations.name.clone(), unique)
            .await
    }

    async fn clear_analytics(&self) -> StoreResult<()> {
        self.clear_table(
            &self.tables.profile.name.clone(),
            &self.tables.profile.key_names(),
        )
        .await?;
        match self.tables.correlation_layout() {
            CorrelationLayout::IdKeyed => {
                self.clear_table(&self.tables.correlations.name.clone(), &["id"])
                    .await
            }
            CorrelationLayout::Document => {
                self.clear_table(
                    &self.tables.correlations.name.clone(),
                    &["ticker_1", "start_date"],
                )
                .await
            }
        }
    }
}
