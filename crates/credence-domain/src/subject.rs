//! Subjects: the people and organisations that are scored, by opaque id.

use crate::SubjectId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A person or an organisation. Organisations are scored by their own model
/// and have the same rights as people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// A natural person.
    Person,
    /// A company, co-operative or sole trader.
    Organisation,
}

impl SubjectKind {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Organisation => "organisation",
        }
    }

    /// Parses `person` or `organisation` (also `organization`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "person" => Some(Self::Person),
            "organisation" | "organization" => Some(Self::Organisation),
            _ => None,
        }
    }
}

/// Where a subject is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectState {
    /// Consented and enrolled: events are accepted and scored.
    Enrolled,
    /// Opted out: everything was erased but a tombstone.
    OptedOut,
}

/// A subject as the store knows it. No names, no document numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The operator's opaque id.
    pub id: SubjectId,
    /// Person or organisation.
    pub kind: SubjectKind,
    /// When the subject consented and enrolled.
    pub enrolled_at: Timestamp,
    /// Whether the subject gave the separate explicit consent that admits
    /// restricted categories (income, assets, deposits, tax).
    pub restricted_data_consent: bool,
    /// Enrolled or opted out.
    pub state: SubjectState,
}
