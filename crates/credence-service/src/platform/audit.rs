//! The append-only, hash-chained audit log.
//!
//! Every entry's hash covers its content and the previous entry's hash, so
//! changing, deleting or reordering any entry breaks every hash after it,
//! and [`verify`] finds the first broken link. Writes go through one thread
//! that commits whatever has queued up in one transaction (group commit):
//! each caller still waits until its own entry is durable, but many callers
//! share one fsync.

use credence_store::{AuditAnswer, AuditEntry, RecordWrite, Store};
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use utoipa::ToSchema;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Most entries committed in one transaction.
const MAX_GROUP: usize = 4_096;

/// What to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: &'static str,
    /// The subject it concerns, as a keyed hash.
    pub subject_ref: Option<String>,
    /// Why and with what outcome.
    pub detail: String,
    /// Record changes kept exactly when this entry is, in its transaction:
    /// the consent, key or freeze the entry reports, so no change is ever
    /// stored unaudited (nor audited and lost); a partner's score answer,
    /// kept first-writer-wins so a repeated ask gets the same one.
    pub writes: Vec<RecordWrite>,
    /// An answer kept inside the entry (one the detail already states).
    pub answer: Option<AuditAnswer>,
}

/// Called once the entry is durable (its sequence number) or failed.
pub type Done = Box<dyn FnOnce(Result<u64, String>) + Send>;

struct Pending {
    event: AuditEvent,
    at: Timestamp,
    done: Done,
}

/// The audit log's writer.
pub struct AuditLog {
    sender: RwLock<Option<Sender<Pending>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog")
    }
}

