//! Writing events inside one transaction: subject look-up and enrolment,
//! idempotency keys, and the per-subject event blobs.

use crate::{backend, codec, kind_code, kind_from_code, state_from_code};
use credence_domain::{Event, EventBody, SubjectId, SubjectKind, SubjectState, canonical_order};
use credence_store::{AppendReport, Error, EventWriter, Rejection, Result};
use rusqlite::{OptionalExtension, Statement, Transaction, params};
use std::collections::HashMap;

/// A subject enrolled in this transaction, written with its first events.
#[derive(Debug, Clone)]
struct Fresh {
    enrolled_at: i64,
    restricted: bool,
}

#[derive(Debug, Clone)]
struct SubjectSlot {
    key: i64,
    kind: SubjectKind,
    state: SubjectState,
    /// `Some` until the subject's row exists.
    fresh: Option<Fresh>,
}

/// Prepared once per transaction: preparing per event would cost more than
/// the insert itself.
struct Statements<'t> {
    find_subject: Statement<'t>,
    insert_subject: Statement<'t>,
    claim_key: Statement<'t>,
    read_key: Statement<'t>,
    read_events: Statement<'t>,
    update_events: Statement<'t>,
}

pub(crate) struct SqliteWriter<'t> {
    statements: Statements<'t>,
    subjects: HashMap<SubjectId, SubjectSlot>,
    next_key: i64,
    total: AppendReport,
    blob: Vec<u8>,
    encoder: codec::Encoder,
}

impl<'t> SqliteWriter<'t> {
    pub fn new(tx: &'t Transaction<'t>) -> Result<Self> {
        let prepare = |sql: &str| tx.prepare(sql).map_err(backend("preparing a write"));
        let next_key: i64 = tx
            .query_row(
                "SELECT coalesce(max(subject_key), 0) + 1 FROM subjects",
                [],
                |r| r.get(0),
            )
            .map_err(backend("reading the next subject key"))?;
        Ok(Self {
            statements: Statements {
                find_subject: prepare("SELECT subject_key, kind, state FROM subjects WHERE subject_id = ?1")?,
                insert_subject: prepare(
                    "INSERT INTO subjects (subject_key, subject_id, kind, enrolled_at, restricted_consent, state, event_count, events)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
                )?,
                claim_key: prepare(
                    "INSERT INTO event_keys (furnisher_id, event_id, subject_key, digest) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO NOTHING",
                )?,
                read_key: prepare("SELECT subject_key, digest FROM event_keys WHERE furnisher_id = ?1 AND event_id = ?2")?,
                read_events: prepare("SELECT events FROM subjects WHERE subject_key = ?1")?,
                update_events: prepare("UPDATE subjects SET events = ?1, event_count = ?2 WHERE subject_key = ?3")?,
            },
            subjects: HashMap::new(),
            next_key,
            total: AppendReport::default(),
            blob: Vec::new(),
            encoder: codec::Encoder::default(),
        })
    }

    pub fn total(self) -> AppendReport {
        self.total
    }

