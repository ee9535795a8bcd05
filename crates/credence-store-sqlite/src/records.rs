//! Control-plane records, the audit log and erasure.

use crate::{SqliteStore, backend, timestamp};
use credence_domain::SubjectId;
use credence_store::codec;
use credence_store::{
    AnswerClaim, AuditAnswer, AuditEntry, ChainHead, Erasure, Error, Record, RecordFilter,
    RecordWrite, Result, ScoreDistribution,
};
use rusqlite::{OptionalExtension, params};

const RECORD_COLUMNS: &str = "kind, id, subject_id, owner, body";
/// Inserts a record unless its (kind, id) exists: first writer wins.
const INSERT_RECORD_ONCE: &str =
    "INSERT INTO records (kind, id, subject_id, owner, body) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (kind, id) DO NOTHING";
/// Inserts or replaces a record.
const PUT_RECORD: &str =
    "INSERT INTO records (kind, id, subject_id, owner, body) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (kind, id) DO UPDATE SET subject_id = excluded.subject_id,
        owner = excluded.owner, body = excluded.body";
const DELETE_RECORD: &str = "DELETE FROM records WHERE kind = ?1 AND id = ?2";

/// Runs a statement whose five parameters are a record's columns.
fn execute_with_record(
    stmt: &mut rusqlite::CachedStatement<'_>,
    r: &Record,
) -> rusqlite::Result<usize> {
    stmt.execute(params![
        r.kind,
        r.id,
        r.subject.as_ref().map(|s| s.as_str()),
        r.owner,
        r.body
    ])
}
pub(crate) const AUDIT_COLUMNS: &str =
    "audit.chain, audit.seq, audit.at, audit.actor, audit.action, audit.subject_ref,
    audit.detail, audit.prev_hash, audit.hash, audit.answer_key, audit.answer";
/// The columns an append writes (`position` numbers itself).
const AUDIT_WRITTEN: &str =
    "chain, seq, at, actor, action, subject_ref, detail, prev_hash, hash, answer_key, answer";
/// Built once: the audit writer looks it up in the statement cache on
/// every group commit.
pub(crate) static INSERT_AUDIT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO audit ({AUDIT_WRITTEN}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    )
});

/// Changes the feed keeps (see `Store::record_changes`): days of ordinary
/// traffic, far more than any live reader falls behind.
const CHANGES_KEPT: i64 = 1_000_000;
/// How often (in any chain's sequence numbers) the writer prunes the feed.
const CHANGE_PRUNE_EVERY: u64 = 4_096;

