//! The embedded SQLite backend of [`credence_store::Store`].
//!
//! One file, write-ahead logging, `synchronous=FULL`: a write is on disk
//! before it is acknowledged, so an acknowledged batch survives a crash or a
//! power cut. One writer connection serialises writes (SQLite's own model);
//! readers use a small pool and see committed data only.
//!
//! A subject's events live in one blob per subject (see
//! `credence_store::codec`), written by `credence_store::append`'s rules; an
//! `event_keys` table enforces idempotency on (furnisher, event id).
//! Decoded logs are cached, kept valid by a subject generation every
//! subject write increments (see `log_cache`).

mod baseline;
mod log_cache;
mod records;
mod schema;
mod transfer;
mod writer;

pub use baseline::bare_insert_baseline;

use credence_domain::{Event, Subject, SubjectId, SubjectKind, SubjectLog, SubjectState};
use credence_store::codec;
use credence_store::{
    AnswerClaim, AnswerStore, AppendReport, AuditEntry, AuditStore, ChainHead, Counts, Erasure,
    Error, EventStore, EventWriter, HashRange, Record, RecordFilter, RecordStore, RecordWrite,
    Result, ScanCursor, ScoreDistribution, ScoreStore, Store, StoredScore, SubjectRecord,
};
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Readers kept open for reuse. The server reads from many blocking
/// threads at once; opening a connection per read costs more than the read.
const READER_POOL: usize = 64;

/// A Credence store in one SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    logs: log_cache::LogCache,
    _checkpointer: Checkpointer,
}

