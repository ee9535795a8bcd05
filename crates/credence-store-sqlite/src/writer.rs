//! Writing events inside one transaction: subject look-up and enrolment,
//! idempotency keys, and the per-subject event blobs.
//!
//! Idempotency keys are most of the cost of a write, so they are claimed
//! many rows per statement: one multi-row `INSERT … ON CONFLICT DO NOTHING
//! RETURNING` per chunk. When every row of a chunk comes back, all were new
//! (the common case); otherwise the rows that did not are checked one by one
//! against what is stored: the same fact is a harmless repeat, anything else
//! a conflict.

use crate::{backend, codec, kind_code, kind_from_code, state_from_code};
use credence_domain::{
    Event, EventBody, EventKey, SubjectId, SubjectKind, SubjectState, canonical_order,
};
use credence_store::{AppendReport, Error, EventWriter, Rejection, Result};
use rusqlite::{OptionalExtension, Statement, Transaction, params, params_from_iter};
use std::collections::HashMap;

/// Keys claimed per statement.
const KEY_CHUNK: usize = 64;

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
    claim_chunk: Statement<'t>,
    read_key: Statement<'t>,
    read_events: Statement<'t>,
    update_events: Statement<'t>,
}

fn claim_sql(rows: usize) -> String {
    let values = vec!["(?, ?, ?)"; rows].join(", ");
    format!(
        "INSERT INTO event_keys (furnisher_id, event_id, subject_key) VALUES {values}
         ON CONFLICT DO NOTHING RETURNING furnisher_id, event_id"
    )
}

pub(crate) struct SqliteWriter<'t> {
    tx: &'t Transaction<'t>,
    statements: Statements<'t>,
    subjects: HashMap<SubjectId, SubjectSlot>,
    next_key: i64,
    total: AppendReport,
    blob: Vec<u8>,
    encoder: codec::Encoder,
}

/// An event that passed the subject checks and waits for its key.
struct Candidate {
    index: usize,
    subject_key: i64,
    created: bool,
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
            tx,
            statements: Statements {
                find_subject: prepare("SELECT subject_key, kind, state FROM subjects WHERE subject_id = ?1")?,
                insert_subject: prepare(
                    "INSERT INTO subjects (subject_key, subject_id, kind, enrolled_at, restricted_consent, state, event_count, events, subject_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8)",
                )?,
                claim_chunk: prepare(&claim_sql(KEY_CHUNK))?,
                read_key: prepare("SELECT subject_key FROM event_keys WHERE furnisher_id = ?1 AND event_id = ?2")?,
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

    /// What the write did, and every subject it looked at (a superset of
    /// those whose rows it changed).
    pub fn finish(self) -> (AppendReport, Vec<SubjectId>) {
        (self.total, self.subjects.into_keys().collect())
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

    /// Claims the keys of `chunk`; returns which rows were newly claimed.
    fn claim(&mut self, events: &[Event], chunk: &[Candidate]) -> Result<Vec<bool>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        // Borrowed values: binding copies nothing into Rust strings.
        let mut values: Vec<ToSqlOutput<'_>> = Vec::with_capacity(chunk.len() * 3);
        for candidate in chunk {
            let key = &events[candidate.index].key;
            values.push(ToSqlOutput::Borrowed(ValueRef::Text(
                key.furnisher_id.as_str().as_bytes(),
            )));
            values.push(ToSqlOutput::Borrowed(ValueRef::Text(
                key.event_id.as_str().as_bytes(),
            )));
            values.push(ToSqlOutput::Borrowed(ValueRef::Integer(
                candidate.subject_key,
            )));
        }
        let mut claimed = vec![false; chunk.len()];
        // RETURNING gives the inserted rows, in practice in insertion order;
        // match them with a moving pointer, falling back to a search.
        let mark = |stmt: &mut Statement<'_>, claimed: &mut Vec<bool>| -> rusqlite::Result<()> {
            let mut rows = stmt.query(params_from_iter(values.iter()))?;
            let mut next = 0;
            while let Some(row) = rows.next()? {
                let (furnisher, id) = (row.get_ref(0)?.as_bytes()?, row.get_ref(1)?.as_bytes()?);
                let is = |c: &Candidate| {
                    let key = &events[c.index].key;
                    key.furnisher_id.as_str().as_bytes() == furnisher
                        && key.event_id.as_str().as_bytes() == id
                };
                let found = (next..chunk.len())
                    .find(|&k| is(&chunk[k]))
                    .or_else(|| (0..chunk.len()).find(|&k| !claimed[k] && is(&chunk[k])));
                if let Some(k) = found {
                    claimed[k] = true;
                    next = k + 1;
                }
            }
            Ok(())
        };
        if chunk.len() == KEY_CHUNK {
            mark(&mut self.statements.claim_chunk, &mut claimed)
        } else {
            let mut stmt = self
                .tx
                .prepare_cached(&claim_sql(chunk.len()))
                .map_err(backend("recording event keys"))?;
            mark(&mut stmt, &mut claimed)
        }
        .map_err(backend("recording event keys"))?;
        Ok(claimed)
    }

