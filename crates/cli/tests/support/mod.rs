//! Helpers shared by the CLI's integration tests.

pub(crate) mod databases;
pub(crate) mod dynamo;
