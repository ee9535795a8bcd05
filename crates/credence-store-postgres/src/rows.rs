//! The rows of an event write inside one PostgreSQL transaction. The
//! rules over them are `credence_store::append`'s; a subject's row is
//! keyed by its id, so its key is the id itself.
//!
//! Round trips are what a server database costs, so a batch costs a few
//! statements, not a few per subject: its subjects are read and locked in
//! one (`prefetch`, in id order, so two nodes' overlapping batches lock in
//! the same order and never deadlock), keys are claimed a chunk at a time
//! (by binary `COPY` when every key is new, else by one `INSERT … ON
//! CONFLICT DO NOTHING RETURNING` of the columns as arrays), and the new
//! and changed subject rows are held back and written in one statement
//! each at the batch's end.

use crate::{backend, kind_code, kind_from_code, state_from_code};
use credence_domain::{EventKey, SubjectId, SubjectKind, SubjectState};
use credence_store::append::{ClaimMarks, Enrolment, SubjectRow, SubjectRows};
use credence_store::{Error, Result};
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use std::collections::HashMap;

/// What the transaction knows of a subject's row.
struct Known {
    kind: SubjectKind,
    state: SubjectState,
    events: Vec<u8>,
    event_count: i32,
}

/// An enrolment held back until the batch's end.
struct NewRow {
    id: SubjectId,
    kind: SubjectKind,
    enrolled_at: i64,
    restricted: bool,
}

pub(crate) struct PostgresRows<'a, 't> {
    tx: &'a mut Transaction<'t>,
    /// Rows read (and locked) in this transaction, or written by it; `None`
    /// for a subject known to have no row.
    known: HashMap<SubjectId, Option<Known>>,
    inserts: Vec<NewRow>,
    /// Subjects whose events changed since the last flush.
    changed: Vec<SubjectId>,
    claim: Option<postgres::Statement>,
}

impl<'a, 't> PostgresRows<'a, 't> {
    pub fn new(tx: &'a mut Transaction<'t>) -> Self {
        Self {
            tx,
            known: HashMap::new(),
            inserts: Vec::new(),
            changed: Vec::new(),
            claim: None,
        }
    }

    /// Reads and locks the rows of `ids` it does not know yet, in id order.
    fn read(&mut self, ids: &[&SubjectId]) -> Result<()> {
        let wanted: Vec<&str> = ids
            .iter()
            .filter(|id| !self.known.contains_key(**id))
            .map(|id| id.as_str())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        // FOR UPDATE: another node appending to one of these subjects waits
        // here rather than merging into a blob this one is about to replace.
        let rows = self
            .tx
            .query(
                "SELECT subject_id, kind, state, events, event_count FROM subjects
                 WHERE subject_id = ANY($1) ORDER BY subject_id FOR UPDATE",
                &[&wanted],
            )
            .map_err(backend("looking up subjects"))?;
        for id in &wanted {
            self.known.insert(crate::subject_id(id)?, None);
        }
        for row in rows {
            self.known.insert(
                crate::subject_id(row.get(0))?,
                Some(Known {
                    kind: kind_from_code(row.get(1))?,
                    state: state_from_code(row.get(2))?,
                    events: row.get(3),
                    event_count: row.get(4),
                }),
            );
        }
        Ok(())
    }
}

impl PostgresRows<'_, '_> {
    /// Copies `keys` into `event_keys` under a savepoint: true when every
    /// one was new, false (and nothing of it kept) when one was taken.
    fn copy_new_keys(&mut self, keys: &[(&EventKey, &SubjectId)]) -> Result<bool> {
        let context = "recording event keys";
        let mut attempt = self.tx.savepoint("claim_keys").map_err(backend(context))?;
        let copied = (|| {
            let sink = attempt.copy_in(
                "COPY event_keys (furnisher_id, event_id, subject_id) FROM STDIN (FORMAT binary)",
            )?;
            let mut writer = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::TEXT, Type::TEXT]);
            for (key, subject) in keys {
                writer.write(&[
                    &key.furnisher_id.as_str(),
                    &key.event_id.as_str(),
                    &subject.as_str(),
                ])?;
            }
            writer.finish()
        })();
        match copied {
            Ok(_) => {
                attempt.commit().map_err(backend(context))?;
                Ok(true)
            }
            Err(e) if crate::is_unique_violation(&e, "event_keys_pkey") => {
                // Dropping the savepoint rolls back to it.
                drop(attempt);
                Ok(false)
            }
            Err(e) => Err(backend(context)(e)),
        }
    }
}

