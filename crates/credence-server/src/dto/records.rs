//! The wire shapes of records.

use super::*;

/// A data furnisher and the event kinds it may report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Furnisher {
    /// Its id (as in events' `furnisher_id`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Event kinds it may report (`payment_made`, …).
    pub kinds: Vec<String>,
    /// When it was registered.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

/// A partner: asks with consent, offers perks.
#[derive(Debug, Serialize, ToSchema)]
pub struct Partner {
    /// Its id.
    pub id: String,
    /// Display name, shown to subjects.
    pub name: String,
    /// When it was registered.
    #[schema(value_type = String)]
    pub created_at: Timestamp,
}

/// A subject's short statement attached to one of their records.
#[derive(Debug, Serialize, ToSchema)]
pub struct Statement {
    /// Who reported the record.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// The statement (at most 1,000 characters).
    pub text: String,
    /// When written.
    #[schema(value_type = String)]
    pub at: Timestamp,
}

/// Where a human-review request stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for the operator.
    Queued,
    /// A person reviewed it.
    Closed,
}

/// A subject's request for a person to review an automated decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Review {
    /// Its id.
    pub id: String,
    /// What decision it is about.
    pub about: String,
    /// The subject's message.
    pub message: String,
    /// When asked.
    #[schema(value_type = String)]
    pub opened_at: Timestamp,
    /// Where it stands.
    pub status: ReviewStatus,
    /// The reviewer's answer.
    #[serde(default)]
    pub outcome: String,
    /// When closed.
    #[schema(value_type = Option<String>)]
    pub closed_at: Option<Timestamp>,
}

impl From<platform::Furnisher> for Furnisher {
    fn from(value: platform::Furnisher) -> Self {
        Self {
            id: value.id,
            name: value.name,
            kinds: value.kinds,
            created_at: value.created_at,
        }
    }
}

impl From<platform::Partner> for Partner {
    fn from(value: platform::Partner) -> Self {
        Self {
            id: value.id,
            name: value.name,
            created_at: value.created_at,
        }
    }
}

impl From<platform::Statement> for Statement {
    fn from(value: platform::Statement) -> Self {
        Self {
            furnisher_id: value.furnisher_id,
            event_id: value.event_id,
            text: value.text,
            at: value.at,
        }
    }
}

impl From<platform::ReviewStatus> for ReviewStatus {
    fn from(value: platform::ReviewStatus) -> Self {
        match value {
            platform::ReviewStatus::Queued => Self::Queued,
            platform::ReviewStatus::Closed => Self::Closed,
        }
    }
}

impl From<platform::Review> for Review {
    fn from(value: platform::Review) -> Self {
        Self {
            id: value.id,
            about: value.about,
            message: value.message,
            opened_at: value.opened_at,
            status: value.status.into(),
            outcome: value.outcome,
            closed_at: value.closed_at,
        }
    }
}
