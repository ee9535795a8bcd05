//! Signed checkpoints over every audit chain's head.
//!
//! A hash chain shows that an entry was changed, deleted or moved, but
//! not that a whole chain was rewritten with fresh hashes or cut back or
//! dropped: anyone who can write to the database can recompute SHA-256.
//! So every server node writes, at start and every hour, a checkpoint on
//! the control chain: each chain's head (number and hash), signed with
//! HMAC-SHA-256 under a key. A chain rewritten or cut behind a checkpoint
//! no longer holds the entry the checkpoint signed, and a forger without
//! the key cannot sign a new one.
//!
//! A later checkpoint covers the earlier ones: it names the signature of
//! the newest one its writer knew (deleting that one from the control
//! chain orphans the name), and before signing, its writer checks that the
//! chains still hold what that one signed, and signs what it found
//! (`altered`) when they do not, so a rewrite between two checkpoints is
//! in the log under a signature. `audit::verify` checks every checkpoint signed
//! with its key and the newest one's heads against the chains.
//!
//! The key should live outside the database (`--audit-key-file`, the same
//! on every node and wherever the log is verified): a key kept in the
//! database, the default, is read by whoever can rewrite the log. What no
//! checkpoint can show is a tail cut off after the newest one, checkpoint
//! and all: [`CheckpointVerdict::latest_at`] says how old the newest is
//! (a server writes one an hour), and keeping `head_hash` elsewhere
//! closes that gap too.

use super::access::{Secrets, constant_time_eq, hex, hmac_sha256, sha256_hex, unhex};
use super::audit::{AuditEvent, AuditPlace, CONTROL_CHAIN, ChainVerdict};
use super::{ApiError, ApiResult, Code};
use credence_store::{AuditEntry, Store};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, OnceLock};

/// The action of a checkpoint's audit entry.
pub const CHECKPOINT_ACTION: &str = "audit.checkpoint";

/// Control-chain entries read at a time while looking for checkpoints.
const PAGE: usize = 10_000;

/// The key checkpoints are signed and checked with.
#[derive(Clone)]
pub struct CheckpointKey {
    /// "database", or "external:" and the first 16 hex digits of the
    /// key's SHA-256: which key signed a checkpoint, never the key.
    id: String,
    key: [u8; 32],
}

impl std::fmt::Debug for CheckpointKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointKey({})", self.id)
    }
}

impl CheckpointKey {
    /// A key kept outside the database: 64 hex digits (32 bytes), such as
    /// `openssl rand -hex 32` writes; surrounding whitespace is ignored.
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let key = unhex(text)
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| {
                format!(
                    "an audit key is 64 hex digits (32 bytes), not {} characters of text; make one with `openssl rand -hex 32`",
                    text.chars().count()
                )
            })?;
        Ok(Self {
            id: format!("external:{}", &sha256_hex(&key)[..16]),
            key,
        })
    }

    /// The key the database keeps (created with the platform's other
    /// secrets), if it has one yet.
    pub fn of_database(store: &dyn Store) -> ApiResult<Option<Self>> {
        Ok(Secrets::stored_checkpoint_key(store)?.map(Self::database))
    }

    pub(crate) fn database(key: [u8; 32]) -> Self {
        Self {
            id: "database".into(),
            key,
        }
    }

    /// True for a key kept outside the database.
    pub fn is_external(&self) -> bool {
        self.id != "database"
    }

    /// Which key this is, as checkpoints name it.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn sign(&self, checkpoint: &Checkpoint) -> String {
        let heads: Vec<String> = checkpoint
            .heads
            .iter()
            .map(|h| format!("{}/{}/{}", h.chain, h.seq, h.hash))
            .collect();
        let at = checkpoint.at.to_string();
        let mut parts = vec![
            "credence-audit-checkpoint-1",
            &checkpoint.key,
            &at,
            checkpoint.previous.as_deref().unwrap_or("-"),
        ];
        parts.extend(heads.iter().map(String::as_str));
        parts.push("altered");
        parts.extend(checkpoint.altered.iter().map(String::as_str));
        hex(&hmac_sha256(&self.key, &parts))
    }
}

