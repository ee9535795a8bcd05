//! The PostgreSQL backend of [`credence_store::Store`].
//!
//! One database, any number of processes: nothing here is cached in
//! memory, so every node of a deployment sees what any node committed. A
//! write commits (PostgreSQL's `synchronous_commit`, on by default) before
//! it is acknowledged. Connections come from a pool; the store's calls
//! block, and the server runs them off its async workers.
//!
//! A subject's events live in one blob per subject, in the format of
//! [`credence_store::codec`] (the same bytes as on SQLite, so scores are
//! bit-identical across backends), written by `credence_store::append`'s
//! rules; `event_keys` enforces idempotency on (furnisher, event id).
//! Appends to one subject serialise on its row (`FOR UPDATE`); appends to
//! an audit chain serialise on its next number (the key `(chain, seq)`),
//! and only within that chain.

mod baseline;
mod rows;
mod schema;
mod session;
mod transfer;

pub use baseline::bare_copy_baseline;

#[cfg(test)]
mod tests;

use credence_domain::{Event, Subject, SubjectId, SubjectKind, SubjectLog, SubjectState};
use credence_store::codec;
use credence_store::{
    AnswerClaim, AnswerStore, AppendReport, AuditAnswer, AuditEntry, AuditStore, ChainHead, Counts,
    Erasure, Error, EventStore, EventWriter, HashRange, Record, RecordChange, RecordChanges,
    RecordFilter, RecordStore, RecordWrite, Result, ScanCursor, ScoreDistribution, ScoreStore,
    Store, StoredScore, SubjectRecord,
};
use jiff::Timestamp;
use postgres::GenericClient;

/// Connections kept by one process. The server decides on a lane per core
/// and writes through one audit writer; imports and rescores use a few.
const POOL_SIZE: u32 = 16;

/// How long a call waits for a connection before it reports the database
/// unavailable (a server request then answers 503 `unavailable`): while
/// the server is down the pool retries connecting until then. Shorter than
/// a load balancer's usual request timeout, so the client hears why.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Changes the feed keeps (see `Store::record_changes`).
const CHANGES_KEPT: i64 = 1_000_000;
/// How often (in any chain's sequence numbers) an append prunes the feed.
const CHANGE_PRUNE_EVERY: u64 = 4_096;

/// The SQLSTATE of a unique violation.
const UNIQUE_VIOLATION: &str = "23505";

type Pool = r2d2::Pool<session::Manager>;
type Connection = r2d2::PooledConnection<session::Manager>;

/// A Credence store in a PostgreSQL database (or one schema of it).
pub struct PostgresStore {
    /// Always `Some` but while dropping (see `Drop`).
    pool: Option<Pool>,
    /// Where, for messages: host, port and database, never the password.
    place: String,
}

impl Drop for PostgresStore {
    /// The synchronous client closes a connection by blocking on a runtime
    /// of its own, which panics on a thread that drives async tasks: a
    /// server's last handle on the store may well be dropped on one. There
    /// the connections are closed on a thread of their own.
    fn drop(&mut self) {
        let Some(pool) = self.pool.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            let closing = std::thread::Builder::new()
                .name("postgres-close".into())
                .spawn(move || drop(pool));
            if let Err(e) = closing {
                tracing::warn!(error = %e, "closing PostgreSQL connections: no thread to close them on");
            }
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("place", &self.place)
            .finish()
    }
}

/// A group of audit entries to append: linked already, or to be linked
/// under its chains' locks.
enum Group<'a, 'l> {
    Linked(&'a [AuditEntry]),
    ToLink(
        &'a mut [AuditEntry],
        &'l mut dyn FnMut(&[ChainHead], &mut [AuditEntry]),
    ),
}

/// A PostgreSQL error with what the server said, its code and where.
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!("{} (SQLSTATE {})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(": ");
                text.push_str(detail);
            }
            text
        }
        None => e.to_string(),
    }
}

pub(crate) fn backend(context: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |e| {
        let message = format!("{context}: {}", describe(&e));
        if is_unreachable(&e) {
            Error::Unavailable(message)
        } else {
            Error::Backend(message)
        }
    }
}

/// Whether `e` says the server cannot be reached for now (the connection
/// closed or broke, the server is shutting down, starting or refusing
/// connections), as opposed to a refused statement.
fn is_unreachable(e: &postgres::Error) -> bool {
    match e.code() {
        // Class 08 (connection exception), admin or crash shutdown,
        // cannot connect now, too many connections, read-only standby.
        Some(code) => {
            let code = code.code();
            code.starts_with("08")
                || matches!(code, "57P01" | "57P02" | "57P03" | "53300" | "25006")
        }
        // No code: the connection closed, or its socket failed.
        None => {
            e.is_closed()
                || std::error::Error::source(e).is_some_and(|source| source.is::<std::io::Error>())
        }
    }
}

pub(crate) fn is_unique_violation(e: &postgres::Error, constraint: &str) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code().code() == UNIQUE_VIOLATION && db.constraint() == Some(constraint)
    })
}

impl PostgresStore {
    /// Opens the database at `url` (`postgres://user:password@host:port/db`,
    /// or libpq's `key=value` form) and brings its schema up to date.
    pub fn open(url: &str) -> Result<Self> {
        let config: postgres::Config = url.parse().map_err(|e| {
            Error::Backend(format!(
                "reading the PostgreSQL address: {e}; write it as postgres://user:password@host:port/database"
            ))
        })?;
        Self::open_config(config)
    }