/// Appends a group of entries, each right after its chain's head, and the
/// record changes they vouch for, inside the caller's open transaction.
/// The heads of the chains `entries` name, in a write transaction.
fn chain_heads(
    connection: &rusqlite::Connection,
    entries: &[AuditEntry],
) -> Result<Vec<ChainHead>> {
    let mut chains: Vec<u32> = entries.iter().map(|e| e.chain).collect();
    chains.sort_unstable();
    chains.dedup();
    let mut head = connection
        .prepare_cached("SELECT seq, hash FROM audit WHERE chain = ?1 ORDER BY seq DESC LIMIT 1")
        .map_err(backend("reading the audit heads"))?;
    let mut heads = Vec::with_capacity(chains.len());
    for chain in chains {
        let found: Option<(i64, String)> = head
            .query_row([chain], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(backend("reading the audit heads"))?;
        if let Some((seq, hash)) = found {
            heads.push(ChainHead {
                chain,
                seq: seq as u64,
                hash,
            });
        }
    }
    Ok(heads)
}

/// Appends the entry `entry` makes of `done` in the open write
/// transaction, which holds every chain (SQLite's write lock), linked
/// after its chain's head.
pub(crate) fn append_entry_of<T>(
    connection: &rusqlite::Connection,
    entry: credence_store::EntryOf<'_, T>,
    done: &T,
) -> Result<()> {
    let mut entries = [(entry.make)(done)];
    let heads = chain_heads(connection, &entries)?;
    (entry.link)(&heads, &mut entries);
    append_audit_in_transaction(connection, &entries, &[])
}

pub(crate) fn append_audit_in_transaction(
    connection: &rusqlite::Connection,
    entries: &[AuditEntry],
    writes: &[RecordWrite],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    // The next number each chain of the group expects: its stored head's,
    // read once, then moved by each entry.
    let mut next: Vec<(u32, u64)> = Vec::new();
    let mut head = connection
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit WHERE chain = ?1")
        .map_err(backend("reading the audit head"))?;
    let mut stmt = connection
        .prepare_cached(&INSERT_AUDIT)
        .map_err(backend("appending to the audit log"))?;
    let mut passed_prune_mark = false;
    for e in entries {
        let expected = match next.iter_mut().find(|(chain, _)| *chain == e.chain) {
            Some((_, expected)) => expected,
            None => {
                let stored: i64 = head
                    .query_row([e.chain], |r| r.get(0))
                    .map_err(backend("reading the audit head"))?;
                if e.seq != stored as u64 + 1 {
                    return Err(Error::AuditOutOfSequence {
                        chain: e.chain,
                        first: e.seq,
                        stored: stored as u64,
                    });
                }
                next.push((e.chain, e.seq));
                &mut next.last_mut().expect("just pushed").1
            }
        };
        if e.seq != *expected {
            return Err(Error::Backend(format!(
                "audit entries of chain {} are not consecutive at {}",
                e.chain, e.seq
            )));
        }
        *expected += 1;
        passed_prune_mark |= e.seq % CHANGE_PRUNE_EVERY == 0;
        stmt.execute(params![
            e.chain,
            e.seq as i64,
            e.at.as_second(),
            e.actor,
            e.action,
            e.subject_ref,
            e.detail,
            e.prev_hash,
            e.hash,
            e.answer.as_ref().map(|a| &a.key),
            e.answer.as_ref().map(|a| &a.body)
        ])
        .map_err(backend("appending to the audit log"))?;
    }
    if passed_prune_mark {
        // Keep the feed bounded: a reader this far behind starts over.
        connection
            .prepare_cached(
                "DELETE FROM record_changes WHERE seq <= (SELECT max(seq) FROM record_changes) - ?1",
            )
            .and_then(|mut s| s.execute([CHANGES_KEPT]))
            .map_err(backend("pruning the change feed"))?;
    }
    for write in writes {
        let written = match write {
            RecordWrite::Put(r) => connection
                .prepare_cached(PUT_RECORD)
                .and_then(|mut s| execute_with_record(&mut s, r)),
            RecordWrite::KeepFirst(r) => connection
                .prepare_cached(INSERT_RECORD_ONCE)
                .and_then(|mut s| execute_with_record(&mut s, r)),
            RecordWrite::Delete { kind, id } => connection
                .prepare_cached(DELETE_RECORD)
                .and_then(|mut s| s.execute(params![kind, id])),
            RecordWrite::RestrictedDataConsent { subject, given } => connection
                .prepare_cached(
                    "UPDATE subjects SET restricted_consent = ?1 WHERE subject_id = ?2 AND state = 0",
                )
                .and_then(|mut s| s.execute(params![given, subject.as_str()])),
        };
        written.map_err(backend("storing audited records"))?;
    }
    Ok(())
}

type RecordRow = (String, String, Option<String>, Option<String>, String);

fn record_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RecordRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn record_from(kind: &'static str, row: RecordRow) -> Result<Record> {
    let (_, id, subject, owner, body) = row;
    let subject = subject
        .map(|s| {
            SubjectId::new(&s).map_err(|e| Error::Corrupt(format!("record subject {s:?}: {e}")))
        })
        .transpose()?;
    Ok(Record {
        kind,
        id,
        subject,
        owner,
        body,
    })
}

/// An audit row as read, before its stamp and answer are checked.
pub(crate) struct AuditRow {
    entry: AuditEntry,
    at: i64,
    answer_key: Option<String>,
    answer: Option<String>,
}

pub(crate) fn audit_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        entry: AuditEntry {
            chain: row.get(0)?,
            seq: row.get::<_, i64>(1)? as u64,
            at: jiff::Timestamp::UNIX_EPOCH,
            actor: row.get(3)?,
            action: row.get(4)?,
            subject_ref: row.get(5)?,
            detail: row.get(6)?,
            prev_hash: row.get(7)?,
            hash: row.get(8)?,
            answer: None,
        },
        at: row.get(2)?,
        answer_key: row.get(9)?,
        answer: row.get(10)?,
    })
}

