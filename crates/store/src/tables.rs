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
    /// The keys and these attributes.
    Include(&'static [&'static str]),
}

/// A secondary index: global, or local (same partition key as the table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLayout {
    /// Index name.
    pub name: String,
    /// A local secondary index (created with the table, shares its partition key).
    pub local: bool,
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
    /// Secondary indexes.
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
    name: &str,
    hash: &'static str,
    range: Option<&'static str>,
    projection: Projection,
) -> IndexLayout {
    IndexLayout {
        name: name.to_string(),
        local: false,
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

/// sosw 0.7's five task tables (`cloud-tables.md` §6), names prefixed (`autotest_` gives sosw's
/// test twins), the config table named on its own (sosw's template and code disagreed on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskTables {
    /// The live queue: `task_id`; GSI `<prefix>sosw_tasks_greenfield` (`labourer_id`, `greenfield`).
    pub tasks: TableLayout,
    /// The archive, dead tasks included: `task_id`; GSI `labourer_task_status_with_time`.
    pub closed: TableLayout,
    /// Delayed retries: (`labourer_id`, `task_id`); LSI `labourer_id_greenfield` on
    /// `desired_launch_time`.
    pub retry: TableLayout,
    /// The audit trail: (`task_id`, `created_at`).
    pub meta: TableLayout,
    /// Config rows: (`env`, `config_name`).
    pub config: TableLayout,
}

impl TaskTables {
    /// sosw's names with `prefix`, and the config table `config_table`.
    pub fn new(prefix: &str, config_table: &str) -> Self {
        use AttributeType::{Number, String};
        let name = |base: &str| format!("{prefix}{base}");
        TaskTables {
            tasks: TableLayout {
                name: name("sosw_tasks"),
                attributes: vec![
                    ("task_id", String),
                    ("labourer_id", String),
                    ("greenfield", Number),
                ],
                hash: "task_id",
                range: None,
                indexes: vec![index(
                    &name("sosw_tasks_greenfield"),
                    "labourer_id",
                    Some("greenfield"),
                    Projection::All,
                )],
            },
            closed: TableLayout {
                name: name("sosw_closed_tasks"),
                attributes: vec![
                    ("task_id", String),
                    ("labourer_id_task_status", String),
                    ("closed_at", Number),
                ],
                hash: "task_id",
                range: None,
                indexes: vec![index(
                    "labourer_task_status_with_time",
                    "labourer_id_task_status",
                    Some("closed_at"),
                    Projection::Include(&["completed_at", "greenfield", "attempts"]),
                )],
            },
            retry: TableLayout {
                name: name("sosw_retry_tasks"),
                attributes: vec![
                    ("labourer_id", String),
                    ("task_id", String),
                    ("desired_launch_time", Number),
                ],
                hash: "labourer_id",
                range: Some("task_id"),
                indexes: vec![IndexLayout {
                    local: true,
                    ..index(
                        "labourer_id_greenfield",
                        "labourer_id",
                        Some("desired_launch_time"),
                        Projection::All,
                    )
                }],
            },
            meta: TableLayout {
                name: name("sosw_tasks_meta"),
                attributes: vec![("task_id", String), ("created_at", Number)],
                hash: "task_id",
                range: Some("created_at"),
                indexes: vec![],
            },
            config: TableLayout {
                name: config_table.to_string(),
                attributes: vec![("env", String), ("config_name", String)],
                hash: "env",
                range: Some("config_name"),
                indexes: vec![],
            },
        }
    }

    /// Every table.
    pub fn all(&self) -> [&TableLayout; 5] {
        [
            &self.tasks,
            &self.closed,
            &self.retry,
            &self.meta,
            &self.config,
        ]
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
    fn sosw_task_tables_have_sosw_names_keys_and_indexes() {
        let t = TaskTables::new("", "config");
        let names: Vec<&str> = t.all().iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sosw_tasks",
                "sosw_closed_tasks",
                "sosw_retry_tasks",
                "sosw_tasks_meta",
                "config"
            ]
        );
        assert_eq!(t.tasks.indexes[0].name, "sosw_tasks_greenfield");
        assert_eq!(t.retry.key_names(), ["labourer_id", "task_id"]);
        assert!(t.retry.indexes[0].local);
        assert_eq!(t.meta.key_names(), ["task_id", "created_at"]);
        let twins = TaskTables::new("autotest_", "autotest_config");
        assert_eq!(twins.tasks.name, "autotest_sosw_tasks");
        assert_eq!(
            twins.tasks.indexes[0].name,
            "autotest_sosw_tasks_greenfield"
        );
        for table in t.all() {
            let declared = |name: &str| table.attributes.iter().any(|(n, _)| *n == name);
            for key in table.key_names() {
                assert!(declared(key), "{}: {key}", table.name);
            }
            for index in &table.indexes {
                assert!(
                    declared(index.hash) && index.range.is_none_or(declared),
                    "{}",
                    index.name
                );
            }
        }
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
