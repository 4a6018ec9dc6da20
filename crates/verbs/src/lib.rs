//! The analytics verbs every adapter serves — the CLI, the HTTP API and the Lambda handler: their
//! arguments (declared once, with clap), what each computes, and its result in every format.
//!
//! Adapters differ only in how a request arrives. The CLI parses `argv`; the API and Lambda turn
//! query parameters or an event's JSON into the same argument list ([`request`]) and parse it with
//! the same declarations, so every option, default and validation message is the CLI's, and the
//! JSON they return is byte for byte what `stratus <verb> --json` prints.

pub mod args;
pub mod commands;
pub mod output;
pub mod request;
#[cfg(feature = "testkit")]
pub mod testkit;
