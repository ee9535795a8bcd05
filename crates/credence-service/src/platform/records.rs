//! The typed control-plane documents and how they map onto store records.

use super::{ApiError, ApiResult};
use credence_domain::SubjectId;
use credence_store::{Record, RecordFilter, RecordWrite, Store};
use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Separates parts of composite record ids; ids never contain it.
pub(crate) const SEP: char = '|';

/// A data furnisher and the event kinds it may report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Furnisher {
    /// Its id (as in events' `furnisher_id`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Event kinds it may report (`payment_made`, …).
    pub kinds: Vec<String>,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// A partner: asks with consent, offers perks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    /// Its id.
    pub id: String,
    /// Display name, shown to subjects.
    pub name: String,
    /// When it was registered.
    pub created_at: Timestamp,
}

/// A subject's short statement attached to one of their records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Who reported the record.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// The statement (at most 1,000 characters).
    pub text: String,
    /// When written.
    pub at: Timestamp,
}

/// Where a human-review request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Waiting for the operator.
    Queued,
    /// A person reviewed it.
    Closed,
}

/// A subject's request for a person to review an automated decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// Its id.
    pub id: String,
    /// What decision it is about.
    pub about: String,
    /// The subject's message.
    pub message: String,
    /// When asked.
    pub opened_at: Timestamp,
    /// Where it stands.
    pub status: ReviewStatus,
    /// The reviewer's answer.
    #[serde(default)]
    pub outcome: String,
    /// When closed.
    pub closed_at: Option<Timestamp>,
}

/// A freeze on a subject's file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Freeze {
    pub since: Timestamp,
}

/// Record kinds.
pub(crate) mod kind {
    pub const FURNISHER: &str = "furnisher";
    pub const PARTNER: &str = "partner";
    pub const PERK: &str = "perk";
    pub const CONSENT: &str = "consent";
    pub const DISPUTE: &str = "dispute";
    pub const STATEMENT: &str = "statement";
    pub const REVIEW: &str = "review";
    pub const FREEZE: &str = "freeze";
    pub const API_KEY: &str = "api_key";
    pub const SECRET: &str = "secret";
    pub const MODEL: &str = "model";
    pub const OVERRIDE: &str = "override";
    /// Which process writes a lapsed dispute's resolution (first wins).
    pub const LAPSE_CLAIM: &str = "lapse_claim";
}

/// Kinds read on every partner check and written rarely: cached.
const CACHED: [&str; 3] = [kind::PERK, kind::CONSENT, kind::FREEZE];
/// Entries kept before the cache starts over (a bound on memory).
const CACHE_LIMIT: usize = 1 << 20;

/// A write-through cache of the records a partner check reads (perks,
/// consents, freezes, and each subject's disputes), so a check costs two
/// store reads instead of six. Every write through [`Records`] updates it,
/// and an erasure clears it. Only the server writes these kinds (the
/// commands beside it write API keys, which the platform follows), so it
/// assumes one server process per database.
#[derive(Debug, Default)]
pub(crate) struct RecordCache {
    state: std::sync::RwLock<CacheState>,
}

#[derive(Debug, Default)]
struct CacheState {
    /// Bumped by every write, so a read that raced a write does not put a
    /// value older than the write's back into the cache.
    generation: u64,
    records: std::collections::HashMap<(&'static str, String), Option<Record>>,
    disputes: std::collections::HashMap<SubjectId, Vec<Record>>,
}

impl CacheState {
    /// `record` as now stored.
    fn put(&mut self, record: &Record) {
        if CACHED.contains(&record.kind) {
            self.records
                .insert((record.kind, record.id.clone()), Some(record.clone()));
        }
        if record.kind == kind::DISPUTE
            && let Some(subject) = &record.subject
        {
            self.disputes.remove(subject);
        }
    }
}

impl RecordCache {
    fn generation(&self) -> u64 {
        self.state.read().map_or(u64::MAX, |s| s.generation)
    }

    /// Caches what a read found, unless a write happened since `seen`.
    fn fill(&self, seen: u64, fill: impl FnOnce(&mut CacheState)) {
        if let Ok(mut state) = self.state.write()
            && state.generation == seen
        {
            if state.records.len() + state.disputes.len() >= CACHE_LIMIT {
                state.records.clear();
                state.disputes.clear();
            }
            fill(&mut state);
        }
    }

    /// Records a write (already in the store).
    fn written(&self, update: impl FnOnce(&mut CacheState)) {
        if let Ok(mut state) = self.state.write() {
            state.generation += 1;
            update(&mut state);
        }
    }

    /// Drops what is cached of one record that changed (another process's
    /// change, or this one's, from the store's change feed).
    pub fn forget(&self, kind: &str, id: &str, subject: Option<&str>) {
        let cached = CACHED.iter().find(|k| **k == kind);
        if cached.is_none() && kind != kind::DISPUTE {
            return;
        }
        self.written(|state| {
            if let Some(kind) = cached {
                state.records.remove(&(*kind, id.to_string()));
            }
            if kind == kind::DISPUTE {
                match subject.and_then(|s| SubjectId::new(s).ok()) {
                    Some(subject) => {
                        state.disputes.remove(&subject);
                    }
                    None => state.disputes.clear(),
                }
            }
        });
    }

