//! Every row out of the file and into an empty one (see
//! `credence_store::transfer`): out from one read transaction (one WAL
//! snapshot), in under the write lock in one transaction.

use crate::records::{AUDIT_COLUMNS, append_audit_in_transaction, audit_from, audit_row};
use crate::{
    SCORE_COLUMNS, SqliteStore, backend, dimensions_blob, kind_code, kind_from_code,
    score_from_parts, score_from_row, state_from_code,
};
use credence_domain::{SubjectId, SubjectState};
use credence_store::transfer::{
    EventKeyRow, PAGE_ROWS, RecordRow, RowPage, SubjectRow, TransferStore,
};
use credence_store::{AnswerClaim, Error, Result};
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

fn subject_id(raw: String) -> Result<SubjectId> {
    SubjectId::new(&raw).map_err(|e| Error::Corrupt(format!("subject id {raw:?}: {e}")))
}

/// Runs `sql` and hands its rows to `sink` a page at a time, each row
/// turned into an item by `item` and the page by `page`.
fn pages<T>(
    c: &Connection,
    sql: &str,
    context: &'static str,
    item: impl Fn(&rusqlite::Row<'_>) -> Result<T>,
    page: fn(Vec<T>) -> RowPage,
    sink: &mut dyn FnMut(RowPage) -> Result<()>,
) -> Result<()> {
    let mut stmt = c.prepare(sql).map_err(backend(context))?;
    let mut rows = stmt.query([]).map_err(backend(context))?;
    let mut items = Vec::with_capacity(PAGE_ROWS);
    while let Some(row) = rows.next().map_err(backend(context))? {
        items.push(item(row)?);
        if items.len() == PAGE_ROWS {
            sink(page(std::mem::replace(
                &mut items,
                Vec::with_capacity(PAGE_ROWS),
            )))?;
        }
    }
    if !items.is_empty() {
        sink(page(items))?;
    }
    Ok(())
}

fn export(c: &Connection, sink: &mut dyn FnMut(RowPage) -> Result<()>) -> Result<()> {
    let get = |context: &'static str| backend(context);
    pages(
        c,
        "SELECT subject_id, kind, enrolled_at, restricted_consent, state, event_count, events
         FROM subjects ORDER BY subject_id",
        "exporting subjects",
        |r| {
            let e = get("exporting subjects");
            Ok(SubjectRow {
                id: subject_id(r.get(0).map_err(&e)?)?,
                kind: kind_from_code(r.get(1).map_err(&e)?)?,
                enrolled_at: r.get(2).map_err(&e)?,
                restricted_consent: r.get(3).map_err(&e)?,
                state: state_from_code(r.get(4).map_err(&e)?)?,
                event_count: r.get(5).map_err(&e)?,
                events: r.get(6).map_err(&e)?,
            })
        },
        RowPage::Subjects,
        sink,
    )?;
    pages(
        c,
        "SELECT k.furnisher_id, k.event_id, s.subject_id FROM event_keys k
         JOIN subjects s ON s.subject_key = k.subject_key ORDER BY k.furnisher_id, k.event_id",
        "exporting event keys",
        |r| {
            let e = get("exporting event keys");
            Ok(EventKeyRow {
                furnisher_id: r.get(0).map_err(&e)?,
                event_id: r.get(1).map_err(&e)?,
                subject_id: subject_id(r.get(2).map_err(&e)?)?,
            })
        },
        RowPage::EventKeys,
        sink,
    )?;
    pages(
        c,
        &format!("SELECT {SCORE_COLUMNS} FROM scores ORDER BY subject_id, as_of, model_version"),
        "exporting scores",
        |r| score_from_parts(score_from_row(r).map_err(get("exporting scores"))?),
        RowPage::Scores,
        sink,
    )?;
    pages(
        c,
        "SELECT kind, id, subject_id, owner, body FROM records ORDER BY rowid",
        "exporting records",
        |r| {
            let e = get("exporting records");
            Ok(RecordRow {
                kind: r.get(0).map_err(&e)?,
                id: r.get(1).map_err(&e)?,
                subject: r.get(2).map_err(&e)?,
                owner: r.get(3).map_err(&e)?,
                body: r.get(4).map_err(&e)?,
            })
        },
        RowPage::Records,
        sink,
    )?;
    pages(
        c,
        &format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY chain, seq"),
        "exporting the audit log",
        |r| audit_from(audit_row(r).map_err(get("exporting the audit log"))?),
        RowPage::Audit,
        sink,
    )?;
    pages(
        c,
        "SELECT answer_key, day, subject_id, body FROM answer_claims ORDER BY answer_key",
        "exporting answer claims",
        |r| {
            let e = get("exporting answer claims");
            Ok(AnswerClaim {
                key: r.get(0).map_err(&e)?,
                day: r.get(1).map_err(&e)?,
                subject: subject_id(r.get(2).map_err(&e)?)?,
                body: r.get(3).map_err(&e)?,
            })
        },
        RowPage::Claims,
        sink,
    )
}

/// What the file already holds, if anything.
fn holdings(tx: &Transaction<'_>) -> Result<Option<String>> {
    for table in [
        "subjects",
        "event_keys",
        "scores",
        "records",
        "audit",
        "answer_claims",
    ] {
        let any: bool = tx
            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |r| {
                r.get(0)
            })
            .map_err(backend("looking at the target"))?;
        if any {
            return Ok(Some(format!("rows in its `{table}` table")));
        }
    }
    Ok(None)
}

