//! Control-plane records and the audit log.
//!
//! Keys, furnishers, partners, perks, consents, disputes, statements, review
//! requests, notices and model deployments are few and small next to
//! events, and their shape changes with the product; so a backend stores
//! them as typed JSON documents with the three columns every query needs
//! (kind, subject, owner) instead of one table per type. The audit log is
//! different: append-only and hash-chained, so it has its own methods.

use credence_domain::SubjectId;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One control-plane document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// What it is: `consent`, `dispute`, `api_key`…
    pub kind: &'static str,
    /// Unique within its kind.
    pub id: String,
    /// The subject it is about, if any: erasing the subject erases it.
    pub subject: Option<SubjectId>,
    /// Who owns it (a partner, a furnisher), if anyone: listed by owner.
    pub owner: Option<String>,
    /// The document, as JSON.
    pub body: String,
}

/// A change to a record that commits with audit entries (see
/// [`Store::append_audit`](crate::Store::append_audit)): the change and the
/// entry that records it are kept together or not at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordWrite {
    /// Insert or replace.
    Put(Record),
    /// Insert unless a record with the same kind and id exists (first
    /// writer wins): what an audited answer promised.
    KeepFirst(Record),
    /// Delete, if it exists.
    Delete {
        /// The record's kind.
        kind: &'static str,
        /// Its id.
        id: String,
    },
    /// Gives or withdraws an enrolled subject's separate consent to
    /// restricted categories (income, assets, deposits, tax). It lives on
    /// the stored subject, the one source of truth that ingest and scoring
    /// read, and changes only here: audited, never as a side effect of an
    /// event. A backend applies it like an event append as far as cached
    /// subject logs are concerned. A subject no longer enrolled (erased
    /// while the change waited) is left as it is, holding no consent: the
    /// change must not fail the other entries of its group.
    RestrictedDataConsent {
        /// Whose consent.
        subject: SubjectId,
        /// Given (true) or withdrawn (false).
        given: bool,
    },
}

/// Which records of a kind to list.
#[derive(Debug, Clone, Copy)]
pub enum RecordFilter<'a> {
    /// Every record of the kind.
    All,
    /// Records about one subject.
    Subject(&'a SubjectId),
    /// Records of one owner.
    Owner(&'a str),
}

/// One entry of the hash-chained audit log.
///
/// Subjects appear only as `subject_ref`, a keyed hash of their id, so the
/// log can outlive an erasure without keeping the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The chain it is on (0, the control plane's, holds every entry
    /// written before the log had chains).
    #[serde(default)]
    pub chain: u32,
    /// Position in its chain, from 1, without gaps.
    pub seq: u64,
    /// When it happened.
    pub at: Timestamp,
    /// Who did it: `operator:<key id>`, `partner:<id>`, `subject`, `system`…
    pub actor: String,
    /// What was done: `read.score`, `consent.grant`, `subject.erase`…
    pub action: String,
    /// The subject it concerns, as a keyed hash.
    pub subject_ref: Option<String>,
    /// Why, and any detail (purpose, transaction id, outcome).
    pub detail: String,
    /// Hash of the previous entry of its chain (all zeros for the first).
    pub prev_hash: String,
    /// Hash of this entry's content and `prev_hash`.
    pub hash: String,
    /// The answer this entry gave, kept in the entry itself so a repeated
    /// question gets it back; covered by `hash` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<AuditAnswer>,
}

/// An answer kept inside its audit entry: what was promised is kept exactly
/// when the entry is, with no second write. Only answers the entry's detail
/// already states belong here (the log outlives erasures); anything more
/// personal is a [`Record`], which erasure removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnswer {
    /// What the answer is found by (the question's own key).
    pub key: String,
    /// The answer, as the service serialised it.
    pub body: String,
}

/// The last entry of one audit chain, as an append links after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The chain.
    pub chain: u32,
    /// Its last entry's number.
    pub seq: u64,
    /// Its last entry's hash.
    pub hash: String,
}

/// A partner's answer claimed under its key, so that whichever process is
/// asked the same question again that day finds it (see
/// [`crate::AnswerStore`]). Erasing the subject removes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerClaim {
    /// The question's key (partner, day, what was asked, transaction id).
    pub key: String,
    /// The day (since the epoch, UTC) it was asked on.
    pub day: i64,
    /// The subject it is about.
    pub subject: SubjectId,
    /// The answer, as the service serialised it.
    pub body: String,
}

/// What an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Erasure {
    /// Events removed.
    pub events: u64,
    /// Scores removed.
    pub scores: u64,
    /// Control-plane records removed (consents, disputes, notices…).
    pub records: u64,
    /// Partners' answers about the subject removed.
    pub answers: u64,
}

/// A histogram of the latest score of every scored subject.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScoreDistribution {
    /// `(bucket start, subjects)` in ascending order; buckets are
    /// `bucket_width` points wide.
    pub buckets: Vec<(i32, u64)>,
    /// Subjects whose latest result is "not enough data".
    pub not_enough_data: u64,
}
