//! Moving a whole deployment from one store to another (`credence
//! migrate`): every row, in a form no backend owns, read from one
//! consistent snapshot of the source and written into an empty target in
//! one transaction, so a move that fails leaves the target as empty as it
//! found it.
//!
//! Rows move as stored, not rebuilt: a subject's event blob byte for byte
//! ([`crate::codec`] is every backend's), audit entries with their numbers
//! and hashes, records with their bodies (the platform's secrets among
//! them, so pseudonyms, subject references and tokens stay valid). The
//! target must therefore be empty: anything already there could collide
//! with what comes.

use crate::{AnswerClaim, AuditEntry, Error, Result, Store, StoredScore};
use credence_domain::{SubjectId, SubjectKind, SubjectState};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Rows per page, both ways.
pub const PAGE_ROWS: usize = 4_096;

/// A subject's row: who, and every event in its stored blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRow {
    /// The subject (or a tombstone's keyed hash).
    pub id: SubjectId,
    /// Person or organisation.
    pub kind: SubjectKind,
    /// When enrolled (seconds).
    pub enrolled_at: i64,
    /// The restricted-data consent.
    pub restricted_consent: bool,
    /// Enrolled or opted out.
    pub state: SubjectState,
    /// Events in the blob.
    pub event_count: u32,
    /// The events, encoded by [`crate::codec`].
    pub events: Vec<u8>,
}

/// An idempotency key and the subject it was used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventKeyRow {
    /// The furnisher.
    pub furnisher_id: String,
    /// The furnisher's id of the event.
    pub event_id: String,
    /// Whose event it is.
    pub subject_id: SubjectId,
}

/// A record of any kind (the kind as text: a store does not know the
/// platform's kinds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordRow {
    /// Its kind.
    pub kind: String,
    /// Unique within its kind.
    pub id: String,
    /// The subject it is about, if any.
    pub subject: Option<String>,
    /// Its owner, if any.
    pub owner: Option<String>,
    /// The document.
    pub body: String,
}

/// One page of one table, as it moves.
#[derive(Debug, Clone, PartialEq)]
pub enum RowPage {
    /// Subjects, in the source's order.
    Subjects(Vec<SubjectRow>),
    /// Idempotency keys (after every subject).
    EventKeys(Vec<EventKeyRow>),
    /// Stored scores.
    Scores(Vec<StoredScore>),
    /// Records, in the order they were first written.
    Records(Vec<RecordRow>),
    /// Audit entries, chain by chain, in order.
    Audit(Vec<AuditEntry>),
    /// Partners' answers claimed.
    Claims(Vec<AnswerClaim>),
}

/// What a store holds, table by table, and one digest of every row: two
/// stores with equal tallies hold the same rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Subject rows (tombstones included).
    pub subjects: u64,
    /// Events inside them.
    pub events: u64,
    /// Idempotency keys.
    pub event_keys: u64,
    /// Stored scores.
    pub scores: u64,
    /// Records.
    pub records: u64,
    /// Audit entries.
    pub audit_entries: u64,
    /// Answers claimed.
    pub claims: u64,
    /// SHA-256 over every row in a canonical form, hex.
    pub digest: String,
}

/// Tallies pages as they pass.
#[derive(Default)]
pub struct TallyKeeper {
    tally: Tally,
    digest: Sha256,
}

impl std::fmt::Debug for TallyKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TallyKeeper")
            .field("tally", &self.tally)
            .finish_non_exhaustive()
    }
}

impl TallyKeeper {
    fn field(&mut self, bytes: &[u8]) {
        self.digest.update((bytes.len() as u64).to_le_bytes());
        self.digest.update(bytes);
    }

    fn text(&mut self, text: Option<&str>) {
        match text {
            None => self.digest.update([0]),
            Some(text) => {
                self.digest.update([1]);
                self.field(text.as_bytes());
            }
        }
    }

