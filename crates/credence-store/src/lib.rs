//! The storage contract of Credence.
//!
//! [`Store`] is what every backend implements (SQLite embedded by default;
//! PostgreSQL later). Everything is keyed by subject, so a store shards by
//! subject. [`conformance`] is one test story that every backend must pass,
//! so behaviour (idempotency, atomicity, ordering, isolation) is the same
//! wherever Credence runs.

pub mod append;
pub mod codec;
pub mod conformance;
pub mod transfer;
/// Every store trait, for code that calls a backend's methods directly
/// (`use credence_store::prelude::*`); through `dyn Store` they need no
/// import.
pub mod prelude {
    pub use crate::transfer::TransferStore;
    pub use crate::{AnswerStore, AuditStore, EventStore, RecordStore, ScoreStore, Store};
}
mod partitions;
mod records;

pub use partitions::{HashRange, ScanCursor, subject_hash};

pub use records::{
    AnswerClaim, AuditAnswer, AuditEntry, ChainHead, Erasure, Record, RecordFilter, RecordWrite,
    ScoreDistribution,
};

use credence_domain::{Event, Subject, SubjectId, SubjectLog};
use jiff::Timestamp;
use serde::Serialize;

/// Why an event in a batch was not written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Position of the event in the batch passed to [`EventWriter::append`].
    pub index: usize,
    /// Stable code: `not_enrolled`, `idempotency_conflict`, `opted_out`,
    /// `enrollment_conflict`.
    pub code: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Some events of a batch were refused; nothing of the batch was written.
    #[error("{} event(s) refused; nothing was written: {}", .0.len(), summarise(.0))]
    Rejected(Vec<Rejection>),
    /// The database was written by a newer Credence.
    #[error(
        "the database schema is version {found}, newer than this build understands ({supported}); upgrade Credence"
    )]
    SchemaTooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// Stored data could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend failed (a constraint, a statement, corrupt pages…).
    #[error("storage backend error: {0}")]
    Backend(String),
    /// The database cannot serve for now (its server is down or
    /// restarting, its disk is full or read-only, it is locked past the
    /// wait): nothing was written, and the same call may succeed once it
    /// is back.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// A whole deployment may be moved only into an empty store (see
    /// [`transfer`]).
    #[error("the target database already holds {0}; move into a new, empty database or schema")]
    NotEmpty(String),
    /// Audit entries did not follow the stored head, because another
    /// writer (another process on the same database) appended first. The
    /// caller re-reads the head and chains its entries after it.
    #[error(
        "audit entry {first} of chain {chain} does not follow its last stored entry {stored}: another writer appended first"
    )]
    AuditOutOfSequence {
        /// The chain.
        chain: u32,
        /// The first entry offered on it.
        first: u64,
        /// The last entry stored on it.
        stored: u64,
    },
}

fn summarise(rejections: &[Rejection]) -> String {
    let shown: Vec<String> = rejections
        .iter()
        .take(3)
        .map(|r| format!("#{} {}: {}", r.index, r.code, r.message))
        .collect();
    let more = rejections.len().saturating_sub(3);
    if more > 0 {
        format!("{} (and {more} more)", shown.join("; "))
    } else {
        shown.join("; ")
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What one [`EventWriter::append`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AppendReport {
    /// New events written.
    pub inserted: usize,
    /// Events already stored with the same content: harmless repeats.
    pub duplicates: usize,
    /// Events not written, and why.
    pub rejected: Vec<Rejection>,
}

impl AppendReport {
    /// Adds another report's counts (rejections keep their own indices).
    pub fn absorb(&mut self, other: AppendReport) {
        self.inserted += other.inserted;
        self.duplicates += other.duplicates;
        self.rejected.extend(other.rejected);
    }
}

/// Writes events inside one transaction opened by [`Store::write_events`].
pub trait EventWriter {
    /// Writes the acceptable events of `events` and reports the rest. An
    /// event rejected here is not written; the caller decides whether the
    /// transaction as a whole still commits.
    fn append(&mut self, events: &[Event]) -> Result<AppendReport>;
}

/// A subject with all its events, in canonical order.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectRecord {
    /// The subject.
    pub subject: Subject,
    /// Its events, in canonical order.
    pub events: Vec<Event>,
}

/// A stored score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredScore {
    /// Whose score.
    pub subject_id: SubjectId,
    /// The instant it is as of.
    pub as_of: Timestamp,
    /// `model_id@version` of the model that made it.
    pub model_version: String,
    /// True when scored; false for "not enough data".
    pub scored: bool,
    /// 350–950 when scored.
    pub score: Option<i32>,
    /// Probability of default when scored.
    pub pd: Option<f64>,
    /// The five dimensions, 0–100 or none.
    pub dimensions: [Option<u8>; 5],
    /// Reason codes, most important first.
    pub reasons: Vec<String>,
    /// When it was computed (by the caller's clock).
    pub computed_at: Timestamp,
}

/// The kind of the change an erasure leaves in the feed.
pub const ERASURE_CHANGE: &str = "erasure";

/// One change to a record, from the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordChange {
    /// Its place in the feed.
    pub seq: u64,
    /// The record's kind.
    pub kind: String,
    /// The record's id.
    pub id: String,
    /// The subject it is about, if any.
    pub subject: Option<String>,
}

