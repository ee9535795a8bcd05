//! The platform: roles, rights and guardrails as use cases over the store.
//!
//! Every method takes the authenticated [`Principal`] and checks it first,
//! so the HTTP layer cannot forget an authorisation check: it has no way to
//! reach a subject's data but through here. Every read of a subject's data,
//! every consent, freeze, dispute, erasure, key and model change is written
//! to the audit log before the answer leaves.

pub mod access;
pub mod audit;
mod error;
mod furnisher;
mod operator;
mod partner;
mod records;
mod subject;

pub use access::{ApiKey, Audience, IssuedKey, Principal, Role};
pub use audit::{AuditEvent, AuditLog, AuditVerdict};
pub use error::{ApiError, ApiResult, Code, RecordProblem};
pub use furnisher::{DisputeAnswer, DisputeAnswerKind, IngestReceipt};
pub use operator::{
    FurnisherSpec, IssuedToken, KeySpec, ModelCard, PartnerSpec, PopulationStats, SubjectSpec,
    TokenSpec,
};
pub use partner::{EligibilityAnswer, PartnerConsent, PartnerQuestion, ScoreAnswer};
pub use records::{
    Consent, Deployment, Dispute, DisputeStatus, Furnisher, Partner, Perk, RecordRef, Review,
    ReviewStatus, Scope, Statement,
};
pub use subject::{
    AccessEntry, ConsentRequest, DisputeRequest, DisputedRecord, Export, Notice, PerkStatus,
    RestrictedDataConsent, RestrictedDataConsentChange, ReviewRequest, Scenario, ScorePoint,
    StatementRequest, SubjectView, WhatIf,
};

use crate::{Clock, Config, Ingestor, Scorer};

/// The record kind of a furnisher's registration (read by ingest).
pub(crate) const FURNISHER_RECORD: &str = records::kind::FURNISHER;
use access::Secrets;
use credence_domain::{Event, Subject, SubjectId, SubjectState};
use credence_scorecard::ScoreReport;
use credence_store::{RecordWrite, Store};
use jiff::Timestamp;
use records::{Records, kind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Limits on what one request may carry.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Events in one furnisher batch.
    pub max_batch_events: usize,
    /// Longest a subject token may live, in minutes.
    pub max_token_minutes: i64,
    /// Longest a consent may run, in days.
    pub max_consent_days: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_batch_events: 10_000,
            max_token_minutes: 24 * 60,
            max_consent_days: 2 * 366,
        }
    }
}

/// Days a furnisher has to answer a dispute before it resolves for the
/// subject (China's limit; stricter than the US 30).
pub const DISPUTE_ANSWER_DAYS: i64 = 20;

/// The platform over one store.
pub struct Platform {
    store: Arc<dyn Store>,
    scorer: RwLock<Arc<Scorer>>,
    ingestor: Ingestor,
    clock: Arc<dyn Clock>,
    secrets: Secrets,
    audit: AuditLog,
    /// API keys by id. Keys are few and checked on every request; the cache
    /// is written through on create and revoke, so a revocation is in force
    /// for the next request of this process, and reloaded when another
    /// process changes records (see [`OtherWriters`]).
    keys: RwLock<HashMap<String, ApiKey>>,
    record_cache: records::RecordCache,
    changes: ChangeFollower,
    /// The configuration, for rebuilding the model in force when another
    /// process deploys one.
    config: Config,
    answers: Arc<partner::AnswerBook>,
    limits: Limits,
}

/// How often requests look for records another process wrote.
const FOLLOW_EVERY_MS: u64 = 250;

/// Follows the store's change feed, so what this process caches (API keys,
/// the record cache, the model in force) never outlives a change another
/// process made: `credence keys revoke` beside a running server, or
/// another server node on the same database. Requests look at most every
/// [`FOLLOW_EVERY_MS`]; a partner's question, whose answer depends on a
/// consent, a freeze or a perk, and a key nobody here knows, look at once.
/// Each change invalidates exactly its record (own writes too, at the cost
/// of one read); a reader too far behind the pruned feed drops everything.
#[derive(Debug)]
struct ChangeFollower {
    started: std::time::Instant,
    /// Milliseconds after `started` when the next look is due.
    next_look_ms: AtomicU64,
    /// The feed cursor what this process holds reflects.
    cursor: std::sync::Mutex<u64>,
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform").finish_non_exhaustive()
    }
}