impl SubjectRows for PostgresRows<'_, '_> {
    type Key = SubjectId;

    fn prefetch(&mut self, ids: &[&SubjectId]) -> Result<()> {
        self.read(ids)
    }

    fn find_subject(&mut self, id: &SubjectId) -> Result<Option<SubjectRow<SubjectId>>> {
        self.read(&[id])?;
        Ok(self
            .known
            .get(id)
            .and_then(Option::as_ref)
            .map(|known| SubjectRow {
                key: id.clone(),
                kind: known.kind,
                state: known.state,
            }))
    }

    /// One statement per batch of keys in practice: a round trip costs more
    /// than the rows.
    fn key_chunk(&self) -> usize {
        8_192
    }

    fn new_key(&mut self, id: &SubjectId) -> SubjectId {
        id.clone()
    }

    /// Every key new is the common case (a furnisher's next batch), and
    /// then binary COPY straight into the keys' table is the cheapest
    /// claim there is: no conflict check per row, nothing sent back. Under
    /// a savepoint, so a key already taken (a retried batch, a repeat)
    /// costs only the attempt: then the chunk is claimed again row by row
    /// by one `INSERT … ON CONFLICT DO NOTHING RETURNING`, which says which
    /// keys were taken.
    fn claim_keys(&mut self, keys: &[(&EventKey, &SubjectId)], claimed: &mut [bool]) -> Result<()> {
        if self.copy_new_keys(keys)? {
            claimed.fill(true);
            return Ok(());
        }
        let furnishers: Vec<&str> = keys.iter().map(|(k, _)| k.furnisher_id.as_str()).collect();
        let ids: Vec<&str> = keys.iter().map(|(k, _)| k.event_id.as_str()).collect();
        let subjects: Vec<&str> = keys.iter().map(|(_, s)| s.as_str()).collect();
        let statement = match &self.claim {
            Some(statement) => statement.clone(),
            None => {
                let statement = self
                    .tx
                    .prepare(
                        "INSERT INTO event_keys (furnisher_id, event_id, subject_id)
                         SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                         ON CONFLICT DO NOTHING RETURNING furnisher_id, event_id",
                    )
                    .map_err(backend("recording event keys"))?;
                self.claim = Some(statement.clone());
                statement
            }
        };
        let rows = self
            .tx
            .query(&statement, &[&furnishers, &ids, &subjects])
            .map_err(backend("recording event keys"))?;
        let mut marks = ClaimMarks::default();
        for row in rows {
            let (furnisher, id): (&str, &str) = (row.get(0), row.get(1));
            marks.mark(keys, claimed, furnisher.as_bytes(), id.as_bytes());
        }
        Ok(())
    }

    fn key_owner(&mut self, key: &EventKey) -> Result<Option<SubjectId>> {
        let row = self
            .tx
            .query_opt(
                "SELECT subject_id FROM event_keys WHERE furnisher_id = $1 AND event_id = $2",
                &[&key.furnisher_id.as_str(), &key.event_id.as_str()],
            )
            .map_err(backend("reading an event key"))?;
        row.map(|row| crate::subject_id(row.get(0))).transpose()
    }

    fn release_key(&mut self, key: &EventKey) -> Result<()> {
        self.tx
            .execute(
                "DELETE FROM event_keys WHERE furnisher_id = $1 AND event_id = $2",
                &[&key.furnisher_id.as_str(), &key.event_id.as_str()],
            )
            .map(drop)
            .map_err(backend("releasing an event key"))
    }

    fn read_events(&mut self, key: &SubjectId) -> Result<Option<Vec<u8>>> {
        self.read(&[key])?;
        Ok(self
            .known
            .get(key)
            .and_then(Option::as_ref)
            .map(|known| known.events.clone()))
    }

