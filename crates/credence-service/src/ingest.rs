//! Turning furnished records into stored events: parse, validate, apply the
//! guardrails, check the furnisher's registration and consent for
//! restricted categories, write atomically.
//!
//! Every entry point (an API batch, a JSON Lines or CSV import, a test's
//! batch) admits its records through [`Intake`]'s one set of rules;
//! only parsing differs with the format.

use crate::{Config, Result};
use credence_domain::wire::{FieldSource, ParseContext, parse_event};
use credence_domain::{Admission, Catalogue, Event, EventBody, FieldError, FurnisherId, SubjectId};
use credence_store::{Rejection, Store};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;

/// A problem with one record of a batch or file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordError {
    /// 1-based line of a file, or 0-based index in an API batch.
    pub line: u64,
    /// The field at fault; absent when the record as a whole is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Stable code.
    pub code: String,
    /// What is wrong and how to fix it.
    pub reason: String,
}

impl RecordError {
    pub(crate) fn from_field(line: u64, error: FieldError) -> Self {
        Self {
            line,
            field: error.field,
            code: error.code.to_string(),
            reason: error.reason,
        }
    }

    pub(crate) fn from_rejection(line: u64, rejection: Rejection) -> Self {
        Self {
            line,
            field: None,
            code: rejection.code.to_string(),
            reason: rejection.message,
        }
    }
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "line {}: field `{field}`: {} [{}]",
                self.line, self.reason, self.code
            ),
            None => write!(f, "line {}: {} [{}]", self.line, self.reason, self.code),
        }
    }
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestOutcome {
    /// Events written.
    pub inserted: usize,
    /// Repeats of stored events, ignored.
    pub duplicates: usize,
    /// Records refused (for an atomic batch: nothing was written).
    pub errors: Vec<RecordError>,
}

/// Parses and checks furnished records.
#[derive(Debug, Clone)]
pub struct Ingestor {
    catalogue: Catalogue,
}

impl Ingestor {
    /// An ingestor for the kinds `config` declares.
    pub fn new(config: &Config) -> Result<Self> {
        Ok(Self {
            catalogue: config.catalogue().map_err(crate::Error::Config)?,
        })
    }

    /// The event kinds this ingestor accepts.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Parses one record.
    pub fn parse(
        &self,
        source: &impl FieldSource,
        furnisher: Option<&FurnisherId>,
        now: Timestamp,
    ) -> std::result::Result<Event, Vec<FieldError>> {
        parse_event(
            source,
            &ParseContext {
                catalogue: &self.catalogue,
                furnisher,
                now,
            },
        )
    }

    /// Parses one JSON record (a line of a JSON Lines file, an element of
    /// an API batch).
    pub fn parse_json(
        &self,
        text: &str,
        furnisher: Option<&FurnisherId>,
        now: Timestamp,
    ) -> std::result::Result<Event, Vec<FieldError>> {
        credence_domain::wire::parse_json(
            text,
            &ParseContext {
                catalogue: &self.catalogue,
                furnisher,
                now,
            },
        )
    }

    /// Validates and writes a batch atomically: if any record is bad, nothing
    /// is written and every problem is returned.
    pub fn ingest_batch<S: FieldSource>(
        &self,
        store: &dyn Store,
        records: &[S],
        furnishing: &Furnishing,
        now: Timestamp,
    ) -> Result<IngestOutcome> {
        let mut outcome = IngestOutcome::default();
        let mut events = Vec::with_capacity(records.len());
        let mut intake = Intake::new(store, furnishing);
        for (index, record) in records.iter().enumerate() {
            let parsed = self.parse(record, furnishing.furnisher(), now);
            match intake.admit(parsed)? {
                Ok(event) => events.push(event),
                Err(errors) => outcome.errors.extend(
                    errors
                        .into_iter()
                        .map(|e| RecordError::from_field(index as u64, e)),
                ),
            }
        }
        if !outcome.errors.is_empty() {
            return Ok(outcome);
        }
        match store.append_events(&events) {
            Ok(report) => {
                outcome.inserted = report.inserted;
                outcome.duplicates = report.duplicates;
            }
            Err(credence_store::Error::Rejected(rejections)) => outcome.errors.extend(
                rejections
                    .into_iter()
                    .map(|r| RecordError::from_rejection(r.index as u64, r)),
            ),
            Err(e) => return Err(e.into()),
        }
        Ok(outcome)
    }
}

/// Who furnishes a batch or a file, and so which rules apply beyond those
/// every record meets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Furnishing {
    /// A registered furnisher: every record is its own (one naming another
    /// furnisher is refused), of a kind it is registered for, and it never
    /// gives a subject's consent.
    Furnisher {
        /// The furnisher.
        id: FurnisherId,
        /// The kinds it is registered for.
        kinds: Vec<String>,
    },
    /// The operator, importing records that name their own furnishers (a
    /// back-fill from files): no one furnisher's registration applies, and a
    /// new subject's enrolment may carry the consent the operator recorded
    /// with them. Said so wherever it is used.
    Operator,
}

impl Furnishing {
    /// The furnisher every record must belong to, if one.
    pub fn furnisher(&self) -> Option<&FurnisherId> {
        match self {
            Self::Furnisher { id, .. } => Some(id),
            Self::Operator => None,
        }
    }

