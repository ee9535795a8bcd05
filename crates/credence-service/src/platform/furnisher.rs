//! What furnishers do: report batches of events, answer disputes.

use super::records::{Records, kind};
use super::{
    ApiError, ApiResult, Code, Dispute, DisputeStatus, Furnisher, Platform, Principal,
    RecordProblem,
};
use crate::{Furnishing, Intake};
use credence_domain::{FurnisherId, SubjectId};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeSet;
use utoipa::ToSchema;

/// What a batch did. Returned only after the batch is durable.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestReceipt {
    /// Events written.
    pub inserted: usize,
    /// Exact repeats of stored events, ignored.
    pub duplicates: usize,
    /// Subjects whose file changed.
    pub subjects: usize,
}

/// How a furnisher answers a dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisputeAnswerKind {
    /// The record is right; it counts again.
    Confirm,
    /// The record was wrong; a corrected one was reported under
    /// `replacement_event_id`.
    Correct,
    /// The record should not have been reported.
    Withdraw,
}

/// A furnisher's (or operator's) answer to a dispute.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeAnswer {
    /// The answer.
    pub answer: DisputeAnswerKind,
    /// A note for the subject.
    #[serde(default)]
    pub note: String,
    /// For `correct`: the event id of the corrected record (reported first).
    #[serde(default)]
    pub replacement_event_id: Option<String>,
}

#[derive(Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

/// The batch's records, unparsed. (Not an untagged enum: serde cannot
/// borrow raw values through one.)
fn batch_records(text: &str) -> serde_json::Result<Vec<&RawValue>> {
    if text.trim_start().starts_with('{') {
        serde_json::from_str::<Wrapped<'_>>(text).map(|w| w.events)
    } else {
        serde_json::from_str(text)
    }
}

impl Platform {
    /// Validates and writes a batch atomically. Every bad record is listed
    /// and nothing is written unless all are good.
    pub fn ingest(&self, principal: &Principal, body: &[u8]) -> ApiResult<IngestReceipt> {
        let Principal::Furnisher { id: furnisher, .. } = principal else {
            return Err(ApiError::new(
                Code::Forbidden,
                "only furnishers may report events (with a furnisher API key)",
            ));
        };
        let registered: Furnisher =
            self.records()
                .get(kind::FURNISHER, furnisher)?
                .ok_or_else(|| {
                    ApiError::new(
                        Code::Forbidden,
                        format!("furnisher {furnisher:?} is not registered; ask the operator"),
                    )
                })?;
        let furnisher_id = FurnisherId::new(furnisher).map_err(ApiError::internal)?;
        let text = std::str::from_utf8(body)
            .map_err(|e| ApiError::invalid("body", format!("the body is not UTF-8: {e}")))?;
        let raws = batch_records(text).map_err(|e| {
            ApiError::invalid(
                "body",
                format!("the body must be a JSON array of events or {{\"events\": [...]}}: {e}"),
            )
        })?;
        let limit = self.limits().max_batch_events;
        if raws.len() > limit {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!(
                    "the batch has {} events; at most {limit} are allowed per request: split it",
                    raws.len()
                ),
            ));
        }
        if raws.is_empty() {
            return Err(ApiError::invalid("body", "the batch is empty"));
        }
        let now = self.now();
        let mut problems = Vec::new();
        let mut events = Vec::with_capacity(raws.len());
        let furnishing = Furnishing::Furnisher {
            id: furnisher_id,
            kinds: registered.kinds,
        };
        let mut intake = Intake::new(self.store(), &furnishing);
        for (index, raw) in raws.iter().enumerate() {
            let parsed = self
                .ingestor
                .parse_json(raw.get(), furnishing.furnisher(), now);
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

    /// Open disputes on the furnisher's records (all open ones for an
    /// operator).
    pub fn dispute_queue(&self, principal: &Principal) -> ApiResult<Vec<Dispute>> {
        let filter = match principal {
            Principal::Furnisher { id, .. } => credence_store::RecordFilter::Owner(id),
            Principal::Operator { .. } | Principal::System { .. } => {
                credence_store::RecordFilter::All
            }
            _ => {
                return Err(ApiError::new(
                    Code::Forbidden,
                    "only furnishers and operators see dispute queues",
                ));
            }
        };
        Ok(self.settle_and_list_open(filter)?.0)
    }

    /// Answers a dispute: confirm, correct or withdraw.
    pub fn answer_dispute(
        &self,
        principal: &Principal,
        dispute_id: &str,
        answer: &DisputeAnswer,
    ) -> ApiResult<Dispute> {
        let record = self
            .store()
            .record(kind::DISPUTE, dispute_id)?
            .ok_or_else(|| ApiError::not_found(format!("no dispute {dispute_id:?}")))?;
        let allowed = match principal {
            Principal::Operator { .. } | Principal::System { .. } => true,
            Principal::Furnisher { id, .. } => record.owner.as_deref() == Some(id.as_str()),
            _ => false,
        };
        if !allowed {
            // Not yours: indistinguishable from not existing.
            return Err(ApiError::not_found(format!("no dispute {dispute_id:?}")));
        }
        let subject = record
            .subject
            .clone()
            .ok_or_else(|| ApiError::internal("dispute without subject"))?;
        // Settle a lapsed deadline before answering.
        let current = self
            .disputes_of(&subject)?
            .into_iter()
            .find(|d| d.id == dispute_id)
            .ok_or_else(|| ApiError::not_found(format!("no dispute {dispute_id:?}")))?;
        if current.status != DisputeStatus::Open {
            return Err(ApiError::new(
                Code::Conflict,
                format!("dispute {dispute_id} is already {}", current.status.name()),
            ));
        }
        if answer.note.chars().count() > 1_000 {
            return Err(ApiError::invalid(
                "note",
                "`note` is at most 1,000 characters",
            ));
        }
        let status = match answer.answer {
            DisputeAnswerKind::Confirm => DisputeStatus::Confirmed,
            DisputeAnswerKind::Withdraw => DisputeStatus::Withdrawn,
            DisputeAnswerKind::Correct => {
                let Some(replacement) = answer.replacement_event_id.as_deref() else {
                    return Err(ApiError::invalid(
                        "replacement_event_id",
                        "a correction names the corrected record: report it first, then give its event id",
                    ));
                };
                let exists = self.store().subject_events(&subject)?.iter().any(|e| {
                    e.key.event_id.as_str() == replacement
                        && e.key.furnisher_id.as_str() == current.furnisher_id
                });
                if !exists || replacement == current.event_id {
                    return Err(ApiError::invalid(
                        "replacement_event_id",
                        format!(
                            "no record {replacement:?} from {} for this subject",
                            current.furnisher_id
                        ),
                    ));
                }
                DisputeStatus::Corrected
            }
        };
        let dispute = Dispute {
            status,
            resolved_at: Some(self.now()),
            note: answer.note.trim().to_string(),
            replacement_event_id: answer.replacement_event_id.clone(),
            ..current
        };
        self.audit_writing(
            principal,
            "dispute.answer",
            Some(&subject),
            format!("dispute {} {}", dispute.id, dispute.status.name()),
            vec![Records::put_write(
                kind::DISPUTE,
                dispute.id.clone(),
                Some(&subject),
                Some(&dispute.furnisher_id),
                &dispute,
            )?],
        )?;
        Ok(dispute)
    }
}