/// An answer of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordChanges {
    /// The changes, oldest first.
    pub changes: Vec<RecordChange>,
    /// The cursor for the next call: the last change's `seq`, or the
    /// cursor given when there was none.
    pub next: u64,
    /// False when changes after the given cursor were pruned before they
    /// could be read.
    pub complete: bool,
}

/// Counts of what a store holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Enrolled subjects.
    pub subjects: u64,
    /// Stored events.
    pub events: u64,
    /// Stored scores (all history).
    pub scores: u64,
}

/// Events: appended atomically and idempotently, read back per subject in
/// canonical order, scanned in ranges for rescoring and training.
pub trait EventStore: Send + Sync {
    /// Runs `write` in one transaction. If `write` returns an error, nothing
    /// it wrote is kept; if it returns `Ok`, everything is committed and
    /// durable before this returns.
    fn write_events(
        &self,
        write: &mut dyn FnMut(&mut dyn EventWriter) -> Result<()>,
    ) -> Result<AppendReport> {
        self.write_events_audited(write, None)
    }

    /// [`EventStore::write_events`], with the audit entry `entry` makes of
    /// what was written appended in the same transaction (linked after its
    /// chain's head under the chain's lock): the write is never kept
    /// without its entry, nor the entry without the write. For a write
    /// that creates its subjects (an enrolment): on PostgreSQL the write
    /// holds its subjects' rows while it takes the chain's lock, the
    /// reverse of an audited consent change, which is harmless only for
    /// rows no one else can see yet.
    fn write_events_audited(
        &self,
        write: &mut dyn FnMut(&mut dyn EventWriter) -> Result<()>,
        entry: Option<EntryOf<'_, AppendReport>>,
    ) -> Result<AppendReport>;

    /// Appends one batch atomically: either every event is written (or was
    /// already there, identical) or nothing is, and the error lists every
    /// rejected event.
    fn append_events(&self, events: &[Event]) -> Result<AppendReport> {
        self.write_events(&mut |writer| {
            let batch = writer.append(events)?;
            if batch.rejected.is_empty() {
                Ok(())
            } else {
                Err(Error::Rejected(batch.rejected))
            }
        })
    }

    /// The subject, if enrolled (or a tombstone, if opted out).
    fn subject(&self, id: &SubjectId) -> Result<Option<Subject>>;

    /// The subject's events in canonical order (empty when unknown).
    fn subject_events(&self, id: &SubjectId) -> Result<Vec<Event>>;

    /// Fills `out` with up to `limit` subjects of `range` after `cursor`
    /// (from the start when `None`), in a stable order, reusing `out`'s
    /// buffers. Returns the cursor to continue from, or `None` when the
    /// range is done. Disjoint ranges scan disjoint subjects, so several
    /// workers (or machines) can each take one (see [`HashRange::split`]).
    fn scan_subjects(
        &self,
        range: HashRange,
        cursor: Option<ScanCursor>,
        limit: usize,
        out: &mut Vec<SubjectRecord>,
    ) -> Result<Option<ScanCursor>>;

    /// One subject as its compact [`SubjectLog`] (the hot path of a
    /// partner's check), or `None` when unknown. The default builds it from
    /// full events.
    fn subject_log(&self, id: &SubjectId) -> Result<Option<SubjectLog>> {
        let Some(subject) = self.subject(id)? else {
            return Ok(None);
        };
        let events = self.subject_events(id)?;
        SubjectLog::from_events(subject, &events)
            .map(Some)
            .map_err(|e| Error::Corrupt(e.to_string()))
    }