    /// Counts and digests one page.
    pub fn add(&mut self, page: &RowPage) {
        match page {
            RowPage::Subjects(rows) => {
                self.field(b"subjects");
                for r in rows {
                    self.tally.subjects += 1;
                    self.tally.events += u64::from(r.event_count);
                    self.field(r.id.as_str().as_bytes());
                    self.field(
                        format!(
                            "{:?}/{}/{}/{:?}/{}",
                            r.kind, r.enrolled_at, r.restricted_consent, r.state, r.event_count
                        )
                        .as_bytes(),
                    );
                    self.field(&r.events);
                }
            }
            RowPage::EventKeys(rows) => {
                self.field(b"event_keys");
                for r in rows {
                    self.tally.event_keys += 1;
                    self.field(r.furnisher_id.as_bytes());
                    self.field(r.event_id.as_bytes());
                    self.field(r.subject_id.as_str().as_bytes());
                }
            }
            RowPage::Scores(rows) => {
                self.field(b"scores");
                for s in rows {
                    self.tally.scores += 1;
                    self.field(s.subject_id.as_str().as_bytes());
                    self.field(s.model_version.as_bytes());
                    // Bits, not decimals: identical means identical.
                    let pd = s.pd.map(f64::to_bits);
                    self.field(
                        format!(
                            "{}/{}/{:?}/{pd:?}/{:?}/{}",
                            s.as_of.as_second(),
                            s.scored,
                            s.score,
                            s.dimensions,
                            s.computed_at.as_second()
                        )
                        .as_bytes(),
                    );
                    for reason in &s.reasons {
                        self.field(reason.as_bytes());
                    }
                }
            }
            RowPage::Records(rows) => {
                self.field(b"records");
                for r in rows {
                    self.tally.records += 1;
                    self.field(r.kind.as_bytes());
                    self.field(r.id.as_bytes());
                    self.text(r.subject.as_deref());
                    self.text(r.owner.as_deref());
                    self.field(r.body.as_bytes());
                }
            }
            RowPage::Audit(rows) => {
                self.field(b"audit");
                for e in rows {
                    self.tally.audit_entries += 1;
                    // The hash covers the content; the rest is the place.
                    self.field(format!("{}/{}/{}", e.chain, e.seq, e.at.as_second()).as_bytes());
                    self.field(e.actor.as_bytes());
                    self.field(e.action.as_bytes());
                    self.text(e.subject_ref.as_deref());
                    self.field(e.prev_hash.as_bytes());
                    self.field(e.hash.as_bytes());
                    self.field(e.detail.as_bytes());
                    self.text(e.answer.as_ref().map(|a| a.body.as_str()));
                }
            }
            RowPage::Claims(rows) => {
                self.field(b"claims");
                for c in rows {
                    self.tally.claims += 1;
                    self.field(c.key.as_bytes());
                    self.field(c.day.to_string().as_bytes());
                    self.field(c.subject.as_str().as_bytes());
                    self.field(c.body.as_bytes());
                }
            }
        }
    }

    /// The tally so far.
    pub fn finish(mut self) -> Tally {
        self.tally.digest = self
            .digest
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.tally
    }
}

/// Every row out, every row in.
pub trait TransferStore: Send + Sync {
    /// Calls `sink` with every row the store holds, a page at a time, all
    /// read in one snapshot: subjects, event keys, scores, records, audit
    /// entries, answer claims, in that order, each in a stable order.
    fn export_rows(&self, sink: &mut dyn FnMut(RowPage) -> Result<()>) -> Result<()>;

    /// Writes every page `pages` yields into this store, which must be
    /// empty ([`Error::NotEmpty`] otherwise), in one transaction: when a
    /// page fails or `pages` yields an error, nothing is kept.
    fn import_rows(&self, pages: &mut dyn Iterator<Item = Result<RowPage>>) -> Result<()>;
}

/// Copies everything `from` holds into the empty `to` (reading and
/// writing on two threads, a few pages apart), and returns the tally of
/// what was read.
pub fn copy(from: &dyn Store, to: &dyn Store) -> Result<Tally> {
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Result<RowPage>>(4);
    let mut keeper = TallyKeeper::default();
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let outcome = from.export_rows(&mut |page| {
                sender
                    .send(Ok(page))
                    .map_err(|_| Error::Backend("the target stopped taking rows".into()))
            });
            if let Err(e) = outcome {
                // The writer sees the failure and keeps nothing.
                let _ = sender.send(Err(e));
            }
        });
        let mut pages = receiver.into_iter().inspect(|page| {
            if let Ok(page) = page {
                keeper.add(page);
            }
        });
        let written = to.import_rows(&mut pages);
        drop(pages);
        let read = reader
            .join()
            .map_err(|_| Error::Backend("reading the source panicked".into()));
        written.and(read)
    })?;
    Ok(keeper.finish())
}

/// The tally of everything `store` holds.
pub fn tally(store: &dyn Store) -> Result<Tally> {
    let mut keeper = TallyKeeper::default();
    store.export_rows(&mut |page| {
        keeper.add(&page);
        Ok(())
    })?;
    Ok(keeper.finish())
}
