//! The append-only, hash-chained audit log.
//!
//! The log is a set of chains: one for the control plane (keys, partners,
//! models, and every entry written before the log had chains) and
//! [`SUBJECT_CHAINS`] for entries about subjects, each taking a range of
//! the hash of the subject's reference ([`chain_of`]). Every entry's hash
//! covers its content, its chain and the previous entry's hash on that
//! chain, so changing, deleting or reordering any entry breaks every hash
//! after it, and [`verify`] finds the first broken link on every chain.
//! Chains are numbered apart, so appends on different chains never wait
//! for one head: processes (and, on a server database, nodes) writing
//! about different subjects do not queue behind each other.
//!
//! Writes go through one thread per process that commits whatever has
//! queued up in one transaction (group commit): each caller still waits
//! until its own entry is durable, but many callers share one fsync.

use super::checkpoints::{CheckpointKey, CheckpointVerdict};
use credence_store::{AuditAnswer, AuditEntry, ChainHead, RecordWrite, Store};
use jiff::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Most entries committed in one transaction.
const MAX_GROUP: usize = 4_096;

/// The control plane's chain: entries about no subject.
pub const CONTROL_CHAIN: u32 = 0;

/// Chains for entries about subjects, after the control chain.
pub const SUBJECT_CHAINS: u32 = 16;

/// The chain an entry about `subject_ref` (or about nobody) belongs on:
/// a subject's entries all go on the chain of the range its reference's
/// hash falls in, so one subject's history is one chain's.
pub fn chain_of(subject_ref: Option<&str>) -> u32 {
    match subject_ref {
        None => CONTROL_CHAIN,
        Some(subject_ref) => {
            let hash = u64::from(credence_store::subject_hash(subject_ref));
            1 + ((hash * u64::from(SUBJECT_CHAINS)) >> 32) as u32
        }
    }
}

/// Where an entry landed: its chain and its number there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AuditPlace {
    /// The chain.
    pub chain: u32,
    /// Its number on the chain.
    pub seq: u64,
}

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

