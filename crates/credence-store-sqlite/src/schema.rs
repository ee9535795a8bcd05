//! Schema migrations, applied in order; the version lives in SQLite's
//! `user_version`.

use credence_store::{Error, Result, subject_hash};
use rusqlite::{Connection, Transaction};

/// One step of the schema: SQL, or SQL with a part only Rust can do.
enum Migration {
    Sql(&'static str),
    /// SQL, then a function in the same transaction.
    SqlThen(&'static str, fn(&Transaction<'_>) -> rusqlite::Result<()>),
}

/// Each entry takes the schema from version `index` to `index + 1`.
const MIGRATIONS: &[Migration] = &[
    // 1: subjects with their event blobs, idempotency keys, scores.
    Migration::Sql("CREATE TABLE subjects (
        subject_key INTEGER PRIMARY KEY,
        subject_id TEXT NOT NULL UNIQUE,
        kind INTEGER NOT NULL,
        enrolled_at INTEGER NOT NULL,
        restricted_consent INTEGER NOT NULL,
        state INTEGER NOT NULL,
        event_count INTEGER NOT NULL,
        events BLOB NOT NULL
    );
    CREATE TABLE event_keys (
        furnisher_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        subject_key INTEGER NOT NULL,
        PRIMARY KEY (furnisher_id, event_id)
    ) WITHOUT ROWID;
    CREATE TABLE scores (
        subject_id TEXT NOT NULL,
        as_of INTEGER NOT NULL,
        model_version TEXT NOT NULL,
        scored INTEGER NOT NULL,
        score INTEGER,
        pd REAL,
        dimensions BLOB NOT NULL,
        reasons TEXT NOT NULL,
        computed_at INTEGER NOT NULL,
        PRIMARY KEY (subject_id, as_of, model_version)
    ) WITHOUT ROWID;"),
    // 2: control-plane records and the hash-chained audit log.
    Migration::Sql("CREATE TABLE records (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        subject_id TEXT,
        owner TEXT,
        body TEXT NOT NULL,
        UNIQUE (kind, id)
    );
    CREATE INDEX records_by_subject ON records (kind, subject_id) WHERE subject_id IS NOT NULL;
    CREATE INDEX records_by_owner ON records (kind, owner) WHERE owner IS NOT NULL;
    CREATE INDEX records_of_subject ON records (subject_id) WHERE subject_id IS NOT NULL;
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject_ref TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_by_subject ON audit (subject_ref, seq) WHERE subject_ref IS NOT NULL;"),
    // 3: partners' answers inside their audit entries: one row per check
    // instead of an entry plus a record with three indexes. Deliberately
    // not indexed; the service finds them through its in-memory book.
    Migration::Sql("ALTER TABLE audit ADD COLUMN answer_key TEXT;
    ALTER TABLE audit ADD COLUMN answer TEXT;"),
    // 4: the subject generation, incremented by every transaction that
    // writes a subject's row, so cached subject logs can tell whether they
    // are still current (see `log_cache`).
    Migration::Sql("CREATE TABLE subject_generation (value INTEGER NOT NULL);
    INSERT INTO subject_generation (value) VALUES (0);"),
    // 5: the control generation, moved by every change to `records` in the
    // changing transaction, whichever process and code path makes it, so
    // a server notices keys and consents another process wrote. Triggers,
    // not application code: no writer can forget them. (Superseded by 6's
    // change feed, and dropped by 7.)
    Migration::Sql("CREATE TABLE control_generation (value INTEGER NOT NULL);
    INSERT INTO control_generation (value) VALUES (0);
    CREATE TRIGGER records_inserted AFTER INSERT ON records
        BEGIN UPDATE control_generation SET value = value + 1; END;
    CREATE TRIGGER records_updated AFTER UPDATE ON records
        BEGIN UPDATE control_generation SET value = value + 1; END;
    CREATE TRIGGER records_deleted AFTER DELETE ON records
        BEGIN UPDATE control_generation SET value = value + 1; END;"),
    // 6: the change feed: which record changed, in the changing
    // transaction, so a process invalidates exactly what it caches (see
    // `Store::record_changes`). Old changes are pruned by the writer.
    Migration::Sql("CREATE TABLE record_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        subject_id TEXT
    );
    CREATE TRIGGER record_change_inserted AFTER INSERT ON records
        BEGIN INSERT INTO record_changes (kind, id, subject_id) VALUES (NEW.kind, NEW.id, NEW.subject_id); END;
    CREATE TRIGGER record_change_updated AFTER UPDATE ON records
        BEGIN INSERT INTO record_changes (kind, id, subject_id) VALUES (NEW.kind, NEW.id, NEW.subject_id); END;
    CREATE TRIGGER record_change_deleted AFTER DELETE ON records
        BEGIN INSERT INTO record_changes (kind, id, subject_id) VALUES (OLD.kind, OLD.id, OLD.subject_id); END;"),
    // 7: the change feed says which record changed, so the bare count of
    // changes goes.
    Migration::Sql("DROP TRIGGER records_inserted;
    DROP TRIGGER records_updated;
    DROP TRIGGER records_deleted;
    DROP TABLE control_generation;"),
    // 8: partitions and chains. Subjects carry the stable hash of their id
    // (see `subject_hash`), placed before the event blob so that a scan of
    // a hash range filters without reading blobs; the audit log becomes a
    // set of chains, numbered within each, kept in the order written
    // (`position`). Entries written before go on chain 0 unchanged, so
    // their hashes still hold.
    Migration::SqlThen(
        "CREATE TABLE subjects_hashed (
            subject_key INTEGER PRIMARY KEY,
            subject_id TEXT NOT NULL UNIQUE,
            subject_hash INTEGER NOT NULL,
            kind INTEGER NOT NULL,
            enrolled_at INTEGER NOT NULL,
            restricted_consent INTEGER NOT NULL,
            state INTEGER NOT NULL,
            event_count INTEGER NOT NULL,
            events BLOB NOT NULL
        );
        INSERT INTO subjects_hashed (subject_key, subject_id, subject_hash, kind, enrolled_at,
                restricted_consent, state, event_count, events)
            SELECT subject_key, subject_id, 0, kind, enrolled_at, restricted_consent, state,
                event_count, events FROM subjects;
        DROP TABLE subjects;
        ALTER TABLE subjects_hashed RENAME TO subjects;
        CREATE TABLE audit_chained (
            position INTEGER PRIMARY KEY,
            chain INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            subject_ref TEXT,
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL,
            answer_key TEXT,
            answer TEXT,
            UNIQUE (chain, seq)
        );
        INSERT INTO audit_chained (position, chain, seq, at, actor, action, subject_ref, detail,
                prev_hash, hash, answer_key, answer)
            SELECT seq, 0, seq, at, actor, action, subject_ref, detail, prev_hash, hash,
                answer_key, answer FROM audit;
        DROP TABLE audit;
        ALTER TABLE audit_chained RENAME TO audit;
        CREATE INDEX audit_by_subject ON audit (subject_ref, position) WHERE subject_ref IS NOT NULL;",
        hash_every_subject,
    ),
    // 9: partners' answers claimed once by key (see `AnswerStore`), with
    // the subject for erasure and the day for forgetting.
    Migration::Sql("CREATE TABLE answer_claims (
        answer_key TEXT PRIMARY KEY,
        day INTEGER NOT NULL,
        subject_id TEXT NOT NULL,
        body TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX answer_claims_of_subject ON answer_claims (subject_id);
    CREATE INDEX answer_claims_by_day ON answer_claims (day);"),

];

/// The newest schema version this build knows.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// The database's schema version.
pub fn version(connection: &Connection) -> Result<u32> {
    connection
        .query_row("PRAGMA user_version", [], |r| r.get::<_, u32>(0))
        .map_err(|e| Error::Backend(format!("reading the schema version: {e}")))
}

/// Applies missing migrations in one transaction each.
pub fn migrate(connection: &mut Connection) -> Result<()> {
    migrate_to(connection, LATEST)
}

/// Applies missing migrations up to version `target`.
pub(crate) fn migrate_to(connection: &mut Connection, target: u32) -> Result<()> {
    let found = version(connection)?;
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    let steps = MIGRATIONS.iter().enumerate().take(target as usize);
    for (index, migration) in steps.skip(found as usize) {
        let tx = connection
            .transaction()
            .map_err(|e| Error::Backend(format!("starting migration {}: {e}", index + 1)))?;
        match migration {
            Migration::Sql(sql) => tx.execute_batch(sql),
            Migration::SqlThen(sql, then) => tx.execute_batch(sql).and_then(|()| then(&tx)),
        }
        .and_then(|()| tx.execute_batch(&format!("PRAGMA user_version = {}", index + 1)))
        .and_then(|()| tx.commit())
        .map_err(|e| Error::Backend(format!("applying migration {}: {e}", index + 1)))?;
    }
    Ok(())
}

/// Fills in every subject's hash (migration 8).
fn hash_every_subject(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let ids: Vec<(i64, String)> = tx
        .prepare("SELECT subject_key, subject_id FROM subjects")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut update = tx.prepare("UPDATE subjects SET subject_hash = ?1 WHERE subject_key = ?2")?;
    for (key, id) in ids {
        update.execute(rusqlite::params![subject_hash(&id), key])?;
    }
    Ok(())
}