/// One chain's head as a checkpoint signs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// The chain.
    pub chain: u32,
    /// Its last entry's number.
    pub seq: u64,
    /// That entry's hash.
    pub hash: String,
}

/// A checkpoint: the detail of its audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checkpoint {
    /// When it was signed (seconds).
    at: i64,
    /// Which key signed it.
    key: String,
    /// Every chain's head when it was signed, by chain.
    heads: Vec<SignedHead>,
    /// The signature of the newest checkpoint its writer knew.
    previous: Option<String>,
    /// How the chains differed from what that checkpoint signed (empty
    /// when they still held it).
    altered: Vec<String>,
    /// HMAC-SHA-256 of everything above, hex.
    mac: String,
}

impl Checkpoint {
    fn read(entry: &AuditEntry) -> Option<Self> {
        (entry.chain == CONTROL_CHAIN && entry.action == CHECKPOINT_ACTION)
            .then(|| serde_json::from_str(&entry.detail).ok())
            .flatten()
    }
}

/// What [`verify`] found of the checkpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointVerdict {
    /// The key they were checked with: "database", or "external:" and a
    /// digest of the key.
    pub key: String,
    /// Checkpoints signed with that key, each checked.
    pub checked: u64,
    /// Checkpoints signed with another key, which this check cannot vouch
    /// for.
    pub other_key: u64,
    /// When the newest checked checkpoint was signed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_at: Option<Timestamp>,
    /// Entries written after the newest checked checkpoint: the hash
    /// chains alone vouch for these.
    pub entries_after_latest: u64,
}

/// The newest checkpoint on the control chain (with its entry's number),
/// whatever key signed it.
fn newest_checkpoint(store: &dyn Store, after: u64) -> ApiResult<Option<(u64, Checkpoint)>> {
    let mut newest = None;
    let mut after = after;
    loop {
        let page = store.audit_entries(CONTROL_CHAIN, after, PAGE)?;
        let Some(last) = page.last() else {
            return Ok(newest);
        };
        after = last.seq;
        if let Some(found) = page
            .iter()
            .rev()
            .find_map(|e| Checkpoint::read(e).map(|c| (e.seq, c)))
        {
            newest = Some(found);
        }
    }
}

/// The entry at `seq` of `chain`, if the chain holds one.
fn entry_at(store: &dyn Store, chain: u32, seq: u64) -> ApiResult<Option<AuditEntry>> {
    if seq == 0 {
        return Ok(None);
    }
    Ok(store
        .audit_entries(chain, seq - 1, 1)?
        .into_iter()
        .find(|e| e.seq == seq))
}

/// How the chains differ from what `heads` signed, one line per chain
/// that does not hold its signed entry.
fn departures(store: &dyn Store, heads: &[SignedHead]) -> ApiResult<Vec<String>> {
    let mut found = Vec::new();
    for head in heads {
        match entry_at(store, head.chain, head.seq)? {
            None => found.push(format!(
                "chain {} no longer holds entry {}: its tail or the whole chain was deleted",
                head.chain, head.seq
            )),
            Some(entry) if !constant_time_eq(entry.hash.as_bytes(), head.hash.as_bytes()) => found
                .push(format!(
                    "entry {} of chain {} is not the one signed: the chain was rewritten",
                    head.seq, head.chain
                )),
            Some(_) => {}
        }
    }
    Ok(found)
}

/// Checks the checkpoints against a key as the control chain is walked
/// (the same walk that checks its hashes: [`super::audit::verify`]), then
/// the newest one's heads against the chains.
#[derive(Debug)]
pub(crate) struct CheckpointWalk<'k> {
    key: Option<&'k CheckpointKey>,
    checked: u64,
    other_key: u64,
    /// Signatures seen so far, of any key: a checkpoint's `previous` must
    /// be one of them.
    seen: std::collections::HashSet<String>,
    /// The newest checked checkpoint, with its own place on the control
    /// chain.
    latest: Option<(u64, Checkpoint)>,
    /// The first problem; no checkpoint after it is looked at.
    problem: Option<String>,
}

impl<'k> CheckpointWalk<'k> {
    pub(crate) fn new(key: Option<&'k CheckpointKey>) -> Self {
        Self {
            key,
            checked: 0,
            other_key: 0,
            seen: Default::default(),
            latest: None,
            problem: None,
        }
    }

