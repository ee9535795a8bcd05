//! The wire shapes of ingest: a batch's envelope, and its receipt.

use super::*;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// The events of a batch body (a JSON array of events, or `{"events":
/// [...]}`), each as its JSON text, unparsed: the service reads each one
/// as a record of its own, so a bad record is reported with its place.
/// (Not an untagged enum: serde cannot borrow raw values through one.)
pub fn batch_records(body: &[u8]) -> Result<Vec<&str>, platform::ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| platform::ApiError::invalid("body", format!("the body is not UTF-8: {e}")))?;
    let raws = if text.trim_start().starts_with('{') {
        serde_json::from_str::<Wrapped<'_>>(text).map(|w| w.events)
    } else {
        serde_json::from_str::<Vec<&RawValue>>(text)
    };
    raws.map(|raws| raws.into_iter().map(RawValue::get).collect())
        .map_err(|e| {
            platform::ApiError::invalid(
                "body",
                format!("the body must be a JSON array of events or {{\"events\": [...]}}: {e}"),
            )
        })
}

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