/// How often the checkpointer looks at the write-ahead log.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Copies the write-ahead log into the database file on its own thread
/// and connection, so no commit waits for it (SQLite's default runs it
/// inside whichever commit crosses 1,000 pages, a stall of many
/// milliseconds for every write queued behind that commit). Passive: it
/// never waits for readers or the writer. Stops when dropped, after a last
/// checkpoint.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self> {
        let connection = open_connection(path, Use::Read)?;
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let checkpoint = move || {
            if let Err(e) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!(error = %e, "checkpointing the write-ahead log");
            }
        };
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    checkpoint();
                }
                checkpoint();
            })
            .map_err(|e| Error::Backend(format!("starting the checkpointer: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

pub(crate) fn backend(context: &'static str) -> impl Fn(rusqlite::Error) -> Error {
    move |e| {
        use rusqlite::ErrorCode::{
            CannotOpen, DatabaseBusy, DatabaseLocked, DiskFull, ReadOnly, SystemIoFailure,
        };
        let passing = e.sqlite_error_code().is_some_and(|code| {
            matches!(
                code,
                DatabaseBusy | DatabaseLocked | DiskFull | ReadOnly | SystemIoFailure | CannotOpen
            )
        });
        if passing {
            Error::Unavailable(format!("{context}: {e}"))
        } else {
            Error::Backend(format!("{context}: {e}"))
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        create_private(path)?;
        let mut writer = open_connection(path, Use::Write)?;
        writer
            // secure_delete: an erased subject's bytes must not linger in
            // freed pages.
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;")
            .map_err(backend("configuring durability"))?;
        schema::migrate(&mut writer)?;
        let checkpointer = Checkpointer::start(path)?;
        writer
            // The checkpointer copies the log into the database; a commit
            // that did it itself would stall every write queued behind it.
            // The writer still checkpoints past 64 MiB of log: under
            // non-stop writes the log is only reset by a checkpoint that
            // sees no newer frames, which only the writer itself can do.
            .execute_batch("PRAGMA wal_autocheckpoint = 16384;")
            .map_err(backend("configuring checkpoints"))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            logs: log_cache::LogCache::new(log_cache::DEFAULT_BUDGET),
            _checkpointer: checkpointer,
        })
    }

    /// Keeps up to `bytes` of decoded subject logs in memory (64 MiB by
    /// default); 0 keeps none and skips the cache's check on every read.
    pub fn with_subject_cache(mut self, bytes: usize) -> Self {
        self.logs = log_cache::LogCache::new(bytes);
        self
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn with_reader<T>(&self, read: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().ok().and_then(|mut pool| pool.pop());
        let connection = match pooled {
            Some(c) => c,
            None => open_connection(&self.path, Use::Read)?,
        };
        let result = read(&connection);
        if let Ok(mut pool) = self.readers.lock()
            && pool.len() < READER_POOL
        {
            pool.push(connection);
        }
        result
    }

    /// Visits up to `limit` subjects of `range` after `cursor`, in key
    /// order, with their raw event blobs. Returns the cursor to continue
    /// from, or `None` when the range is done.
    ///
    /// A range is read in row order with its hash as a filter, not through
    /// an index on the hash: on one machine every worker reading the
    /// table's pages in order is cheaper than each one jumping between
    /// rows, and the hash sits before the blob, so rows of other ranges
    /// are skipped without reading their events.
    fn scan_rows(
        &self,
        range: HashRange,
        cursor: Option<ScanCursor>,
        limit: usize,
        mut visit: impl FnMut(Subject, &[u8]) -> Result<()>,
    ) -> Result<Option<ScanCursor>> {
        let after = match cursor {
            None => 0,
            Some(cursor) => match <[u8; 8]>::try_from(cursor.position()) {
                Ok(bytes) => i64::from_be_bytes(bytes),
                Err(_) => {
                    return Err(Error::Backend(
                        "a scan cursor that this backend did not make".into(),
                    ));
                }
            },
        };
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {SUBJECT_COLUMNS}, events FROM subjects
                     WHERE subject_key > ?1 AND subject_hash BETWEEN ?3 AND ?4
                     ORDER BY subject_key LIMIT ?2"
                ))
                .map_err(backend("scanning subjects"))?;
            let mut rows = stmt
                .query(params![after, limit as i64, range.first, range.last])
                .map_err(backend("scanning subjects"))?;
            let (mut seen, mut last) = (0, after);
            while let Some(row) = rows.next().map_err(backend("scanning subjects"))? {
                let (key, subject) = subject_from_parts(
                    subject_from_row(row).map_err(backend("scanning subjects"))?,
                )?;
                let blob = row
                    .get_ref(6)
                    .and_then(|v| v.as_blob().map_err(Into::into))
                    .map_err(backend("scanning subjects"))?;
                visit(subject, blob)?;
                seen += 1;
                last = key;
            }
            Ok((seen == limit && limit > 0).then(|| ScanCursor::new(last.to_be_bytes())))
        })
    }

    /// The first row of `sql` (one `?1` parameter: the subject id), mapped
    /// by `map`, or `None`.
    fn one_row<T>(
        &self,
        sql: &str,
        id: &SubjectId,
        map: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
        context: &'static str,
    ) -> Result<Option<T>> {
        self.with_reader(|c| {
            c.prepare_cached(sql)
                .and_then(|mut s| s.query_row([id.as_str()], map).optional())
                .map_err(backend(context))
        })
    }

    /// Commits a transaction that wrote the rows of `subjects`: increments
    /// the subject generation inside it and tells the log cache which
    /// subjects change before the commit makes them visible.
    pub(crate) fn commit_subject_write(
        &self,
        tx: rusqlite::Transaction<'_>,
        subjects: Vec<SubjectId>,
        context: &'static str,
    ) -> Result<()> {
        let generation: i64 = tx
            .query_row(
                "UPDATE subject_generation SET value = value + 1 RETURNING value",
                [],
                |r| r.get(0),
            )
            .map_err(backend(context))?;
        self.logs.announce(generation, subjects);
        match tx.commit() {
            Ok(()) => {
                self.logs.committed(generation);
                Ok(())
            }
            Err(e) => {
                // A failed COMMIT leaves the transaction rolled back (the
                // handle's drop finishes it): the generation never reached
                // the database.
                self.logs.withdraw();
                Err(backend(context)(e))
            }
        }
    }

    /// The subject generation in the reader's current snapshot.
    fn subject_generation(connection: &Connection) -> Result<i64> {
        connection
            .prepare_cached("SELECT value FROM subject_generation")
            .and_then(|mut s| s.query_row([], |r| r.get(0)))
            .map_err(backend("reading the subject generation"))
    }

    pub(crate) fn writer(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.writer
            .lock()
            .map_err(|_| Error::Backend("a previous write panicked; restart the process".into()))
    }
}