/// A subject's file as scoring sees it: disputed records left out.
pub(crate) struct Assessment {
    pub subject: Subject,
    pub events: Vec<Event>,
    pub report: ScoreReport,
    pub disputes: Vec<Dispute>,
}

/// Changes read from the feed at a time.
const FEED_PAGE: usize = 1_024;

/// Every API key, by id.
fn load_keys(store: &dyn Store) -> ApiResult<HashMap<String, ApiKey>> {
    Ok(Records::uncached(store)
        .list::<ApiKey>(kind::API_KEY, credence_store::RecordFilter::All)?
        .into_iter()
        .map(|key| (key.id.clone(), key))
        .collect())
}

fn lock_poisoned() -> ApiError {
    ApiError::internal("a lock was poisoned by an earlier panic")
}

impl Platform {
    /// Opens the platform: loads or creates its secrets, starts the audit
    /// writer, puts the deployed models in force and reads back the day's
    /// partner answers from the audit log (so repeats survive a restart).
    pub fn open(
        store: Arc<dyn Store>,
        config: &Config,
        clock: Arc<dyn Clock>,
        limits: Limits,
    ) -> ApiResult<Self> {
        let secrets = Secrets::load_or_create(store.as_ref())?;
        let audit = AuditLog::start(store.clone())?;
        // Read before the keys: a change after this is noticed later.
        let cursor = store.record_change_head()?;
        let keys = load_keys(store.as_ref())?;
        let scorer = operator::scorer_in_force(store.as_ref(), config)?;
        let answers = Arc::new(partner::AnswerBook::load(store.as_ref(), clock.now())?);
        let platform = Self {
            ingestor: Ingestor::new(config)?,
            store,
            scorer: RwLock::new(Arc::new(scorer)),
            clock,
            secrets,
            audit,
            keys: RwLock::new(keys),
            record_cache: records::RecordCache::default(),
            changes: ChangeFollower {
                started: std::time::Instant::now(),
                next_look_ms: AtomicU64::new(FOLLOW_EVERY_MS),
                cursor: std::sync::Mutex::new(cursor),
            },
            config: config.clone(),
            answers,
            limits,
        };
        platform.audit_overrides()?;
        Ok(platform)
    }

    /// Writes each override the configuration states to the audit log, the
    /// first time a server runs with it (or with a new reason): a
    /// declaration kept against its name's suggestion is on the record.
    fn audit_overrides(&self) -> ApiResult<()> {
        #[derive(serde::Serialize, serde::Deserialize, PartialEq)]
        struct Stated {
            declared: String,
            reason: String,
        }
        for stated in self.ingestor.catalogue().overrides() {
            let body = Stated {
                declared: stated.declared.to_string(),
                reason: stated.reason.clone(),
            };
            if self.records().get::<Stated>(kind::OVERRIDE, &stated.what)? == Some(body) {
                continue;
            }
            self.audit_event(AuditEvent {
                actor: "system".into(),
                action: "catalogue.override",
                subject_ref: None,
                detail: format!(
                    "{} is kept as {} against its name's suggestion: {}",
                    stated.what, stated.declared, stated.reason
                ),
                writes: vec![Records::put_write(
                    kind::OVERRIDE,
                    stated.what.clone(),
                    None,
                    None,
                    &Stated {
                        declared: stated.declared.to_string(),
                        reason: stated.reason,
                    },
                )?],
                answer: None,
            })?;
        }
        Ok(())
    }

    /// The event kinds this platform accepts (built-in and declared).
    pub fn catalogue(&self) -> &credence_domain::Catalogue {
        self.ingestor.catalogue()
    }