    /// Opens the database `config` names and brings its schema up to date.
    pub fn open_config(mut config: postgres::Config) -> Result<Self> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let place = place_of(&config);
        let timeout = config
            .get_connect_timeout()
            .copied()
            .unwrap_or(CONNECT_TIMEOUT);
        let manager = session::Manager::new(config);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(timeout)
            // No round trip to test a connection at every check-out (it
            // was one in three of a partner check's): a broken one fails
            // its call as `Unavailable` and is dropped on return, since
            // the manager sees it closed.
            .test_on_check_out(false)
            // Errors reach the caller; the pool's own log would repeat them.
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build(manager)
            .map_err(|e| Error::Backend(format!("connecting to PostgreSQL at {place}: {e}")))?;
        let store = Self {
            pool: Some(pool),
            place,
        };
        schema::migrate(&mut *store.client()?)?;
        Ok(store)
    }

    pub(crate) fn client(&self) -> Result<Connection> {
        let Some(pool) = &self.pool else {
            return Err(Error::Backend("the store is closing".into()));
        };
        pool.get().map_err(|e| {
            Error::Unavailable(format!(
                "no connection to PostgreSQL at {}: {e}",
                self.place
            ))
        })
    }

    /// Takes the change feed's lock for this transaction: record writes
    /// then number their changes in commit order. Taken before any row, so
    /// two writers never hold a row each and wait for the other's lock.
    fn lock_the_feed(tx: &mut postgres::Transaction<'_>) -> Result<()> {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.record_changes'))",
            &[],
        )
        .map(drop)
        .map_err(backend("locking the change feed"))
    }

    /// Visits up to `limit` subjects of `range` after `cursor`, in (hash,
    /// id) order, with their raw event blobs.
    fn scan_rows(
        &self,
        range: HashRange,
        cursor: Option<ScanCursor>,
        limit: usize,
        mut visit: impl FnMut(Subject, &[u8]) -> Result<()>,
    ) -> Result<Option<ScanCursor>> {
        let (after_hash, after_id) = match &cursor {
            None => (-1_i64, String::new()),
            Some(cursor) => decode_cursor(cursor.position())?,
        };
        let mut client = self.client()?;
        let rows = client
            .query(
                "SELECT subject_id, kind, enrolled_at, restricted_consent, state, events, subject_hash
                 FROM subjects
                 WHERE subject_hash BETWEEN $1 AND $2 AND (subject_hash, subject_id) > ($3, $4)
                 ORDER BY subject_hash, subject_id LIMIT $5",
                &[
                    &i64::from(range.first),
                    &i64::from(range.last),
                    &after_hash,
                    &after_id,
                    &(limit as i64),
                ],
            )
            .map_err(backend("scanning subjects"))?;
        let mut last = None;
        for row in &rows {
            let subject = subject_from_row(row)?;
            let blob: &[u8] = row.get(5);
            visit(subject.clone(), blob)?;
            last = Some((row.get::<_, i64>(6), subject.id));
        }
        Ok(match last {
            Some((hash, id)) if rows.len() == limit && limit > 0 => {
                let mut position = hash.to_be_bytes().to_vec();
                position.extend_from_slice(id.as_str().as_bytes());
                Some(ScanCursor::new(position))
            }
            _ => None,
        })
    }

    fn audit_query(
        &self,
        sql: &str,
        args: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<AuditEntry>> {
        let mut client = self.client()?;
        let rows = client
            .query(&format!("SELECT {AUDIT_COLUMNS} FROM audit {sql}"), args)
            .map_err(backend("reading the audit log"))?;
        rows.iter().map(audit_from_row).collect()
    }

    /// The number of the last entry stored on `chain` (0 before any).
    /// Locks the chains `entries` name for this transaction, in chain
    /// order (so two groups never hold one each and wait for the other),
    /// and reads their heads under the locks.
    fn lock_chains(
        tx: &mut postgres::Transaction<'_>,
        entries: &[AuditEntry],
    ) -> Result<Vec<ChainHead>> {
        let context = "locking the audit chains";
        let mut chains: Vec<i32> = entries.iter().map(|e| e.chain as i32).collect();
        chains.sort_unstable();
        chains.dedup();
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit'), ordered.c)
             FROM (SELECT c FROM unnest($1::int[]) AS wanted (c) ORDER BY c) AS ordered",
            &[&chains],
        )
        .map_err(backend(context))?;
        let rows = tx
            .query(
                "SELECT wanted.c, head.seq, head.hash FROM unnest($1::int[]) AS wanted (c)
                 JOIN LATERAL (SELECT seq, hash FROM audit WHERE audit.chain = wanted.c
                     ORDER BY seq DESC LIMIT 1) AS head ON TRUE",
                &[&chains],
            )
            .map_err(backend("reading the audit heads"))?;
        Ok(rows
            .iter()
            .map(|row| ChainHead {
                chain: row.get::<_, i32>(0) as u32,
                seq: row.get::<_, i64>(1) as u64,
                hash: row.get(2),
            })
            .collect())
    }

    /// Appends a group, linking it first under its chains' locks when it
    /// comes unlinked.
    fn append_group(&self, group: Group<'_, '_>, writes: &[RecordWrite]) -> Result<()> {
        let context = "appending to the audit log";
        if match &group {
            Group::Linked(entries) => entries.is_empty(),
            Group::ToLink(entries, _) => entries.is_empty(),
        } {
            return Ok(());
        }
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(backend(context))?;
        let writes_records = writes
            .iter()
            .any(|w| !matches!(w, RecordWrite::RestrictedDataConsent { .. }));
        if writes_records {
            // The feed's lock before any chain's, always in this order.
            Self::lock_the_feed(&mut tx)?;
        }
        // Linked here under the chains' locks, a group follows the heads it
        // was given; linked before, it is checked against them.
        let (entries, follows_heads): (&[AuditEntry], bool) = match group {
            Group::Linked(entries) => (entries, false),
            Group::ToLink(entries, link) => {
                let heads = Self::lock_chains(&mut tx, entries)?;
                link(&heads, entries);
                (entries, true)
            }
        };
        // Each chain of the group: its first entry's number, checked
        // against the stored head, then every entry right after the one
        // before.
        let mut chains: Vec<(u32, u64, u64)> = Vec::new(); // chain, first, next expected
        for e in entries {
            match chains.iter_mut().find(|(chain, ..)| *chain == e.chain) {
                Some((_, _, expected)) => {
                    if e.seq != *expected {
                        return Err(Error::Backend(format!(
                            "audit entries of chain {} are not consecutive at {}",
                            e.chain, e.seq
                        )));
                    }
                    *expected += 1;
                }
                None => chains.push((e.chain, e.seq, e.seq + 1)),
            }
        }
        for &(chain, first, _) in chains.iter().filter(|_| !follows_heads) {
            let stored = Self::chain_head(&mut tx, chain)?;
            if first != stored + 1 {
                return Err(Error::AuditOutOfSequence {
                    chain,
                    first,
                    stored,
                });
            }
        }
        let inserted = insert_audit_rows(&mut tx, entries);
        if let Err(e) = inserted {
            if !is_unique_violation(&e, "audit_pkey") {
                return Err(backend(context)(e));
            }
            // Another writer took a number on one of the group's chains
            // after its head was read here (and committed while this
            // insert waited for it): say which, from a fresh look.
            drop(tx);
            let mut moved = None;
            for &(chain, first, _) in &chains {
                let stored = Self::chain_head(&mut **client, chain)?;
                if stored >= first || moved.is_none() {
                    moved = Some(Error::AuditOutOfSequence {
                        chain,
                        first,
                        stored,
                    });
                }
                if stored >= first {
                    break;
                }
            }
            return Err(moved.unwrap_or_else(|| backend(context)(e)));
        }
        if entries.iter().any(|e| e.seq % CHANGE_PRUNE_EVERY == 0) {
            // Keep the feed bounded: a reader this far behind starts over.
            tx.execute(
                "DELETE FROM record_changes WHERE seq <= (SELECT max(seq) FROM record_changes) - $1",
                &[&CHANGES_KEPT],
            )
            .map_err(backend("pruning the change feed"))?;
        }
        for write in writes {
            match write {
                RecordWrite::Put(r) => write_record(&mut tx, PUT_RECORD, r).map(drop)?,
                RecordWrite::KeepFirst(r) => write_record(&mut tx, INSERT_RECORD_ONCE, r).map(drop)?,
                RecordWrite::Delete { kind, id } => tx
                    .execute(DELETE_RECORD, &[kind, id])
                    .map(drop)
                    .map_err(backend("storing audited records"))?,
                RecordWrite::RestrictedDataConsent { subject, given } => tx
                    .execute(
                        "UPDATE subjects SET restricted_consent = $1 WHERE subject_id = $2 AND state = 0",
                        &[given, &subject.as_str()],
                    )
                    .map(drop)
                    .map_err(backend("storing a subject's consent"))?,
            }
        }
        tx.commit().map_err(backend("committing the audit log"))
    }

    /// Appends the entry `entry` makes of `done`, in `tx`, linked after its
    /// chain's head under the chain's lock.
    fn append_entry_of<T>(
        tx: &mut postgres::Transaction<'_>,
        entry: credence_store::EntryOf<'_, T>,
        done: &T,
    ) -> Result<()> {
        let mut entries = [(entry.make)(done)];
        let heads = Self::lock_chains(tx, &entries)?;
        (entry.link)(&heads, &mut entries);
        insert_audit_rows(tx, &entries)
            .map(drop)
            .map_err(backend("appending an audit entry"))
    }

    fn chain_head(client: &mut impl GenericClient, chain: u32) -> Result<u64> {
        let stored: i64 = client
            .query_one(
                "SELECT coalesce(max(seq), 0) FROM audit WHERE chain = $1",
                &[&(chain as i32)],
            )
            .map_err(backend("reading the audit head"))?
            .get(0);
        Ok(stored as u64)
    }
}