/// Creates the database file, when there is none, readable and writable by
/// its owner alone: it holds the platform's secrets and people's records.
/// SQLite gives its log and shared-memory files the database file's mode,
/// so they are private too. An existing file keeps the mode its owner
/// gave it.
fn create_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::Backend(format!(
            "cannot create database {}: {e}",
            path.display()
        ))),
    }
}

/// What a connection is for, which decides how it caches pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// The one writer: the file memory-mapped for reading, so clean pages
    /// need no cache, and a small cache for the pages a transaction dirties
    /// (a commit walks the whole cache: a 64 MiB one cost the audit writer
    /// a fifth of its time).
    Write,
    /// A pooled reader. In WAL mode a reader drops its whole page cache,
    /// and unmaps the file, at the first read after any other connection
    /// commits — and the audit writer commits about a thousand times a
    /// second under partner checks. So readers keep a small cache that is
    /// cheap to drop and read pages with `pread` from the operating
    /// system's cache (unmapping a large mapping costs more than the read).
    Read,
}

fn open_connection(path: &Path, purpose: Use) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)
        .map_err(|e| Error::Backend(format!("cannot open database {}: {e}", path.display())))?;
    let caching = match purpose {
        Use::Write => "PRAGMA cache_size = -2048; PRAGMA mmap_size = 1073741824;",
        Use::Read => "PRAGMA cache_size = -512; PRAGMA mmap_size = 0;",
    };
    connection
        .execute_batch(&format!(
            "PRAGMA journal_mode = WAL;
             PRAGMA busy_timeout = 10000;
             PRAGMA temp_store = MEMORY;
             PRAGMA foreign_keys = ON;
             {caching}"
        ))
        .map_err(|e| Error::Backend(format!("configuring database {}: {e}", path.display())))?;
    // One plan per statement, whatever is bound to it. Otherwise SQLite
    // may plan a cached statement for the values first bound and re-plan
    // it when they change: the audit writer's look at a chain's head was
    // re-prepared on every fifth run, a fifth of its time.
    connection
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(|e| Error::Backend(format!("configuring database {}: {e}", path.display())))?;
    Ok(connection)
}

pub(crate) fn kind_code(kind: SubjectKind) -> i64 {
    match kind {
        SubjectKind::Person => 0,
        SubjectKind::Organisation => 1,
    }
}

pub(crate) fn kind_from_code(code: i64) -> Result<SubjectKind> {
    match code {
        0 => Ok(SubjectKind::Person),
        1 => Ok(SubjectKind::Organisation),
        other => Err(Error::Corrupt(format!("subject kind code {other}"))),
    }
}

pub(crate) fn state_from_code(code: i64) -> Result<SubjectState> {
    match code {
        0 => Ok(SubjectState::Enrolled),
        1 => Ok(SubjectState::OptedOut),
        other => Err(Error::Corrupt(format!("subject state code {other}"))),
    }
}

fn timestamp(seconds: i64) -> Result<Timestamp> {
    Timestamp::from_second(seconds).map_err(|e| Error::Corrupt(format!("timestamp {seconds}: {e}")))
}

const SUBJECT_COLUMNS: &str =
    "subject_key, subject_id, kind, enrolled_at, restricted_consent, state";

fn subject_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(i64, String, i64, i64, bool, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
    ))
}

fn subject_from_parts(parts: (i64, String, i64, i64, bool, i64)) -> Result<(i64, Subject)> {
    let (key, id, kind, enrolled_at, restricted, state) = parts;
    Ok((
        key,
        Subject {
            id: SubjectId::new(&id)
                .map_err(|e| Error::Corrupt(format!("subject id {id:?}: {e}")))?,
            kind: kind_from_code(kind)?,
            enrolled_at: timestamp(enrolled_at)?,
            restricted_data_consent: restricted,
            state: state_from_code(state)?,
        },
    ))
}

pub(crate) fn dimensions_blob(dimensions: &[Option<u8>; 5]) -> [u8; 5] {
    dimensions.map(|d| d.unwrap_or(u8::MAX))
}

pub(crate) fn score_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ScoreRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
    ))
}

type ScoreRow = (
    String,
    i64,
    String,
    bool,
    Option<i32>,
    Option<f64>,
    Vec<u8>,
    String,
    i64,
);