    /// The store.
    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    /// Now, by the platform's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The models in force.
    pub fn scorer(&self) -> ApiResult<Arc<Scorer>> {
        self.scorer
            .read()
            .map(|s| s.clone())
            .map_err(|_| lock_poisoned())
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Stops the audit writer after it has written everything queued.
    pub fn close(&self) {
        self.audit.close();
    }

    /// The audit log (for callers that submit without waiting).
    pub fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Who a credential (an API key or a subject token) belongs to.
    pub fn authenticate(&self, credential: Option<&str>) -> ApiResult<Principal> {
        let Some(credential) = credential.map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(ApiError::new(
                Code::Unauthenticated,
                "this operation needs credentials: an API key or a subject token",
            ));
        };
        self.follow_changes(false)?;
        if credential.starts_with("st1.") {
            let id = self.secrets.verify_subject_token(credential, self.now())?;
            return Ok(Principal::Subject { id });
        }
        let key = access::check_key(credential, |id| {
            let known = |keys: &RwLock<HashMap<String, ApiKey>>| {
                keys.read()
                    .map(|keys| keys.get(id).cloned())
                    .map_err(|_| lock_poisoned())
            };
            match known(&self.keys)? {
                Some(key) => Ok(Some(key)),
                // Perhaps created a moment ago by `credence keys create`.
                None => {
                    self.follow_changes(true)?;
                    known(&self.keys)
                }
            }
        })?;
        Ok(match key.role {
            Role::Operator => Principal::Operator { key_id: key.id },
            Role::Furnisher => Principal::Furnisher {
                id: key.principal,
                key_id: key.id,
            },
            Role::Partner => Principal::Partner {
                id: key.principal,
                key_id: key.id,
            },
        })
    }

    /// Reloads the keys when records changed since they were loaded.
    /// Unless `now`, only one request per [`FOLLOW_EVERY_MS`] looks.
    pub(crate) fn follow_changes(&self, now: bool) -> ApiResult<()> {
        let watch = &self.changes;
        if !now {
            let elapsed = watch.started.elapsed().as_millis() as u64;
            let due = watch.next_look_ms.load(Ordering::Relaxed);
            if elapsed < due
                || watch
                    .next_look_ms
                    .compare_exchange(
                        due,
                        elapsed + FOLLOW_EVERY_MS,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    )
                    .is_err()
            {
                return Ok(());
            }
        }
        // One follower at a time; the cursor moves only after what it
        // covers is invalidated, so no change is skipped.
        let mut cursor = watch.cursor.lock().map_err(|_| lock_poisoned())?;
        let (mut keys, mut models) = (false, false);
        loop {
            let feed = self.store.record_changes(*cursor, FEED_PAGE)?;
            if !feed.complete {
                self.record_cache.clear();
                (keys, models) = (true, true);
            }
            for change in &feed.changes {
                match change.kind.as_str() {
                    kind::API_KEY => keys = true,
                    kind::MODEL => models = true,
                    credence_store::ERASURE_CHANGE => self.record_cache.clear(),
                    other => self
                        .record_cache
                        .forget(other, &change.id, change.subject.as_deref()),
                }
            }
            *cursor = feed.next;
            if feed.changes.len() < FEED_PAGE {
                break;
            }
        }
        if keys {
            // The write lock is held across the read, so a key this process
            // revokes meanwhile is not put back by a read from before it.
            let mut held = self.keys.write().map_err(|_| lock_poisoned())?;
            *held = load_keys(self.store.as_ref())?;
        }
        if models {
            let scorer = operator::scorer_in_force(self.store.as_ref(), &self.config)?;
            *self.scorer.write().map_err(|_| lock_poisoned())? = Arc::new(scorer);
        }
        Ok(())
    }

