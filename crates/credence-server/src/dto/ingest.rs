//! The wire shapes of ingest.

use super::*;

/// What a batch did. Returned only after the batch is durable.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestReceipt {
    /// Events written.
    pub inserted: usize,
    /// Exact repeats of stored events, ignored.
    pub duplicates: usize,
    /// Subjects whose file changed.
    pub subjects: usize,
}

impl From<platform::IngestReceipt> for IngestReceipt {
    fn from(value: platform::IngestReceipt) -> Self {
        Self {
            inserted: value.inserted,
            duplicates: value.duplicates,
            subjects: value.subjects,
        }
    }
}