/// Host, port and database of a configuration, for messages.
fn place_of(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config.get_dbname().unwrap_or("(default database)");
    format!("{host}:{port}/{database}")
}

fn decode_cursor(position: &[u8]) -> Result<(i64, String)> {
    let foreign = || Error::Backend("a scan cursor that this backend did not make".into());
    if position.len() < 8 {
        return Err(foreign());
    }
    let (hash, id) = position.split_at(8);
    let hash = i64::from_be_bytes(hash.try_into().map_err(|_| foreign())?);
    let id = String::from_utf8(id.to_vec()).map_err(|_| foreign())?;
    Ok((hash, id))
}

pub(crate) fn kind_code(kind: SubjectKind) -> i16 {
    match kind {
        SubjectKind::Person => 0,
        SubjectKind::Organisation => 1,
    }
}

pub(crate) fn kind_from_code(code: i16) -> Result<SubjectKind> {
    match code {
        0 => Ok(SubjectKind::Person),
        1 => Ok(SubjectKind::Organisation),
        other => Err(Error::Corrupt(format!("subject kind code {other}"))),
    }
}

pub(crate) fn state_from_code(code: i16) -> Result<SubjectState> {
    match code {
        0 => Ok(SubjectState::Enrolled),
        1 => Ok(SubjectState::OptedOut),
        other => Err(Error::Corrupt(format!("subject state code {other}"))),
    }
}