    /// Like [`Store::scan_subjects`], but each subject comes as its compact
    /// [`SubjectLog`], which is all scoring needs. Backends that can decode
    /// straight into facts should: it is the hot path of every rescore. The
    /// default builds the logs from full events.
    fn scan_logs(
        &self,
        range: HashRange,
        cursor: Option<ScanCursor>,
        limit: usize,
        out: &mut Vec<SubjectLog>,
    ) -> Result<Option<ScanCursor>> {
        let mut records = Vec::with_capacity(limit.min(4096));

        let next = self.scan_subjects(range, cursor, limit, &mut records)?;
        out.clear();
        for record in records {
            let log = SubjectLog::from_events(record.subject, &record.events)
                .map_err(|e| Error::Corrupt(e.to_string()))?;
            out.push(log);
        }
        Ok(next)
    }
}

/// Scores: the history of every subject's stored scores.
pub trait ScoreStore: Send + Sync {
    /// Stores scores (replacing any with the same subject, as-of and
    /// model), for the subjects enrolled when the write commits: a score
    /// of a subject erased meanwhile (a rescore reads before it writes),
    /// unknown or a tombstone is dropped, never stored.
    fn put_scores(&self, scores: &[StoredScore]) -> Result<()>;

    /// The most recent score of a subject (by as-of, then computed-at).
    fn latest_score(&self, id: &SubjectId) -> Result<Option<StoredScore>>;

    /// Every stored score of a subject, oldest as-of first.
    fn score_history(&self, id: &SubjectId) -> Result<Vec<StoredScore>>;

    /// Histogram of every enrolled subject's latest stored score.
    fn score_distribution(&self, bucket_width: i32) -> Result<ScoreDistribution>;
}

/// Control-plane records (keys, consents, perks, disputes…) and the change
/// feed every cache of them follows.
pub trait RecordStore: Send + Sync {
    /// Inserts or replaces records, all in one durable transaction.
    fn put_records(&self, records: &[Record]) -> Result<()>;

    /// Inserts a record unless one with its kind and id exists; returns the
    /// stored one in that case (first writer wins).
    fn insert_record_once(&self, record: &Record) -> Result<Option<Record>>;