fn import_page(tx: &Transaction<'_>, page: RowPage, next_key: &mut i64) -> Result<()> {
    match page {
        RowPage::Subjects(rows) => {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO subjects (subject_key, subject_id, kind, enrolled_at, restricted_consent,
                         state, event_count, events, subject_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(backend("importing subjects"))?;
            for r in rows {
                let state = match r.state {
                    SubjectState::Enrolled => 0,
                    SubjectState::OptedOut => 1,
                };
                stmt.execute(params![
                    *next_key,
                    r.id.as_str(),
                    kind_code(r.kind),
                    r.enrolled_at,
                    r.restricted_consent,
                    state,
                    r.event_count,
                    r.events,
                    credence_store::subject_hash(r.id.as_str()),
                ])
                .map_err(backend("importing subjects"))?;
                *next_key += 1;
            }
        }
        RowPage::EventKeys(rows) => {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO event_keys (furnisher_id, event_id, subject_key)
                     SELECT ?1, ?2, subject_key FROM subjects WHERE subject_id = ?3",
                )
                .map_err(backend("importing event keys"))?;
            for r in rows {
                let inserted = stmt
                    .execute(params![r.furnisher_id, r.event_id, r.subject_id.as_str()])
                    .map_err(backend("importing event keys"))?;
                if inserted != 1 {
                    return Err(Error::Corrupt(format!(
                        "event key {}/{} names subject {}, which the source does not hold",
                        r.furnisher_id, r.event_id, r.subject_id
                    )));
                }
            }
        }
        RowPage::Scores(rows) => {
            let mut stmt = tx
                .prepare_cached(&format!(
                    "INSERT INTO scores ({SCORE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ))
                .map_err(backend("importing scores"))?;
            for s in rows {
                stmt.execute(params![
                    s.subject_id.as_str(),
                    s.as_of.as_second(),
                    s.model_version,
                    s.scored,
                    s.score,
                    s.pd,
                    &dimensions_blob(&s.dimensions)[..],
                    s.reasons.join(","),
                    s.computed_at.as_second(),
                ])
                .map_err(backend("importing scores"))?;
            }
        }
        RowPage::Records(rows) => {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO records (kind, id, subject_id, owner, body) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(backend("importing records"))?;
            for r in rows {
                stmt.execute(params![r.kind, r.id, r.subject, r.owner, r.body])
                    .map_err(backend("importing records"))?;
            }
        }
        RowPage::Audit(rows) => {
            // Chain by chain, in order: each follows the head stored
            // before it, as any append must.
            append_audit_in_transaction(tx, &rows, &[])?;
        }
        RowPage::Claims(rows) => {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO answer_claims (answer_key, day, subject_id, body) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(backend("importing answer claims"))?;
            for c in rows {
                stmt.execute(params![c.key, c.day, c.subject.as_str(), c.body])
                    .map_err(backend("importing answer claims"))?;
            }
        }
    }
    Ok(())
}

impl TransferStore for SqliteStore {
    fn export_rows(&self, sink: &mut dyn FnMut(RowPage) -> Result<()>) -> Result<()> {
        self.with_reader(|c| {
            // One snapshot for every table: a write committed meanwhile is
            // either wholly in the export or wholly out of it.
            let snapshot = Transaction::new_unchecked(c, TransactionBehavior::Deferred)
                .map_err(backend("starting the export"))?;
            export(&snapshot, sink)?;
            snapshot.commit().map_err(backend("finishing the export"))
        })
    }

    fn import_rows(&self, pages: &mut dyn Iterator<Item = Result<RowPage>>) -> Result<()> {
        let mut connection = self.writer()?;
        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend("starting the import"))?;
        if let Some(held) = holdings(&tx)? {
            return Err(Error::NotEmpty(held));
        }
        let mut next_key = 1;
        for page in pages {
            import_page(&tx, page?, &mut next_key)?;
        }
        self.commit_subject_write(tx, Vec::new(), "committing the import")
    }
}