pub(crate) fn subject_id(raw: &str) -> Result<SubjectId> {
    SubjectId::new(raw).map_err(|e| Error::Corrupt(format!("subject id {raw:?}: {e}")))
}

fn timestamp(seconds: i64) -> Result<Timestamp> {
    Timestamp::from_second(seconds).map_err(|e| Error::Corrupt(format!("timestamp {seconds}: {e}")))
}

/// A subject from the first five columns: id, kind, enrolled at,
/// restricted consent, state.
fn subject_from_row(row: &postgres::Row) -> Result<Subject> {
    Ok(Subject {
        id: subject_id(row.get(0))?,
        kind: kind_from_code(row.get(1))?,
        enrolled_at: timestamp(row.get(2))?,
        restricted_data_consent: row.get(3),
        state: state_from_code(row.get(4))?,
    })
}

const SUBJECT_COLUMNS: &str = "subject_id, kind, enrolled_at, restricted_consent, state";

pub(crate) const SCORE_COLUMNS: &str =
    "subject_id, as_of, model_version, scored, score, pd, dimensions, reasons, computed_at";

pub(crate) fn score_from_row(row: &postgres::Row) -> Result<StoredScore> {
    let dims: &[u8] = row.get(6);
    let mut dimensions = [None; 5];
    for (slot, byte) in dimensions.iter_mut().zip(dims.iter()) {
        *slot = (*byte != u8::MAX).then_some(*byte);
    }
    let reasons: &str = row.get(7);
    Ok(StoredScore {
        subject_id: subject_id(row.get(0))?,
        as_of: timestamp(row.get(1))?,
        model_version: row.get(2),
        scored: row.get(3),
        score: row.get(4),
        pd: row.get(5),
        dimensions,
        reasons: reasons
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect(),
        computed_at: timestamp(row.get(8))?,
    })
}

const RECORD_COLUMNS: &str = "kind, id, subject_id, owner, body";

fn record_from_row(kind: &'static str, row: &postgres::Row) -> Result<Record> {
    Ok(Record {
        kind,
        id: row.get(1),
        subject: row.get::<_, Option<&str>>(2).map(subject_id).transpose()?,
        owner: row.get(3),
        body: row.get(4),
    })
}

const PUT_RECORD: &str =
    "INSERT INTO records (kind, id, subject_id, owner, body) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (kind, id) DO UPDATE SET subject_id = excluded.subject_id,
        owner = excluded.owner, body = excluded.body";
const INSERT_RECORD_ONCE: &str =
    "INSERT INTO records (kind, id, subject_id, owner, body) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (kind, id) DO NOTHING";
const DELETE_RECORD: &str = "DELETE FROM records WHERE kind = $1 AND id = $2";

fn write_record(tx: &mut impl GenericClient, sql: &str, r: &Record) -> Result<u64> {
    tx.execute(
        sql,
        &[
            &r.kind,
            &r.id,
            &r.subject.as_ref().map(|s| s.as_str()),
            &r.owner,
            &r.body,
        ],
    )
    .map_err(backend("storing a record"))
}

pub(crate) const AUDIT_COLUMNS: &str =
    "chain, seq, at, actor, action, subject_ref, detail, prev_hash, hash, answer_key, answer";

/// Inserts audit entries, numbered and linked already, in one statement.
fn insert_audit_rows(
    tx: &mut impl GenericClient,
    entries: &[AuditEntry],
) -> std::result::Result<u64, postgres::Error> {
    // One statement for the group: the columns as arrays.
    let chain: Vec<i32> = entries.iter().map(|e| e.chain as i32).collect();
    let seq: Vec<i64> = entries.iter().map(|e| e.seq as i64).collect();
    let at: Vec<i64> = entries.iter().map(|e| e.at.as_second()).collect();
    let actor: Vec<&str> = entries.iter().map(|e| e.actor.as_str()).collect();
    let action: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    let subject_ref: Vec<Option<&str>> = entries.iter().map(|e| e.subject_ref.as_deref()).collect();
    let detail: Vec<&str> = entries.iter().map(|e| e.detail.as_str()).collect();
    let prev_hash: Vec<&str> = entries.iter().map(|e| e.prev_hash.as_str()).collect();
    let hash: Vec<&str> = entries.iter().map(|e| e.hash.as_str()).collect();
    let answer_key: Vec<Option<&str>> = entries
        .iter()
        .map(|e| e.answer.as_ref().map(|a| a.key.as_str()))
        .collect();
    let answer: Vec<Option<&str>> = entries
        .iter()
        .map(|e| e.answer.as_ref().map(|a| a.body.as_str()))
        .collect();
    tx.execute(
        &format!(
            "INSERT INTO audit ({AUDIT_COLUMNS})
             SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])"
        ),
        &[
            &chain,
            &seq,
            &at,
            &actor,
            &action,
            &subject_ref,
            &detail,
            &prev_hash,
            &hash,
            &answer_key,
            &answer,
        ],
    )
}