pub(crate) fn score_from_parts(row: ScoreRow) -> Result<StoredScore> {
    let (subject, as_of, model_version, scored, score, pd, dims, reasons, computed_at) = row;
    let mut dimensions = [None; 5];
    for (slot, byte) in dimensions.iter_mut().zip(dims.iter()) {
        *slot = (*byte != u8::MAX).then_some(*byte);
    }
    Ok(StoredScore {
        subject_id: SubjectId::new(&subject)
            .map_err(|e| Error::Corrupt(format!("score subject {subject:?}: {e}")))?,
        as_of: timestamp(as_of)?,
        model_version,
        scored,
        score,
        pd,
        dimensions,
        reasons: reasons
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_string)
            .collect(),
        computed_at: timestamp(computed_at)?,
    })
}

pub(crate) const SCORE_COLUMNS: &str =
    "subject_id, as_of, model_version, scored, score, pd, dimensions, reasons, computed_at";

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn schema_version(&self) -> Result<u32> {
        self.with_reader(schema::version)
    }

    fn counts(&self) -> Result<Counts> {
        self.with_reader(|c| {
            let (subjects, events): (i64, i64) = c
                .query_row(
                    "SELECT count(*), coalesce(sum(event_count), 0) FROM subjects WHERE state = 0",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(backend("counting subjects"))?;
            let scores: i64 = c
                .query_row("SELECT count(*) FROM scores", [], |r| r.get(0))
                .map_err(backend("counting scores"))?;
            Ok(Counts {
                subjects: subjects as u64,
                events: events as u64,
                scores: scores as u64,
            })
        })
    }

    fn erase_subject_audited(
        &self,
        id: &SubjectId,
        tombstone: &SubjectId,
        entry: Option<credence_store::EntryOf<'_, Erasure>>,
    ) -> Result<Option<Erasure>> {
        self.erase_subject_impl(id, tombstone, entry)
    }
}

impl EventStore for SqliteStore {
    fn write_events_audited(
        &self,
        write: &mut dyn FnMut(&mut dyn EventWriter) -> Result<()>,
        entry: Option<credence_store::EntryOf<'_, AppendReport>>,
    ) -> Result<AppendReport> {
        let mut connection = self.writer()?;
        // IMMEDIATE: the write lock is taken at BEGIN, where SQLite waits
        // for it (busy_timeout). A deferred transaction reads first (the
        // next subject key) and upgrades at its first insert, and an
        // upgrade that finds the lock taken fails at once instead of
        // waiting — and a reader that catches the log's header mid-commit
        // takes that lock for a moment to re-check it. Under concurrent
        // reads, ingests failed with "database is locked" (found by
        // `cached_logs_never_go_back_past_an_acknowledged_write`).
        let tx = connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(backend("starting a write"))?;
        let outcome = writer::SqliteRows::new(&tx).and_then(|rows| {
            let mut appender = credence_store::append::Appender::new(rows);
            write(&mut appender)?;
            Ok(appender.finish())
        });
        match outcome {
            Ok((total, subjects)) => {
                if let Some(entry) = entry {
                    records::append_entry_of(&tx, entry, &total)?;
                }
                self.commit_subject_write(tx, subjects, "committing a write")?;
                Ok(total)
            }
            Err(e) => {
                tx.rollback().map_err(backend("rolling back a write"))?;
                Err(e)
            }
        }
    }

    fn subject(&self, id: &SubjectId) -> Result<Option<Subject>> {
        let sql = format!("SELECT {SUBJECT_COLUMNS} FROM subjects WHERE subject_id = ?1");
        self.one_row(&sql, id, subject_from_row, "reading a subject")?
            .map(|p| subject_from_parts(p).map(|(_, s)| s))
            .transpose()
    }