    /// Drops everything (after an erasure, which deletes many records).
    pub fn clear(&self) {
        self.written(|state| {
            state.records.clear();
            state.disputes.clear();
        });
    }
}

/// Typed access to records, through the cache when there is one.
pub(crate) struct Records<'a> {
    store: &'a dyn Store,
    cache: Option<&'a RecordCache>,
}

impl<'a> Records<'a> {
    /// Straight to the store.
    pub fn uncached(store: &'a dyn Store) -> Self {
        Self { store, cache: None }
    }

    /// Through `cache`.
    pub fn cached(store: &'a dyn Store, cache: &'a RecordCache) -> Self {
        Self {
            store,
            cache: Some(cache),
        }
    }

    /// One record as stored.
    pub fn raw(&self, kind: &'static str, id: &str) -> ApiResult<Option<Record>> {
        let Some(cache) = self.cache.filter(|_| CACHED.contains(&kind)) else {
            return Ok(self.store.record(kind, id)?);
        };
        if let Ok(state) = cache.state.read()
            && let Some(hit) = state.records.get(&(kind, id.to_string()))
        {
            return Ok(hit.clone());
        }
        let seen = cache.generation();
        let record = self.store.record(kind, id)?;
        cache.fill(seen, |state| {
            state.records.insert((kind, id.to_string()), record.clone());
        });
        Ok(record)
    }

    /// Brings the cache up to date with changes the store has committed
    /// (with their audit entry).
    pub fn written(&self, writes: &[RecordWrite]) {
        let Some(cache) = self.cache else {
            return;
        };
        cache.written(|state| {
            for write in writes {
                match write {
                    RecordWrite::Put(record) => state.put(record),
                    // Perhaps not stored (another was first): read afresh.
                    RecordWrite::KeepFirst(record) => {
                        state.records.remove(&(record.kind, record.id.clone()));
                        if record.kind == kind::DISPUTE
                            && let Some(subject) = &record.subject
                        {
                            state.disputes.remove(subject);
                        }
                    }
                    RecordWrite::Delete { kind, id } => {
                        if CACHED.contains(kind) {
                            state.records.insert((kind, id.clone()), None);
                        }
                        if *kind == kind::DISPUTE {
                            state.disputes.clear();
                        }
                    }
                    // The subject's own row, which this cache does not hold.
                    RecordWrite::RestrictedDataConsent { .. } => {}
                }
            }
        });
    }

    /// A change that commits with the audit entry reporting it.
    pub fn put_write<T: Serialize>(
        kind: &'static str,
        id: String,
        subject: Option<&SubjectId>,
        owner: Option<&str>,
        body: &T,
    ) -> ApiResult<RecordWrite> {
        Self::record(kind, id, subject, owner, body).map(RecordWrite::Put)
    }

    /// A subject's disputes, as stored records.
    pub fn disputes_of(&self, subject: &SubjectId) -> ApiResult<Vec<Record>> {
        let Some(cache) = self.cache else {
            return Ok(self
                .store
                .records(kind::DISPUTE, RecordFilter::Subject(subject))?);
        };
        if let Ok(state) = cache.state.read()
            && let Some(hit) = state.disputes.get(subject)
        {
            return Ok(hit.clone());
        }
        let seen = cache.generation();
        let records = self
            .store
            .records(kind::DISPUTE, RecordFilter::Subject(subject))?;
        cache.fill(seen, |state| {
            state.disputes.insert(subject.clone(), records.clone());
        });
        Ok(records)
    }

    pub fn record<T: Serialize>(
        kind: &'static str,
        id: String,
        subject: Option<&SubjectId>,
        owner: Option<&str>,
        body: &T,
    ) -> ApiResult<Record> {
        Ok(Record {
            kind,
            id,
            subject: subject.cloned(),
            owner: owner.map(str::to_string),
            body: serde_json::to_string(body).map_err(ApiError::internal)?,
        })
    }

    pub fn get<T: DeserializeOwned>(&self, kind: &'static str, id: &str) -> ApiResult<Option<T>> {
        self.raw(kind, id)?.map(|r| decode(&r)).transpose()
    }

    pub fn list<T: DeserializeOwned>(
        &self,
        kind: &'static str,
        filter: RecordFilter<'_>,
    ) -> ApiResult<Vec<T>> {
        self.store
            .records(kind, filter)?
            .iter()
            .map(decode)
            .collect()
    }
}

pub(crate) fn decode<T: DeserializeOwned>(record: &Record) -> ApiResult<T> {
    serde_json::from_str(&record.body).map_err(|e| {
        ApiError::internal(format!(
            "stored {} record {:?} is unreadable: {e}",
            record.kind, record.id
        ))
    })
}