pub(crate) fn audit_from_row(row: &postgres::Row) -> Result<AuditEntry> {
    let chain: i32 = row.get(0);
    let seq: i64 = row.get(1);
    let answer = match (
        row.get::<_, Option<String>>(9),
        row.get::<_, Option<String>>(10),
    ) {
        (Some(key), Some(body)) => Some(AuditAnswer { key, body }),
        (None, None) => None,
        _ => {
            return Err(Error::Corrupt(format!(
                "audit entry {seq} of chain {chain} has half an answer (key or body missing)"
            )));
        }
    };
    Ok(AuditEntry {
        chain: chain as u32,
        seq: seq as u64,
        at: timestamp(row.get(2))?,
        actor: row.get(3),
        action: row.get(4),
        subject_ref: row.get(5),
        detail: row.get(6),
        prev_hash: row.get(7),
        hash: row.get(8),
        answer,
    })
}

impl Store for PostgresStore {
    // A call mostly waits on the server; a few connections are left for
    // the audit writer and the change feed's follower.
    fn concurrent_calls(&self) -> usize {
        (POOL_SIZE - 4) as usize
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn schema_version(&self) -> Result<u32> {
        schema::version(&mut **self.client()?)
    }

    fn counts(&self) -> Result<Counts> {
        let mut client = self.client()?;
        let row = client
            .query_one(
                "SELECT (SELECT count(*) FROM subjects WHERE state = 0),
                        (SELECT coalesce(sum(event_count), 0)::bigint FROM subjects WHERE state = 0),
                        (SELECT count(*) FROM scores)",
                &[],
            )
            .map_err(backend("counting"))?;
        Ok(Counts {
            subjects: row.get::<_, i64>(0) as u64,
            events: row.get::<_, i64>(1) as u64,
            scores: row.get::<_, i64>(2) as u64,
        })
    }

    fn erase_subject_audited(
        &self,
        id: &SubjectId,
        tombstone: &SubjectId,
        entry: Option<credence_store::EntryOf<'_, Erasure>>,
    ) -> Result<Option<Erasure>> {
        let context = "erasing a subject";
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(backend(context))?;
        Self::lock_the_feed(&mut tx)?;
        let Some(row) = tx
            .query_opt(
                "SELECT event_count, events FROM subjects WHERE subject_id = $1 FOR UPDATE",
                &[&id.as_str()],
            )
            .map_err(backend(context))?
        else {
            return Ok(None);
        };
        let events: i32 = row.get(0);
        // The subject's keys are its events' keys: found by their own
        // index, so the table needs none by subject (one index fewer to
        // write per ingested event).
        let mut stored = Vec::new();
        codec::decode(row.get(1), id, &mut stored).map_err(Error::Corrupt)?;
        let furnishers: Vec<&str> = stored.iter().map(|e| e.key.furnisher_id.as_str()).collect();
        let event_ids: Vec<&str> = stored.iter().map(|e| e.key.event_id.as_str()).collect();
        tx.execute(
            "DELETE FROM event_keys USING unnest($1::text[], $2::text[]) AS k (furnisher_id, event_id)
             WHERE event_keys.furnisher_id = k.furnisher_id AND event_keys.event_id = k.event_id
                 AND event_keys.subject_id = $3",
            &[&furnishers, &event_ids, &id.as_str()],
        )
        .map_err(backend("erasing idempotency keys"))?;
        let scores = tx
            .execute("DELETE FROM scores WHERE subject_id = $1", &[&id.as_str()])
            .map_err(backend("erasing scores"))?;
        let records = tx
            .execute("DELETE FROM records WHERE subject_id = $1", &[&id.as_str()])
            .map_err(backend("erasing records"))?;
        let answers = tx
            .execute(
                "DELETE FROM answer_claims WHERE subject_id = $1",
                &[&id.as_str()],
            )
            .map_err(backend("erasing answers"))?;
        // The feed named the subject's records (the deletes just now too):
        // those changes go, and one erasure change tells every follower to
        // drop what it caches.
        tx.execute(
            "DELETE FROM record_changes WHERE subject_id = $1",
            &[&id.as_str()],
        )
        .and_then(|_| {
            tx.execute(
                "INSERT INTO record_changes (kind, id, subject_id) VALUES ($1, $2, NULL)",
                &[&credence_store::ERASURE_CHANGE, &tombstone.as_str()],
            )
        })
        .map_err(backend("erasing the subject's changes"))?;
        tx.execute(
            "UPDATE subjects SET subject_id = $1, subject_hash = $2, state = 1,
                 restricted_consent = FALSE, event_count = 0, events = ''::bytea
             WHERE subject_id = $3",
            &[
                &tombstone.as_str(),
                &i64::from(credence_store::subject_hash(tombstone.as_str())),
                &id.as_str(),
            ],
        )
        .map_err(backend("writing the tombstone"))?;
        let erasure = Erasure {
            events: events as u64,
            scores,
            records,
            answers,
        };
        if let Some(entry) = entry {
            // After the feed's lock, as every audited write takes them.
            Self::append_entry_of(&mut tx, entry, &erasure)?;
        }
        tx.commit().map_err(backend("committing an erasure"))?;
        Ok(Some(erasure))
    }
}

impl EventStore for PostgresStore {
    fn write_events_audited(
        &self,
        write: &mut dyn FnMut(&mut dyn EventWriter) -> Result<()>,
        entry: Option<credence_store::EntryOf<'_, AppendReport>>,
    ) -> Result<AppendReport> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(backend("starting a write"))?;
        let mut appender = credence_store::append::Appender::new(rows::PostgresRows::new(&mut tx));
        write(&mut appender)?;
        let (report, _) = appender.finish();
        if let Some(entry) = entry {
            Self::append_entry_of(&mut tx, entry, &report)?;
        }
        // Dropped without a commit on any error above: rolled back.
        tx.commit().map_err(backend("committing a write"))?;
        Ok(report)
    }