    fn insert_subject(
        &mut self,
        key: &SubjectId,
        enrolment: Enrolment<'_>,
        event_count: usize,
        blob: &[u8],
    ) -> Result<()> {
        self.inserts.push(NewRow {
            id: key.clone(),
            kind: enrolment.kind,
            enrolled_at: enrolment.enrolled_at,
            restricted: enrolment.restricted,
        });
        self.known.insert(
            key.clone(),
            Some(Known {
                kind: enrolment.kind,
                state: SubjectState::Enrolled,
                events: blob.to_vec(),
                event_count: event_count as i32,
            }),
        );
        Ok(())
    }

    fn update_events(&mut self, key: &SubjectId, event_count: usize, blob: &[u8]) -> Result<()> {
        match self.known.get_mut(key).and_then(Option::as_mut) {
            Some(known) => {
                known.events = blob.to_vec();
                known.event_count = event_count as i32;
            }
            None => {
                return Err(Error::Backend(format!(
                    "subject {key}'s row was not read before its events were written"
                )));
            }
        }
        if !self.inserts.iter().any(|row| &row.id == key) && !self.changed.contains(key) {
            self.changed.push(key.clone());
        }
        Ok(())
    }

    fn flush_rows(&mut self) -> Result<()> {
        // What the transaction knows a subject's row now holds.
        // Borrowed, not copied: the rows stay known for the next batch.
        fn now<'k>(
            known: &'k HashMap<SubjectId, Option<Known>>,
            id: &SubjectId,
        ) -> (&'k [u8], i32) {
            known
                .get(id)
                .and_then(Option::as_ref)
                .map_or((&[][..], 0), |k| (&k.events[..], k.event_count))
        }
        if !self.inserts.is_empty() {
            let rows = std::mem::take(&mut self.inserts);
            let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
            let hashes: Vec<i64> = rows
                .iter()
                .map(|r| i64::from(credence_store::subject_hash(r.id.as_str())))
                .collect();
            let kinds: Vec<i16> = rows.iter().map(|r| kind_code(r.kind)).collect();
            let enrolled: Vec<i64> = rows.iter().map(|r| r.enrolled_at).collect();
            let restricted: Vec<bool> = rows.iter().map(|r| r.restricted).collect();
            let (blobs, counts): (Vec<&[u8]>, Vec<i32>) =
                rows.iter().map(|r| now(&self.known, &r.id)).unzip();
            let inserted = self
                .tx
                .execute(
                    "INSERT INTO subjects (subject_id, subject_hash, kind, enrolled_at, restricted_consent, state, event_count, events)
                     SELECT id, hash, kind, enrolled_at, restricted, 0, n, events
                     FROM unnest($1::text[], $2::bigint[], $3::int2[], $4::bigint[], $5::bool[], $6::int4[], $7::bytea[])
                         AS u(id, hash, kind, enrolled_at, restricted, n, events)
                     ON CONFLICT (subject_id) DO NOTHING",
                    &[&ids, &hashes, &kinds, &enrolled, &restricted, &counts, &blobs],
                )
                .map_err(backend("enrolling subjects"))?;
            if inserted as usize != rows.len() {
                // Another node enrolled one of them after this write looked:
                // nothing of the batch is kept, and a retry sees the subject.
                return Err(Error::Backend(format!(
                    "{} of {} subjects were enrolled by another writer at the same moment; nothing was written, and retrying the batch is safe",
                    rows.len() - inserted as usize,
                    rows.len()
                )));
            }
        }
        if !self.changed.is_empty() {
            let changed = std::mem::take(&mut self.changed);
            let ids: Vec<&str> = changed.iter().map(|id| id.as_str()).collect();
            let (blobs, counts): (Vec<&[u8]>, Vec<i32>) =
                changed.iter().map(|id| now(&self.known, id)).unzip();
            self.tx
                .execute(
                    "UPDATE subjects SET events = u.events, event_count = u.n
                     FROM unnest($1::text[], $2::bytea[], $3::int4[]) AS u(id, events, n)
                     WHERE subjects.subject_id = u.id",
                    &[&ids, &blobs, &counts],
                )
                .map_err(backend("writing subjects' events"))?;
        }
        Ok(())
    }
}
