//! Every row out of the schema and into an empty one (see
//! `credence_store::transfer`): out from one repeatable-read snapshot
//! through portals, a page per fetch; in by binary `COPY` in one
//! transaction. Text is ordered byte-wise (`COLLATE "C"`), as SQLite
//! orders it, so both backends list the same rows in the same order.

use crate::{
    AUDIT_COLUMNS, PostgresStore, SCORE_COLUMNS, audit_from_row, backend, kind_code,
    kind_from_code, score_from_row, state_from_code, subject_id,
};
use credence_domain::SubjectState;
use credence_store::transfer::{
    EventKeyRow, PAGE_ROWS, RecordRow, RowPage, SubjectRow, TransferStore,
};
use credence_store::{AnswerClaim, Error, Result};
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

/// Runs `sql` through a portal and hands `sink` a page per fetch.
fn pages<T>(
    tx: &mut Transaction<'_>,
    sql: &str,
    context: &'static str,
    item: impl Fn(&postgres::Row) -> Result<T>,
    page: fn(Vec<T>) -> RowPage,
    sink: &mut dyn FnMut(RowPage) -> Result<()>,
) -> Result<()> {
    let portal = tx.bind(sql, &[]).map_err(backend(context))?;
    loop {
        let rows = tx
            .query_portal(&portal, PAGE_ROWS as i32)
            .map_err(backend(context))?;
        if rows.is_empty() {
            return Ok(());
        }
        sink(page(rows.iter().map(&item).collect::<Result<_>>()?))?;
    }
}

fn export(tx: &mut Transaction<'_>, sink: &mut dyn FnMut(RowPage) -> Result<()>) -> Result<()> {
    pages(
        tx,
        r#"SELECT subject_id, kind, enrolled_at, restricted_consent, state, event_count, events
           FROM subjects ORDER BY subject_id COLLATE "C""#,
        "exporting subjects",
        |r| {
            Ok(SubjectRow {
                id: subject_id(r.get(0))?,
                kind: kind_from_code(r.get(1))?,
                enrolled_at: r.get(2),
                restricted_consent: r.get(3),
                state: state_from_code(r.get(4))?,
                event_count: u32::try_from(r.get::<_, i32>(5))
                    .map_err(|e| Error::Corrupt(format!("event count: {e}")))?,
                events: r.get(6),
            })
        },
        RowPage::Subjects,
        sink,
    )?;
    pages(
        tx,
        r#"SELECT furnisher_id, event_id, subject_id FROM event_keys
           ORDER BY furnisher_id COLLATE "C", event_id COLLATE "C""#,
        "exporting event keys",
        |r| {
            Ok(EventKeyRow {
                furnisher_id: r.get(0),
                event_id: r.get(1),
                subject_id: subject_id(r.get(2))?,
            })
        },
        RowPage::EventKeys,
        sink,
    )?;
    pages(
        tx,
        &format!(
            r#"SELECT {SCORE_COLUMNS} FROM scores
               ORDER BY subject_id COLLATE "C", as_of, model_version COLLATE "C""#
        ),
        "exporting scores",
        score_from_row,
        RowPage::Scores,
        sink,
    )?;
    pages(
        tx,
        "SELECT kind, id, subject_id, owner, body FROM records ORDER BY first_written",
        "exporting records",
        |r| {
            Ok(RecordRow {
                kind: r.get(0),
                id: r.get(1),
                subject: r.get(2),
                owner: r.get(3),
                body: r.get(4),
            })
        },
        RowPage::Records,
        sink,
    )?;
    pages(
        tx,
        &format!("SELECT {AUDIT_COLUMNS} FROM audit ORDER BY chain, seq"),
        "exporting the audit log",
        audit_from_row,
        RowPage::Audit,
        sink,
    )?;
    pages(
        tx,
        r#"SELECT answer_key, day, subject_id, body FROM answer_claims
           ORDER BY answer_key COLLATE "C""#,
        "exporting answer claims",
        |r| {
            Ok(AnswerClaim {
                key: r.get(0),
                day: r.get(1),
                subject: subject_id(r.get(2))?,
                body: r.get(3),
            })
        },
        RowPage::Claims,
        sink,
    )
}

