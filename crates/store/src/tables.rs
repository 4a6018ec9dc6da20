//! Table layouts as plain data: names, keys, attribute types, secondary indexes, projections.
//!
//! The DynamoDB store provisions and checks its tables from these values, and a deployment
//! template can render the very same ones — one source of truth for what a table looks like. The
//! cache's four tables follow scrilla 1.6.0 exactly (`shared/spec/cloud-tables.md`) so a cache can
//! be shared with scrilla users; other kinds of tables (a job system's) get layouts of their own
//! beside these.

/// A key attribute's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeType {
    /// A string (`S`).
    String,
    /// A number (`N`).
    Number,
}

/// What a secondary index copies from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projection {
    /// Only the keys.
    KeysOnly,
    /// Every attribute.
    All,
}

/// A global secondary index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLayout {
    /// Index name.
    pub name: &'static str,
    /// Partition key attribute.
    pub hash: &'static str,
    /// Sort key attribute, if any.
    pub range: Option<&'static str>,
    /// What the index holds.
    pub projection: Projection,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    /// Full table name (prefix included).
    pub name: String,
    /// Every attribute used as a key of the table or of an index, with its type.
    pub attributes: Vec<(&'static str, AttributeType)>,
    /// Partition key attribute.
    pub hash: &'static str,
    /// Sort key attribute, if any.
    pub range: Option<&'static str>,
    /// Global secondary indexes.
    pub indexes: Vec<IndexLayout>,
}

impl TableLayout {
    /// The table's key attributes: partition key, then sort key.
    pub fn key_names(&self) -> Vec<&'static str> {
        std::iter::once(self.hash).chain(self.range).collect()
    }
}

/// Where cached profiles and correlations live.
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

/// Which `correlations` layout a table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationLayout {
    /// `id` HASH (what scrilla 1.6.0's code creates; one item per ticker order).
    IdKeyed,
    /// `ticker_1` HASH, `start_date` RANGE (scrilla's deployment document).
    Document,
}

/// Which of the cache's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableKind {
    /// Daily prices.
    Prices,
    /// Treasury yields.
    Interest,
    /// Cached risk profiles.
    Profile,
    /// Cached correlations.
    Correlations,
}

impl TableKind {
    /// Every kind, in creation order.
    pub const ALL: [TableKind; 4] = [
        TableKind::Prices,
        TableKind::Interest,
        TableKind::Profile,
        TableKind::Correlations,
    ];
}

/// The four tables of the market-data cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheTables {
    /// Daily prices: (ticker, date).
    pub prices: TableLayout,
    /// Treasury yields: (maturity, date).
    pub interest: TableLayout,
    /// Cached risk profiles.
    pub profile: TableLayout,
    /// Cached correlations.
    pub correlations: TableLayout,
}

fn index(
    name: &'static str,
    hash: &'static str,
    range: Option<&'static str>,
    projection: Projection,
) -> IndexLayout {
    IndexLayout {
        name,
        hash,
        range,
        projection,
    }
}

