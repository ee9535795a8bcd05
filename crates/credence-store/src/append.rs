//! The rules of appending events, once for every backend: enrolment
//! first, opted-out and enrolled-as-another-kind subjects refused,
//! idempotency keys claimed (a repeat of the same fact is harmless,
//! anything else under a used key is a conflict), and each subject's new
//! events merged into its blob in canonical order.
//!
//! A backend supplies only the rows, through [`SubjectRows`], inside the
//! transaction it opened for [`crate::EventStore::write_events`]; the
//! [`Appender`] over them is its [`EventWriter`].
//!
//! Idempotency keys are most of the cost of a write, so they are claimed
//! a chunk at a time ([`SubjectRows::claim_keys`]): when every key of a
//! chunk is new (the common case) that is one statement; only keys that
//! were taken are looked at one by one.

use crate::codec;
use crate::{AppendReport, Error, EventWriter, Rejection, Result};
use credence_domain::{
    Event, EventBody, EventKey, SubjectId, SubjectKind, SubjectState, canonical_order,
};
use std::collections::HashMap;
use std::hash::Hash;

/// Keys claimed per call of [`SubjectRows::claim_keys`], unless the
/// backend says otherwise ([`SubjectRows::key_chunk`]).
pub const KEY_CHUNK: usize = 64;

/// Marks claimed the keys a backend's claiming insert returned
/// (`RETURNING furnisher_id, event_id`), one returned row at a time. The
/// rows come back, in practice, in the order inserted, so a moving pointer
/// finds each at once; a search is the fallback.
#[derive(Debug, Default)]
pub struct ClaimMarks {
    next: usize,
}

impl ClaimMarks {
    /// Marks the key of `keys` that a returned row names.
    pub fn mark<K>(
        &mut self,
        keys: &[(&EventKey, &K)],
        claimed: &mut [bool],
        furnisher: &[u8],
        event_id: &[u8],
    ) {
        let is = |k: usize| {
            let key = keys[k].0;
            key.furnisher_id.as_str().as_bytes() == furnisher
                && key.event_id.as_str().as_bytes() == event_id
        };
        let found = (self.next..keys.len())
            .find(|&k| is(k))
            .or_else(|| (0..keys.len()).find(|&k| !claimed[k] && is(k)));
        if let Some(k) = found {
            claimed[k] = true;
            self.next = k + 1;
        }
    }
}

/// A subject's row as the appender needs it.
#[derive(Debug, Clone)]
pub struct SubjectRow<K> {
    /// The backend's handle on the row.
    pub key: K,
    /// Person or organisation.
    pub kind: SubjectKind,
    /// Enrolled or opted out.
    pub state: SubjectState,
}

/// A subject enrolled by this append, written with its first events.
#[derive(Debug, Clone)]
pub struct Enrolment<'a> {
    /// Who.
    pub subject_id: &'a SubjectId,
    /// Person or organisation.
    pub kind: SubjectKind,
    /// When the enrolment event says it happened (seconds).
    pub enrolled_at: i64,
    /// The restricted-data consent given at enrolment.
    pub restricted: bool,
}

/// What a backend does for the [`Appender`], inside one open transaction.
pub trait SubjectRows {
    /// The backend's handle on a subject's row (a row id, or the id
    /// itself).
    type Key: Clone + Eq + Hash + Ord;

    /// Told the subjects a batch names before any is looked up, so a
    /// server database can read (and lock) them in one round trip.
    fn prefetch(&mut self, _ids: &[&SubjectId]) -> Result<()> {
        Ok(())
    }

    /// The subject's row, if it has one.
    fn find_subject(&mut self, id: &SubjectId) -> Result<Option<SubjectRow<Self::Key>>>;

    /// A handle for a subject enrolling in this transaction; its row is
    /// written later by [`SubjectRows::insert_subject`].
    fn new_key(&mut self, id: &SubjectId) -> Self::Key;

    /// Keys claimed per call of [`SubjectRows::claim_keys`]: as many as one
    /// statement takes well (an embedded engine's parameter limit; a server
    /// database's round trip).
    fn key_chunk(&self) -> usize {
        KEY_CHUNK
    }

    /// Claims each key for its subject where nobody holds it yet, and sets
    /// `claimed[i]` for each one newly claimed (at most
    /// [`SubjectRows::key_chunk`]).
    fn claim_keys(&mut self, keys: &[(&EventKey, &Self::Key)], claimed: &mut [bool]) -> Result<()>;

    /// The subject holding a claimed key.
    fn key_owner(&mut self, key: &EventKey) -> Result<Option<Self::Key>>;

    /// Gives a key claimed in this transaction back.
    fn release_key(&mut self, key: &EventKey) -> Result<()>;

