//! A furnisher's batch over the API: its limits, then the one ingest
//! pipeline (`crate::Intake`) every entry point shares. (How a batch is
//! wrapped in a request body is the server's business.)

use super::{ApiError, ApiResult, Code, Platform, Principal, RecordProblem};
use crate::{Furnishing, Intake};
use credence_domain::{FurnisherId, SubjectId};
use serde::Serialize;
use std::collections::BTreeSet;

/// What a batch did. Returned only after the batch is durable.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReceipt {
    /// Events written.
    pub inserted: usize,
    /// Exact repeats of stored events, ignored.
    pub duplicates: usize,
    /// Subjects whose file changed.
    pub subjects: usize,
}

impl Platform {
    /// Validates and writes a batch atomically: `records` are the events'
    /// JSON texts, in order. Every bad record is listed and nothing is
    /// written unless all are good.
    pub fn ingest(&self, principal: &Principal, records: &[&str]) -> ApiResult<IngestReceipt> {
        let Principal::Furnisher { id: furnisher, .. } = principal else {
            return Err(ApiError::new(
                Code::Forbidden,
                "only furnishers may report events (with a furnisher API key)",
            ));
        };
        let furnisher_id = FurnisherId::new(furnisher).map_err(ApiError::internal)?;
        // The same registration, read the same way, as a furnisher's file.
        let furnishing = Furnishing::registered(self.store(), &furnisher_id)?.ok_or_else(|| {
            ApiError::new(
                Code::Forbidden,
                format!("furnisher {furnisher:?} is not registered; ask the operator"),
            )
        })?;
        let limit = self.limits().max_batch_events;
        if records.len() > limit {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!(
                    "the batch has {} events; at most {limit} are allowed per request: split it",
                    records.len()
                ),
            ));
        }
        if records.is_empty() {
            return Err(ApiError::invalid("body", "the batch is empty"));
        }
        let now = self.now();
        let mut problems = Vec::new();
        let mut events = Vec::with_capacity(records.len());
        let mut intake = Intake::new(self.store(), &furnishing);
        for (index, record) in records.iter().enumerate() {
            let parsed = self
                .ingestor
                .parse_json(record, furnishing.furnisher(), now);
            match intake.admit(parsed)? {
                Ok(event) => events.push(event),
                Err(errors) => problems.extend(errors.into_iter().map(|e| RecordProblem {
                    index: index as u64,
                    field: e.field,
                    code: e.code.to_string(),
                    message: e.reason,
                })),
            }
        }
        if problems.is_empty() {
            match self.store().append_events(&events) {
                Ok(report) => {
                    let subjects: BTreeSet<&SubjectId> =
                        events.iter().map(|e| &e.subject_id).collect();
                    return Ok(IngestReceipt {
                        inserted: report.inserted,
                        duplicates: report.duplicates,
                        subjects: subjects.len(),
                    });
                }
                Err(credence_store::Error::Rejected(rejections)) => {
                    problems.extend(rejections.into_iter().map(|r| RecordProblem {
                        index: r.index as u64,
                        field: None,
                        code: r.code.to_string(),
                        message: r.message,
                    }));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut error = ApiError::new(
            Code::InvalidRecords,
            format!(
                "{} problem(s) in the batch; nothing was written. Fix them and send the whole batch again",
                problems.len()
            ),
        );
        error.problems = problems;
        Err(error)
    }
}
