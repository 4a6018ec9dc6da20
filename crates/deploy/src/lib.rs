//! `stratus deploy`: the whole AWS deployment from one manifest.
//!
//! The systems Stratus replaces are deployed by hand from guides with TODOs where the IAM policy
//! should be. Here a manifest ([`manifest`]) becomes a resource model ([`model`]) — which
//! functions, what each runs and when, exactly which tables, keys, secrets and queues each
//! touches — and everything else is derived from that one model: the CloudFormation template
//! ([`template`]), each function's least-privilege role and the policies a person needs
//! ([`iam`]), the schedules ([`cron`]), the cost ([`cost`]), and the checks of a deployed stack
//! ([`aws`]). Tables are rendered from the layouts the DynamoDB store provisions with, so the
//! deployed tables and the store cannot disagree.

pub mod aws;
pub mod cost;
pub mod cron;
mod deployer;
pub mod iam;
pub mod manifest;
pub mod model;
pub mod template;
pub mod verify;

pub use manifest::{Manifest, ManifestError};
pub use model::{Deployment, ModelError};
