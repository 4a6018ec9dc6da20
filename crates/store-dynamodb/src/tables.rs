//! Provisioning: the cache's tables are created from their layouts
//! ([`stratus_store::tables::CacheTables`], the one description a deployment template renders
//! too), and an existing table is checked against its layout before it is trusted.

use super::*;
use stratus_store::tables::{AttributeType, TableLayout};

impl DynamoStore {
    pub(crate) async fn describe(&self, table: &str) -> StoreResult<Option<TableDescription>> {
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
        let tables = self.tables.clone();
        self.provision_layouts(&tables.all(), billing).await
    }

    /// Creates the tables of `layouts` that do not exist yet and checks the others.
    pub(crate) async fn provision_layouts(
        &self,
        layouts: &[&TableLayout],
        billing: Billing,
    ) -> StoreResult<Vec<String>> {
        let mut created = Vec::new();
        for spec in layouts.iter().copied() {
            match self.describe(&spec.name).await? {
                Some(existing) => check(spec, &existing)?,
                None => {
                    self.create(spec, billing).await?;
                    created.push(spec.name.clone());
                }
            }
        }
        // Wait until every table is ACTIVE (DynamoDB creates asynchronously).
        for spec in layouts.iter().copied() {
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

    async fn create(&self, spec: &TableLayout, billing: Billing) -> StoreResult<()> {
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
                    .attribute_name(*name)
                    .attribute_type(scalar(*kind))
                    .build()
                    .map_err(invalid)?,
            );
        }
        request = request.key_schema(key(spec.hash, KeyType::Hash)?);
        if let Some(range) = spec.range {
            request = request.key_schema(key(range, KeyType::Range)?);
        }
        for index in &spec.indexes {
            let projected = match index.projection {
                stratus_store::tables::Projection::Include(attributes) => attributes
                    .iter()
                    .fold(Projection::builder(), |b, a| b.non_key_attributes(*a)),
                _ => Projection::builder(),
            }
            .projection_type(projection(index.projection))
            .build();
            if index.local {
                let mut lsi = LocalSecondaryIndex::builder()
                    .index_name(&index.name)
                    .key_schema(key(index.hash, KeyType::Hash)?)
                    .projection(projected);
                if let Some(range) = index.range {
                    lsi = lsi.key_schema(key(range, KeyType::Range)?);
                }
                request = request.local_secondary_indexes(lsi.build().map_err(invalid)?);
                continue;
            }
            let mut gsi = GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .key_schema(key(index.hash, KeyType::Hash)?)
                .projection(projected);
            if let Some(range) = index.range {
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
}

/// The `correlations` layout of an existing table, from its key schema.
pub(crate) fn correlation_layout(description: &TableDescription) -> Option<CorrelationLayout> {
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

fn scalar(kind: AttributeType) -> ScalarAttributeType {
    match kind {
        AttributeType::String => ScalarAttributeType::S,
        AttributeType::Number => ScalarAttributeType::N,
    }
}

fn projection(kind: stratus_store::tables::Projection) -> ProjectionType {
    match kind {
        stratus_store::tables::Projection::KeysOnly => ProjectionType::KeysOnly,
        stratus_store::tables::Projection::All => ProjectionType::All,
        stratus_store::tables::Projection::Include(_) => ProjectionType::Include,
    }
}

/// Compares an existing table's keys and indexes with its layout.
fn check(layout: &TableLayout, existing: &TableDescription) -> StoreResult<()> {
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
                layout.name
            ),
        )
    };
    let (hash, range) = key_of(existing.key_schema());
    if hash.as_deref() != Some(layout.hash) || range.as_deref() != layout.range {
        return Err(mismatch(format!(
            "key ({hash:?}, {range:?}) instead of ({:?}, {:?})",
            layout.hash, layout.range
        )));
    }
    for index in &layout.indexes {
        let name = Some(index.name.as_str());
        let found = if index.local {
            existing
                .local_secondary_indexes()
                .iter()
                .find(|l| l.index_name() == name)
                .map(|l| l.key_schema())
        } else {
            existing
                .global_secondary_indexes()
                .iter()
                .find(|g| g.index_name() == name)
                .map(|g| g.key_schema())
        };
        let Some(found) = found else {
            return Err(mismatch(format!("index {} is missing", index.name)));
        };
        let (hash, range) = key_of(found);
        if hash.as_deref() != Some(index.hash) || range.as_deref() != index.range {
            return Err(mismatch(format!(
                "index {} has key ({hash:?}, {range:?})",
                index.name
            )));
        }
    }
    for (name, kind) in &layout.attributes {
        let declared = existing
            .attribute_definitions()
            .iter()
            .find(|a| a.attribute_name() == *name);
        if declared.is_some_and(|a| *a.attribute_type() != scalar(*kind)) {
            return Err(mismatch(format!("attribute {name} has another type")));
        }
    }
    Ok(())
}
