//! The platform: roles, rights and guardrails as use cases over the store.
//!
//! Every method takes the authenticated [`Principal`] and checks it first,
//! so the HTTP layer cannot forget an authorisation check: it has no way to
//! reach a subject's data but through here. Every read of a subject's data,
//! every consent, freeze, dispute, erasure, key and model change is written
//! to the audit log before the answer leaves.

pub mod access;
mod answers;
pub mod audit;
pub mod checkpoints;
mod consents;
pub(crate) mod disputes;
mod error;
mod ingest;
mod models;
mod perks;
mod records;
mod registry;
mod rights;
mod stats;

pub use access::{ApiKey, Audience, IssuedKey, Principal, Role};
pub use answers::{Answering, EligibilityAnswer, PartnerQuestion, ScoreAnswer};
pub use audit::{AuditEvent, AuditLog, AuditPlace, AuditVerdict, ChainVerdict};
pub use checkpoints::{CheckpointKey, CheckpointVerdict};
pub use consents::{
    Consent, ConsentRequest, PartnerConsent, RestrictedDataConsent, RestrictedDataConsentChange,
    Scope,
};
pub use disputes::{
    DISPUTE_ANSWER_DAYS, Dispute, DisputeAnswer, DisputeAnswerKind, DisputeRequest, DisputeStatus,
    DisputedRecord, RecordRef,
};
pub use error::{ApiError, ApiResult, Code, RecordProblem};
pub use ingest::IngestReceipt;
pub use models::{Deployment, ModelCard};
pub use perks::{Perk, PerkStatus};
pub use records::{Furnisher, Partner, Review, ReviewStatus, Statement};
pub use registry::{FurnisherSpec, IssuedToken, KeySpec, PartnerSpec, SubjectSpec, TokenSpec};
pub use rights::{
    AccessEntry, Export, Notice, ReviewRequest, Scenario, ScorePoint, StatementRequest,
    SubjectView, WhatIf,
};
pub use stats::PopulationStats;

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

/// Declares a concept's use cases: a handle over the platform's shared
/// context (store, clock, audit log, secrets, caches), so each concept's
/// rules are methods of their own type in their own module
/// (`platform.consents().grant_consent(…)`), and `Platform` itself is only
/// the context. A handle reads the context through `Deref`: it is a view
/// of the platform, not a second owner of anything.
macro_rules! concepts {
    ($($(#[$doc:meta])* $name:ident => $accessor:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy)]
            pub struct $name<'p>(&'p Platform);

            impl std::ops::Deref for $name<'_> {
                type Target = Platform;
                fn deref(&self) -> &Platform {
                    self.0
                }
            }

            impl std::fmt::Debug for $name<'_> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(stringify!($name))
                }
            }
        )*

        impl Platform {
            $(
                $(#[$doc])*
                pub fn $accessor(&self) -> $name<'_> {
                    $name(self)
                }
            )*
        }
    };
}

concepts! {
    /// Partners' questions and their answers (`answers.rs`).
    Answers => answers;
    /// Signed checkpoints over the audit chains' heads (`checkpoints.rs`).
    Checkpoints => checkpoints;
    /// Subjects' consents to partners, and the restricted-data consent
    /// (`consents.rs`).
    Consents => consents;
    /// Disputes of records, their answers and lapses (`disputes.rs`).
    Disputes => disputes;
    /// Partners' perks and where subjects stand (`perks.rs`).
    Perks => perks;
    /// Furnishers, partners, keys, enrolment and tokens (`registry.rs`).
    Registry => registry;
    /// A subject's rights over their file (`rights.rs`).
    Rights => rights;
}