    fn subject(&self, id: &SubjectId) -> Result<Option<Subject>> {
        let mut client = self.client()?;
        client
            .query_opt(
                &format!("SELECT {SUBJECT_COLUMNS} FROM subjects WHERE subject_id = $1"),
                &[&id.as_str()],
            )
            .map_err(backend("reading a subject"))?
            .map(|row| subject_from_row(&row))
            .transpose()
    }

    fn subject_events(&self, id: &SubjectId) -> Result<Vec<Event>> {
        let mut client = self.client()?;
        let row = client
            .query_opt(
                "SELECT events FROM subjects WHERE subject_id = $1",
                &[&id.as_str()],
            )
            .map_err(backend("reading a subject's events"))?;
        let mut events = Vec::new();
        if let Some(row) = row {
            codec::decode(row.get(0), id, &mut events).map_err(Error::Corrupt)?;
        }
        Ok(events)
    }

    fn scan_subjects(
        &self,
        range: HashRange,
        cursor: Option<ScanCursor>,
        limit: usize,
        out: &mut Vec<SubjectRecord>,
    ) -> Result<Option<ScanCursor>> {
        let mut page = codec::RecordPage::start(out);
        self.scan_rows(range, cursor, limit, |subject, blob| {
            page.push(subject, blob)
        })
    }

    fn subject_log(&self, id: &SubjectId) -> Result<Option<SubjectLog>> {
        let mut client = self.client()?;
        let read = client
            .prepared(&format!(
                "SELECT {SUBJECT_COLUMNS}, events FROM subjects WHERE subject_id = $1"
            ))
            .map_err(backend("reading a subject"))?;
        let Some(row) = client
            .query_opt(&read, &[&id.as_str()])
            .map_err(backend("reading a subject"))?
        else {
            return Ok(None);
        };
        codec::log_of(subject_from_row(&row)?, row.get(5)).map(Some)
    }

    fn scan_logs(
        &self,
        range: HashRange,
        cursor: Option<ScanCursor>,
        limit: usize,
        out: &mut Vec<SubjectLog>,
    ) -> Result<Option<ScanCursor>> {
        let mut page = codec::LogPage::start(out);
        self.scan_rows(range, cursor, limit, |subject, blob| {
            page.push(subject, blob)
        })
    }
}