    fn subject_events(&self, id: &SubjectId) -> Result<Vec<Event>> {
        self.with_reader(|c| {
            let blob: Option<Vec<u8>> = c
                .prepare_cached("SELECT events FROM subjects WHERE subject_id = ?1")
                .and_then(|mut s| s.query_row([id.as_str()], |r| r.get(0)).optional())
                .map_err(backend("reading a subject's events"))?;
            let mut events = Vec::new();
            if let Some(blob) = blob {
                codec::decode(&blob, id, &mut events).map_err(Error::Corrupt)?;
            }
            Ok(events)
        })
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
        self.with_reader(|c| {
            if self.logs.enabled()
                && let Some(log) = self.logs.get(id, Self::subject_generation(c)?)
            {
                return Ok(Some(log));
            }
            // The generation and the row in one statement: one snapshot.
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {SUBJECT_COLUMNS}, events, (SELECT value FROM subject_generation)
                     FROM subjects WHERE subject_id = ?1"
                ))
                .map_err(backend("reading a subject"))?;
            let mut rows = stmt
                .query([id.as_str()])
                .map_err(backend("reading a subject"))?;
            let Some(row) = rows.next().map_err(backend("reading a subject"))? else {
                return Ok(None);
            };
            let (_, subject) =
                subject_from_parts(subject_from_row(row).map_err(backend("reading a subject"))?)?;
            let blob = row
                .get_ref(6)
                .and_then(|v| v.as_blob().map_err(Into::into))
                .map_err(backend("reading a subject"))?;
            let generation: i64 = row.get(7).map_err(backend("reading a subject"))?;
            let mut facts = Vec::new();
            codec::decode_facts(blob, &subject.id, &mut facts, &mut Vec::new())
                .map_err(Error::Corrupt)?;
            let log = SubjectLog::from_facts(subject, facts)
                .map_err(|e| Error::Corrupt(e.to_string()))?;
            self.logs.keep(&log, generation);
            Ok(Some(log))
        })
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

impl ScoreStore for SqliteStore {
    fn put_scores(&self, scores: &[StoredScore]) -> Result<()> {
        let mut connection = self.writer()?;
        // Scores are derived data: a power cut can cost the last page of a
        // rescore, which the next rescore recomputes. Events keep FULL.
        connection
            .execute_batch("PRAGMA synchronous = NORMAL")
            .map_err(backend("storing scores"))?;
        let result = put_scores_in(&mut connection, scores);
        connection
            .execute_batch("PRAGMA synchronous = FULL")
            .map_err(backend("restoring durability"))?;
        result
    }

    fn latest_score(&self, id: &SubjectId) -> Result<Option<StoredScore>> {
        let sql = format!(
            "SELECT {SCORE_COLUMNS} FROM scores WHERE subject_id = ?1 ORDER BY as_of DESC, computed_at DESC LIMIT 1"
        );
        self.one_row(&sql, id, score_from_row, "reading a score")?
            .map(score_from_parts)
            .transpose()
    }

    fn score_history(&self, id: &SubjectId) -> Result<Vec<StoredScore>> {
        self.with_reader(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {SCORE_COLUMNS} FROM scores WHERE subject_id = ?1 ORDER BY as_of, computed_at, model_version"
                ))
                .map_err(backend("reading score history"))?;
            let rows = stmt
                .query_map([id.as_str()], score_from_row)
                .map_err(backend("reading score history"))?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend("reading score history"))?;
            rows.into_iter().map(score_from_parts).collect()
        })
    }

    fn score_distribution(&self, bucket_width: i32) -> Result<ScoreDistribution> {
        self.score_distribution_impl(bucket_width)
    }
}

impl RecordStore for SqliteStore {
    fn put_records(&self, records: &[Record]) -> Result<()> {
        self.put_records_impl(records)
    }

    fn insert_record_once(&self, record: &Record) -> Result<Option<Record>> {
        self.insert_record_once_impl(record)
    }

    fn record(&self, kind: &'static str, id: &str) -> Result<Option<Record>> {
        self.record_impl(kind, id)
    }

    fn records(&self, kind: &'static str, filter: RecordFilter<'_>) -> Result<Vec<Record>> {
        self.records_impl(kind, filter)
    }

    fn delete_record(&self, kind: &'static str, id: &str) -> Result<bool> {
        self.delete_record_impl(kind, id)
    }