/// The platform over one store.
pub struct Platform {
    store: Arc<dyn Store>,
    scorer: RwLock<Arc<Scorer>>,
    ingestor: Ingestor,
    clock: Arc<dyn Clock>,
    secrets: Secrets,
    audit: AuditLog,
    /// The key audit checkpoints are signed with, and the newest known.
    signer: checkpoints::Signer,
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
    /// Today's eligibility answers, where this process answers alone.
    answer_book: Option<Arc<answers::AnswerBook>>,
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
    /// The cursor, readable without the lock: a look that finds the feed's
    /// head here has nothing to do, and takes no lock.
    seen: AtomicU64,
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
    /// writer, puts the deployed models in force and, when it answers
    /// partners alone, reads back the day's answers from the audit log (so
    /// repeats survive a restart).
    pub fn open(
        store: Arc<dyn Store>,
        config: &Config,
        clock: Arc<dyn Clock>,
        limits: Limits,
        answering: Answering,
    ) -> ApiResult<Self> {
        let secrets = Secrets::load_or_create(store.as_ref())?;
        let audit = AuditLog::start(store.clone())?;
        // Read before the keys: a change after this is noticed later.
        let cursor = store.record_change_head()?;
        let keys = load_keys(store.as_ref())?;
        let scorer = models::scorer_in_force(store.as_ref(), config)?;
        let answer_book = match answering {
            Answering::Alone => Some(Arc::new(answers::AnswerBook::load(
                store.as_ref(),
                clock.now(),
            )?)),
            Answering::Shared => None,
        };
        let platform = Self {
            ingestor: Ingestor::new(config)?,
            store,
            scorer: RwLock::new(Arc::new(scorer)),
            clock,
            secrets,
            audit,
            signer: checkpoints::Signer::default(),
            keys: RwLock::new(keys),
            record_cache: records::RecordCache::default(),
            changes: ChangeFollower {
                started: std::time::Instant::now(),
                next_look_ms: AtomicU64::new(FOLLOW_EVERY_MS),
                cursor: std::sync::Mutex::new(cursor),
                seen: AtomicU64::new(cursor),
            },
            config: config.clone(),
            answer_book,
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
            if self
                .records()
                .get::<Stated>(kind::OVERRIDE, &stated.what)?
                .as_ref()
                == Some(&body)
            {
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
                    &body,
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
        // The common case, nothing changed: one read of the feed's head,
        // no lock (every partner question makes this look).
        if self.store.record_change_head()? == watch.seen.load(Ordering::Acquire) {
            return Ok(());
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
            let scorer = models::scorer_in_force(self.store.as_ref(), &self.config)?;
            *self.scorer.write().map_err(|_| lock_poisoned())? = Arc::new(scorer);
        }
        // Only now may a look without the lock skip: what the cursor covers
        // is all in force.
        watch.seen.store(*cursor, Ordering::Release);
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
        let counted = disputes::counted(events, disputes);
        Ok(self
            .scorer()?
            .report_events(subject.clone(), &counted, as_of)?)
    }

    /// The subject's file as it counts toward the score now, as the compact
    /// log every score is computed from: the stored log itself when no
    /// dispute leaves a record out (nearly always: the fast path of a
    /// partner's check), otherwise the log of the counted events (the same
    /// rule, [`disputes::counted`], as the full report).
    fn counted_log(&self, id: &SubjectId) -> ApiResult<credence_domain::SubjectLog> {
        let disputes = self.disputes_of(id)?;
        if !disputes::any_excluding(&disputes) {
            return self
                .store
                .subject_log(id)?
                .filter(|log| log.subject().state == SubjectState::Enrolled)
                .ok_or_else(|| ApiError::not_found(format!("no enrolled subject {id}")));
        }
        let subject = self.enrolled(id)?;
        let events = self.store.subject_events(id)?;
        let counted = disputes::counted(&events, &disputes);
        credence_domain::SubjectLog::from_events(subject, &counted)
            .map_err(|e| ApiError::internal(format!("the stored file of {id} is corrupt: {e}")))
    }

    /// Score and dimensions now, the fast way: the counted log scored
    /// without the reasons and negative records a partner's check does
    /// not need. Same numbers as [`Self::assess`].
    pub(crate) fn quick_score(
        &self,
        id: &SubjectId,
    ) -> ApiResult<(Option<i32>, [Option<u8>; 5], credence_domain::SubjectKind)> {
        let log = self.counted_log(id)?;
        let scorer = self.scorer()?;
        let (_, summary) = scorer.assess(&mut scorer.engine(), &log, self.now());
        Ok((
            summary.as_ref().map(|s| s.score),
            summary.map_or([None; 5], |s| s.dimensions),
            log.subject().kind,
        ))
    }

    /// A report's five dimensions in [`credence_features::Dimension::ALL`]
    /// order, as stored scores keep them.
    pub(crate) fn dimensions_of(report: &ScoreReport) -> [Option<u8>; 5] {
        credence_features::Dimension::ALL
            .map(|d| report.dimensions.get(d.name()).copied().flatten())
    }
}

/// Two platforms over one database (on the backend under test, see
/// `test_store`), as two server processes (or nodes) would be: for the
/// tests of what holds across processes.
#[cfg(test)]
pub(crate) fn two_processes(path: &std::path::Path, clock: Arc<dyn Clock>) -> (Platform, Platform) {
    let open = || {
        let store = crate::test_store::open(path);
        Platform::open(
            store,
            &Config::default(),
            clock.clone(),
            Limits::default(),
            Answering::Shared,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    (open(), open())
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
        audit::every_entry(store)
            .into_iter()
            .filter(|e| e.action == "catalogue.override")
            .map(|e| e.detail)
            .collect()
    }

    #[test]
    fn a_stated_override_is_audited_once_and_again_when_its_reason_changes() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = crate::test_store::open(&dir.path().join("db"));
        let open = |reason: &str| {
            let platform = Platform::open(
                store.clone(),
                &config(reason),
                Arc::new(crate::SystemClock),
                Limits::default(),
                Answering::default(),
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
            audit::verify(store.as_ref(), None)
                .map(|v| v.intact)
                .unwrap_or_default()
        );
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
        let (one, two) = two_processes(&path, clock.clone());
        let operator = Principal::System { name: "test" };
        one.registry()
            .put_partner(
                &operator,
                &registry::PartnerSpec {
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
        one.consents()
            .grant_consent(
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
            .consents()
            .partner_consents(&partner)
            .unwrap_or_else(|e| panic!("{e}"))[0]
            .pseudonym
            .clone();
        let ask = |platform: &Platform, transaction: &str| {
            platform.answers().partner_score(
                &partner,
                &answers::PartnerQuestion {
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
        one.consents()
            .revoke_consent(&subject, "bikes")
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = ask(&two, "t3").map_err(|e| e.code);
        assert_eq!(refused.err(), Some(Code::ConsentRequired));
        one.close();
        two.close();
    }
}