/// Copies `rows` into `table (columns)` by binary COPY.
fn copy_rows(
    tx: &mut Transaction<'_>,
    table: &str,
    columns: &str,
    types: &[Type],
    rows: &[Vec<&(dyn ToSql + Sync)>],
) -> Result<()> {
    let context = "importing rows";
    let sink = tx
        .copy_in(&format!(
            "COPY {table} ({columns}) FROM STDIN (FORMAT binary)"
        ))
        .map_err(backend(context))?;
    let mut writer = BinaryCopyInWriter::new(sink, types);
    for row in rows {
        writer.write(row).map_err(backend(context))?;
    }
    writer.finish().map(drop).map_err(backend(context))
}

fn import_page(tx: &mut Transaction<'_>, page: RowPage) -> Result<()> {
    match page {
        RowPage::Subjects(rows) => {
            let fields: Vec<_> = rows
                .iter()
                .map(|r| {
                    (
                        r.id.as_str(),
                        i64::from(credence_store::subject_hash(r.id.as_str())),
                        kind_code(r.kind),
                        i16::from(r.state == SubjectState::OptedOut),
                        r.event_count as i32,
                    )
                })
                .collect();
            let values: Vec<Vec<&(dyn ToSql + Sync)>> = rows
                .iter()
                .zip(&fields)
                .map(|(r, (id, hash, kind, state, count))| {
                    vec![
                        id as &(dyn ToSql + Sync),
                        hash,
                        kind,
                        &r.enrolled_at,
                        &r.restricted_consent,
                        state,
                        count,
                        &r.events,
                    ]
                })
                .collect();
            copy_rows(
                tx,
                "subjects",
                "subject_id, subject_hash, kind, enrolled_at, restricted_consent, state, event_count, events",
                &[
                    Type::TEXT,
                    Type::INT8,
                    Type::INT2,
                    Type::INT8,
                    Type::BOOL,
                    Type::INT2,
                    Type::INT4,
                    Type::BYTEA,
                ],
                &values,
            )
        }
        RowPage::EventKeys(rows) => {
            let subjects: Vec<&str> = rows.iter().map(|r| r.subject_id.as_str()).collect();
            let values: Vec<Vec<&(dyn ToSql + Sync)>> = rows
                .iter()
                .zip(&subjects)
                .map(|(r, subject)| {
                    vec![&r.furnisher_id as &(dyn ToSql + Sync), &r.event_id, subject]
                })
                .collect();
            copy_rows(
                tx,
                "event_keys",
                "furnisher_id, event_id, subject_id",
                &[Type::TEXT, Type::TEXT, Type::TEXT],
                &values,
            )
        }
        RowPage::Scores(rows) => {
            let fields: Vec<_> = rows
                .iter()
                .map(|s| {
                    (
                        s.subject_id.as_str(),
                        s.as_of.as_second(),
                        s.dimensions.map(|d| d.unwrap_or(u8::MAX)).to_vec(),
                        s.reasons.join(","),
                        s.computed_at.as_second(),
                    )
                })
                .collect();
            let values: Vec<Vec<&(dyn ToSql + Sync)>> = rows
                .iter()
                .zip(&fields)
                .map(|(s, (id, as_of, dims, reasons, computed))| {
                    vec![
                        id as &(dyn ToSql + Sync),
                        as_of,
                        &s.model_version,
                        &s.scored,
                        &s.score,
                        &s.pd,
                        dims,
                        reasons,
                        computed,
                    ]
                })
                .collect();
            copy_rows(
                tx,
                "scores",
                SCORE_COLUMNS,
                &[
                    Type::TEXT,
                    Type::INT8,
                    Type::TEXT,
                    Type::BOOL,
                    Type::INT4,
                    Type::FLOAT8,
                    Type::BYTEA,
                    Type::TEXT,
                    Type::INT8,
                ],
                &values,
            )
        }
        RowPage::Records(rows) => {
            let values: Vec<Vec<&(dyn ToSql + Sync)>> = rows
                .iter()
                .map(|r| {
                    vec![
                        &r.kind as &(dyn ToSql + Sync),
                        &r.id,
                        &r.subject,
                        &r.owner,
                        &r.body,
                    ]
                })
                .collect();
            copy_rows(
                tx,
                "records",
                "kind, id, subject_id, owner, body",
                &[Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
                &values,
            )
        }
        RowPage::Audit(rows) => {
            let fields: Vec<_> = rows
                .iter()
                .map(|e| {
                    (
                        e.chain as i32,
                        e.seq as i64,
                        e.at.as_second(),
                        e.answer.as_ref().map(|a| a.key.as_str()),
                        e.answer.as_ref().map(|a| a.body.as_str()),
                    )
                })
                .collect();
            let values: Vec<Vec<&(dyn ToSql + Sync)>> = rows
                .iter()
                .zip(&fields)
                .map(|(e, (chain, seq, at, key, body))| {
                    vec![
                        chain as &(dyn ToSql + Sync),
                        seq,
                        at,
                        &e.actor,
                        &e.action,
                        &e.subject_ref,
                        &e.detail,
                        &e.prev_hash,
                        &e.hash,
                        key,
                        body,
                    ]
                })
                .collect();
            copy_rows(
                tx,
                "audit",
                AUDIT_COLUMNS,
                &[
                    Type::INT4,
                    Type::INT8,
                    Type::INT8,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                ],
                &values,
            )
        }
        RowPage::Claims(rows) => {
            let subjects: Vec<&str> = rows.iter().map(|c| c.subject.as_str()).collect();
            let values: Vec<Vec<&(dyn ToSql + Sync)>> = rows
                .iter()
                .zip(&subjects)
                .map(|(c, subject)| vec![&c.key as &(dyn ToSql + Sync), &c.day, subject, &c.body])
                .collect();
            copy_rows(
                tx,
                "answer_claims",
                "answer_key, day, subject_id, body",
                &[Type::TEXT, Type::INT8, Type::TEXT, Type::TEXT],
                &values,
            )
        }
    }
}

impl TransferStore for PostgresStore {
    fn export_rows(&self, sink: &mut dyn FnMut(RowPage) -> Result<()>) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(backend("starting the export"))?;
        export(&mut tx, sink)?;
        tx.commit().map_err(backend("finishing the export"))
    }

    fn import_rows(&self, pages: &mut dyn Iterator<Item = Result<RowPage>>) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client
            .transaction()
            .map_err(backend("starting the import"))?;
        // No other writer may start filling the schema meanwhile.
        tx.batch_execute(
            "LOCK TABLE subjects, event_keys, scores, records, audit, answer_claims IN EXCLUSIVE MODE",
        )
        .map_err(backend("locking the target"))?;
        let held = tx
            .query_one(
                "SELECT CASE
                    WHEN EXISTS (SELECT 1 FROM subjects) THEN 'subjects'
                    WHEN EXISTS (SELECT 1 FROM event_keys) THEN 'event_keys'
                    WHEN EXISTS (SELECT 1 FROM scores) THEN 'scores'
                    WHEN EXISTS (SELECT 1 FROM records) THEN 'records'
                    WHEN EXISTS (SELECT 1 FROM audit) THEN 'audit'
                    WHEN EXISTS (SELECT 1 FROM answer_claims) THEN 'answer_claims'
                 END",
                &[],
            )
            .map_err(backend("looking at the target"))?;
        if let Some(table) = held.get::<_, Option<&str>>(0) {
            return Err(Error::NotEmpty(format!("rows in its `{table}` table")));
        }
        for page in pages {
            import_page(&mut tx, page?)?;
        }
        tx.commit().map_err(backend("committing the import"))
    }
}