    /// For a key that was already taken: `""` when the stored event states
    /// the same fact (a harmless repeat), `"idempotency_conflict"` otherwise.
    fn judge_repeat(
        &mut self,
        event: &Event,
        subject_key: i64,
        pending: &HashMap<i64, (SubjectId, Vec<Event>)>,
        stored: &mut HashMap<i64, Vec<Event>>,
    ) -> Result<&'static str> {
        let (furnisher, id) = (event.key.furnisher_id.as_str(), event.key.event_id.as_str());
        let owner: i64 = self
            .statements
            .read_key
            .query_row(params![furnisher, id], |r| r.get(0))
            .map_err(backend("reading an event key"))?;
        if owner != subject_key {
            return Ok("idempotency_conflict");
        }
        let find =
            |events: &[Event], key: &EventKey| events.iter().find(|e| &e.key == key).cloned();
        let mut existing = pending
            .get(&subject_key)
            .and_then(|(_, events)| find(events, &event.key));
        if existing.is_none() {
            if let std::collections::hash_map::Entry::Vacant(slot) = stored.entry(subject_key) {
                let blob: Vec<u8> = self
                    .statements
                    .read_events
                    .query_row([subject_key], |r| r.get(0))
                    .optional()
                    .map_err(backend("reading a subject's events"))?
                    .unwrap_or_default();
                let mut decoded = Vec::new();
                codec::decode(&blob, &event.subject_id, &mut decoded).map_err(Error::Corrupt)?;
                slot.insert(decoded);
            }
            existing = stored
                .get(&subject_key)
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
    fn flush(&mut self, pending: HashMap<i64, (SubjectId, Vec<Event>)>) -> Result<Vec<EventKey>> {
        let mut orphans = Vec::new();
        let mut pending: Vec<(i64, (SubjectId, Vec<Event>))> = pending.into_iter().collect();
        pending.sort_unstable_by_key(|(key, _)| *key); // predictable page order
        for (key, (subject_id, new)) in pending {
            let Some(slot) = self.subjects.get_mut(&subject_id) else {
                for event in new {
                    self.tx
                        .execute(
                            "DELETE FROM event_keys WHERE furnisher_id = ?1 AND event_id = ?2",
                            params![event.key.furnisher_id.as_str(), event.key.event_id.as_str()],
                        )
                        .map_err(backend("releasing an event key"))?;
                    orphans.push(event.key);
                }
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
                        &self.blob,
                        credence_store::subject_hash(subject_id.as_str())
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
        Ok(orphans)
    }
}

impl EventWriter for SqliteWriter<'_> {
    fn append(&mut self, events: &[Event]) -> Result<AppendReport> {
        let mut report = AppendReport::default();
        let mut candidates = Vec::with_capacity(events.len());
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
        let mut pending: HashMap<i64, (SubjectId, Vec<Event>)> = HashMap::new();
        let mut stored: HashMap<i64, Vec<Event>> = HashMap::new();
        for chunk in candidates.chunks(KEY_CHUNK) {
            let claimed = self.claim(events, chunk)?;
            for (candidate, new) in chunk.iter().zip(claimed) {
                let event = &events[candidate.index];
                if new {
                    report.inserted += 1;
                    pending
                        .entry(candidate.subject_key)
                        .or_insert_with(|| (event.subject_id.clone(), Vec::new()))
                        .1
                        .push(event.clone());
                    continue;
                }
                match self.judge_repeat(event, candidate.subject_key, &pending, &mut stored)? {
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
