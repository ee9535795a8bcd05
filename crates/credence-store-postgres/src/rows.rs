//! The rows of an event write inside one PostgreSQL transaction. The
//! rules over them are `credence_store::append`'s; a subject's row is
//! keyed by its id, so its key is the id itself.
//!
//! Keys are claimed a chunk per statement: the chunk's columns go as three
//! arrays, unnested into one `INSERT … ON CONFLICT DO NOTHING RETURNING`.

use crate::{backend, kind_code, kind_from_code, state_from_code};
use credence_domain::{EventKey, SubjectId};
use credence_store::Result;
use credence_store::append::{Enrolment, SubjectRow, SubjectRows};
use postgres::Transaction;

pub(crate) struct PostgresRows<'a, 't> {
    tx: &'a mut Transaction<'t>,
}

impl<'a, 't> PostgresRows<'a, 't> {
    pub fn new(tx: &'a mut Transaction<'t>) -> Self {
        Self { tx }
    }
}

impl SubjectRows for PostgresRows<'_, '_> {
    type Key = SubjectId;

    fn find_subject(&mut self, id: &SubjectId) -> Result<Option<SubjectRow<SubjectId>>> {
        // FOR UPDATE: another node appending to this subject waits here
        // rather than merging into a blob this one is about to replace.
        let row = self
            .tx
            .query_opt(
                "SELECT kind, state FROM subjects WHERE subject_id = $1 FOR UPDATE",
                &[&id.as_str()],
            )
            .map_err(backend("looking up a subject"))?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SubjectRow {
            key: id.clone(),
            kind: kind_from_code(row.get(0))?,
            state: state_from_code(row.get(1))?,
        }))
    }

    fn new_key(&mut self, id: &SubjectId) -> SubjectId {
        id.clone()
    }

    fn claim_keys(&mut self, keys: &[(&EventKey, &SubjectId)], claimed: &mut [bool]) -> Result<()> {
        let furnishers: Vec<&str> = keys.iter().map(|(k, _)| k.furnisher_id.as_str()).collect();
        let ids: Vec<&str> = keys.iter().map(|(k, _)| k.event_id.as_str()).collect();
        let subjects: Vec<&str> = keys.iter().map(|(_, s)| s.as_str()).collect();
        let rows = self
            .tx
            .query(
                "INSERT INTO event_keys (furnisher_id, event_id, subject_id)
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                 ON CONFLICT DO NOTHING RETURNING furnisher_id, event_id",
                &[&furnishers, &ids, &subjects],
            )
            .map_err(backend("recording event keys"))?;
        // RETURNING gives the inserted rows, in practice in insertion order;
        // match them with a moving pointer, falling back to a search.
        let mut next = 0;
        for row in rows {
            let (furnisher, id): (&str, &str) = (row.get(0), row.get(1));
            let is = |k: usize| furnishers[k] == furnisher && ids[k] == id;
            let found = (next..keys.len())
                .find(|&k| is(k))
                .or_else(|| (0..keys.len()).find(|&k| !claimed[k] && is(k)));
            if let Some(k) = found {
                claimed[k] = true;
                next = k + 1;
            }
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
        let row = self
            .tx
            .query_opt(
                "SELECT events FROM subjects WHERE subject_id = $1",
                &[&key.as_str()],
            )
            .map_err(backend("reading a subject's events"))?;
        Ok(row.map(|row| row.get(0)))
    }

    fn insert_subject(
        &mut self,
        key: &SubjectId,
        enrolment: Enrolment<'_>,
        event_count: usize,
        blob: &[u8],
    ) -> Result<()> {
        let hash = i64::from(credence_store::subject_hash(key.as_str()));
        self.tx
            .execute(
                "INSERT INTO subjects (subject_id, subject_hash, kind, enrolled_at, restricted_consent, state, event_count, events)
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $7) ON CONFLICT (subject_id) DO NOTHING",
                &[
                    &key.as_str(),
                    &hash,
                    &kind_code(enrolment.kind),
                    &enrolment.enrolled_at,
                    &enrolment.restricted,
                    &(event_count as i32),
                    &blob,
                ],
            )
            .map_err(backend("enrolling a subject"))
            .and_then(|inserted| match inserted {
                1 => Ok(()),
                // Another node enrolled the subject after this write
                // looked: nothing of this batch is kept, and a retry sees
                // the subject.
                _ => Err(credence_store::Error::Backend(format!(
                    "subject {key} was enrolled by another writer at the same moment; nothing was written, and retrying the batch is safe"
                ))),
            })
    }

    fn update_events(&mut self, key: &SubjectId, event_count: usize, blob: &[u8]) -> Result<()> {
        self.tx
            .execute(
                "UPDATE subjects SET events = $1, event_count = $2 WHERE subject_id = $3",
                &[&blob, &(event_count as i32), &key.as_str()],
            )
            .map(drop)
            .map_err(backend("writing a subject's events"))
    }
}