    /// A subject's stored event blob.
    fn read_events(&mut self, key: &Self::Key) -> Result<Option<Vec<u8>>>;

    /// Writes an enrolling subject's row with its first events.
    fn insert_subject(
        &mut self,
        key: &Self::Key,
        enrolment: Enrolment<'_>,
        event_count: usize,
        blob: &[u8],
    ) -> Result<()>;

    /// Replaces a subject's events.
    fn update_events(&mut self, key: &Self::Key, event_count: usize, blob: &[u8]) -> Result<()>;

    /// Called at the end of each batch: rows a backend held back (to
    /// write them in one statement) are written now, in the transaction.
    fn flush_rows(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A subject enrolled in this transaction, written with its first events.
#[derive(Debug, Clone)]
struct Fresh {
    enrolled_at: i64,
    restricted: bool,
}

#[derive(Debug, Clone)]
struct Slot<K> {
    key: K,
    kind: SubjectKind,
    state: SubjectState,
    /// `Some` until the subject's row exists.
    fresh: Option<Fresh>,
}

/// Each subject's new events, by its row's key, waiting to be merged.
type Pending<K> = HashMap<K, (SubjectId, Vec<Event>)>;

/// An event that passed the subject checks and waits for its key.
struct Candidate<K> {
    index: usize,
    subject_key: K,
    created: bool,
}

/// The [`EventWriter`] of every backend: the rules, over a backend's rows.
pub struct Appender<R: SubjectRows> {
    rows: R,
    subjects: HashMap<SubjectId, Slot<R::Key>>,
    total: AppendReport,
    blob: Vec<u8>,
    encoder: codec::Encoder,
}

impl<R: SubjectRows> Appender<R> {
    /// An appender over `rows`.
    pub fn new(rows: R) -> Self {
        Self {
            rows,
            subjects: HashMap::new(),
            total: AppendReport::default(),
            blob: Vec::new(),
            encoder: codec::Encoder::default(),
        }
    }

    /// What the write did, and every subject it looked at (a superset of
    /// those whose rows it changed).
    pub fn finish(self) -> (AppendReport, Vec<SubjectId>) {
        (self.total, self.subjects.into_keys().collect())
    }

    fn lookup(&mut self, id: &SubjectId) -> Result<Option<Slot<R::Key>>> {
        if let Some(slot) = self.subjects.get(id) {
            return Ok(Some(slot.clone()));
        }
        let Some(row) = self.rows.find_subject(id)? else {
            return Ok(None);
        };
        let slot = Slot {
            key: row.key,
            kind: row.kind,
            state: row.state,
            fresh: None,
        };
        self.subjects.insert(id.clone(), slot.clone());
        Ok(Some(slot))
    }

    /// Reserves a key for a subject enrolling now; its row is written by
    /// `flush` together with its events.
    fn enrol(&mut self, event: &Event, kind: SubjectKind, restricted: bool) -> Slot<R::Key> {
        let slot = Slot {
            key: self.rows.new_key(&event.subject_id),
            kind,
            state: SubjectState::Enrolled,
            fresh: Some(Fresh {
                enrolled_at: event.occurred_at.as_second(),
                restricted,
            }),
        };
        self.subjects.insert(event.subject_id.clone(), slot.clone());
        slot
    }

    /// For a key that was already taken: `""` when the stored event states
    /// the same fact (a harmless repeat), `"idempotency_conflict"` otherwise.
    fn judge_repeat(
        &mut self,
        event: &Event,
        subject_key: &R::Key,
        pending: &Pending<R::Key>,
        stored: &mut HashMap<R::Key, Vec<Event>>,
    ) -> Result<&'static str> {
        if self.rows.key_owner(&event.key)?.as_ref() != Some(subject_key) {
            return Ok("idempotency_conflict");
        }
        let find =
            |events: &[Event], key: &EventKey| events.iter().find(|e| &e.key == key).cloned();
        let mut existing = pending
            .get(subject_key)
            .and_then(|(_, events)| find(events, &event.key));
        if existing.is_none() {
            if !stored.contains_key(subject_key) {
                let blob = self.rows.read_events(subject_key)?.unwrap_or_default();
                let mut decoded = Vec::new();
                codec::decode(&blob, &event.subject_id, &mut decoded).map_err(Error::Corrupt)?;
                stored.insert(subject_key.clone(), decoded);
            }
            existing = stored
                .get(subject_key)
                .and_then(|events| find(events, &event.key));
        }
        Ok(match existing {
            Some(existing) if existing.same_fact(event) => "",
            _ => "idempotency_conflict",
        })
    }

    /// Merges each subject's new events into its blob, in canonical order.
    /// Returns the events of subjects whose enrolment was refused in this
    /// append: their keys are released and they are not written.
    fn flush(
        &mut self,
        pending: HashMap<R::Key, (SubjectId, Vec<Event>)>,
    ) -> Result<Vec<EventKey>> {
        let mut orphans = Vec::new();
        let mut pending: Vec<_> = pending.into_iter().collect();
        pending.sort_unstable_by(|a, b| a.0.cmp(&b.0)); // predictable page order
        for (key, (subject_id, new)) in pending {
            let Some(slot) = self.subjects.get_mut(&subject_id) else {
                for event in new {
                    self.rows.release_key(&event.key)?;
                    orphans.push(event.key);
                }
                continue;
            };
            let mut events = new;
            if let Some(fresh) = slot.fresh.take() {
                events.sort_by(canonical_order);
                self.encoder.encode(&events, &mut self.blob);
                let enrolment = Enrolment {
                    subject_id: &subject_id,
                    kind: slot.kind,
                    enrolled_at: fresh.enrolled_at,
                    restricted: fresh.restricted,
                };
                self.rows
                    .insert_subject(&key, enrolment, events.len(), &self.blob)?;
            } else {
                let existing = self.rows.read_events(&key)?.ok_or_else(|| {
                    Error::Backend(format!("subject {subject_id}'s row vanished mid-write"))
                })?;
                let mut merged = Vec::with_capacity(events.len() + 64);
                codec::decode(&existing, &subject_id, &mut merged).map_err(Error::Corrupt)?;
                merged.append(&mut events);
                merged.sort_by(canonical_order);
                self.encoder.encode(&merged, &mut self.blob);
                self.rows.update_events(&key, merged.len(), &self.blob)?;
            }
        }
        Ok(orphans)
    }
}

impl<R: SubjectRows> EventWriter for Appender<R> {
    fn append(&mut self, events: &[Event]) -> Result<AppendReport> {
        let mut report = AppendReport::default();
        let mut candidates = Vec::with_capacity(events.len());
        let mut unseen: Vec<&SubjectId> = events
            .iter()
            .map(|e| &e.subject_id)
            .filter(|id| !self.subjects.contains_key(*id))
            .collect();
        unseen.sort_unstable();
        unseen.dedup();
        self.rows.prefetch(&unseen)?;
        // Subjects first: enrolment, opt-out and kind checks.
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
            candidates.push(Candidate {
                index,
                subject_key: slot.key,
                created,
            });
        }
        // Then keys, a chunk at a time.
        let mut pending: Pending<R::Key> = HashMap::new();
        let mut stored: HashMap<R::Key, Vec<Event>> = HashMap::new();
        let chunk_size = self.rows.key_chunk().max(1);
        let mut claimed = vec![false; chunk_size.min(candidates.len())];
        for chunk in candidates.chunks(chunk_size) {
            let keys: Vec<(&EventKey, &R::Key)> = chunk
                .iter()
                .map(|c| (&events[c.index].key, &c.subject_key))
                .collect();
            let claimed = &mut claimed[..chunk.len()];
            claimed.fill(false);
            self.rows.claim_keys(&keys, claimed)?;
            for (candidate, &new) in chunk.iter().zip(claimed.iter()) {
                let event = &events[candidate.index];
                if new {
                    report.inserted += 1;
                    pending
                        .entry(candidate.subject_key.clone())
                        .or_insert_with(|| (event.subject_id.clone(), Vec::new()))
                        .1
                        .push(event.clone());
                    continue;
                }
                match self.judge_repeat(event, &candidate.subject_key, &pending, &mut stored)? {
                    "" => report.duplicates += 1,
                    code => {
                        if candidate.created && !pending.contains_key(&candidate.subject_key) {
                            // The enrolment that would have created the
                            // subject is itself a conflicting event: forget
                            // the subject.
                            self.subjects.remove(&event.subject_id);
                        }
                        report.rejected.push(Rejection {
                            index: candidate.index,
                            code,
                            message: format!(
                                "furnisher {} already reported event {} with different content; events are immutable — use a new event id",
                                event.key.furnisher_id, event.key.event_id
                            ),
                        });
                    }
                }
            }
        }
        let orphans = self.flush(pending)?;
        self.rows.flush_rows()?;
        for key in orphans {
            if let Some(index) = events.iter().position(|e| e.key == key) {
                report.inserted -= 1;
                report.rejected.push(Rejection {
                    index,
                    code: "not_enrolled",
                    message: format!(
                        "subject {} is not enrolled: its enrolment event was refused",
                        events[index].subject_id
                    ),
                });
            }
        }
        report.rejected.sort_by_key(|r| r.index);
        self.total.inserted += report.inserted;
        self.total.duplicates += report.duplicates;
        self.total.rejected.extend(report.rejected.iter().cloned());
        Ok(report)
    }
}