    pub(crate) fn records(&self) -> Records<'_> {
        Records::cached(self.store.as_ref(), &self.record_cache)
    }

    /// Forgets every cached record (after an erasure).
    pub(crate) fn clear_record_cache(&self) {
        self.record_cache.clear();
    }

    pub(crate) fn subject_ref(&self, id: &SubjectId) -> String {
        self.secrets.subject_ref(id)
    }

    /// Writes an audit entry and waits until it is durable.
    pub(crate) fn audit(
        &self,
        actor: &Principal,
        action: &'static str,
        subject: Option<&SubjectId>,
        detail: impl Into<String>,
    ) -> ApiResult<()> {
        self.audit_writing(actor, action, subject, detail, Vec::new())
    }

    /// Writes an audit entry and the record changes it reports in one
    /// transaction, and waits until both are durable: a change is never
    /// stored without its entry, nor its entry without the change.
    pub(crate) fn audit_writing(
        &self,
        actor: &Principal,
        action: &'static str,
        subject: Option<&SubjectId>,
        detail: impl Into<String>,
        writes: Vec<RecordWrite>,
    ) -> ApiResult<()> {
        self.audit_event(AuditEvent {
            actor: actor.actor(),
            action,
            subject_ref: subject.map(|s| self.subject_ref(s)),
            detail: detail.into(),
            writes,
            answer: None,
        })
    }

    /// Writes `event` (and its record changes), waits until it is durable,
    /// then brings the record cache up to date with the changes.
    pub(crate) fn audit_event(&self, event: AuditEvent) -> ApiResult<()> {
        let writes = event.writes.clone();
        self.audit
            .record(event, self.now())
            .map_err(|e| ApiError::new(Code::Unavailable, e))?;
        if !writes.is_empty() {
            self.records().written(&writes);
        }
        Ok(())
    }

    /// An enrolled subject, or not found.
    pub(crate) fn enrolled(&self, id: &SubjectId) -> ApiResult<Subject> {
        match self.store.subject(id)? {
            Some(subject) if subject.state == SubjectState::Enrolled => Ok(subject),
            _ => Err(ApiError::not_found(format!("no enrolled subject {id}"))),
        }
    }

    /// The subject's disputes as they stand now (one unanswered past its
    /// deadline is resolved for the subject). Reading never writes, so a
    /// partner's check never waits on the audit log for a lapse; the lapse
    /// is written by [`Self::settle_lapsed_disputes`] and the queues.
    pub(crate) fn disputes_of(&self, id: &SubjectId) -> ApiResult<Vec<Dispute>> {
        let now = self.now();
        self.records()
            .disputes_of(id)?
            .iter()
            .map(|r| records::decode::<Dispute>(r).map(|d| d.as_of(now)))
            .collect()
    }

    /// Writes the resolution of a dispute whose deadline passed unanswered,
    /// once however many processes settle it at the same time: a claim
    /// record (first writer wins) decides which one writes it. A claim left
    /// by a process that died before writing is taken over after a while.
    /// Returns whether this call wrote it.
    fn record_lapse(&self, subject: &SubjectId, stored: Dispute) -> ApiResult<bool> {
        const CLAIM_EXPIRES_SECONDS: i64 = 300;
        let now = self.now();
        let claim = Records::record(
            kind::LAPSE_CLAIM,
            stored.id.clone(),
            Some(subject),
            None,
            &now,
        )?;
        if let Some(existing) = self.store.insert_record_once(&claim)? {
            let claimed_at: Timestamp = records::decode(&existing)?;
            if now.as_second() - claimed_at.as_second() < CLAIM_EXPIRES_SECONDS {
                return Ok(false); // another process is writing it
            }
            self.store.put_records(std::slice::from_ref(&claim))?;
        }
        // Still open as stored? (The claim may be a stale one taken over
        // after its writer did finish.)
        let current = self
            .store
            .record(kind::DISPUTE, &stored.id)?
            .map(|r| records::decode::<Dispute>(&r))
            .transpose()?;
        if current.is_none_or(|d| d.status != DisputeStatus::Open) {
            return Ok(false);
        }
        let lapsed = stored.as_of(now);
        // The deadline acts, not an operator: the audit says so.
        self.audit_event(AuditEvent {
            actor: "system".into(),
            action: "dispute.lapsed",
            subject_ref: Some(self.subject_ref(subject)),
            detail: format!(
                "dispute {} resolved for the subject after {DISPUTE_ANSWER_DAYS} days without an answer",
                lapsed.id
            ),
            writes: vec![Records::put_write(
                kind::DISPUTE,
                lapsed.id.clone(),
                Some(subject),
                Some(&lapsed.furnisher_id),
                &lapsed,
            )?],
            answer: None,
        })?;
        Ok(true)
    }

    /// Scores a subject now, leaving out records under dispute (or resolved
    /// against the furnisher).
    pub(crate) fn assess(&self, id: &SubjectId) -> ApiResult<Assessment> {
        let subject = self.enrolled(id)?;
        let events = self.store.subject_events(id)?;
        let disputes = self.disputes_of(id)?;
        let report = self.report_without_disputed(&subject, &events, &disputes, self.now())?;
        Ok(Assessment {
            subject,
            events,
            report,
            disputes,
        })
    }

    pub(crate) fn report_without_disputed(
        &self,
        subject: &Subject,
        events: &[Event],
        disputes: &[Dispute],
        as_of: Timestamp,
    ) -> ApiResult<ScoreReport> {
        let excluded = |event: &Event| {
            disputes
                .iter()
                .any(|d| d.status.excludes_record() && d.concerns(&event.key))
        };
        let counted: Vec<Event> = if disputes.is_empty() {
            events.to_vec()
        } else {
            events.iter().filter(|e| !excluded(e)).cloned().collect()
        };
        Ok(self
            .scorer()?
            .report_events(subject.clone(), &counted, as_of)?)
    }

    /// Score and dimensions now, the fast way: straight from the stored
    /// compact log when no dispute changes what counts (a partner's check
    /// needs no reasons or negative records). Same numbers as [`Self::assess`].
    pub(crate) fn quick_score(
        &self,
        id: &SubjectId,
    ) -> ApiResult<(Option<i32>, [Option<u8>; 5], credence_domain::SubjectKind)> {
        let disputes = self.disputes_of(id)?;
        if disputes.iter().any(|d| d.status.excludes_record()) {
            let assessment = self.assess(id)?;
            let report = &assessment.report;
            return Ok((
                report.score,
                Self::dimensions_of(report),
                assessment.subject.kind,
            ));
        }
        let log = self
            .store
            .subject_log(id)?
            .filter(|log| log.subject().state == SubjectState::Enrolled)
            .ok_or_else(|| ApiError::not_found(format!("no enrolled subject {id}")))?;
        let scorer = self.scorer()?;
        let (_, summary) = scorer.assess(&mut scorer.engine(), &log, self.now());
        Ok((
            summary.as_ref().map(|s| s.score),
            summary.map_or([None; 5], |s| s.dimensions),
            log.subject().kind,
        ))
    }

    /// Settles every dispute past its deadline; returns how many.
    pub fn settle_lapsed_disputes(&self) -> ApiResult<usize> {
        Ok(self
            .settle_and_list_open(credence_store::RecordFilter::All)?
            .1)
    }

    /// The disputes still open among `filter`'s, after settling those past
    /// their deadline (one scan for both), and how many were settled.
    pub(crate) fn settle_and_list_open(
        &self,
        filter: credence_store::RecordFilter<'_>,
    ) -> ApiResult<(Vec<Dispute>, usize)> {
        let now = self.now();
        let mut open = Vec::new();
        let mut settled = 0;
        for record in self.store.records(kind::DISPUTE, filter)? {
            let dispute: Dispute = records::decode(&record)?;
            if dispute.status != DisputeStatus::Open {
                continue;
            }
            if now < dispute.answer_due {
                open.push(dispute);
            } else if let Some(subject) = &record.subject
                && self.record_lapse(subject, dispute)?
            {
                settled += 1;
            }
        }
        Ok((open, settled))
    }

    /// A report's five dimensions in [`credence_features::Dimension::ALL`]
    /// order, as stored scores keep them.
    pub(crate) fn dimensions_of(report: &ScoreReport) -> [Option<u8>; 5] {
        credence_features::Dimension::ALL
            .map(|d| report.dimensions.get(d.name()).copied().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(reason: &str) -> Config {
        Config::from_toml(&format!(
            r#"
[[custom_kinds]]
name = "city_fee_paid"
category = "payment"
override = "{reason}"
"#
        ))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn overrides(store: &dyn Store) -> Vec<String> {
        store
            .audit_entries(0, 100)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .filter(|e| e.action == "catalogue.override")
            .map(|e| e.detail)
            .collect()
    }

    #[test]
    fn a_stated_override_is_audited_once_and_again_when_its_reason_changes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store: Arc<dyn Store> = Arc::new(
            credence_store_sqlite::SqliteStore::open(&dir.path().join("db"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let open = |reason: &str| {
            let platform = Platform::open(
                store.clone(),
                &config(reason),
                Arc::new(crate::SystemClock),
                Limits::default(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            platform.close();
        };
        open("a fee for a municipal service, not where anyone lives");
        open("a fee for a municipal service, not where anyone lives");
        assert_eq!(
            overrides(store.as_ref()),
            [
                "custom kind city_fee_paid is kept as payment against its name's suggestion: a fee for a municipal service, not where anyone lives"
            ],
            "written once, however often a server starts with it"
        );
        open("the city's water bill");
        assert_eq!(
            overrides(store.as_ref()).len(),
            2,
            "a new reason is audited"
        );
        assert!(
            audit::verify(store.as_ref())
                .map(|v| v.intact)
                .unwrap_or_default()
        );
    }

    /// A clock the test moves.
    struct Moving(std::sync::atomic::AtomicI64);

    impl Clock for Moving {
        fn now(&self) -> Timestamp {
            Timestamp::from_second(self.0.load(std::sync::atomic::Ordering::SeqCst))
                .unwrap_or(Timestamp::UNIX_EPOCH)
        }
    }

    fn lapses(store: &dyn Store) -> usize {
        store
            .audit_entries(0, 1_000)
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .filter(|e| e.action == "dispute.lapsed")
            .count()
    }

    /// Two processes on one database (two platforms here) settling the
    /// same lapsed dispute at once write one lapse; and reading a lapsed
    /// dispute (a subject's page, a partner's check) writes none: it is
    /// resolved for the subject by its deadline, not by whoever reads.
    #[test]
    fn a_lapse_is_written_once_however_many_settle_it_and_never_by_a_read() {
        use credence_domain::build::EventFactory;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        let start = 1_790_000_000;
        let clock = Arc::new(Moving(std::sync::atomic::AtomicI64::new(start)));
        let open = || {
            let store: Arc<dyn Store> = Arc::new(
                credence_store_sqlite::SqliteStore::open(&path).unwrap_or_else(|e| panic!("{e}")),
            );
            Platform::open(store, &Config::default(), clock.clone(), Limits::default())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let (one, two) = (open(), open());
        let now = clock.now();
        let mut f = EventFactory::new("bank", "s1").recorded_at(now);
        let day = |n: i64| Timestamp::from_second(start - n * 86_400).unwrap_or(now);
        one.store()
            .append_events(&[
                f.enrolled(day(400), credence_domain::SubjectKind::Person, false),
                f.account_opened(day(300), "a", credence_domain::AccountType::Loan, None),
                f.bill(day(60), "a", "b1", 100),
                f.payment(day(15), "a", Some("b1"), 100, 45),
            ])
            .unwrap_or_else(|e| panic!("{e}"));
        let subject = Principal::Subject {
            id: SubjectId::new("s1").unwrap_or_else(|e| panic!("{e}")),
        };
        let dispute = one
            .open_dispute(
                &subject,
                &DisputeRequest {
                    furnisher_id: "bank".into(),
                    event_id: "s1-3".into(),
                    reason: "paid on time".into(),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        clock.0.fetch_add(
            (DISPUTE_ANSWER_DAYS + 1) * 86_400,
            std::sync::atomic::Ordering::SeqCst,
        );
        let seen = one.my_disputes(&subject).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seen[0].id, dispute.id);
        assert_eq!(seen[0].status, DisputeStatus::ResolvedForSubject);
        assert_eq!(lapses(one.store()), 0, "a read writes no lapse");

        let settled: usize = std::thread::scope(|scope| {
            let a = scope.spawn(|| one.settle_lapsed_disputes());
            let b = scope.spawn(|| two.settle_lapsed_disputes());
            [a, b]
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| panic!("a sweep panicked"))
                        .unwrap_or_else(|e| panic!("{e}"))
                })
                .sum()
        });
        assert_eq!(settled, 1, "one of the two sweeps wrote it");
        assert_eq!(two.settle_lapsed_disputes().ok(), Some(0));
        assert_eq!(lapses(one.store()), 1);
        one.close();
        two.close();
    }

    /// Two server nodes on one database (two platforms here): a consent
    /// revoked through one is refused at once by a partner's question to
    /// the other, and a model deployed through one scores in the other.
    #[test]
    fn what_one_process_changes_another_obeys_at_once() {
        use credence_domain::build::EventFactory;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("db");
        let clock = Arc::new(crate::FixedClock(
            Timestamp::from_second(1_790_000_000).unwrap_or(Timestamp::UNIX_EPOCH),
        ));
        let open = || {
            let store: Arc<dyn Store> = Arc::new(
                credence_store_sqlite::SqliteStore::open(&path).unwrap_or_else(|e| panic!("{e}")),
            );
            Platform::open(store, &Config::default(), clock.clone(), Limits::default())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let (one, two) = (open(), open());
        let operator = Principal::System { name: "test" };
        one.put_partner(
            &operator,
            &operator::PartnerSpec {
                id: "bikes".into(),
                name: "Bikes".into(),
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let now = clock.now();
        let day = |n: i64| Timestamp::from_second(now.as_second() - n * 86_400).unwrap_or(now);
        let mut f = EventFactory::new("bank", "s1").recorded_at(now);
        let mut events = vec![
            f.enrolled(day(700), credence_domain::SubjectKind::Person, false),
            f.account_opened(day(650), "a", credence_domain::AccountType::Loan, None),
        ];
        for month in 0..20 {
            let due = day(600 - month * 30);
            let bill = format!("b{month}");
            events.push(f.bill(due, "a", &bill, 100));
            events.push(f.payment(due, "a", Some(&bill), 100, 0));
        }
        one.store()
            .append_events(&events)
            .unwrap_or_else(|e| panic!("{e}"));
        let subject = Principal::Subject {
            id: SubjectId::new("s1").unwrap_or_else(|e| panic!("{e}")),
        };
        one.grant_consent(
            &subject,
            &ConsentRequest {
                partner_id: "bikes".into(),
                scope: Scope::Score,
                purpose: "deposit-free rides".into(),
                expires_at: "2027-12-01T00:00:00Z".into(),
                perk_ids: None,
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let partner = Principal::Partner {
            id: "bikes".into(),
            key_id: "k".into(),
        };
        let pseudonym = two
            .partner_consents(&partner)
            .unwrap_or_else(|e| panic!("{e}"))[0]
            .pseudonym
            .clone();
        let ask = |platform: &Platform, transaction: &str| {
            platform.partner_score(
                &partner,
                &partner::PartnerQuestion {
                    pseudonym: pseudonym.clone(),
                    transaction_id: transaction.into(),
                    perk_id: None,
                },
            )
        };
        let first = ask(&two, "t1").unwrap_or_else(|e| panic!("{e}"));
        assert!(first.score.is_some(), "{first:?}");

        // A model deployed through one scores in the other.
        let mut model = credence_scorecard::default_model(credence_domain::SubjectKind::Person)
            .unwrap_or_else(|e| panic!("{e}"));
        model.version = "9.9.9".into();
        model.seal();
        one.deploy_model(&operator, &model.to_json())
            .unwrap_or_else(|e| panic!("{e}"));
        let after = ask(&two, "t2").unwrap_or_else(|e| panic!("{e}"));
        assert!(after.model_version.ends_with("@9.9.9"), "{after:?}");

        // A consent revoked through one is refused by the other at once.
        one.revoke_consent(&subject, "bikes")
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = ask(&two, "t3").map_err(|e| e.code);
        assert_eq!(refused.err(), Some(Code::ConsentRequired));
        one.close();
        two.close();
    }
}