/// Called once the entry is durable (where it landed) or failed.
pub type Done = Box<dyn FnOnce(Result<AuditPlace, String>) + Send>;

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
    chain: u32,
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
    // Likewise the chain, only off the control chain (which holds every
    // entry from before chains), so a whole chain moved to another number
    // no longer verifies.
    let chain = (chain != CONTROL_CHAIN).then(|| format!("chain={chain}"));
    // Length-prefixed fields: no two different entries hash alike by
    // shifting text between fields.
    let fields = fields
        .iter()
        .copied()
        .chain(answer_fields.iter().flatten().copied())
        .chain(chain.as_deref());
    for field in fields {
        hasher.update((field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    super::access::hex(&hasher.finalize())
}

impl AuditLog {
    /// Starts the writer, continuing the chains the store holds.
    pub fn start(store: Arc<dyn Store>) -> Result<Self, credence_store::Error> {
        let (sender, receiver) = channel();
        let thread = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_loop(store.as_ref(), receiver))
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
    pub fn record(&self, event: AuditEvent, at: Timestamp) -> Result<AuditPlace, String> {
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

/// Numbers each entry after its chain's head and links it to the one
/// before: called by the store with every chain of the group held, so no
/// other writer (a command beside the server, another node) can take the
/// same place.
pub(crate) fn link(heads: &[ChainHead], entries: &mut [AuditEntry]) {
    let mut next: HashMap<u32, (u64, String)> = heads
        .iter()
        .map(|head| (head.chain, (head.seq, head.hash.clone())))
        .collect();
    for entry in entries {
        let (seq, prev_hash) = next
            .entry(entry.chain)
            .or_insert_with(|| (0, GENESIS.to_string()));
        *seq += 1;
        entry.seq = *seq;
        entry.hash = hash_of(entry, prev_hash);
        entry.prev_hash = std::mem::replace(prev_hash, entry.hash.clone());
    }
}

fn write_loop(store: &dyn Store, receiver: Receiver<Pending>) {
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
            let subject_ref = event.subject_ref.take();
            entries.push(AuditEntry {
                chain: chain_of(subject_ref.as_deref()),
                seq: 0,
                at: pending.at,
                actor: std::mem::take(&mut event.actor),
                action: event.action.to_string(),
                subject_ref,
                detail: std::mem::take(&mut event.detail),
                prev_hash: String::new(),
                hash: String::new(),
                answer: event.answer.take(),
            });
            writes.append(&mut event.writes);
        }
        match store.append_audit_linked(&mut entries, &writes, &mut link) {
            Ok(()) => {
                for (pending, entry) in group.drain(..).zip(&entries) {
                    (pending.done)(Ok(AuditPlace {
                        chain: entry.chain,
                        seq: entry.seq,
                    }));
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
        entry.chain,
        entry.seq,
        entry.at,
        &entry.actor,
        &entry.action,
        entry.subject_ref.as_deref(),
        &entry.detail,
        entry.answer.as_ref(),
    )
}

/// The verdict of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditVerdict {
    /// True when every entry of every chain is intact and in place.
    pub intact: bool,
    /// Entries checked, over every chain.
    pub entries: u64,
    /// One hash of every chain's head (keep it elsewhere to detect a
    /// cut-off tail on any chain).
    pub head_hash: String,
    /// The first problem found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Each chain checked, by chain.
    pub chains: Vec<ChainVerdict>,
    /// The signed checkpoints over the chains' heads.
    pub checkpoints: CheckpointVerdict,
}

/// What [`verify`] found on one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainVerdict {
    /// The chain (0 is the control plane's).
    pub chain: u32,
    /// Intact entries, from the first.
    pub entries: u64,
    /// The last intact entry's hash.
    pub head_hash: String,
}

/// Walks every chain and reports the first broken link, then checks the
/// checkpoints signed with `key` against the chains (see
/// [`super::checkpoints`]).
pub fn verify(
    store: &dyn Store,
    key: Option<&CheckpointKey>,
) -> Result<AuditVerdict, super::ApiError> {
    let mut chains = Vec::new();
    let mut problem = None;
    // The control chain's checkpoints are checked on the same walk that
    // checks its hashes.
    let mut checkpoints = super::checkpoints::CheckpointWalk::new(key);
    for head in store.audit_heads()? {
        let (verdict, broken) = if head.chain == CONTROL_CHAIN {
            verify_chain(store, head.chain, &mut |entry| checkpoints.visit(entry))?
        } else {
            verify_chain(store, head.chain, &mut |_| {})?
        };
        chains.push(verdict);
        if broken.is_some() {
            problem = broken;
            break;
        }
    }
    let (checkpoints, found) = checkpoints.finish(store, &chains)?;
    if problem.is_none() {
        problem = found;
    }
    let mut digest = Sha256::new();
    for chain in &chains {
        digest.update(u64::from(chain.chain).to_le_bytes());
        digest.update(chain.entries.to_le_bytes());
        digest.update(chain.head_hash.as_bytes());
    }
    Ok(AuditVerdict {
        intact: problem.is_none(),
        entries: chains.iter().map(|c| c.entries).sum(),
        head_hash: super::access::hex(&digest.finalize()),
        problem,
        chains,
        checkpoints,
    })
}

/// Walks one chain: what is intact, and the first problem after it;
/// `visit` sees each intact entry in order.
fn verify_chain(
    store: &dyn Store,
    chain: u32,
    visit: &mut dyn FnMut(&AuditEntry),
) -> Result<(ChainVerdict, Option<String>), credence_store::Error> {
    let mut expected_seq = 1;
    let mut prev_hash = GENESIS.to_string();
    let mut after = 0;
    loop {
        let page = store.audit_entries(chain, after, 10_000)?;
        if page.is_empty() {
            break;
        }
        for entry in &page {
            let seq = entry.seq;
            let problem = if seq != expected_seq {
                Some(format!(
                    "entry {seq} of chain {chain} is where entry {expected_seq} should be: entries were deleted or reordered"
                ))
            } else if entry.prev_hash != prev_hash {
                Some(format!(
                    "entry {seq} of chain {chain} does not link to entry {}: an entry was changed, deleted or reordered",
                    expected_seq - 1
                ))
            } else if entry.hash != hash_of(entry, &entry.prev_hash) {
                Some(format!(
                    "entry {seq} of chain {chain} was changed after it was written"
                ))
            } else if chain != CONTROL_CHAIN && chain_of(entry.subject_ref.as_deref()) != chain {
                Some(format!(
                    "entry {seq} of chain {chain} belongs on chain {}: it was moved",
                    chain_of(entry.subject_ref.as_deref())
                ))
            } else {
                None
            };
            if problem.is_some() {
                let verdict = ChainVerdict {
                    chain,
                    entries: expected_seq - 1,
                    head_hash: prev_hash,
                };
                return Ok((verdict, problem));
            }
            visit(entry);
            prev_hash.clone_from(&entry.hash);
            expected_seq += 1;
            after = seq;
        }
    }
    let verdict = ChainVerdict {
        chain,
        entries: expected_seq - 1,
        head_hash: prev_hash,
    };
    Ok((verdict, None))
}

impl super::Platform {
    /// Verifies the audit chain.
    pub fn verify_audit(&self, principal: &super::Principal) -> super::ApiResult<AuditVerdict> {
        super::access::operator_only(principal)?;
        verify(self.store(), Some(&self.checkpoints().key()))
    }
}

/// Every entry of every chain, chain by chain (for tests).
#[cfg(test)]
pub(crate) fn every_entry(store: &dyn Store) -> Vec<AuditEntry> {
    let heads = store.audit_heads().unwrap_or_else(|e| panic!("{e}"));
    heads
        .iter()
        .flat_map(|head| {
            store
                .audit_entries(head.chain, 0, usize::MAX >> 1)
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect()
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

    fn about(subject_ref: &str, detail: &str) -> AuditEvent {
        AuditEvent {
            subject_ref: Some(subject_ref.into()),
            ..event(detail)
        }
    }

    fn open(path: &std::path::Path) -> Arc<dyn Store> {
        crate::test_store::open(path)
    }

    #[test]
    fn subjects_spread_over_every_subject_chain() {
        let chains: std::collections::BTreeSet<u32> = (0..2_000)
            .map(|i| chain_of(Some(&format!("{i:064x}"))))
            .collect();
        assert_eq!(
            chains,
            (1..=SUBJECT_CHAINS).collect(),
            "every subject chain is used, and only those"
        );
        assert_eq!(chain_of(None), CONTROL_CHAIN);
    }

    #[test]
    fn two_writers_on_one_database_keep_every_chain_unbroken() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        // Two handles on one file, as a server and `credence keys` are:
        // each writer starts from the heads it saw, then the other moves
        // them.
        let (server_store, command_store) = (open(&path), open(&path));
        let server = AuditLog::start(server_store.clone()).unwrap_or_else(|e| panic!("{e}"));
        let command = AuditLog::start(command_store).unwrap_or_else(|e| panic!("{e}"));
        let at = Timestamp::UNIX_EPOCH;
        let mut seqs = Vec::new();
        for round in 0..3 {
            for (log, who) in [(&server, "server"), (&command, "command")] {
                let place = log
                    .record(event(&format!("{who} {round}")), at)
                    .unwrap_or_else(|e| panic!("{who} in round {round}: {e}"));
                seqs.push((place.chain, place.seq));
            }
        }
        let expected: Vec<(u32, u64)> = (1..=6).map(|seq| (CONTROL_CHAIN, seq)).collect();
        assert_eq!(seqs, expected);
        let verdict = verify(server_store.as_ref(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(verdict.intact, "{verdict:?}");
        assert_eq!(verdict.entries, 6);
    }

    /// Two processes on one database appending at once, about different
    /// subjects (so on different chains) and about nobody (both on the
    /// control chain): every entry lands once, in its chain, and the
    /// whole log verifies.
    #[test]
    fn two_processes_appending_on_different_chains_at_once_verify() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        let refs: Vec<String> = (0..64).map(|i| format!("{i:064x}")).collect();
        let per_process = 150;
        let places: Vec<Vec<AuditPlace>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..2)
                .map(|process| {
                    let store = open(&path);
                    let refs = &refs;
                    scope.spawn(move || {
                        let log = AuditLog::start(store).unwrap_or_else(|e| panic!("{e}"));
                        (0..per_process)
                            .map(|i| {
                                let detail = format!("process {process} entry {i}");
                                let event = if i % 5 == 0 {
                                    event(&detail)
                                } else {
                                    // Each process writes about its own half of the subjects.
                                    about(&refs[process * 32 + i % 32], &detail)
                                };
                                log.record(event, Timestamp::UNIX_EPOCH)
                                    .unwrap_or_else(|e| panic!("{detail}: {e}"))
                            })
                            .collect()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().unwrap_or_else(|_| panic!("a writer panicked")))
                .collect()
        });
        let mut all: Vec<AuditPlace> = places.into_iter().flatten().collect();
        let written = all.len();
        all.sort_by_key(|p| (p.chain, p.seq));
        all.dedup();
        assert_eq!(all.len(), written, "no two entries share a place");
        let chains: std::collections::BTreeSet<u32> = all.iter().map(|p| p.chain).collect();
        assert!(
            chains.len() > 8,
            "the entries spread over chains: {chains:?}"
        );
        let verdict = verify(open(&path).as_ref(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(verdict.intact, "{verdict:?}");
        assert_eq!(verdict.entries, 2 * per_process as u64);
        assert_eq!(verdict.chains.len(), chains.len());
    }

    #[test]
    fn a_chain_moved_to_another_number_or_cut_is_found() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        let store = open(&path);
        let log = AuditLog::start(store.clone()).unwrap_or_else(|e| panic!("{e}"));
        let subject = "ab".repeat(32);
        for i in 0..3 {
            log.record(about(&subject, &format!("e{i}")), Timestamp::UNIX_EPOCH)
                .unwrap_or_else(|e| panic!("{e}"));
        }
        log.close();
        let chain = chain_of(Some(&subject));
        let intact = verify(store.as_ref(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(intact.intact && intact.entries == 3, "{intact:?}");
        let other = if chain == SUBJECT_CHAINS {
            1
        } else {
            chain + 1
        };
        let raw = |sql: String| crate::test_store::execute(&path, &sql);
        raw(format!(
            "UPDATE audit SET chain = {other} WHERE chain = {chain}"
        ));
        let moved = verify(store.as_ref(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(!moved.intact, "{moved:?}");
        assert!(
            moved
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("changed after it was written")),
            "{moved:?}"
        );
        raw(format!(
            "UPDATE audit SET chain = {chain} WHERE chain = {other}"
        ));
        raw(format!(
            "DELETE FROM audit WHERE chain = {chain} AND seq = 3"
        ));
        let cut = verify(store.as_ref(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(cut.intact, "a cut-off tail verifies alone: {cut:?}");
        assert_ne!(
            cut.head_hash, intact.head_hash,
            "but the head hash kept elsewhere tells"
        );
    }
}