    /// The registered furnisher `id`, or `None` when it is not registered.
    pub fn registered(store: &dyn Store, id: &FurnisherId) -> Result<Option<Self>> {
        let Some(record) = store.record(crate::platform::FURNISHER_RECORD, id.as_str())? else {
            return Ok(None);
        };
        // Unreadable is corruption, not the caller's mistake.
        let registered: crate::platform::Furnisher = serde_json::from_str(&record.body)
            .map_err(|e| credence_store::Error::Corrupt(format!("stored furnisher {id}: {e}")))?;
        Ok(Some(Self::Furnisher {
            id: id.clone(),
            kinds: registered.kinds,
        }))
    }
}

/// The rules every parsed record meets before it is written, whatever the
/// entry point: the furnisher's own (its kinds; no consent given by it),
/// then the subject's consent to restricted categories, read from the
/// store. One per batch or file: it remembers the consents it has read and
/// the subjects the batch enrols.
pub struct Intake<'a> {
    store: &'a dyn Store,
    furnishing: &'a Furnishing,
    consent: ConsentBook,
}

impl<'a> Intake<'a> {
    /// Rules for records furnished by `furnishing`.
    pub fn new(store: &'a dyn Store, furnishing: &'a Furnishing) -> Self {
        Self {
            store,
            furnishing,
            consent: ConsentBook::default(),
        }
    }

    /// The event, or every reason it is refused. The outer error is the
    /// store's (reading a stored consent).
    pub fn admit(
        &mut self,
        parsed: std::result::Result<Event, Vec<FieldError>>,
    ) -> Result<std::result::Result<Event, Vec<FieldError>>> {
        let event = match parsed {
            Ok(event) => event,
            Err(errors) => return Ok(Err(errors)),
        };
        if let Furnishing::Furnisher { id, kinds } = self.furnishing {
            // A furnisher reports what people did; it never gives consent
            // for them (see ConsentBook for enrolments).
            if matches!(
                event.body,
                EventBody::SubjectEnrolled {
                    restricted_data_consent: true,
                    ..
                }
            ) {
                return Ok(Err(vec![FieldError::new(
                    "consent_not_by_event",
                    "restricted_data_consent",
                    "a furnisher cannot give a subject's restricted-data consent: the subject gives it themselves, or the operator records it on their behalf",
                )]));
            }
            let kind = match &event.body {
                EventBody::Custom { custom_kind, .. } => custom_kind.as_str(),
                _ => event.kind().name(),
            };
            if !kinds.iter().any(|k| k == kind) {
                return Ok(Err(vec![FieldError::new(
                    "kind_not_allowed",
                    "kind",
                    format!(
                        "furnisher {id} may report {}, not {kind}",
                        if kinds.is_empty() {
                            "nothing yet".to_string()
                        } else {
                            kinds.join(", ")
                        }
                    ),
                )]));
            }
        }
        Ok(match self.consent.check(self.store, &event)? {
            None => Ok(event),
            Some(error) => Err(vec![error]),
        })
    }
}

/// Tracks which subjects gave the separate consent that admits restricted
/// categories (income, assets, deposits, tax). The stored subject is the
/// source of truth: a batch's own enrolment counts only for a subject it
/// enrols (one the store does not know yet), and a repeated enrolment
/// cannot change the consent — consent is a change of its own, never a
/// side effect of an event.
#[derive(Debug, Default)]
pub(crate) struct ConsentBook {
    known: HashMap<SubjectId, bool>,
}

impl ConsentBook {
    /// The stored consent of `subject`, or `None` when the store does not
    /// know the subject (yet).
    fn stored(&mut self, store: &dyn Store, subject: &SubjectId) -> Result<Option<bool>> {
        if let Some(known) = self.known.get(subject) {
            return Ok(Some(*known));
        }
        let stored = store.subject(subject)?.map(|s| s.restricted_data_consent);
        if let Some(consent) = stored {
            self.known.insert(subject.clone(), consent);
        }
        Ok(stored)
    }

    /// `Some(error)` when `event` carries a restricted category its subject
    /// did not consent to, or is an enrolment that would change a stored
    /// consent.
    pub fn check(&mut self, store: &dyn Store, event: &Event) -> Result<Option<FieldError>> {
        if let EventBody::SubjectEnrolled {
            restricted_data_consent,
            ..
        } = &event.body
        {
            return Ok(match self.stored(store, &event.subject_id)? {
                None => {
                    self.known
                        .insert(event.subject_id.clone(), *restricted_data_consent);
                    None
                }
                Some(stored) if stored != *restricted_data_consent => Some(FieldError::new(
                    "consent_not_by_event",
                    "restricted_data_consent",
                    format!(
                        "subject {} is enrolled {} the restricted-data consent; an enrolment event cannot change it: consent is the subject's own act, which they give or withdraw themselves (or the operator records on their behalf)",
                        event.subject_id,
                        if stored { "with" } else { "without" }
                    ),
                )),
                Some(_) => None,
            });
        }
        let category = event.body.category();
        if category.admission() != Admission::Restricted {
            return Ok(None);
        }
        let consented = self.stored(store, &event.subject_id)?.unwrap_or(false);
        Ok((!consented).then(|| {
            FieldError::new(
                "restricted_without_consent",
                "kind",
                format!(
                    "{} is a restricted category ({category}); subject {} has not given the separate explicit consent it needs (the subject gives it themselves; until then such records are refused)",
                    event.kind().name(),
                    event.subject_id
                ),
            )
        }))
    }
}