impl ScoreStore for PostgresStore {
    fn put_scores(&self, scores: &[StoredScore]) -> Result<()> {
        if scores.is_empty() {
            return Ok(());
        }
        // One statement for the page: the columns as arrays. Only for
        // subjects enrolled as it commits: the key-share lock makes an
        // erasure (which locks its subject first) either wait for these
        // scores and delete them, or finish first and leave nothing to
        // join, so a rescore never brings a score back after an erasure.
        let ids: Vec<&str> = scores.iter().map(|s| s.subject_id.as_str()).collect();
        let as_of: Vec<i64> = scores.iter().map(|s| s.as_of.as_second()).collect();
        let models: Vec<&str> = scores.iter().map(|s| s.model_version.as_str()).collect();
        let scored: Vec<bool> = scores.iter().map(|s| s.scored).collect();
        let points: Vec<Option<i32>> = scores.iter().map(|s| s.score).collect();
        let pd: Vec<Option<f64>> = scores.iter().map(|s| s.pd).collect();
        let dimensions: Vec<Vec<u8>> = scores
            .iter()
            .map(|s| s.dimensions.map(|d| d.unwrap_or(u8::MAX)).to_vec())
            .collect();
        let reasons: Vec<String> = scores.iter().map(|s| s.reasons.join(",")).collect();
        let computed: Vec<i64> = scores.iter().map(|s| s.computed_at.as_second()).collect();
        let mut client = self.client()?;
        client
            .execute(
                &format!(
                    "INSERT INTO scores ({SCORE_COLUMNS})
                     SELECT u.* FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bool[], $5::int4[],
                         $6::float8[], $7::bytea[], $8::text[], $9::bigint[])
                         AS u (subject_id, as_of, model_version, scored, score, pd, dimensions, reasons, computed_at)
                     JOIN subjects s ON s.subject_id = u.subject_id AND s.state = 0
                     FOR KEY SHARE OF s
                     ON CONFLICT (subject_id, as_of, model_version) DO UPDATE SET
                        scored = excluded.scored, score = excluded.score, pd = excluded.pd,
                        dimensions = excluded.dimensions, reasons = excluded.reasons,
                        computed_at = excluded.computed_at"
                ),
                &[
                    &ids,
                    &as_of,
                    &models,
                    &scored,
                    &points,
                    &pd,
                    &dimensions,
                    &reasons,
                    &computed,
                ],
            )
            .map(drop)
            .map_err(backend("storing scores"))
    }

    fn latest_score(&self, id: &SubjectId) -> Result<Option<StoredScore>> {
        let mut client = self.client()?;
        client
            .query_opt(
                &format!(
                    "SELECT {SCORE_COLUMNS} FROM scores WHERE subject_id = $1
                     ORDER BY as_of DESC, computed_at DESC LIMIT 1"
                ),
                &[&id.as_str()],
            )
            .map_err(backend("reading a score"))?
            .map(|row| score_from_row(&row))
            .transpose()
    }

    fn score_history(&self, id: &SubjectId) -> Result<Vec<StoredScore>> {
        let mut client = self.client()?;
        client
            .query(
                &format!(
                    "SELECT {SCORE_COLUMNS} FROM scores WHERE subject_id = $1
                     ORDER BY as_of, computed_at, model_version"
                ),
                &[&id.as_str()],
            )
            .map_err(backend("reading score history"))?
            .iter()
            .map(score_from_row)
            .collect()
    }

    fn score_distribution(&self, bucket_width: i32) -> Result<ScoreDistribution> {
        let width = bucket_width.max(1);
        let mut client = self.client()?;
        // The latest score per enrolled subject: the newest as-of, then the
        // newest computation.
        let rows = client
            .query(
                "WITH latest AS (
                    SELECT DISTINCT ON (s.subject_id) s.scored, s.score
                    FROM scores s JOIN subjects j ON j.subject_id = s.subject_id AND j.state = 0
                    ORDER BY s.subject_id, s.as_of DESC, s.computed_at DESC)
                 SELECT CASE WHEN scored THEN (score / $1) * $1 ELSE NULL END AS bucket, count(*)
                 FROM latest GROUP BY bucket ORDER BY bucket",
                &[&width],
            )
            .map_err(backend("summarising scores"))?;
        let mut out = ScoreDistribution::default();
        for row in rows {
            let count = row.get::<_, i64>(1) as u64;
            match row.get::<_, Option<i32>>(0) {
                Some(bucket) => out.buckets.push((bucket, count)),
                None => out.not_enough_data += count,
            }
        }
        Ok(out)
    }
}

impl RecordStore for PostgresStore {
    fn put_records(&self, records: &[Record]) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(backend("storing records"))?;
        Self::lock_the_feed(&mut tx)?;
        for record in records {
            write_record(&mut tx, PUT_RECORD, record)?;
        }
        tx.commit().map_err(backend("committing records"))
    }

    fn insert_record_once(&self, record: &Record) -> Result<Option<Record>> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(backend("storing a record"))?;
        Self::lock_the_feed(&mut tx)?;
        if write_record(&mut tx, INSERT_RECORD_ONCE, record)? == 1 {
            tx.commit().map_err(backend("committing a record"))?;
            return Ok(None);
        }
        let existing = tx
            .query_opt(
                &format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = $1 AND id = $2"),
                &[&record.kind, &record.id],
            )
            .map_err(backend("reading a record"))?;
        existing
            .map(|row| record_from_row(record.kind, &row))
            .transpose()
    }

    fn record(&self, kind: &'static str, id: &str) -> Result<Option<Record>> {
        let mut client = self.client()?;
        client
            .query_opt(
                &format!("SELECT {RECORD_COLUMNS} FROM records WHERE kind = $1 AND id = $2"),
                &[&kind, &id],
            )
            .map_err(backend("reading a record"))?
            .map(|row| record_from_row(kind, &row))
            .transpose()
    }

    fn records(&self, kind: &'static str, filter: RecordFilter<'_>) -> Result<Vec<Record>> {
        let (condition, key) = match filter {
            RecordFilter::All => ("$2::text IS NULL", None),
            RecordFilter::Subject(s) => ("subject_id = $2", Some(s.as_str())),
            RecordFilter::Owner(o) => ("owner = $2", Some(o)),
        };
        let mut client = self.client()?;
        client
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records WHERE kind = $1 AND {condition}
                     ORDER BY first_written"
                ),
                &[&kind, &key],
            )
            .map_err(backend("listing records"))?
            .iter()
            .map(|row| record_from_row(kind, row))
            .collect()
    }

    fn delete_record(&self, kind: &'static str, id: &str) -> Result<bool> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(backend("deleting a record"))?;
        Self::lock_the_feed(&mut tx)?;
        let deleted = tx
            .execute(DELETE_RECORD, &[&kind, &id])
            .map_err(backend("deleting a record"))?;
        tx.commit().map_err(backend("committing a deletion"))?;
        Ok(deleted > 0)
    }

    fn record_changes(&self, after: u64, limit: usize) -> Result<RecordChanges> {
        let mut client = self.client()?;
        // The oldest kept change in the same statement, so the same
        // snapshot: pruning removes the oldest changes, so nothing after
        // the cursor is missing when none follows it or the next one is
        // the very next; only a gap needs the oldest kept.
        let rows = client
            .query(
                "SELECT seq, kind, id, subject_id, (SELECT min(seq) FROM record_changes)
                 FROM record_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&(after as i64), &(limit as i64)],
            )
            .map_err(backend("reading the change feed"))?;
        let complete = match rows.first() {
            None => true,
            Some(first) => {
                let seq = first.get::<_, i64>(0) as u64;
                let oldest = first.get::<_, i64>(4) as u64;
                seq == after + 1 || oldest <= after + 1
            }
        };
        let changes: Vec<RecordChange> = rows
            .iter()
            .map(|r| RecordChange {
                seq: r.get::<_, i64>(0) as u64,
                kind: r.get(1),
                id: r.get(2),
                subject: r.get(3),
            })
            .collect();
        Ok(RecordChanges {
            next: changes.last().map_or(after, |c| c.seq),
            complete,
            changes,
        })
    }

    fn record_change_head(&self) -> Result<u64> {
        let mut client = self.client()?;
        let head = client
            .prepared("SELECT coalesce(max(seq), 0) FROM record_changes")
            .map_err(backend("reading the change feed"))?;
        let seq: i64 = client
            .query_one(&head, &[])
            .map_err(backend("reading the change feed"))?
            .get(0);
        Ok(seq as u64)
    }
}