    /// Looks at the next entry of the control chain.
    pub(crate) fn visit(&mut self, entry: &AuditEntry) {
        if self.problem.is_some() || entry.action != CHECKPOINT_ACTION {
            return;
        }
        let place = format!("the checkpoint at entry {} of chain 0", entry.seq);
        let Some(checkpoint) = Checkpoint::read(entry) else {
            self.problem = Some(format!("{place} cannot be read: it was changed"));
            return;
        };
        let Some(key) = self.key.filter(|k| k.id == checkpoint.key) else {
            self.seen.insert(checkpoint.mac.clone());
            self.other_key += 1;
            return;
        };
        self.problem = if !constant_time_eq(
            key.sign(&checkpoint).as_bytes(),
            checkpoint.mac.as_bytes(),
        ) {
            Some(format!(
                "{place} does not carry a signature of its key: it was forged or changed"
            ))
        } else if checkpoint
            .previous
            .as_ref()
            .is_some_and(|p| !self.seen.contains(p))
        {
            Some(format!(
                "{place} follows a checkpoint that is no longer in the log: checkpoints were deleted"
            ))
        } else if !checkpoint.altered.is_empty() {
            Some(format!(
                "{place} found the log altered since the checkpoint before it: {}",
                checkpoint.altered.join("; ")
            ))
        } else {
            None
        };
        if self.problem.is_none() {
            self.seen.insert(checkpoint.mac.clone());
            self.checked += 1;
            self.latest = Some((entry.seq, checkpoint));
        }
    }

    /// What the walk found, given every chain's verdict: the newest
    /// checked checkpoint's heads are looked up on their chains.
    pub(crate) fn finish(
        self,
        store: &dyn Store,
        chains: &[ChainVerdict],
    ) -> ApiResult<(CheckpointVerdict, Option<String>)> {
        let mut verdict = CheckpointVerdict {
            key: self.key.map_or_else(|| "none".into(), |k| k.id.clone()),
            checked: self.checked,
            other_key: self.other_key,
            latest_at: None,
            entries_after_latest: chains.iter().map(|c| c.entries).sum(),
        };
        let mut problem = self.problem;
        if let Some((latest_seq, latest)) = self.latest {
            verdict.latest_at = Timestamp::from_second(latest.at).ok();
            verdict.entries_after_latest = chains
                .iter()
                .map(|c| {
                    let signed = latest.heads.iter().find(|h| h.chain == c.chain);
                    let covered = match c.chain {
                        // Up to the checkpoint itself.
                        CONTROL_CHAIN => latest_seq,
                        _ => signed.map_or(0, |h| h.seq),
                    };
                    c.entries.saturating_sub(covered)
                })
                .sum();
            if problem.is_none() {
                let when = verdict
                    .latest_at
                    .map_or_else(String::new, |t| format!(" of {t}"));
                problem = departures(store, &latest.heads)?
                    .into_iter()
                    .next()
                    .map(|d| format!("since the newest checkpoint{when}, {d}"));
            }
        }
        Ok((verdict, problem))
    }
}

/// The key checkpoints are signed with here, and the newest one known.
#[derive(Debug, Default)]
pub(crate) struct Signer {
    external: OnceLock<CheckpointKey>,
    /// The newest checkpoint this process knows of (its entry's number on
    /// the control chain and itself); read from the log the first time.
    newest: Mutex<Option<(u64, Checkpoint)>>,
}