impl CacheTables {
    /// The cache's tables with names prefixed by `prefix` (empty for scrilla's names), profiles
    /// and correlations where `analytics` says, and scrilla's correlations in `correlations`'
    /// layout (Stratus's own correlations table is always id-keyed).
    pub fn new(prefix: &str, analytics: AnalyticsLayout, correlations: CorrelationLayout) -> Self {
        use AttributeType::{Number, String};
        use Projection::{All, KeysOnly};
        let name = |base: &str| format!("{prefix}{base}");
        let correlations_layout = match analytics {
            AnalyticsLayout::Scrilla => correlations,
            AnalyticsLayout::CollisionFree => CorrelationLayout::IdKeyed,
        };
        let correlations_name = match analytics {
            AnalyticsLayout::Scrilla => name("correlations"),
            AnalyticsLayout::CollisionFree => name("stratus_correlations"),
        };
        let correlations = match correlations_layout {
            CorrelationLayout::IdKeyed => TableLayout {
                name: correlations_name,
                attributes: vec![
                    ("id", String),
                    ("ticker_1", String),
                    ("ticker_2", String),
                    ("start_date", String),
                    ("end_date", String),
                    ("method", String),
                    ("weekends", Number),
                ],
                hash: "id",
                range: None,
                indexes: vec![
                    index(
                        "AssetTelescoping1",
                        "ticker_1",
                        Some("start_date"),
                        KeysOnly,
                    ),
                    index("AssetTelescoping2", "ticker_2", Some("end_date"), KeysOnly),
                    index("WeekendTelescoping", "weekends", None, KeysOnly),
                    index("EstimationTelescoping", "method", None, All),
                ],
            },
            CorrelationLayout::Document => TableLayout {
                name: correlations_name,
                attributes: vec![
                    ("ticker_1", String),
                    ("ticker_2", String),
                    ("start_date", String),
                    ("end_date", String),
                    ("method", String),
                    ("weekends", Number),
                ],
                hash: "ticker_1",
                range: Some("start_date"),
                indexes: vec![
                    index("AssetTelescoping", "ticker_2", Some("end_date"), KeysOnly),
                    index("WeekendTelescoping", "weekends", None, KeysOnly),
                    index("EstimationTelescoping", "method", None, All),
                ],
            },
        };
        let profile = match analytics {
            AnalyticsLayout::CollisionFree => TableLayout {
                name: name("stratus_profile"),
                attributes: vec![("ticker", String), ("profile_id", String)],
                hash: "ticker",
                range: Some("profile_id"),
                indexes: vec![],
            },
            AnalyticsLayout::Scrilla => TableLayout {
                name: name("profile"),
                attributes: vec![
                    ("ticker", String),
                    ("start_date", String),
                    ("end_date", String),
                    ("method", String),
                    ("weekends", Number),
                ],
                hash: "ticker",
                range: Some("start_date"),
                indexes: vec![
                    index("DateTelescoping", "weekends", Some("end_date"), KeysOnly),
                    index("EstimationTelescoping", "method", None, All),
                ],
            },
        };
        CacheTables {
            prices: TableLayout {
                name: name("prices"),
                attributes: vec![("ticker", String), ("date", String)],
                hash: "ticker",
                range: Some("date"),
                indexes: vec![],
            },
            interest: TableLayout {
                name: name("interest"),
                attributes: vec![("maturity", String), ("date", String)],
                hash: "maturity",
                range: Some("date"),
                indexes: vec![],
            },
            profile,
            correlations,
        }
    }

    /// Every table, in the order they are created.
    pub fn all(&self) -> [&TableLayout; 4] {
        [
            &self.prices,
            &self.interest,
            &self.profile,
            &self.correlations,
        ]
    }

    /// The table of `kind`.
    pub fn get(&self, kind: TableKind) -> &TableLayout {
        match kind {
            TableKind::Prices => &self.prices,
            TableKind::Interest => &self.interest,
            TableKind::Profile => &self.profile,
            TableKind::Correlations => &self.correlations,
        }
    }

    /// Which correlations layout the correlations table has.
    pub fn correlation_layout(&self) -> CorrelationLayout {
        if self.correlations.hash == "id" {
            CorrelationLayout::IdKeyed
        } else {
            CorrelationLayout::Document
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrilla_names_and_keys_unless_asked_otherwise() {
        let tables = CacheTables::new("", AnalyticsLayout::Scrilla, CorrelationLayout::IdKeyed);
        let names: Vec<&str> = tables.all().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["prices", "interest", "profile", "correlations"]);
        assert_eq!(tables.profile.key_names(), ["ticker", "start_date"]);
        assert_eq!(tables.correlations.key_names(), ["id"]);
        let document = CacheTables::new(
            "dev_",
            AnalyticsLayout::Scrilla,
            CorrelationLayout::Document,
        );
        assert_eq!(document.correlations.name, "dev_correlations");
        assert_eq!(
            document.correlations.key_names(),
            ["ticker_1", "start_date"]
        );
        assert_eq!(document.correlation_layout(), CorrelationLayout::Document);
        let own = CacheTables::new(
            "",
            AnalyticsLayout::CollisionFree,
            CorrelationLayout::Document,
        );
        assert_eq!(own.profile.name, "stratus_profile");
        assert_eq!(own.correlations.name, "stratus_correlations");
        assert_eq!(own.correlation_layout(), CorrelationLayout::IdKeyed);
    }

    #[test]
    fn every_key_attribute_has_a_declared_type() {
        for analytics in [AnalyticsLayout::Scrilla, AnalyticsLayout::CollisionFree] {
            for layout in [CorrelationLayout::IdKeyed, CorrelationLayout::Document] {
                for table in CacheTables::new("p_", analytics, layout).all() {
                    let declared = |name: &str| table.attributes.iter().any(|(n, _)| *n == name);
                    for key in table.key_names() {
                        assert!(declared(key), "{}: {key}", table.name);
                    }
                    for index in &table.indexes {
                        assert!(declared(index.hash), "{}: {}", table.name, index.name);
                        assert!(
                            index.range.is_none_or(declared),
                            "{}: {}",
                            table.name,
                            index.name
                        );
                    }
                }
            }
        }
    }
}
