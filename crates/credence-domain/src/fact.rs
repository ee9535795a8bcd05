//! The compact form of one subject's events that features are computed
//! from: every event becomes a small `Copy` [`Fact`] with its ids interned
//! to integers, so the feature engine compares numbers, not strings, and a
//! store can decode straight into it without building full events.
//!
//! A [`SubjectLog`] holds one subject and its facts, in canonical order. It
//! can be built only from that subject's own events (checked) or, by a
//! storage backend, from that subject's own stored record. Facts carry no
//! subject at all: there is nothing in them through which another subject
//! could enter.

use crate::{Event, EventBody, EventKind, Subject, canonical_order};
use std::fmt;

/// "No id" in [`Fact::account`] and [`Fact::reference`].
pub const NONE: u32 = u32::MAX;

/// One event, reduced to what features need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    /// When it happened, epoch seconds.
    pub at: i64,
    /// The event kind.
    pub kind: EventKind,
    /// A kind-specific code: account type, closure, damage or identity level
    /// (the position in that enum's `ALL`), or 0.
    pub code: u8,
    /// Whether `amount` was given (a limit or closure amount is optional).
    pub has_amount: bool,
    /// Interned account id, or [`NONE`].
    pub account: u32,
    /// Interned bill or judgment id, or [`NONE`].
    pub reference: u32,
    /// Amount in minor units (0 when absent).
    pub amount: i64,
    /// Days late (payments and rentals).
    pub days_late: u32,
}

impl Fact {
    /// A fact with only a time and a kind.
    pub fn new(at: i64, kind: EventKind) -> Self {
        Self {
            at,
            kind,
            code: 0,
            has_amount: false,
            account: NONE,
            reference: NONE,
            amount: 0,
            days_late: 0,
        }
    }
}

/// Why events or facts cannot form a subject's log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// An event belongs to a different subject.
    #[error(
        "event {event_id} of furnisher {furnisher_id} belongs to subject {found}, not {expected}: a history holds one subject's events only"
    )]
    OtherSubject {
        /// The subject the log is for.
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

/// Numbers ids by first appearance. Both ways of building a log (from
/// events, from a stored record) intern in the same order — per fact, the
/// account first, then the reference — so equal histories give equal logs.
#[derive(Debug, Default)]
pub struct Interner<K> {
    seen: Vec<K>,
}

impl<K: PartialEq + Clone> Interner<K> {
    /// Forgets every id.
    pub fn clear(&mut self) {
        self.seen.clear();
    }

    /// The number of `key`, assigning the next one on first sight. A linear
    /// scan: a subject has a handful of accounts and a few dozen bills.
    pub fn intern(&mut self, key: &K) -> u32 {
        match self.seen.iter().position(|k| k == key) {
            Some(i) => i as u32,
            None => {
                self.seen.push(key.clone());
                (self.seen.len() - 1) as u32
            }
        }
    }
}

/// One subject and its facts, in canonical order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectLog {
    subject: Subject,
    facts: Vec<Fact>,
}

fn position<T: PartialEq>(all: &[T], value: &T) -> u8 {
    all.iter().position(|v| v == value).unwrap_or(0) as u8
}

impl SubjectLog {
    /// Builds the log of `subject` from its events, refusing any event of
    /// another subject and any event out of canonical order.
    pub fn from_events(subject: Subject, events: &[Event]) -> Result<Self, LogError> {
        let mut log = Self {
            subject,
            facts: Vec::with_capacity(events.len()),
        };
        log.refill_from_events(events)?;
        Ok(log)
    }

    /// Replaces this log's facts with those of `events` (same subject),
    /// reusing the buffer.
    pub fn refill_from_events(&mut self, events: &[Event]) -> Result<(), LogError> {
        self.facts.clear();
        let mut ids: Interner<&str> = Interner::default();
        for (position, event) in events.iter().enumerate() {
            if event.subject_id != self.subject.id {
                return Err(LogError::OtherSubject {
                    expected: self.subject.id.to_string(),
                    found: event.subject_id.to_string(),
                    furnisher_id: event.key.furnisher_id.to_string(),
                    event_id: event.key.event_id.to_string(),
                });
            }
            if position > 0 && canonical_order(&events[position - 1], event).is_gt() {
                return Err(LogError::Unordered { position });
            }
            self.facts.push(fact_of(event, &mut ids));
        }
        Ok(())
    }