pub(crate) fn audit_from(row: AuditRow) -> Result<AuditEntry> {
    let AuditRow {
        mut entry,
        at,
        answer_key,
        answer,
    } = row;
    entry.at = timestamp(at)?;
    entry.answer = match (answer_key, answer) {
        (Some(key), Some(body)) => Some(AuditAnswer { key, body }),
        (None, None) => None,
        _ => {
            return Err(Error::Corrupt(format!(
                "audit entry {} of chain {} has half an answer (key or body missing)",
                entry.seq, entry.chain
            )));
        }
    };
    Ok(entry)
}

impl SqliteStore {
    pub(crate) fn put_records_impl(&self, records: &[Record]) -> Result<()> {
        let mut connection = self.writer()?;
        let tx = connection
            .transaction()
            .map_err(backend("storing records"))?;
        {
            let mut stmt = tx
                .prepare_cached(PUT_RECORD)
                .map_err(backend("storing records"))?;
            for r in records {
                execute_with_record(&mut stmt, r).map_err(backend("storing records"))?;
            }
        }
        tx.commit().map_err(backend("committing records"))
    }

    pub(crate) fn insert_record_once_impl(&self, record: &Record) -> Result<Option<Record>> {
        let connection = self.writer()?;
        let inserted = connection
            .prepare_cached(INSERT_RECORD_ONCE)
            .and_then(|mut s| execute_with_record(&mut s, record))
            .map_err(backend("storing a record"))?;
        if inserted == 1 {
            return Ok(None);
        }
        let existing = connection
            .prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE kind = ?1 AND id = ?2"
            ))
            .and_then(|mut s| {
                s.query_row(params![record.kind, record.id], record_row)
                    .optional()
            })
            .map_err(backend("reading a record"))?;
        existing
            .map(|row| record_from(record.kind, row))
            .transpose()
    }

    pub(crate) fn claim_answer_impl(&self, claim: &AnswerClaim) -> Result<Option<AnswerClaim>> {
        // On the one writer connection, so the insert and the read of an
        // earlier claim see the same state.
        let connection = self.writer()?;
        let inserted = connection
            .prepare_cached(
                "INSERT INTO answer_claims (answer_key, day, subject_id, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (answer_key) DO NOTHING",
            )
            .and_then(|mut s| {
                s.execute(params![
                    claim.key,
                    claim.day,
                    claim.subject.as_str(),
                    claim.body
                ])
            })
            .map_err(backend("claiming an answer"))?;
        if inserted == 1 {
            return Ok(None);
        }
        let (day, subject, body): (i64, String, String) = connection
            .prepare_cached("SELECT day, subject_id, body FROM answer_claims WHERE answer_key = ?1")
            .and_then(|mut s| s.query_row([&claim.key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .map_err(backend("reading a claimed answer"))?;
        Ok(Some(AnswerClaim {
            key: claim.key.clone(),
            day,
            subject: SubjectId::new(&subject)
                .map_err(|e| Error::Corrupt(format!("a claimed answer's subject: {e}")))?,
            body,
        }))
    }

    pub(crate) fn forget_answers_before_impl(&self, day: i64) -> Result<u64> {
        let connection = self.writer()?;
        connection
            .prepare_cached("DELETE FROM answer_claims WHERE day < ?1")
            .and_then(|mut s| s.execute([day]))
            .map(|n| n as u64)
            .map_err(backend("forgetting old answers"))
    }

    pub(crate) fn record_impl(&self, kind: &'static str, id: &str) -> Result<Option<Record>> {
        self.with_reader(|c| {
            c.prepare_cached(&format!(
                "SELECT {RECORD_COLUMNS} FROM records WHERE kind = ?1 AND id = ?2"
            ))
            .and_then(|mut s| s.query_row(params![kind, id], record_row).optional())
            .map_err(backend("reading a record"))?
            .map(|row| record_from(kind, row))
            .transpose()
        })
    }

    pub(crate) fn records_impl(
        &self,
        kind: &'static str,
        filter: RecordFilter<'_>,
    ) -> Result<Vec<Record>> {
        let (sql, key) = match filter {
            RecordFilter::All => ("kind = ?1 AND ?2 IS NULL", None),
            RecordFilter::Subject(s) => ("kind = ?1 AND subject_id = ?2", Some(s.as_str())),
            RecordFilter::Owner(o) => ("kind = ?1 AND owner = ?2", Some(o)),
        };
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE {sql} ORDER BY rowid"
                ))
                .map_err(backend("listing records"))?;
            let rows = stmt
                .query_map(params![kind, key], record_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(backend("listing records"))?;
            rows.into_iter().map(|row| record_from(kind, row)).collect()
        })
    }

    pub(crate) fn delete_record_impl(&self, kind: &'static str, id: &str) -> Result<bool> {
        let connection = self.writer()?;
        let deleted = connection
            .prepare_cached(DELETE_RECORD)
            .and_then(|mut s| s.execute(params![kind, id]))
            .map_err(backend("deleting a record"))?;
        Ok(deleted > 0)
    }

    pub(crate) fn append_audit_impl(
        &self,
        entries: &[AuditEntry],
        writes: &[RecordWrite],
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.audit_transaction(writes, |connection| {
            append_audit_in_transaction(connection, entries, writes)
        })
    }

    pub(crate) fn append_audit_linked_impl(
        &self,
        entries: &mut [AuditEntry],
        writes: &[RecordWrite],
        link: &mut dyn FnMut(&[ChainHead], &mut [AuditEntry]),
    ) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        // The write lock (BEGIN IMMEDIATE) holds every chain at once.
        self.audit_transaction(writes, |connection| {
            let heads = chain_heads(connection, entries)?;
            link(&heads, entries);
            append_audit_in_transaction(connection, entries, writes)
        })
    }

    /// Runs `append` in one write transaction with the subject generation
    /// moved for the consents `writes` change, and commits it (or rolls
    /// everything back).
    fn audit_transaction(
        &self,
        writes: &[RecordWrite],
        append: impl FnOnce(&rusqlite::Connection) -> Result<()>,
    ) -> Result<()> {
        let connection = self.writer()?;
        // The audit writer commits a thousand times a second, so even BEGIN
        // and COMMIT are cached statements: rusqlite's `Transaction` parses
        // them afresh every time. IMMEDIATE takes the write lock before the
        // head is read, so the read cannot go stale and fail the upgrade.
        connection
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut begin| begin.execute([]))
            .map_err(backend("appending to the audit log"))?;
        // A write to a subject's row moves the subject generation, as an
        // event append does, so no process serves a cached log from before.
        let subjects: Vec<SubjectId> = writes
            .iter()
            .filter_map(|w| match w {
                RecordWrite::RestrictedDataConsent { subject, .. } => Some(subject.clone()),
                _ => None,
            })
            .collect();
        let mut generation = None;
        let written = append(&connection)
            .and_then(|()| {
                if subjects.is_empty() {
                    return Ok(());
                }
                let next: i64 = connection
                    .query_row(
                        "UPDATE subject_generation SET value = value + 1 RETURNING value",
                        [],
                        |r| r.get(0),
                    )
                    .map_err(backend("storing a subject's consent"))?;
                self.logs.announce(next, subjects);
                generation = Some(next);
                Ok(())
            })
            .and_then(|()| {
                connection
                    .prepare_cached("COMMIT")
                    .and_then(|mut commit| commit.execute([]))
                    .map(drop)
                    .map_err(backend("committing the audit log"))
            });
        match (&written, generation) {
            (Ok(()), Some(generation)) => self.logs.committed(generation),
            (Err(_), Some(_)) => self.logs.withdraw(),
            _ => {}
        }
        if written.is_err() && !connection.is_autocommit() {
            // Nothing of a failed group may stay: its entries were never
            // acknowledged, and the next group must follow the stored head.
            if let Err(error) = connection.execute_batch("ROLLBACK") {
                tracing::error!(%error, "rolling back a failed audit append");
            }
        }
        written
    }

    pub(crate) fn audit_query(
        &self,
        sql: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<AuditEntry>> {
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached(&format!("SELECT {AUDIT_COLUMNS} FROM audit {sql}"))
                .map_err(backend("reading the audit log"))?;
            let rows = stmt
                .query_map(args, audit_row)
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(backend("reading the audit log"))?;
            rows.into_iter().map(audit_from).collect()
        })
    }

    pub(crate) fn score_distribution_impl(&self, width: i32) -> Result<ScoreDistribution> {
        let width = width.max(1);
        self.with_reader(|c| {
            // The latest score per enrolled subject: the newest as-of, then
            // the newest computation.
            let mut stmt = c
                .prepare_cached(
                    "WITH latest AS (
                        SELECT s.subject_id, s.scored, s.score,
                               row_number() OVER (PARTITION BY s.subject_id
                                   ORDER BY s.as_of DESC, s.computed_at DESC) AS n
                        FROM scores s JOIN subjects j ON j.subject_id = s.subject_id AND j.state = 0)
                     SELECT CASE WHEN scored THEN (score / ?1) * ?1 ELSE NULL END AS bucket, count(*)
                     FROM latest WHERE n = 1 GROUP BY bucket ORDER BY bucket",
                )
                .map_err(backend("summarising scores"))?;
            let rows = stmt
                .query_map([width], |r| Ok((r.get::<_, Option<i32>>(0)?, r.get::<_, i64>(1)?)))
                .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
                .map_err(backend("summarising scores"))?;
            let mut out = ScoreDistribution::default();
            for (bucket, count) in rows {
                match bucket {
                    Some(b) => out.buckets.push((b, count as u64)),
                    None => out.not_enough_data += count as u64,
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn erase_subject_impl(
        &self,
        id: &SubjectId,
        tombstone: &SubjectId,
        entry: Option<credence_store::EntryOf<'_, Erasure>>,
    ) -> Result<Option<Erasure>> {
        let mut connection = self.writer()?;
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend("erasing a subject"))?;
        let found: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT subject_key, events FROM subjects WHERE subject_id = ?1",
                [id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(backend("erasing a subject"))?;
        let Some((key, blob)) = found else {
            return Ok(None);
        };
        let mut events = Vec::new();
        codec::decode(&blob, id, &mut events).map_err(Error::Corrupt)?;
        {
            let mut forget = tx
                .prepare_cached("DELETE FROM event_keys WHERE furnisher_id = ?1 AND event_id = ?2")
                .map_err(backend("erasing idempotency keys"))?;
            for event in &events {
                forget
                    .execute(params![
                        event.key.furnisher_id.as_str(),
                        event.key.event_id.as_str()
                    ])
                    .map_err(backend("erasing idempotency keys"))?;
            }
        }
        let scores = tx
            .execute("DELETE FROM scores WHERE subject_id = ?1", [id.as_str()])
            .map_err(backend("erasing scores"))?;
        let records = tx
            .execute("DELETE FROM records WHERE subject_id = ?1", [id.as_str()])
            .map_err(backend("erasing records"))?;
        let answers = tx
            .execute(
                "DELETE FROM answer_claims WHERE subject_id = ?1",
                [id.as_str()],
            )
            .map_err(backend("erasing answers"))?;
        // The change feed named the subject's records too: those changes
        // go, and one erasure change tells every follower to drop what it
        // caches.
        tx.execute(
            "DELETE FROM record_changes WHERE subject_id = ?1",
            [id.as_str()],
        )
        .and_then(|_| {
            tx.execute(
                "INSERT INTO record_changes (kind, id, subject_id) VALUES (?1, ?2, NULL)",
                params![credence_store::ERASURE_CHANGE, tombstone.as_str()],
            )
        })
        .map_err(backend("erasing the subject's changes"))?;
        tx.execute(
            "UPDATE subjects SET subject_id = ?1, subject_hash = ?3, state = 1,
                 restricted_consent = 0, event_count = 0, events = x'' WHERE subject_key = ?2",
            params![
                tombstone.as_str(),
                key,
                credence_store::subject_hash(tombstone.as_str())
            ],
        )
        .map_err(backend("writing the tombstone"))?;
        let erasure = Erasure {
            events: events.len() as u64,
            scores: scores as u64,
            records: records as u64,
            answers: answers as u64,
        };
        if let Some(entry) = entry {
            append_entry_of(&tx, entry, &erasure)?;
        }
        self.commit_subject_write(
            tx,
            vec![id.clone(), tombstone.clone()],
            "committing an erasure",
        )?;
        // secure_delete zeroed the freed pages; copy the WAL into the main
        // file and truncate it, so no old frame still holds the subject.
        // Busy readers can delay this; the next checkpoint finishes it.
        let _ = connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(Some(erasure))
    }
}
