//! The wire shapes of disputes.

use super::*;

/// Where a dispute stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    /// Waiting for the furnisher; the record is excluded meanwhile.
    Open,
    /// The furnisher confirmed the record; it counts again.
    Confirmed,
    /// The furnisher corrected it with a new record; the old one is out.
    Corrected,
    /// The furnisher withdrew the record.
    Withdrawn,
    /// No answer within 20 days: resolved for the subject, record out.
    ResolvedForSubject,
}

/// A subject's dispute of one record.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dispute {
    /// Its id.
    pub id: String,
    /// Who reported the record.
    pub furnisher_id: String,
    /// The furnisher's id of the record.
    pub event_id: String,
    /// The subject's reason.
    pub reason: String,
    /// When opened.
    #[schema(value_type = String)]
    pub opened_at: Timestamp,
    /// The furnisher must answer before this, or it resolves for the subject.
    #[schema(value_type = String)]
    pub answer_due: Timestamp,
    /// Where it stands.
    pub status: DisputeStatus,
    /// When it was resolved.
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<Timestamp>,
    /// The furnisher's or operator's note.
    #[serde(default)]
    pub note: String,
    /// For a correction: the event id of the corrected record.
    #[serde(default)]
    pub replacement_event_id: Option<String>,
    /// The other events the disputed record is made of (a late payment is
    /// its bill and the payments against it), fixed when the dispute
    /// opens: the dispute excludes them all, so the record leaves the
    /// score at once, whichever of its events was named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<RecordRef>,
}

/// One event, by its furnisher and the furnisher's id.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordRef {
    /// Who reported it.
    pub furnisher_id: String,
    /// The furnisher's id of it.
    pub event_id: String,
}

/// A record left out of the score because of a dispute.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisputedRecord {
    /// Who reported it.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// The dispute's status.
    pub status: DisputeStatus,
}

/// Open a dispute on one of your records.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    /// Who reported the record.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub furnisher_id: String,
    /// The record.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub event_id: String,
    /// What is wrong with it.
    #[schema(min_length = 1, max_length = 1000)]
    pub reason: String,
}

/// How a furnisher answers a dispute.
#[derive(Debug, Deserialize, ToSchema)]
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
#[derive(Debug, Deserialize, ToSchema)]
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

impl From<platform::DisputeStatus> for DisputeStatus {
    fn from(value: platform::DisputeStatus) -> Self {
        match value {
            platform::DisputeStatus::Open => Self::Open,
            platform::DisputeStatus::Confirmed => Self::Confirmed,
            platform::DisputeStatus::Corrected => Self::Corrected,
            platform::DisputeStatus::Withdrawn => Self::Withdrawn,
            platform::DisputeStatus::ResolvedForSubject => Self::ResolvedForSubject,
        }
    }
}

impl From<platform::Dispute> for Dispute {
    fn from(value: platform::Dispute) -> Self {
        Self {
            id: value.id,
            furnisher_id: value.furnisher_id,
            event_id: value.event_id,
            reason: value.reason,
            opened_at: value.opened_at,
            answer_due: value.answer_due,
            status: value.status.into(),
            resolved_at: value.resolved_at,
            note: value.note,
            replacement_event_id: value.replacement_event_id,
            covers: value.covers.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<platform::RecordRef> for RecordRef {
    fn from(value: platform::RecordRef) -> Self {
        Self {
            furnisher_id: value.furnisher_id,
            event_id: value.event_id,
        }
    }
}

impl From<platform::DisputedRecord> for DisputedRecord {
    fn from(value: platform::DisputedRecord) -> Self {
        Self {
            furnisher_id: value.furnisher_id,
            event_id: value.event_id,
            status: value.status.into(),
        }
    }
}

impl From<DisputeRequest> for platform::DisputeRequest {
    fn from(value: DisputeRequest) -> Self {
        Self {
            furnisher_id: value.furnisher_id,
            event_id: value.event_id,
            reason: value.reason,
        }
    }
}

impl From<DisputeAnswerKind> for platform::DisputeAnswerKind {
    fn from(value: DisputeAnswerKind) -> Self {
        match value {
            DisputeAnswerKind::Confirm => Self::Confirm,
            DisputeAnswerKind::Correct => Self::Correct,
            DisputeAnswerKind::Withdraw => Self::Withdraw,
        }
    }
}

impl From<DisputeAnswer> for platform::DisputeAnswer {
    fn from(value: DisputeAnswer) -> Self {
        Self {
            answer: value.answer.into(),
            note: value.note,
            replacement_event_id: value.replacement_event_id,
        }
    }
}
