//! The rules of Credence over any [`credence_store::Store`]: ingest (parse,
//! validate, guardrails, consent for restricted data), file import with
//! line-level errors and quarantine, scoring one subject with its reasons,
//! and rescoring everyone in bounded memory; and the [`platform`]: roles,
//! consents, perks, disputes, subjects' rights and the hash-chained audit
//! log, as use cases that check who is asking before anything else.
//!
//! No HTTP here: the CLI and the server both call this crate, and tests use
//! it directly.

mod clock;
mod config;
mod error;
pub mod import;
mod ingest;
pub mod platform;
mod scoring;
#[cfg(test)]
mod test_store;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::{Config, ModelPaths, StoreSettings};
pub use error::{Error, Result};
pub use ingest::{Furnishing, IngestOutcome, Ingestor, Intake, RecordError};
pub use scoring::{ExplainRow, Explanation, RescoreSummary, Scorer};
