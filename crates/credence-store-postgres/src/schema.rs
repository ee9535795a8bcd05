//! Schema migrations, applied in order, all in one transaction; the
//! version lives in `credence_schema`. Several nodes may start at once:
//! an advisory lock makes them migrate one after another, and each reads
//! the version again once it holds the lock.
//!
//! Every table that holds something about a subject is keyed by the
//! subject's id first, so the schema shards by subject (docs/scale-out.md);
//! the audit log is keyed by chain and number.

use credence_store::{Error, Result};

/// Each entry takes the schema from version `index` to `index + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite schema holds at its version 8, in one step.
    "CREATE TABLE subjects (
        subject_id TEXT PRIMARY KEY,
        subject_hash BIGINT NOT NULL,
        kind SMALLINT NOT NULL,
        enrolled_at BIGINT NOT NULL,
        restricted_consent BOOLEAN NOT NULL,
        state SMALLINT NOT NULL,
        event_count INTEGER NOT NULL,
        events BYTEA NOT NULL
    );
    CREATE INDEX subjects_by_hash ON subjects (subject_hash, subject_id);
    CREATE TABLE event_keys (
        furnisher_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        PRIMARY KEY (furnisher_id, event_id)
    );
    CREATE INDEX event_keys_by_subject ON event_keys (subject_id);
    CREATE TABLE scores (
        subject_id TEXT NOT NULL,
        as_of BIGINT NOT NULL,
        model_version TEXT NOT NULL,
        scored BOOLEAN NOT NULL,
        score INTEGER,
        pd DOUBLE PRECISION,
        dimensions BYTEA NOT NULL,
        reasons TEXT NOT NULL,
        computed_at BIGINT NOT NULL,
        PRIMARY KEY (subject_id, as_of, model_version)
    );
    CREATE SEQUENCE records_written;
    CREATE TABLE records (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        subject_id TEXT,
        owner TEXT,
        body TEXT NOT NULL,
        first_written BIGINT NOT NULL DEFAULT nextval('records_written'),
        PRIMARY KEY (kind, id)
    );
    CREATE INDEX records_by_subject ON records (kind, subject_id) WHERE subject_id IS NOT NULL;
    CREATE INDEX records_by_owner ON records (kind, owner) WHERE owner IS NOT NULL;
    CREATE INDEX records_of_subject ON records (subject_id) WHERE subject_id IS NOT NULL;
    CREATE TABLE record_changes (
        seq BIGSERIAL PRIMARY KEY,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        subject_id TEXT
    );
    CREATE INDEX record_changes_of_subject ON record_changes (subject_id) WHERE subject_id IS NOT NULL;
    -- Every change to a record names itself in the feed, in the changing
    -- transaction, whichever process and code path makes it. The feed's
    -- lock (taken first by the store's own writes; here for any other)
    -- keeps its numbers in commit order, so a reader that has seen change
    -- n has seen every change before it.
    CREATE FUNCTION record_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.record_changes'));
        IF TG_OP = 'DELETE' THEN
            INSERT INTO record_changes (kind, id, subject_id) VALUES (OLD.kind, OLD.id, OLD.subject_id);
            RETURN OLD;
        END IF;
        INSERT INTO record_changes (kind, id, subject_id) VALUES (NEW.kind, NEW.id, NEW.subject_id);
        RETURN NEW;
    END $$;
    CREATE TRIGGER records_changed AFTER INSERT OR UPDATE OR DELETE ON records
        FOR EACH ROW EXECUTE FUNCTION record_changed();
    CREATE TABLE audit (
        chain INTEGER NOT NULL,
        seq BIGINT NOT NULL,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject_ref TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        answer_key TEXT,
        answer TEXT,
        PRIMARY KEY (chain, seq)
    );
    CREATE INDEX audit_by_subject ON audit (subject_ref, chain, seq) WHERE subject_ref IS NOT NULL;",
    // 2: partners' answers claimed once by key (see `AnswerStore`), with
    // the subject for erasure and the day for forgetting. Distributed by
    // its key: the key is what must be unique across every node.
    "CREATE TABLE answer_claims (
        answer_key TEXT PRIMARY KEY,
        day BIGINT NOT NULL,
        subject_id TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX answer_claims_of_subject ON answer_claims (subject_id);
    CREATE INDEX answer_claims_by_day ON answer_claims (day);",
    // 3: no index of event keys by subject: an erasure finds the subject's
    // keys from its events, and every ingested event wrote one index entry
    // fewer.
    "DROP INDEX event_keys_by_subject;",
];

/// The newest schema version this build knows.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

fn backend(context: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| Error::Backend(format!("{context}: {}", crate::describe(&e)))
}

/// The database's schema version (0 before the first migration).
pub fn version(client: &mut impl postgres::GenericClient) -> Result<u32> {
    let context = "reading the schema version";
    let exists: bool = client
        .query_one("SELECT to_regclass('credence_schema') IS NOT NULL", &[])
        .map_err(backend(context))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let version: i32 = client
        .query_one("SELECT version FROM credence_schema", &[])
        .map_err(backend(context))?
        .get(0);
    Ok(version as u32)
}

/// Applies missing migrations, one transaction each, one node at a time.
pub fn migrate(client: &mut postgres::Client) -> Result<()> {
    let context = "migrating the schema";
    let mut tx = client.transaction().map_err(backend(context))?;
    // One migrating node at a time (the lock is this transaction's).
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.credence_schema'))",
        &[],
    )
    .map_err(backend(context))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS credence_schema (version INTEGER NOT NULL)")
        .map_err(backend(context))?;
    let rows = tx
        .query("SELECT version FROM credence_schema", &[])
        .map_err(backend(context))?;
    let found = match rows.first() {
        Some(row) => row.get::<_, i32>(0) as u32,
        None => {
            tx.execute("INSERT INTO credence_schema (version) VALUES (0)", &[])
                .map_err(backend(context))?;
            0
        }
    };
    if found > LATEST {
        return Err(Error::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let step = index as i32 + 1;
        tx.batch_execute(sql)
            .and_then(|()| tx.execute("UPDATE credence_schema SET version = $1", &[&step]))
            .map_err(|e| {
                Error::Backend(format!(
                    "applying migration {step}: {}",
                    crate::describe(&e)
                ))
            })?;
    }
    tx.commit().map_err(backend(context))
}