impl AnswerStore for PostgresStore {
    fn claim_answer(&self, claim: &AnswerClaim) -> Result<Option<AnswerClaim>> {
        let mut client = self.client()?;
        let insert = client
            .prepared(
                "INSERT INTO answer_claims (answer_key, day, subject_id, body) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (answer_key) DO NOTHING",
            )
            .map_err(backend("claiming an answer"))?;
        // Two statements, not one: an insert that meets a claim still being
        // committed waits for it, and only a statement begun after it
        // (read committed) sees the row that won.
        loop {
            let inserted = client
                .execute(
                    &insert,
                    &[&claim.key, &claim.day, &claim.subject.as_str(), &claim.body],
                )
                .map_err(backend("claiming an answer"))?;
            if inserted == 1 {
                return Ok(None);
            }
            let earlier = client
                .query_opt(
                    "SELECT day, subject_id, body FROM answer_claims WHERE answer_key = $1",
                    &[&claim.key],
                )
                .map_err(backend("reading a claimed answer"))?;
            // None: the claim was forgotten (or erased) in between; claim
            // again.
            if let Some(row) = earlier {
                let subject: &str = row.get(1);
                return Ok(Some(AnswerClaim {
                    key: claim.key.clone(),
                    day: row.get(0),
                    subject: SubjectId::new(subject)
                        .map_err(|e| Error::Corrupt(format!("a claimed answer's subject: {e}")))?,
                    body: row.get(2),
                }));
            }
        }
    }

    fn forget_answers_before(&self, day: i64) -> Result<u64> {
        self.client()?
            .execute("DELETE FROM answer_claims WHERE day < $1", &[&day])
            .map_err(backend("forgetting old answers"))
    }
}

impl AuditStore for PostgresStore {
    fn append_audit(&self, entries: &[AuditEntry], writes: &[RecordWrite]) -> Result<()> {
        self.append_group(Group::Linked(entries), writes)
    }

    fn append_audit_linked(
        &self,
        entries: &mut [AuditEntry],
        writes: &[RecordWrite],
        link: &mut dyn FnMut(&[ChainHead], &mut [AuditEntry]),
    ) -> Result<()> {
        self.append_group(Group::ToLink(entries, link), writes)
    }

    fn audit_entries(&self, chain: u32, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.audit_query(
            "WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[&(chain as i32), &(after as i64), &(limit as i64)],
        )
    }

    fn audit_of_subject(&self, subject_ref: &str, limit: usize) -> Result<Vec<AuditEntry>> {
        // Newest written first. A subject's entries are on one chain, in
        // its order; entries from before chains existed are all on chain 0
        // and older than any other (see the service's `chain_of`).
        self.audit_query(
            "WHERE subject_ref = $1 ORDER BY chain DESC, seq DESC LIMIT $2",
            &[&subject_ref, &(limit as i64)],
        )
    }

    fn audit_heads(&self) -> Result<Vec<AuditEntry>> {
        // Each chain's head by an index seek, chain after chain (a skip
        // scan), rather than a GROUP BY over every entry.
        self.audit_query(
            "JOIN (WITH RECURSIVE chains (c) AS (
                    SELECT min(chain) FROM audit
                    UNION ALL
                    SELECT (SELECT min(chain) FROM audit WHERE chain > c) FROM chains WHERE c IS NOT NULL)
                SELECT c, (SELECT max(seq) FROM audit WHERE chain = c) AS head
                FROM chains WHERE c IS NOT NULL) AS heads
             ON audit.chain = heads.c AND audit.seq = heads.head
             ORDER BY audit.chain",
            &[],
        )
    }

    fn audit_answer(&self, subject_ref: &str, key: &str) -> Result<Option<AuditEntry>> {
        Ok(self
            .audit_query(
                "WHERE subject_ref = $1 AND answer_key = $2 ORDER BY chain, seq LIMIT 1",
                &[&subject_ref, &key],
            )?
            .into_iter()
            .next())
    }
}
