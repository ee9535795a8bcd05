//! The feature engine: pure functions of **one subject's events** and an
//! as-of time.
//!
//! The only way in is a [`SubjectHistory`], which can only be built from
//! events that all belong to one subject, in canonical order. There is no
//! parameter through which another subject's events, score or connections
//! could reach a feature: "no guilt by association" holds by construction.
//!
//! Negative information ages out ([`Policy::negative_ageing_years`]), and a
//! file too thin to judge is reported as [`ThinFile`] with what is missing,
//! never scored low.

mod engine;
mod feature;
mod negative;

pub use engine::{FeatureEngine, FeatureSet, ThinFile, ThinReason, compute_features};
pub use feature::{Dimension, Feature, FeatureVector};
pub use negative::{NegativeRecord, NegativeSeverity, negative_records};

pub use credence_domain::Policy;
use credence_domain::{Event, Subject, canonical_order};

/// Why events cannot form a history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// An event belongs to a different subject.
    #[error(
        "event {event_id} of furnisher {furnisher_id} belongs to subject {found}, not {expected}: a history holds one subject's events only"
    )]
    OtherSubject {
        /// The subject the history is for.
        expected: String,
        /// The subject the stray event belongs to.
        found: String,
        /// The stray event's furnisher.
        furnisher_id: String,
        /// The stray event's id.
        event_id: String,
    },
    /// Events are not in canonical order.
    #[error(
        "events are not in canonical order (by occurred_at, then furnisher and event id) at position {position}"
    )]
    Unordered {
        /// Index of the first event out of order.
        position: usize,
    },
}

/// One subject and its events, checked: every event is the subject's own and
/// the events are in canonical order.
#[derive(Debug, Clone, Copy)]
pub struct SubjectHistory<'a> {
    subject: &'a Subject,
    events: &'a [Event],
}

impl<'a> SubjectHistory<'a> {
    /// Checks and wraps `events` as `subject`'s history.
    pub fn new(subject: &'a Subject, events: &'a [Event]) -> Result<Self, HistoryError> {
        for (position, event) in events.iter().enumerate() {
            if event.subject_id != subject.id {
                return Err(HistoryError::OtherSubject {
                    expected: subject.id.to_string(),
                    found: event.subject_id.to_string(),
                    furnisher_id: event.key.furnisher_id.to_string(),
                    event_id: event.key.event_id.to_string(),
                });
            }
            if position > 0 && canonical_order(&events[position - 1], event).is_gt() {
                return Err(HistoryError::Unordered { position });
            }
        }
        Ok(Self { subject, events })
    }

    /// Sorts `events` canonically, then checks and wraps them.
    pub fn sorted(subject: &'a Subject, events: &'a mut [Event]) -> Result<Self, HistoryError> {
        events.sort_by(canonical_order);
        Self::new(subject, events)
    }

    /// The subject.
    pub fn subject(&self) -> &'a Subject {
        self.subject
    }

    /// The subject's events, in canonical order.
    pub fn events(&self) -> &'a [Event] {
        self.events
    }

    /// The events that had occurred by `as_of` (inclusive).
    pub fn events_as_of(&self, as_of: jiff::Timestamp) -> &'a [Event] {
        let end = self.events.partition_point(|e| e.occurred_at <= as_of);
        &self.events[..end]
    }
}

#[cfg(test)]
mod tests;
