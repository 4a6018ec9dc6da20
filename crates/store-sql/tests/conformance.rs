//! The shared store contract against real servers: PostgreSQL and MariaDB on 127.0.0.1.
//!
//! Set `STRATUS_TEST_POSTGRES` and `STRATUS_TEST_MYSQL` to database URLs (`.ci/run` starts both
//! with `tools/ci/databases.sh`). Without them the tests are skipped with a message — except under
//! `CI=true`, where a missing server fails the run. Every test works in a database of its own, so
//! tests never see each other's rows.

mod support;

/// PostgreSQL.
mod postgres {
    stratus_store::conformance_tests!(optional: super::support::fresh("STRATUS_TEST_POSTGRES"));
}

/// MySQL / MariaDB.
mod mysql {
    stratus_store::conformance_tests!(optional: super::support::fresh("STRATUS_TEST_MYSQL"));
}