    fn record_changes(&self, after: u64, limit: usize) -> Result<credence_store::RecordChanges> {
        self.with_reader(|c| {
            let context = "reading the change feed";
            let mut stmt = c
                .prepare_cached(
                    "SELECT seq, kind, id, subject_id FROM record_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                )
                .map_err(backend(context))?;
            let changes = stmt
                .query_map(params![after as i64, limit as i64], |r| {
                    Ok(credence_store::RecordChange {
                        seq: r.get::<_, i64>(0)? as u64,
                        kind: r.get(1)?,
                        id: r.get(2)?,
                        subject: r.get(3)?,
                    })
                })
                .and_then(Iterator::collect::<rusqlite::Result<Vec<_>>>)
                .map_err(backend(context))?;
            // Pruning removes the oldest changes, so nothing after the
            // cursor is missing when none follows it or the next one is the
            // very next; only a gap (pruning, or an erasure's removals)
            // needs the oldest kept, read in the same snapshot.
            let complete = match changes.first() {
                None => true,
                Some(first) if first.seq == after + 1 => true,
                Some(_) => {
                    let oldest: Option<i64> = c
                        .prepare_cached("SELECT min(seq) FROM record_changes")
                        .and_then(|mut s| s.query_row([], |r| r.get(0)))
                        .map_err(backend(context))?;
                    oldest.is_none_or(|oldest| oldest as u64 <= after + 1)
                }
            };
            Ok(credence_store::RecordChanges {
                next: changes.last().map_or(after, |c| c.seq),
                complete,
                changes,
            })
        })
    }

    fn record_change_head(&self) -> Result<u64> {
        self.with_reader(|c| {
            c.prepare_cached("SELECT coalesce(max(seq), 0) FROM record_changes")
                .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
                .map(|seq| seq as u64)
                .map_err(backend("reading the change feed"))
        })
    }
}

impl AnswerStore for SqliteStore {
    fn claim_answer(&self, claim: &AnswerClaim) -> Result<Option<AnswerClaim>> {
        self.claim_answer_impl(claim)
    }

    fn forget_answers_before(&self, day: i64) -> Result<u64> {
        self.forget_answers_before_impl(day)
    }
}

impl AuditStore for SqliteStore {
    fn append_audit(&self, entries: &[AuditEntry], writes: &[RecordWrite]) -> Result<()> {
        self.append_audit_impl(entries, writes)
    }

    fn append_audit_linked(
        &self,
        entries: &mut [AuditEntry],
        writes: &[RecordWrite],
        link: &mut dyn FnMut(&[ChainHead], &mut [AuditEntry]),
    ) -> Result<()> {
        self.append_audit_linked_impl(entries, writes, link)
    }

    fn audit_entries(&self, chain: u32, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        self.audit_query(
            "WHERE chain = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            params![chain, after as i64, limit as i64],
        )
    }

    fn audit_of_subject(&self, subject_ref: &str, limit: usize) -> Result<Vec<AuditEntry>> {
        self.audit_query(
            "WHERE subject_ref = ?1 ORDER BY position DESC LIMIT ?2",
            params![subject_ref, limit as i64],
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
            [],
        )
    }

    fn audit_answer(&self, subject_ref: &str, key: &str) -> Result<Option<AuditEntry>> {
        Ok(self
            .audit_query(
                "WHERE subject_ref = ?1 AND answer_key = ?2 ORDER BY position LIMIT 1",
                params![subject_ref, key],
            )?
            .into_iter()
            .next())
    }
}

fn put_scores_in(connection: &mut Connection, scores: &[StoredScore]) -> Result<()> {
    let tx = connection
        .transaction()
        .map_err(backend("starting to store scores"))?;

    {
        // Only for a subject enrolled as it commits: a rescore that read a
        // subject before its erasure must not bring a score back after it
        // (nor score a tombstone). The writer lock orders the two.
        let mut stmt = tx
            .prepare_cached(&format!(
                "INSERT OR REPLACE INTO scores ({SCORE_COLUMNS})
                    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
                    WHERE EXISTS (SELECT 1 FROM subjects WHERE subject_id = ?1 AND state = 0)"
            ))
            .map_err(backend("storing scores"))?;
        for score in scores {
            stmt.execute(params![
                score.subject_id.as_str(),
                score.as_of.as_second(),
                &score.model_version,
                score.scored,
                score.score,
                score.pd,
                &dimensions_blob(&score.dimensions)[..],
                score.reasons.join(","),
                score.computed_at.as_second(),
            ])
            .map_err(backend("storing scores"))?;
        }
    }
    tx.commit().map_err(backend("committing scores"))
}

#[cfg(test)]
mod tests;