    /// One record by kind and id.
    fn record(&self, kind: &'static str, id: &str) -> Result<Option<Record>>;

    /// Records of a kind, oldest first.
    fn records(&self, kind: &'static str, filter: RecordFilter<'_>) -> Result<Vec<Record>>;

    /// Deletes one record; true when it existed.
    fn delete_record(&self, kind: &'static str, id: &str) -> Result<bool>;

    /// The change feed: records changed (written or deleted, by any process
    /// and any path) after `after`, a cursor from an earlier answer (0 for
    /// the start), oldest first, at most `limit`. Every cache of records is
    /// invalidated from it, so no cache assumes it is the only process.
    /// Old changes may be pruned: an answer whose `complete` is false
    /// skipped some, and its reader must drop everything it caches. An
    /// erasure removes every change that named the subject and adds one of
    /// kind [`ERASURE_CHANGE`] (naming the tombstone), after which a reader
    /// drops everything too.
    fn record_changes(&self, after: u64, limit: usize) -> Result<RecordChanges>;

    /// The newest change's place in the feed (0 before any): where a
    /// process that has just read what it caches starts following.
    fn record_change_head(&self) -> Result<u64>;
}

/// The audit log: a set of hash chains, each numbered from 1 without gaps,
/// and the record changes that commit with their entries. Which chain an
/// entry belongs to is the service's rule; the store keeps each chain in
/// order and refuses an entry anywhere but right after its chain's head,
/// so appends on different chains never wait for one head.
pub trait AuditStore: Send + Sync {
    /// Appends audit entries durably, in one transaction. On each chain the
    /// batch names, its entries (in batch order; chains may interleave)
    /// must follow that chain's stored head one by one; anything else is
    /// refused whole, with [`Error::AuditOutOfSequence`] when a chain's
    /// entries start anywhere but right after its head. `writes` are
    /// applied in order in the same transaction: a change to a record (a
    /// consent, a key) is kept exactly when the entry that records it is,
    /// and what an audited answer promised is kept exactly when its entry
    /// is.
    fn append_audit(&self, entries: &[AuditEntry], writes: &[RecordWrite]) -> Result<()>;

    /// Appends a group of entries as [`Self::append_audit`] does, each
    /// chain under that chain's lock: once every chain the entries name is
    /// held, `link` is given those chains' heads (the ones that have an
    /// entry) and numbers and links the entries after them. Appends to one
    /// chain follow each other, whichever process makes them, so none is
    /// refused for coming second; appends to different chains never wait
    /// for each other (beyond the change feed's order, when `writes`
    /// change records).
    fn append_audit_linked(
        &self,
        entries: &mut [AuditEntry],
        writes: &[RecordWrite],
        link: &mut dyn FnMut(&[ChainHead], &mut [AuditEntry]),
    ) -> Result<()>;

    /// Up to `limit` entries of `chain` with `seq > after`, in order.
    fn audit_entries(&self, chain: u32, after: u64, limit: usize) -> Result<Vec<AuditEntry>>;

    /// The newest `limit` audit entries about one subject, newest written
    /// first.
    fn audit_of_subject(&self, subject_ref: &str, limit: usize) -> Result<Vec<AuditEntry>>;

    /// The last entry of every chain that has one, by chain.
    fn audit_heads(&self) -> Result<Vec<AuditEntry>>;

    /// The first written entry about `subject_ref` whose answer has `key`,
    /// if any: the lookup of an answer by subject, partner, transaction id
    /// and day (a question's key carries the last three), through the
    /// index of the subject's entries. Answers get no index of their own:
    /// one more randomly placed index page written per partner check cost
    /// a third of the audit writer's time, for a lookup the service makes
    /// only when its memory of the day's answers cannot tell.
    fn audit_answer(&self, subject_ref: &str, key: &str) -> Result<Option<AuditEntry>>;
}

/// Partners' answers claimed once: the same transaction id on the same
/// day gets the same answer from every process serving the database,
/// because the first to claim the answer's key decides it for all.
pub trait AnswerStore: Send + Sync {
    /// Claims `claim.key` for `claim`'s answer, durably, unless the key was
    /// claimed before: `None` when this claim is now the answer, or the
    /// claim that took the key first (whatever its subject and body).
    /// Atomic across every process on the database: of any number of
    /// claims of one key at once, exactly one wins and every other gets
    /// the winner.
    fn claim_answer(&self, claim: &AnswerClaim) -> Result<Option<AnswerClaim>>;

    /// Forgets the answers claimed for days before `day` (a transaction id
    /// is new again the next day); returns how many.
    fn forget_answers_before(&self, day: i64) -> Result<u64>;
}

/// The storage contract: every concern, plus what spans them. A backend
/// is a crate that implements all five and passes the conformance suite;
/// nothing above the store knows which one it is. Implementations are
/// shared between threads.
pub trait Store:
    EventStore + ScoreStore + RecordStore + AuditStore + AnswerStore + transfer::TransferStore
{
    /// A short name of the backend (`sqlite`).
    fn backend(&self) -> &'static str;

    /// How many calls this store serves usefully at once: where a call is
    /// work on this machine's processors (an embedded file), its cores;
    /// where a call mostly waits on a database server, as many as it has
    /// connections for. Callers size their threads by it.
    fn concurrent_calls(&self) -> usize {
        std::thread::available_parallelism().map_or(2, usize::from)
    }

    /// The schema version of the open database.
    fn schema_version(&self) -> Result<u32>;

    /// What the store holds.
    fn counts(&self) -> Result<Counts>;

    /// Erases a subject in one transaction: its events, idempotency keys,
    /// scores, every record about it and every answer claimed about it.
    /// What remains is a tombstone under `tombstone` (a keyed hash of the
    /// id, never the id), in state opted out. Returns `None` when the
    /// subject is unknown. Backends must not leave the erased bytes
    /// readable in the file (free pages, journals).
    fn erase_subject(&self, id: &SubjectId, tombstone: &SubjectId) -> Result<Option<Erasure>> {
        self.erase_subject_audited(id, tombstone, None)
    }

    /// [`Store::erase_subject`], with the audit entry `entry` makes of what
    /// was erased appended in the same transaction (linked after its
    /// chain's head under the chain's lock): an erasure is never kept
    /// without its entry, nor the entry without the erasure. No entry is
    /// written when the subject is unknown.
    fn erase_subject_audited(
        &self,
        id: &SubjectId,
        tombstone: &SubjectId,
        entry: Option<EntryOf<'_, Erasure>>,
    ) -> Result<Option<Erasure>>;
}

/// An audit entry written inside the transaction of the change it reports.
pub struct EntryOf<'a, T> {
    /// Makes the entry (unnumbered, unhashed) from what the change did.
    pub make: &'a mut dyn FnMut(&T) -> AuditEntry,
    /// Numbers and links entries after their chains' heads, as for
    /// [`AuditStore::append_audit_linked`].
    pub link: &'a mut dyn FnMut(&[ChainHead], &mut [AuditEntry]),
}

impl<T> std::fmt::Debug for EntryOf<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EntryOf(..)")
    }
}