    fn lookup(&mut self, id: &SubjectId) -> Result<Option<SubjectSlot>> {
        if let Some(slot) = self.subjects.get(id) {
            return Ok(Some(slot.clone()));
        }
        let row = self
            .statements
            .find_subject
            .query_row([id.as_str()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .optional()
            .map_err(backend("looking up a subject"))?;
        let Some((key, kind, state)) = row else {
            return Ok(None);
        };
        let slot = SubjectSlot {
            key,
            kind: kind_from_code(kind)?,
            state: state_from_code(state)?,
            fresh: None,
        };
        self.subjects.insert(id.clone(), slot.clone());
        Ok(Some(slot))
    }

    /// Reserves a key for a subject enrolling now; its row is written by
    /// `flush` together with its events.
    fn enrol(&mut self, event: &Event, kind: SubjectKind, restricted: bool) -> SubjectSlot {
        let slot = SubjectSlot {
            key: self.next_key,
            kind,
            state: SubjectState::Enrolled,
            fresh: Some(Fresh {
                enrolled_at: event.occurred_at.as_second(),
                restricted,
            }),
        };
        self.next_key += 1;
        self.subjects.insert(event.subject_id.clone(), slot.clone());
        slot
    }

    /// Claims the idempotency key. `None` when newly claimed; otherwise the
    /// rejection code for a conflicting reuse, or "" for a harmless repeat.
    fn claim_key(&mut self, event: &Event, subject_key: i64) -> Result<Option<&'static str>> {
        let digest = codec::fact_digest(event);
        let (furnisher, id) = (event.key.furnisher_id.as_str(), event.key.event_id.as_str());
        let inserted = self
            .statements
            .claim_key
            .execute(params![furnisher, id, subject_key, digest])
            .map_err(backend("recording an event key"))?;
        if inserted == 1 {
            return Ok(None);
        }
        let existing: (i64, i64) = self
            .statements
            .read_key
            .query_row(params![furnisher, id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(backend("reading an event key"))?;
        Ok(Some(if existing == (subject_key, digest) {
            ""
        } else {
            "idempotency_conflict"
        }))
    }

    /// Merges each subject's new events into its blob, in canonical order.
    fn flush(&mut self, pending: HashMap<i64, (SubjectId, Vec<Event>)>) -> Result<()> {
        let mut pending: Vec<(i64, (SubjectId, Vec<Event>))> = pending.into_iter().collect();
        pending.sort_unstable_by_key(|(key, _)| *key); // predictable page order
        for (key, (subject_id, new)) in pending {
            let Some(slot) = self.subjects.get_mut(&subject_id) else {
                continue;
            };
            let mut events = new;
            if let Some(fresh) = slot.fresh.take() {
                events.sort_by(canonical_order);
                self.encoder.encode(&events, &mut self.blob);
                self.statements
                    .insert_subject
                    .execute(params![
                        key,
                        subject_id.as_str(),
                        kind_code(slot.kind),
                        fresh.enrolled_at,
                        fresh.restricted,
                        events.len() as i64,
                        &self.blob
                    ])
                    .map_err(backend("enrolling a subject"))?;
            } else {
                let existing: Vec<u8> = self
                    .statements
                    .read_events
                    .query_row([key], |r| r.get(0))
                    .map_err(backend("reading a subject's events"))?;
                let mut merged = Vec::with_capacity(events.len() + 64);
                codec::decode(&existing, &subject_id, &mut merged).map_err(Error::Corrupt)?;
                merged.append(&mut events);
                merged.sort_by(canonical_order);
                self.encoder.encode(&merged, &mut self.blob);
                self.statements
                    .update_events
                    .execute(params![&self.blob, merged.len() as i64, key])
                    .map_err(backend("writing a subject's events"))?;
            }
        }
        Ok(())
    }
}

impl EventWriter for SqliteWriter<'_> {
    fn append(&mut self, events: &[Event]) -> Result<AppendReport> {
        let mut report = AppendReport::default();
        let mut pending: HashMap<i64, (SubjectId, Vec<Event>)> = HashMap::new();
        for (index, event) in events.iter().enumerate() {
            let mut reject = |code: &'static str, message: String| {
                report.rejected.push(Rejection {
                    index,
                    code,
                    message,
                });
            };
            let enrolment = match &event.body {
                EventBody::SubjectEnrolled {
                    subject_kind,
                    restricted_data_consent,
                } => Some((*subject_kind, *restricted_data_consent)),
                _ => None,
            };
            let (slot, created) = match (self.lookup(&event.subject_id)?, enrolment) {
                (Some(slot), _) => (slot, false),
                (None, Some((kind, restricted))) => (self.enrol(event, kind, restricted), true),
                (None, None) => {
                    reject(
                        "not_enrolled",
                        format!(
                            "subject {} is not enrolled; a subject_enrolled event (their consent) must come first",
                            event.subject_id
                        ),
                    );
                    continue;
                }
            };
            if slot.state == SubjectState::OptedOut {
                reject(
                    "opted_out",
                    format!(
                        "subject {} opted out; nothing more is collected",
                        event.subject_id
                    ),
                );
                continue;
            }
            if let Some((kind, _)) = enrolment
                && kind != slot.kind
            {
                reject(
                    "enrollment_conflict",
                    format!(
                        "subject {} is enrolled as a {}, not a {}",
                        event.subject_id,
                        slot.kind.name(),
                        kind.name()
                    ),
                );
                continue;
            }
            match self.claim_key(event, slot.key)? {
                None => {
                    report.inserted += 1;
                    pending
                        .entry(slot.key)
                        .or_insert_with(|| (event.subject_id.clone(), Vec::new()))
                        .1
                        .push(event.clone());
                }
                Some("") => report.duplicates += 1,
                Some(code) => {
                    if created {
                        // The enrolment that would have created the subject is
                        // itself a conflicting event: forget the subject.
                        self.subjects.remove(&event.subject_id);
                    }
                    reject(
                        code,
                        format!(
                            "furnisher {} already reported event {} with different content; events are immutable — use a new event id",
                            event.key.furnisher_id, event.key.event_id
                        ),
                    );
                }
            }
        }
        self.flush(pending)?;
        self.total.inserted += report.inserted;
        self.total.duplicates += report.duplicates;
        self.total.rejected.extend(report.rejected.iter().cloned());
        Ok(report)
    }
}