    /// A log from facts a storage backend decoded from this subject's own
    /// record. Checks that the facts are in time order.
    pub fn from_facts(subject: Subject, facts: Vec<Fact>) -> Result<Self, LogError> {
        if let Some(position) = facts.windows(2).position(|w| w[0].at > w[1].at) {
            return Err(LogError::Unordered {
                position: position + 1,
            });
        }
        Ok(Self { subject, facts })
    }

    /// The subject.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// All facts, in canonical order.
    pub fn facts(&self) -> &[Fact] {
        &self.facts
    }

    /// The facts that had occurred by `as_of` (epoch seconds, inclusive).
    pub fn facts_as_of(&self, as_of: i64) -> &[Fact] {
        let end = self.facts.partition_point(|f| f.at <= as_of);
        &self.facts[..end]
    }

    /// Takes the parts back, for reuse of the buffer.
    pub fn into_parts(self) -> (Subject, Vec<Fact>) {
        (self.subject, self.facts)
    }
}

fn fact_of<'e>(event: &'e Event, ids: &mut Interner<&'e str>) -> Fact {
    use crate::{AccountType, Closure, Damage, IdentityLevel};
    let mut fact = Fact::new(event.occurred_at.as_second(), event.kind());
    if let Some(account) = event.body.account_id() {
        fact.account = ids.intern(&account.as_str());
    }
    match &event.body {
        EventBody::SubjectEnrolled { subject_kind, .. } => {
            fact.code = u8::from(*subject_kind == crate::SubjectKind::Organisation);
        }
        EventBody::AccountOpened {
            account_type,
            limit,
            ..
        } => {
            fact.code = position(&AccountType::ALL, account_type);
            if let Some(limit) = limit {
                fact.amount = limit.minor;
                fact.has_amount = true;
            }
        }
        EventBody::AccountClosed {
            closure, amount, ..
        } => {
            fact.code = position(&Closure::ALL, closure);
            if let Some(amount) = amount {
                fact.amount = amount.minor;
                fact.has_amount = true;
            }
        }
        EventBody::BillDue {
            bill_id, amount, ..
        } => {
            fact.reference = ids.intern(&bill_id.as_str());
            fact.amount = amount.minor;
            fact.has_amount = true;
        }
        EventBody::PaymentMade {
            bill_id,
            amount,
            days_late,
            ..
        } => {
            if let Some(bill) = bill_id {
                fact.reference = ids.intern(&bill.as_str());
            }
            fact.amount = amount.minor;
            fact.has_amount = true;
            fact.days_late = *days_late;
        }
        EventBody::BalanceReported { balance, .. } => {
            fact.amount = balance.minor;
            fact.has_amount = true;
        }
        EventBody::RentalReturned {
            days_late, damage, ..
        } => {
            fact.days_late = *days_late;
            fact.code = position(&Damage::ALL, damage);
        }
        EventBody::IdentityVerified { level } => fact.code = position(&IdentityLevel::ALL, level),
        EventBody::IncomeReported { amount } => {
            fact.amount = amount.minor;
            fact.has_amount = true;
        }
        EventBody::JudgmentEntered {
            judgment_id,
            amount,
        } => {
            fact.reference = ids.intern(&judgment_id.as_str());
            fact.amount = amount.minor;
            fact.has_amount = true;
        }
        EventBody::JudgmentSatisfied { judgment_id } => {
            fact.reference = ids.intern(&judgment_id.as_str())
        }
        EventBody::Custom { .. } => {}
    }
    fact
}

impl fmt::Display for Fact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.kind.name(), self.at)
    }
}