impl super::Checkpoints<'_> {
    /// Signs checkpoints with `key` (kept outside the database) from now
    /// on, instead of the database's own.
    pub fn sign_with(&self, key: CheckpointKey) -> ApiResult<()> {
        self.signer.external.set(key).map_err(|_| {
            ApiError::new(
                Code::Conflict,
                "this platform already signs checkpoints with another key",
            )
        })
    }

    /// The key checkpoints are signed with here.
    pub fn key(&self) -> CheckpointKey {
        self.signer
            .external
            .get()
            .cloned()
            .unwrap_or_else(|| CheckpointKey::database(self.secrets.checkpoint_key()))
    }

    /// Signs every chain's head and writes the checkpoint to the control
    /// chain, unless nothing was written since the newest one. Safe on
    /// every node at once: checkpoints need no order among themselves.
    pub fn write_checkpoint(&self) -> ApiResult<Option<AuditPlace>> {
        let store = self.store();
        let key = self.key();
        let mut newest = self
            .signer
            .newest
            .lock()
            .map_err(|_| super::lock_poisoned())?;
        // Another node's checkpoints since: the newest of all is the one
        // to follow.
        let known = newest.as_ref().map_or(0, |(seq, _)| *seq);
        if let Some(found) = newest_checkpoint(store, known)? {
            *newest = Some(found);
        }
        let heads: Vec<SignedHead> = store
            .audit_heads()?
            .into_iter()
            .map(|head| SignedHead {
                chain: head.chain,
                seq: head.seq,
                hash: head.hash,
            })
            .collect();
        if let Some((seq, previous)) = newest.as_ref() {
            // Unchanged: the newest checkpoint is the control chain's last
            // entry, and every other chain ends where it signed.
            let subject_heads = |heads: &[SignedHead]| -> Vec<SignedHead> {
                heads
                    .iter()
                    .filter(|h| h.chain != CONTROL_CHAIN)
                    .cloned()
                    .collect()
            };
            let control_head = heads.iter().find(|h| h.chain == CONTROL_CHAIN);
            if control_head.is_some_and(|h| h.seq == *seq)
                && subject_heads(&heads) == subject_heads(&previous.heads)
            {
                return Ok(None);
            }
        }
        let altered = match newest.as_ref() {
            Some((_, previous)) => departures(store, &previous.heads)?,
            None => Vec::new(),
        };
        if !altered.is_empty() {
            tracing::error!(
                altered = %altered.join("; "),
                "the audit log no longer holds what its newest checkpoint signed"
            );
        }
        let at = self.now();
        let mut checkpoint = Checkpoint {
            at: at.as_second(),
            key: key.id.clone(),
            heads,
            previous: newest.as_ref().map(|(_, c)| c.mac.clone()),
            altered,
            mac: String::new(),
        };
        checkpoint.mac = key.sign(&checkpoint);
        let detail = serde_json::to_string(&checkpoint).map_err(ApiError::internal)?;
        let place = self
            .audit_log()
            .record(
                AuditEvent {
                    actor: "system:checkpoints".into(),
                    action: CHECKPOINT_ACTION,
                    subject_ref: None,
                    detail,
                    writes: Vec::new(),
                    answer: None,
                },
                at,
            )
            .map_err(|e| ApiError::new(Code::Unavailable, e))?;
        *newest = Some((place.seq, checkpoint));
        Ok(Some(place))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::audit::{self, AuditVerdict, chain_of};
    use crate::platform::{Answering, Limits, Platform, Principal};
    use credence_domain::SubjectId;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    struct World {
        _dir: tempfile::TempDir,
        path: PathBuf,
        store: Arc<dyn Store>,
        platform: Platform,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        let store = crate::test_store::open(&path);
        let platform = Platform::open(
            store.clone(),
            &crate::Config::default(),
            Arc::new(crate::SystemClock),
            Limits::default(),
            Answering::Shared,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        World {
            _dir: dir,
            path,
            store,
            platform,
        }
    }

    fn subject(n: u32) -> SubjectId {
        SubjectId::new(&format!("person-{n}")).unwrap_or_else(|e| panic!("{e}"))
    }

    impl World {
        /// An entry about subject `n` and one on the control chain.
        fn write(&self, n: u32) {
            let who = Principal::System { name: "test" };
            let ok = |r: ApiResult<()>| r.unwrap_or_else(|e| panic!("{e}"));
            ok(self.platform.audit(
                &who,
                "consent.grant",
                Some(&subject(n)),
                format!("grant {n}"),
            ));
            ok(self
                .platform
                .audit(&who, "key.create", None, format!("key {n}")));
        }

        fn checkpoint(&self) -> Option<AuditPlace> {
            self.platform
                .checkpoints()
                .write_checkpoint()
                .unwrap_or_else(|e| panic!("{e}"))
        }

        fn verify_with(&self, key: Option<&CheckpointKey>) -> AuditVerdict {
            audit::verify(self.store.as_ref(), key).unwrap_or_else(|e| panic!("{e}"))
        }

        fn verify(&self) -> AuditVerdict {
            self.verify_with(Some(&self.platform.checkpoints().key()))
        }

        fn chain_of_subject(&self, n: u32) -> u32 {
            chain_of(Some(&self.platform.subject_ref(&subject(n))))
        }

        /// Rewrites a whole chain as a tamperer with database access
        /// would: `change` edits the entries, which are then renumbered
        /// and hashed afresh, so the chain alone verifies.
        fn rewrite_chain(&self, chain: u32, change: impl FnOnce(&mut Vec<AuditEntry>)) {
            let mut entries = self
                .store
                .audit_entries(chain, 0, usize::MAX >> 1)
                .unwrap_or_else(|e| panic!("{e}"));
            change(&mut entries);
            // Numbered from 1 and hashed afresh, as the writer would.
            audit::link(&[], &mut entries);
            tamper(
                &self.path,
                &format!("DELETE FROM audit WHERE chain = {chain}"),
            );
            self.store
                .append_audit(&entries, &[])
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }

    fn tamper(path: &Path, sql: &str) {
        crate::test_store::execute(path, sql);
    }

    fn problem(verdict: &AuditVerdict) -> &str {
        assert!(!verdict.intact, "should be found: {verdict:?}");
        verdict.problem.as_deref().unwrap_or_default()
    }

    #[test]
    fn a_checkpoint_signs_every_head_and_nothing_new_signs_nothing() {
        let w = world();
        w.write(1);
        w.write(2);
        let first = w.checkpoint();
        assert!(first.is_some_and(|p| p.chain == CONTROL_CHAIN));
        assert_eq!(w.checkpoint(), None, "nothing was written since");
        let verdict = w.verify();
        assert!(verdict.intact, "{verdict:?}");
        assert_eq!(verdict.checkpoints.checked, 1);
        assert_eq!(verdict.checkpoints.key, "database");
        assert_eq!(verdict.checkpoints.entries_after_latest, 0);
        w.write(3);
        assert!(w.checkpoint().is_some(), "something new");
        let verdict = w.verify();
        assert!(
            verdict.intact && verdict.checkpoints.checked == 2,
            "{verdict:?}"
        );
    }

    #[test]
    fn a_chain_rewritten_with_fresh_hashes_behind_a_checkpoint_is_found() {
        let w = world();
        for n in 0..4 {
            w.write(n);
        }
        w.checkpoint();
        let chain = w.chain_of_subject(1);
        w.rewrite_chain(chain, |entries| {
            entries[0].detail = "never granted".into();
        });
        let unsigned = w.verify_with(None);
        assert!(unsigned.intact, "the chain alone cannot tell: {unsigned:?}");
        assert!(problem(&w.verify()).contains("the chain was rewritten"));
    }

    #[test]
    fn a_chain_cut_back_or_dropped_behind_a_checkpoint_is_found() {
        let w = world();
        for n in 0..3 {
            w.write(n);
        }
        w.checkpoint();
        let chain = w.chain_of_subject(2);
        w.rewrite_chain(chain, |entries| {
            entries.pop();
        });
        assert!(w.verify_with(None).intact);
        assert!(problem(&w.verify()).contains("was deleted"));
        tamper(&w.path, &format!("DELETE FROM audit WHERE chain = {chain}"));
        assert!(w.verify_with(None).intact, "a missing chain verifies alone");
        assert!(problem(&w.verify()).contains(&format!("chain {chain} no longer holds")));
    }

    #[test]
    fn a_checkpoint_deleted_from_the_control_chain_is_found_by_the_next() {
        let w = world();
        w.write(1);
        w.checkpoint();
        w.write(2);
        let second = w.checkpoint().unwrap_or_else(|| panic!("written"));
        w.write(3);
        w.checkpoint();
        assert!(w.verify().intact);
        w.rewrite_chain(CONTROL_CHAIN, |entries| {
            entries.retain(|e| e.seq != second.seq);
        });
        assert!(w.verify_with(None).intact);
        assert!(problem(&w.verify()).contains("checkpoints were deleted"));
    }

    #[test]
    fn the_newest_checkpoint_dropped_leaves_the_entries_after_the_one_before_unvouched() {
        let w = world();
        w.write(1);
        w.checkpoint();
        w.write(2);
        let newest = w.checkpoint().unwrap_or_else(|| panic!("written"));
        w.rewrite_chain(CONTROL_CHAIN, |entries| {
            entries.retain(|e| e.seq != newest.seq);
        });
        let verdict = w.verify();
        assert!(verdict.intact, "no checkpoint can show this: {verdict:?}");
        assert_eq!(verdict.checkpoints.checked, 1);
        assert_eq!(
            verdict.checkpoints.entries_after_latest, 2,
            "subject 2's two entries: the verdict says so"
        );
    }

    #[test]
    fn a_forged_checkpoint_is_found() {
        let w = world();
        w.write(1);
        w.checkpoint();
        let chain = w.chain_of_subject(1);
        w.rewrite_chain(CONTROL_CHAIN, |entries| {
            let checkpoint = entries
                .iter_mut()
                .find(|e| e.action == CHECKPOINT_ACTION)
                .unwrap_or_else(|| panic!("a checkpoint"));
            let mut signed: Checkpoint =
                serde_json::from_str(&checkpoint.detail).unwrap_or_else(|e| panic!("{e}"));
            signed.heads.retain(|h| h.chain != chain);
            checkpoint.detail = serde_json::to_string(&signed).unwrap_or_else(|e| panic!("{e}"));
        });
        assert!(w.verify_with(None).intact);
        assert!(problem(&w.verify()).contains("forged or changed"));
    }

    #[test]
    fn a_rewrite_between_two_checkpoints_is_signed_by_the_second() {
        let w = world();
        w.write(1);
        w.checkpoint();
        let chain = w.chain_of_subject(1);
        w.rewrite_chain(chain, |entries| entries[0].detail = "rewritten".into());
        assert!(w.checkpoint().is_some(), "the heads moved");
        let verdict = w.verify();
        let found = problem(&verdict);
        assert!(
            found.contains("found the log altered") && found.contains("rewritten"),
            "{found}"
        );
    }

    #[test]
    fn an_outside_key_signs_and_only_that_key_vouches() {
        let w = world();
        let key = CheckpointKey::from_hex(&"7f".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
        assert!(key.is_external());
        w.platform
            .checkpoints()
            .sign_with(key.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        w.write(1);
        w.checkpoint();
        let verdict = w.verify_with(Some(&key));
        assert!(
            verdict.intact && verdict.checkpoints.checked == 1,
            "{verdict:?}"
        );
        let database = CheckpointKey::of_database(w.store.as_ref())
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the platform made one"));
        let verdict = w.verify_with(Some(&database));
        assert_eq!(
            (verdict.checkpoints.checked, verdict.checkpoints.other_key),
            (0, 1),
            "the database's key cannot vouch for it"
        );
        let other = CheckpointKey::from_hex(&"01".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.verify_with(Some(&other)).checkpoints.other_key, 1);
        for bad in ["", "7f", &"zz".repeat(32), &"7f".repeat(33)] {
            let refused = CheckpointKey::from_hex(bad);
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|e| e.contains("openssl rand -hex 32")),
                "{bad}: {refused:?}"
            );
        }
    }

    #[test]
    fn nodes_writing_checkpoints_at_once_keep_the_log_verifiable() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (a, b) =
            crate::platform::two_processes(&dir.path().join("db"), Arc::new(crate::SystemClock));
        std::thread::scope(|scope| {
            for platform in [&a, &b] {
                scope.spawn(move || {
                    for n in 0..10 {
                        platform
                            .audit(
                                &Principal::System { name: "test" },
                                "consent.grant",
                                Some(&subject(n)),
                                "grant",
                            )
                            .unwrap_or_else(|e| panic!("{e}"));
                        platform
                            .checkpoints()
                            .write_checkpoint()
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                });
            }
        });
        let verdict = audit::verify(a.store(), Some(&a.checkpoints().key()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(verdict.intact, "{verdict:?}");
        assert!(verdict.checkpoints.checked >= 10, "{verdict:?}");
    }
}
