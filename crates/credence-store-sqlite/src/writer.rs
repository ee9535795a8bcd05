//! The rows of an event write inside one SQLite transaction: subject
//! look-up and enrolment, idempotency keys and the per-subject event
//! blobs. The rules over them are `credence_store::append`'s.
//!
//! Keys are claimed many rows per statement: one multi-row `INSERT … ON
//! CONFLICT DO NOTHING RETURNING` per chunk.

use crate::{backend, kind_code, kind_from_code, state_from_code};
use credence_domain::{EventKey, SubjectId};
use credence_store::Result;
use credence_store::append::{ClaimMarks, Enrolment, KEY_CHUNK, SubjectRow, SubjectRows};
use rusqlite::{OptionalExtension, Statement, Transaction, params, params_from_iter};

/// Prepared once per transaction: preparing per event would cost more than
/// the insert itself.
struct Statements<'t> {
    find_subject: Statement<'t>,
    insert_subject: Statement<'t>,
    claim_chunk: Statement<'t>,
    read_key: Statement<'t>,
    release_key: Statement<'t>,
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

/// A subject's row is its integer `subject_key` (the row id).
pub(crate) struct SqliteRows<'t> {
    tx: &'t Transaction<'t>,
    statements: Statements<'t>,
    next_key: i64,
}

impl<'t> SqliteRows<'t> {
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
                release_key: prepare("DELETE FROM event_keys WHERE furnisher_id = ?1 AND event_id = ?2")?,
                read_events: prepare("SELECT events FROM subjects WHERE subject_key = ?1")?,
                update_events: prepare("UPDATE subjects SET events = ?1, event_count = ?2 WHERE subject_key = ?3")?,
            },
            next_key,
        })
    }
}

impl SubjectRows for SqliteRows<'_> {
    type Key = i64;

    fn find_subject(&mut self, id: &SubjectId) -> Result<Option<SubjectRow<i64>>> {
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
        Ok(Some(SubjectRow {
            key,
            kind: kind_from_code(kind)?,
            state: state_from_code(state)?,
        }))
    }

    fn new_key(&mut self, _id: &SubjectId) -> i64 {
        self.next_key += 1;
        self.next_key - 1
    }

    fn claim_keys(&mut self, keys: &[(&EventKey, &i64)], claimed: &mut [bool]) -> Result<()> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        // Borrowed values: binding copies nothing into Rust strings.
        let mut values: Vec<ToSqlOutput<'_>> = Vec::with_capacity(keys.len() * 3);
        for (key, subject_key) in keys {
            values.push(ToSqlOutput::Borrowed(ValueRef::Text(
                key.furnisher_id.as_str().as_bytes(),
            )));
            values.push(ToSqlOutput::Borrowed(ValueRef::Text(
                key.event_id.as_str().as_bytes(),
            )));
            values.push(ToSqlOutput::Borrowed(ValueRef::Integer(**subject_key)));
        }
        let mark = |stmt: &mut Statement<'_>, claimed: &mut [bool]| -> rusqlite::Result<()> {
            let mut rows = stmt.query(params_from_iter(values.iter()))?;
            let mut marks = ClaimMarks::default();
            while let Some(row) = rows.next()? {
                let (furnisher, id) = (row.get_ref(0)?.as_bytes()?, row.get_ref(1)?.as_bytes()?);
                marks.mark(keys, claimed, furnisher, id);
            }
            Ok(())
        };
        if keys.len() == KEY_CHUNK {
            mark(&mut self.statements.claim_chunk, claimed)
        } else {
            let mut stmt = self
                .tx
                .prepare_cached(&claim_sql(keys.len()))
                .map_err(backend("recording event keys"))?;
            mark(&mut stmt, claimed)
        }
        .map_err(backend("recording event keys"))
    }

    fn key_owner(&mut self, key: &EventKey) -> Result<Option<i64>> {
        self.statements
            .read_key
            .query_row(
                params![key.furnisher_id.as_str(), key.event_id.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(backend("reading an event key"))
    }

    fn release_key(&mut self, key: &EventKey) -> Result<()> {
        self.statements
            .release_key
            .execute(params![key.furnisher_id.as_str(), key.event_id.as_str()])
            .map(drop)
            .map_err(backend("releasing an event key"))
    }

    fn read_events(&mut self, key: &i64) -> Result<Option<Vec<u8>>> {
        self.statements
            .read_events
            .query_row([key], |r| r.get(0))
            .optional()
            .map_err(backend("reading a subject's events"))
    }

    fn insert_subject(
        &mut self,
        key: &i64,
        enrolment: Enrolment<'_>,
        event_count: usize,
        blob: &[u8],
    ) -> Result<()> {
        self.statements
            .insert_subject
            .execute(params![
                key,
                enrolment.subject_id.as_str(),
                kind_code(enrolment.kind),
                enrolment.enrolled_at,
                enrolment.restricted,
                event_count as i64,
                blob,
                credence_store::subject_hash(enrolment.subject_id.as_str())
            ])
            .map(drop)
            .map_err(backend("enrolling a subject"))
    }

    fn update_events(&mut self, key: &i64, event_count: usize, blob: &[u8]) -> Result<()> {
        self.statements
            .update_events
            .execute(params![blob, event_count as i64, key])
            .map(drop)
            .map_err(backend("writing a subject's events"))
    }
}