/// The hash of one entry's content chained to `prev_hash`.
// One argument per hashed field keeps the writer and `verify` visibly
// hashing the same things.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    prev_hash: &str,
    seq: u64,
    at: Timestamp,
    actor: &str,
    action: &str,
    subject_ref: Option<&str>,
    detail: &str,
    answer: Option<&AuditAnswer>,
) -> String {
    let mut hasher = Sha256::new();
    let seq = seq.to_string();
    let at = at.as_second().to_string();
    let fields = [
        prev_hash,
        &seq,
        &at,
        actor,
        action,
        subject_ref.unwrap_or("-"),
        detail,
    ];
    // An answer's fields are hashed only when there is one, so entries
    // written before answers lived in the log keep their hashes; the
    // length prefixes make "no answer" and any answer hash differently.
    let answer_fields = answer.map(|a| [a.key.as_str(), a.body.as_str()]);
    // Length-prefixed fields: no two different entries hash alike by
    // shifting text between fields.
    for field in fields.iter().chain(answer_fields.iter().flatten()) {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    super::access::hex(&hasher.finalize())
}

impl AuditLog {
    /// Starts the writer, continuing the chain the store holds.
    pub fn start(store: Arc<dyn Store>) -> Result<Self, credence_store::Error> {
        let head = store.audit_head()?;
        let (sender, receiver) = channel();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_loop(store.as_ref(), receiver, head))
            .map_err(|e| {
                credence_store::Error::Backend(format!("starting the audit writer: {e}"))
            })?;
        Ok(Self {
            sender: RwLock::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues an entry; `done` runs once it is durable or has failed.
    pub fn submit(&self, event: AuditEvent, at: Timestamp, done: Done) {
        let pending = Pending { event, at, done };
        let refused = match self.sender.read() {
            Ok(guard) => match guard.as_ref() {
                Some(sender) => sender.send(pending).err().map(|e| e.0),
                None => Some(pending),
            },
            Err(_) => Some(pending),
        };
        if let Some(pending) = refused {
            (pending.done)(Err(
                "the audit log is closed: the server is shutting down".into()
            ));
        }
    }

    /// Records an entry and waits until it is durable.
    pub fn record(&self, event: AuditEvent, at: Timestamp) -> Result<u64, String> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.submit(
            event,
            at,
            Box::new(move |result| {
                let _ = tx.send(result);
            }),
        );
        rx.recv()
            .unwrap_or_else(|_| Err("the audit writer stopped".into()))
    }

    /// Stops taking entries and waits until every queued one is written.
    pub fn close(&self) {
        if let Ok(mut sender) = self.sender.write() {
            sender.take();
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// Attempts at a group whose place in the chain another writer took.
const MAX_RECHAINS: usize = 8;

fn write_loop(store: &dyn Store, receiver: Receiver<Pending>, head: Option<AuditEntry>) {
    let (mut last_seq, mut last_hash) = head.map_or((0, GENESIS.to_string()), |h| (h.seq, h.hash));
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Ok(first) = receiver.recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match receiver.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        let mut entries = Vec::with_capacity(group.len());
        let mut writes = Vec::new();
        for pending in &mut group {
            // The event is not needed past here (only its `done`), so its
            // parts move into the entry instead of being copied.
            let event = &mut pending.event;
            entries.push(AuditEntry {
                seq: 0,
                at: pending.at,
                actor: std::mem::take(&mut event.actor),
                action: event.action.to_string(),
                subject_ref: event.subject_ref.take(),
                detail: std::mem::take(&mut event.detail),
                prev_hash: String::new(),
                hash: String::new(),
                answer: event.answer.take(),
            });
            writes.append(&mut event.writes);
        }
        let mut outcome = Ok(());
        for _ in 0..MAX_RECHAINS {
            chain(&mut entries, last_seq, &last_hash);
            outcome = store.append_audit(&entries, &writes);
            let Err(credence_store::Error::AuditOutOfSequence { .. }) = outcome else {
                break;
            };
            // Another process on this database (`credence keys revoke`
            // beside a running server) appended since this writer last
            // looked: follow the head it left and chain after it.
            match store.audit_head() {
                Ok(head) => {
                    (last_seq, last_hash) =
                        head.map_or((0, GENESIS.to_string()), |h| (h.seq, h.hash));
                    tracing::info!(
                        head = last_seq,
                        "the audit log moved under another writer; chaining after it"
                    );
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        match outcome {
            Ok(()) => {
                if let Some(last) = entries.last() {
                    last_seq = last.seq;
                    last_hash.clone_from(&last.hash);
                }
                for (pending, entry) in group.drain(..).zip(&entries) {
                    (pending.done)(Ok(entry.seq));
                }
            }
            Err(e) => {
                let message = format!("the audit log could not be written: {e}");
                tracing::error!(%message);
                for pending in group.drain(..) {
                    (pending.done)(Err(message.clone()));
                }
            }
        }
    }
}

/// The hash `entry` must carry when it follows `prev_hash`.
fn hash_of(entry: &AuditEntry, prev_hash: &str) -> String {
    entry_hash(
        prev_hash,
        entry.seq,
        entry.at,
        &entry.actor,
        &entry.action,
        entry.subject_ref.as_deref(),
        &entry.detail,
        entry.answer.as_ref(),
    )
}

/// Numbers `entries` after `last_seq` and links each to the one before,
/// starting from `last_hash`.
fn chain(entries: &mut [AuditEntry], last_seq: u64, last_hash: &str) {
    let mut prev_hash = last_hash.to_string();
    for (offset, entry) in entries.iter_mut().enumerate() {
        entry.seq = last_seq + 1 + offset as u64;
        entry.hash = hash_of(entry, &prev_hash);
        entry.prev_hash = std::mem::replace(&mut prev_hash, entry.hash.clone());
    }
}

/// The verdict of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AuditVerdict {
    /// True when every entry is intact and in place.
    pub intact: bool,
    /// Entries checked.
    pub entries: u64,
    /// The last entry's hash (keep it elsewhere to detect a cut-off tail).
    pub head_hash: String,
    /// The first problem found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Walks the whole chain and reports the first broken link.
pub fn verify(store: &dyn Store) -> Result<AuditVerdict, credence_store::Error> {
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_string();
    let mut after = 0;
    loop {
        let page = store.audit_entries(after, 10_000)?;
        if page.is_empty() {
            break;
        }
        for entry in &page {
            let problem = if entry.seq != expected_seq {
                Some(format!(
                    "entry {} is where entry {expected_seq} should be: entries were deleted or reordered",
                    entry.seq
                ))
            } else if entry.prev_hash != prev_hash {
                Some(format!(
                    "entry {} does not link to entry {}: an entry was changed, deleted or reordered",
                    entry.seq,
                    expected_seq - 1
                ))
            } else if entry.hash != hash_of(entry, &entry.prev_hash) {
                Some(format!(
                    "entry {} was changed after it was written",
                    entry.seq
                ))
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(AuditVerdict {
                    intact: false,
                    entries: expected_seq - 1,
                    head_hash: prev_hash,
                    problem: Some(problem),
                });
            }
            prev_hash = entry.hash.clone();
            expected_seq += 1;
            after = entry.seq;
        }
    }
    Ok(AuditVerdict {
        intact: true,
        entries: expected_seq - 1,
        head_hash: prev_hash,
        problem: None,
    })
}

impl super::Platform {
    /// Verifies the audit chain.
    pub fn verify_audit(&self, principal: &super::Principal) -> super::ApiResult<AuditVerdict> {
        super::access::operator_only(principal)?;
        Ok(super::audit::verify(self.store())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(detail: &str) -> AuditEvent {
        AuditEvent {
            actor: "operator:test".into(),
            action: "key.create",
            subject_ref: None,
            detail: detail.into(),
            writes: Vec::new(),
            answer: None,
        }
    }

    #[test]
    fn two_writers_on_one_database_keep_one_unbroken_chain() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        let open = || -> Arc<dyn Store> {
            Arc::new(
                credence_store_sqlite::SqliteStore::open(&path).unwrap_or_else(|e| panic!("{e}")),
            )
        };
        // Two handles on one file, as a server and `credence keys` are:
        // each writer starts from the head it saw, then the other moves it.
        let (server_store, command_store) = (open(), open());
        let server = AuditLog::start(server_store.clone()).unwrap_or_else(|e| panic!("{e}"));
        let command = AuditLog::start(command_store).unwrap_or_else(|e| panic!("{e}"));
        let at = Timestamp::UNIX_EPOCH;
        let mut seqs = Vec::new();
        for round in 0..3 {
            for (log, who) in [(&server, "server"), (&command, "command")] {
                let seq = log
                    .record(event(&format!("{who} {round}")), at)
                    .unwrap_or_else(|e| panic!("{who} in round {round}: {e}"));
                seqs.push(seq);
            }
        }
        assert_eq!(seqs, (1..=6).collect::<Vec<u64>>());
        let verdict = verify(server_store.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        assert!(verdict.intact, "{verdict:?}");
        assert_eq!(verdict.entries, 6);
    }
}
