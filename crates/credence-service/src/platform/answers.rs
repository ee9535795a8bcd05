//! Partner answers: a partner asks about a subject it knows only by its
//! own pseudonym, within a consent's scope: eligibility for a perk (yes or
//! no), the score, or the full report with every identifier pseudonymised
//! for it. The same transaction id on the same day gets the same answer,
//! whichever server node is asked: a process answering alone keeps the
//! day's eligibility answers in memory (the [`AnswerBook`]); processes
//! sharing a database claim each answer's key in the store before the
//! answer leaves ([`Answering`]). Every answer is audited before it leaves.

use super::audit::AuditPlace;
use super::perks::perk_verdict;
use super::records::{SEP, kind};
use super::{ApiError, ApiResult, AuditEvent, Code, Perk, Platform, Principal, Scope};
use credence_domain::SubjectId;
use credence_store::{AnswerClaim, Store};
use serde::{Deserialize, Serialize};

/// A partner's question about one subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerQuestion {
    /// The subject, by this partner's pseudonym.
    pub pseudonym: String,
    /// The partner's transaction id: repeated asks within a day under one
    /// transaction id get the same answer.
    pub transaction_id: String,
    /// For eligibility: the perk asked about.
    #[serde(default)]
    pub perk_id: Option<String>,
}

/// Yes or no; never the number.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EligibilityAnswer {
    /// The perk.
    pub perk_id: String,
    /// The answer.
    pub eligible: bool,
    /// The transaction it answers.
    pub transaction_id: String,
    /// When it was first answered.
    pub answered_at: String,
    /// True when this repeats an earlier answer of the same day.
    #[serde(default)]
    pub repeated: bool,
}

/// Score and band (scope `score` or wider).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScoreAnswer {
    /// 350–950, or none for a thin file.
    pub score: Option<i32>,
    /// The band: `poor`, `fair`, `good`, `very_good` or `excellent`.
    pub band: Option<String>,
    /// The model that made it.
    pub model_version: String,
    /// The transaction it answers.
    pub transaction_id: String,
    /// When it was first answered.
    pub answered_at: String,
    /// True when this repeats an earlier answer of the same day.
    #[serde(default)]
    pub repeated: bool,
}

pub(super) fn partner_of(principal: &Principal) -> ApiResult<&str> {
    match principal {
        Principal::Partner { id, .. } => Ok(id),
        _ => Err(super::Audience::Partners.refusal()),
    }
}

pub(super) fn check_transaction_id(id: &str) -> ApiResult<()> {
    if id.is_empty()
        || id.chars().count() > 128
        || id.contains(SEP)
        || id.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "transaction_id",
            "`transaction_id` must be 1–128 printable characters without `|`",
        ));
    }
    Ok(())
}

/// Who else answers partners on this database, which decides where the
/// day's answers are kept so a repeated question gets the same answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Answering {
    /// This process alone (it holds the database's serving claim, as a
    /// server on an embedded file does): eligibility answers are kept in
    /// their audit entries and found through the in-memory
    /// [`AnswerBook`], so a new question costs no read of the store.
    Alone,
    /// Any number of processes (server nodes over one PostgreSQL): every
    /// answer's key is claimed in the store before the answer leaves, and
    /// the first claim answers for every node. The safe choice, and the
    /// default.
    #[default]
    Shared,
}

/// A decided answer or refusal, waiting for its audit entry to be written:
/// nothing reaches the partner before its entry is durable.
// Lives for one request on the stack; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Decided<T> {
    /// The answer, once its entry is durable (and then remembered).
    ToAudit(T, AuditEvent, Option<AnswerId>),
    /// A refusal the subject will see in their access log, once durable.
    Refused(ApiError, AuditEvent),
}

/// Where a question's answer is kept, and the day it belongs to; also
/// what the [`AnswerBook`] remembers once the answer's entry is durable.
struct AnswerId {
    key: String,
    day: i64,
}

/// Where the [`AnswerBook`] says an answer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Whereabouts {
    /// Not given today: the question is new.
    Absent,
    /// Probably in this audit entry (the entry's key must be checked: a
    /// different key may share the hash); otherwise ask the store.
    At(AuditPlace),
    /// The book cannot tell: ask the store.
    AskTheStore,
}

/// Where today's eligibility answers are in the audit log, in memory, so a
/// partner's check never reads the store to learn that its transaction id
/// is new (nearly every check), and reads one entry by its place when it
/// is not.
///
/// At start the book reads, on every chain, the entries written since the
/// start of the day; afterwards answers are added once durable, in the
/// audit writer's order (the log's order: the first written wins). It
/// keeps a hash of each key and the entry's place, about 40 bytes an
/// answer. It is exact while one server answers partners on a database,
/// as the embedded store enforces; answering from many nodes needs the
/// answer's key written once in the audit transaction (a lookup through
/// an index for every new question halved the checks a second).
/// Past `limit` answers in a day it stops vouching for absence and the
/// store is asked instead (by the subject and the key), until the next
/// day: a bound on memory, not on the answers given. (The store, asked
/// about one subject, cannot tell that a transaction id was used today for
/// another subject: past the bound such a reuse is answered afresh, about
/// the subject asked, instead of being refused as a conflict.)
#[derive(Debug)]
pub(crate) struct AnswerBook {
    limit: usize,
    /// Seeded per process, so nobody can choose keys that collide.
    hasher: std::hash::RandomState,
    state: std::sync::Mutex<BookState>,
}

#[derive(Debug, Default)]
struct BookState {
    newest_day: i64,
    /// False once the book overflowed today.
    complete: bool,
    /// Hash of the key → (day, entry).
    answers: std::collections::HashMap<u64, (i64, AuditPlace)>,
}

/// Most answers kept in memory (about 160 MB at the limit).
const BOOK_LIMIT: usize = 4_000_000;

/// How far before the day's start the start-up read begins: entries are
/// stamped when queued, so neighbours on a chain can be out of time order
/// by the time it takes to queue them; an hour is far more than that.
const LOAD_SLACK_SECONDS: i64 = 3_600;

/// The day (since the epoch, UTC) a timestamp falls on.
fn day_of(at: jiff::Timestamp) -> i64 {
    at.as_second().div_euclid(86_400)
}

impl AnswerBook {
    /// A book that knows today's answers: those the store holds, read from
    /// the audit entries since the day began.
    pub fn load(store: &dyn Store, now: jiff::Timestamp) -> ApiResult<Self> {
        Self::load_with_limit(store, now, BOOK_LIMIT)
    }

    fn load_with_limit(store: &dyn Store, now: jiff::Timestamp, limit: usize) -> ApiResult<Self> {
        let today = day_of(now);
        let book = Self {
            limit,
            hasher: std::hash::RandomState::new(),
            state: std::sync::Mutex::new(BookState {
                newest_day: today,
                complete: true,
                answers: std::collections::HashMap::new(),
            }),
        };
        let mut loaded = 0_usize;
        for head in store.audit_heads()? {
            let chain = head.chain;
            let first = first_entry_at_or_after(
                store,
                chain,
                head.seq,
                today * 86_400 - LOAD_SLACK_SECONDS,
            )?;
            let mut after = first.saturating_sub(1);
            loop {
                let page = store.audit_entries(chain, after, 10_000)?;
                let Some(last) = page.last() else { break };
                after = last.seq;
                for entry in page {
                    if let Some(answer) = entry.answer {
                        loaded += 1;
                        book.remember(
                            AnswerId {
                                key: answer.key,
                                day: day_of(entry.at),
                            },
                            AuditPlace {
                                chain,
                                seq: entry.seq,
                            },
                        );
                    }
                }
            }
        }
        tracing::debug!(loaded, "today's partner answers found in the audit log");
        Ok(book)
    }

    fn hash(&self, key: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, key)
    }

    fn lookup(&self, key: &str) -> ApiResult<Whereabouts> {
        let hash = self.hash(key);
        let state = self.state.lock().map_err(|_| super::lock_poisoned())?;
        Ok(match state.answers.get(&hash) {
            Some(&(_, place)) => Whereabouts::At(place),
            None if state.complete => Whereabouts::Absent,
            None => Whereabouts::AskTheStore,
        })
    }

    fn remember(&self, remember: AnswerId, place: AuditPlace) {
        let hash = self.hash(&remember.key);
        if let Ok(mut state) = self.state.lock() {
            if remember.day > state.newest_day {
                state.newest_day = remember.day;
                state.complete = true;
                // Questions carry their day in their key, so yesterday's
                // answers are kept only for checks decided just before
                // midnight and audited after it.
                state.answers.retain(|_, (day, _)| *day + 1 >= remember.day);
            }
            if !state.complete {
                return;
            }
            if state.answers.len() >= self.limit {
                state.answers = std::collections::HashMap::new();
                state.complete = false;
                return;
            }
            state.answers.entry(hash).or_insert((remember.day, place));
        }
    }
}

/// The number of the first entry of `chain` stamped at or after `second`
/// (one past `head` when there is none), by binary search over the chain,
/// whose stamps rise with its numbers.
fn first_entry_at_or_after(
    store: &dyn Store,
    chain: u32,
    head: u64,
    second: i64,
) -> ApiResult<u64> {
    let (mut low, mut high) = (1_u64, head + 1);
    while low < high {
        let middle = low + (high - low) / 2;
        let stamped_before = store
            .audit_entries(chain, middle - 1, 1)?
            .first()
            .is_some_and(|entry| entry.at.as_second() < second);
        if stamped_before {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}

/// An answer that can say it repeats an earlier one.
trait Repeatable {
    fn mark_repeated(&mut self);
    /// What a repeat's audit entry states of the answer it repeats: the
    /// answer may reach the partner first through the repeat (its first
    /// giver claimed it and stopped before its own entry was written).
    fn stated(&self) -> Option<&'static str>;
}

impl Repeatable for EligibilityAnswer {
    fn mark_repeated(&mut self) {
        self.repeated = true;
    }

    fn stated(&self) -> Option<&'static str> {
        Some(if self.eligible { "yes" } else { "no" })
    }
}

impl Repeatable for ScoreAnswer {
    fn mark_repeated(&mut self) {
        self.repeated = true;
    }

    // A score stays out of the log, which outlives erasures.
    fn stated(&self) -> Option<&'static str> {
        None
    }
}

/// Where an answer is kept so a repeated question gets it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Inside its audit entry, and in the answer book: for answers the
    /// entry's detail already states (eligibility's yes or no), given by
    /// a process answering alone.
    InEntry,
    /// Claimed in the store under its key before it leaves, about the
    /// subject (erasure removes it): answers that carry more (a score),
    /// and every answer where processes share the database.
    Claimed,
}

fn reused() -> ApiError {
    ApiError::new(
        Code::Conflict,
        "this transaction id was already used today for another question; use a new transaction id",
    )
}

impl Platform {
    /// How eligibility answers are kept: in their audit entries where this
    /// process answers alone, claimed in the store where it shares.
    fn eligibility_keep(&self) -> Keep {
        if self.answer_book.is_some() {
            Keep::InEntry
        } else {
            Keep::Claimed
        }
    }

    /// The answer given earlier today under this transaction id, found
    /// through the answer book and the audit entry it points at.
    fn earlier_in_entry<T: serde::de::DeserializeOwned>(
        &self,
        book: &AnswerBook,
        answer_id: &str,
        subject: &SubjectId,
    ) -> ApiResult<Option<T>> {
        let whereabouts = book.lookup(answer_id)?;
        if whereabouts == Whereabouts::Absent {
            // Nearly every check: a new question, known without reading
            // the store or keying the subject's reference.
            return Ok(None);
        }
        let asked_about = self.subject_ref(subject);
        let entry = match whereabouts {
            Whereabouts::Absent => None,
            Whereabouts::At(place) => {
                match self
                    .store
                    .audit_entries(place.chain, place.seq - 1, 1)?
                    .pop()
                {
                    Some(entry) if entry.answer.as_ref().is_some_and(|a| a.key == answer_id) => {
                        Some(entry)
                    }
                    // Another key with the same hash.
                    _ => self.store.audit_answer(&asked_about, answer_id)?,
                }
            }
            Whereabouts::AskTheStore => self.store.audit_answer(&asked_about, answer_id)?,
        };
        let Some((subject_ref, answer)) =
            entry.and_then(|entry| Some((entry.subject_ref?, entry.answer?)))
        else {
            return Ok(None);
        };
        if subject_ref != asked_about {
            return Err(reused());
        }
        serde_json::from_str(&answer.body)
            .map(Some)
            .map_err(ApiError::internal)
    }

    /// A repeat of `earlier`, audited as one.
    fn repeat<T: Repeatable>(
        &self,
        principal: &Principal,
        subject: &SubjectId,
        question: &PartnerQuestion,
        action: &'static str,
        mut earlier: T,
    ) -> Decided<T> {
        earlier.mark_repeated();
        let stated = earlier
            .stated()
            .map(|stated| format!(" ({stated})"))
            .unwrap_or_default();
        let event = AuditEvent {
            actor: principal.actor(),
            action,
            subject_ref: Some(self.subject_ref(subject)),
            detail: format!(
                "repeated transaction {}: same answer{stated}",
                question.transaction_id
            ),
            writes: Vec::new(),
            answer: None,
        };
        Decided::ToAudit(earlier, event, None)
    }

    /// The key a question's answer is kept under: the partner, today, what
    /// was asked and the transaction id. The day is part of the key, so a
    /// transaction id is new again tomorrow.
    fn answer_id(&self, partner: &str, question: &PartnerQuestion, what: &str) -> AnswerId {
        let day = day_of(self.now());
        AnswerId {
            key: format!(
                "{partner}{SEP}{day}{SEP}{what}{SEP}{}",
                question.transaction_id
            ),
            day,
        }
    }

    /// The answer to one transaction: the one given earlier today under
    /// the same transaction id (audited as a repeat), or a fresh one from
    /// `fresh` (answer and audit detail), kept as `keep` says before it
    /// leaves.
    // The parts of one question, each needed; a struct would only rename them.
    #[allow(clippy::too_many_arguments)]
    fn decide<T: Serialize + serde::de::DeserializeOwned + Repeatable>(
        &self,
        principal: &Principal,
        subject: &SubjectId,
        question: &PartnerQuestion,
        answer_id: AnswerId,
        action: &'static str,
        keep: Keep,
        fresh: impl FnOnce() -> ApiResult<(T, String)>,
    ) -> ApiResult<Decided<T>> {
        let book = match keep {
            Keep::InEntry => self.answer_book.as_deref(),
            Keep::Claimed => None,
        };
        if let Some(book) = book
            && let Some(earlier) = self.earlier_in_entry::<T>(book, &answer_id.key, subject)?
        {
            return Ok(self.repeat(principal, subject, question, action, earlier));
        }
        let (answer, detail) = fresh()?;
        let mut event = AuditEvent {
            actor: principal.actor(),
            action,
            subject_ref: Some(self.subject_ref(subject)),
            detail,
            writes: Vec::new(),
            answer: None,
        };
        let body = serde_json::to_string(&answer).map_err(ApiError::internal)?;
        if book.is_some() {
            event.answer = Some(credence_store::AuditAnswer {
                key: answer_id.key.clone(),
                body,
            });
            return Ok(Decided::ToAudit(answer, event, Some(answer_id)));
        }
        // Claimed before it is audited, so that of two nodes asked at once
        // only one answer is ever given; a claim whose entry never got
        // written (the node stopped between) is given by the next ask, as
        // a repeat whose entry states it.
        let claim = AnswerClaim {
            key: answer_id.key,
            day: answer_id.day,
            subject: subject.clone(),
            body,
        };
        match self.store.claim_answer(&claim)? {
            None => Ok(Decided::ToAudit(answer, event, None)),
            Some(earlier) if earlier.subject != *subject => Err(reused()),
            Some(earlier) => {
                let earlier: T = serde_json::from_str(&earlier.body).map_err(ApiError::internal)?;
                Ok(self.repeat(principal, subject, question, action, earlier))
            }
        }
    }

    /// Writes a decided answer's audit entry, waiting until it is durable.
    fn finish<T>(&self, decided: Decided<T>) -> ApiResult<T> {
        match decided {
            Decided::Refused(error, event) => {
                self.audit_event(event)?;
                Err(error)
            }
            Decided::ToAudit(answer, event, remember) => {
                let place = self
                    .audit
                    .record(event, self.now())
                    .map_err(|e| ApiError::new(Code::Unavailable, e))?;
                if let (Some(remember), Some(book)) = (remember, &self.answer_book) {
                    book.remember(remember, place);
                }
                Ok(answer)
            }
        }
    }

    fn decide_eligibility(
        &self,
        principal: &Principal,
        question: &PartnerQuestion,
    ) -> ApiResult<Decided<EligibilityAnswer>> {
        let partner = partner_of(principal)?;
        let Some(perk_id) = question.perk_id.as_deref() else {
            return Err(ApiError::invalid(
                "perk_id",
                "`perk_id` is required for an eligibility check",
            ));
        };
        let perk: Perk = self
            .records()
            .get(kind::PERK, &format!("{partner}{SEP}{perk_id}"))?
            .ok_or_else(|| ApiError::invalid("perk_id", format!("you have no perk {perk_id:?}")))?;
        let (subject, consent) =
            match self.consented_subject(principal, partner, question, Scope::Eligibility)? {
                Ok(found) => found,
                Err((error, event)) => return Ok(Decided::Refused(error, event)),
            };
        // Under an eligibility consent, only the perks the subject agreed
        // to, by the rules they saw: new or edited thresholds would let a
        // partner narrow the score down one check at a time.
        let perk = if consent.scope == Scope::Eligibility {
            match consent.perks.iter().find(|p| p.id == perk_id) {
                Some(granted) => granted.clone(),
                None => {
                    let error = ApiError::new(
                        Code::ConsentRequired,
                        format!(
                            "the subject's eligibility consent does not cover perk {perk_id:?} (it covers the perks offered when it was granted: {}); ask them to grant consent again",
                            if consent.perks.is_empty() {
                                "none".to_string()
                            } else {
                                consent
                                    .perks
                                    .iter()
                                    .map(|p| p.id.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            }
                        ),
                    );
                    let event = self.refusal_entry(principal, &subject, question, &error);
                    return Ok(Decided::Refused(error, event));
                }
            }
        } else {
            perk
        };
        let answer_id = self.answer_id(partner, question, &format!("perk:{perk_id}"));
        self.decide(
            principal,
            &subject,
            question,
            answer_id,
            "partner.check",
            self.eligibility_keep(),
            || {
                let (score, dimensions, kind) = self.quick_score(&subject)?;
                let dimension = |name: &str| {
                    credence_features::Dimension::ALL
                        .iter()
                        .position(|d| d.name() == name)
                        .and_then(|i| dimensions[i])
                };
                let eligible = perk_verdict(&perk, score, &dimension, kind).eligible;
                let answer = EligibilityAnswer {
                    perk_id: perk_id.to_string(),
                    eligible,
                    transaction_id: question.transaction_id.clone(),
                    answered_at: self.now().to_string(),
                    repeated: false,
                };
                let detail = format!(
                    "eligibility for {perk_id} (transaction {}): {}",
                    question.transaction_id,
                    if eligible { "yes" } else { "no" }
                );
                Ok((answer, detail))
            },
        )
    }
}

impl super::Answers<'_> {
    /// Forgets the answers claimed before yesterday: a transaction id is
    /// new again the next day, and yesterday's are kept only for checks
    /// decided just before midnight and audited after it.
    pub fn forget_old_answers(&self) -> ApiResult<u64> {
        Ok(self.store.forget_answers_before(day_of(self.now()) - 1)?)
    }

    /// Is the subject eligible for one of the partner's perks? Yes or no.
    pub fn check_eligibility(
        &self,
        principal: &Principal,
        question: &PartnerQuestion,
    ) -> ApiResult<EligibilityAnswer> {
        let decided = self.decide_eligibility(principal, question)?;
        self.finish(decided)
    }

    /// Like [`Self::check_eligibility`], but returns as soon as the answer
    /// is decided and its audit entry queued; `done` gets the answer once
    /// the entry is durable. The caller's thread is never parked on the
    /// audit log's fsync (refusals and repeats included), which is what
    /// lets a server keep many checks in flight on few threads. Deciding
    /// reads memory (key, perk, consent, freeze, today's answers) and the
    /// store (the change feed's head, the subject's compact event log), so
    /// it belongs on a thread that may block, never an async worker.
    pub fn check_eligibility_then(
        &self,
        principal: &Principal,
        question: &PartnerQuestion,
        done: Box<dyn FnOnce(ApiResult<EligibilityAnswer>) + Send>,
    ) {
        match self.decide_eligibility(principal, question) {
            Err(error) => done(Err(error)),
            Ok(Decided::Refused(error, event)) => self.audit.submit(
                event,
                self.now(),
                Box::new(move |written| {
                    done(Err(match written {
                        Ok(_) => error,
                        Err(e) => ApiError::new(Code::Unavailable, e),
                    }))
                }),
            ),
            Ok(Decided::ToAudit(answer, event, remember)) => {
                let book = self.answer_book.clone();
                self.audit.submit(
                    event,
                    self.now(),
                    Box::new(move |written| {
                        done(
                            written
                                .map(|place| {
                                    if let (Some(remember), Some(book)) = (remember, book) {
                                        book.remember(remember, place);
                                    }
                                    answer
                                })
                                .map_err(|e| ApiError::new(Code::Unavailable, e)),
                        )
                    }),
                )
            }
        }
    }

    /// The subject's score and band (scope `score` or wider).
    pub fn partner_score(
        &self,
        principal: &Principal,
        question: &PartnerQuestion,
    ) -> ApiResult<ScoreAnswer> {
        let partner = partner_of(principal)?;
        let subject = self.consented_subject_now(principal, partner, question, Scope::Score)?;
        let answer_id = self.answer_id(partner, question, "score");
        let decided = self.decide(
            principal,
            &subject,
            question,
            answer_id,
            "partner.score",
            Keep::Claimed,
            || {
                let report = self.assess(&subject)?.report;
                let answer = ScoreAnswer {
                    score: report.score,
                    band: report.band.map(|b| b.name().to_string()),
                    model_version: report.model_version,
                    transaction_id: question.transaction_id.clone(),
                    answered_at: self.now().to_string(),
                    repeated: false,
                };
                let detail = format!("score and band (transaction {})", question.transaction_id);
                Ok((answer, detail))
            },
        )?;
        self.finish(decided)
    }

    /// The subject's full report (scope `full_report`).
    pub fn partner_report(
        &self,
        principal: &Principal,
        question: &PartnerQuestion,
    ) -> ApiResult<credence_scorecard::ScoreReport> {
        let partner = partner_of(principal)?;
        let subject =
            self.consented_subject_now(principal, partner, question, Scope::FullReport)?;
        let mut report = self.assess(&subject)?.report;
        // The partner knows the subject by pseudonym only, and every other
        // identifier by a pseudonym of its own.
        report.subject_id = question.pseudonym.clone();
        self.pseudonymise_records(partner, &mut report)?;
        self.audit(
            principal,
            "partner.report",
            Some(&subject),
            format!("full report (transaction {})", question.transaction_id),
        )?;
        Ok(report)
    }
}

impl Platform {
    /// The audit entry of a refused question: the subject sees in their
    /// access log who asked and why they were refused.
    pub(super) fn refusal_entry(
        &self,
        principal: &Principal,
        subject: &SubjectId,
        question: &PartnerQuestion,
        error: &ApiError,
    ) -> AuditEvent {
        AuditEvent {
            actor: principal.actor(),
            action: "partner.refused",
            subject_ref: Some(self.subject_ref(subject)),
            detail: format!(
                "{} (transaction {})",
                error.message, question.transaction_id
            ),
            writes: Vec::new(),
            answer: None,
        }
    }

    /// Replaces every identifier in a report's negative records by this
    /// partner's pseudonym of it: the furnisher, the event and the account
    /// its description names. Two partners' reports of one subject then
    /// share no identifier they could join their data on, while one
    /// partner's reports stay consistent with each other.
    fn pseudonymise_records(
        &self,
        partner: &str,
        report: &mut credence_scorecard::ScoreReport,
    ) -> ApiResult<()> {
        let secrets = &self.secrets;
        for record in &mut report.negative_records {
            let furnisher = secrets.partner_ref(partner, "fu", record.event.furnisher_id.as_str());
            let event = secrets.partner_ref(
                partner,
                "ev",
                &format!(
                    "{}{SEP}{}",
                    record.event.furnisher_id, record.event.event_id
                ),
            );
            record.event = credence_domain::EventKey {
                furnisher_id: credence_domain::FurnisherId::new(&furnisher)
                    .map_err(ApiError::internal)?,
                event_id: credence_domain::EventId::new(&event).map_err(ApiError::internal)?,
            };
            record.events.clear();
            if let Some(account) = record.account.take() {
                let pseudonym = secrets.partner_ref(partner, "ac", &account);
                for shape in ["account", "rental"] {
                    record.description = record.description.replace(
                        &format!("{shape} {account} "),
                        &format!("{shape} {pseudonym} "),
                    );
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Perk, Scope};
    use super::*;
    use credence_store::{AuditAnswer, AuditEntry};

    fn remember(book: &AnswerBook, day: i64, key: &str, seq: u64) {
        book.remember(
            AnswerId {
                key: key.into(),
                day,
            },
            AuditPlace { chain: 1, seq },
        );
    }

    fn found(book: &AnswerBook, key: &str) -> Option<Whereabouts> {
        book.lookup(key).ok()
    }

    /// A fresh store in a directory that lives as long as it.
    fn store() -> (tempfile::TempDir, std::sync::Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = crate::test_store::open(&dir.path().join("db"));
        (dir, store)
    }

    fn empty_book(limit: usize) -> AnswerBook {
        let (_dir, store) = store();
        AnswerBook::load_with_limit(store.as_ref(), at(100 * 86_400), limit)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(second).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn transaction_ids_are_counted_in_characters_as_the_contract_says() {
        assert!(check_transaction_id(&"é".repeat(128)).is_ok());
        assert!(check_transaction_id(&"é".repeat(129)).is_err());
        for refused in ["", "a|b", "tab\there", "next\u{85}line"] {
            let error = check_transaction_id(refused).expect_err(refused);
            assert_eq!(error.field.as_deref(), Some("transaction_id"));
        }
    }

    #[test]
    fn the_answer_book_keeps_the_first_answer_and_forgets_old_days() {
        let book = empty_book(BOOK_LIMIT);
        // Loaded whole at start: a miss is a new question.
        assert_eq!(found(&book, "t1"), Some(Whereabouts::Absent));
        remember(&book, 100, "t1", 7);
        remember(&book, 100, "t1", 8);
        let at = |seq| Some(Whereabouts::At(AuditPlace { chain: 1, seq }));
        assert_eq!(found(&book, "t1"), at(7), "the first written wins");
        // A new day keeps yesterday's answers (checks decided just before
        // midnight).
        remember(&book, 101, "t2", 20);
        assert_eq!(found(&book, "t1"), at(7));
        assert_eq!(found(&book, "t2"), at(20));
        // Two days on, the oldest answers are dropped.
        remember(&book, 102, "t3", 30);
        assert_eq!(found(&book, "t1"), Some(Whereabouts::Absent));
        assert_eq!(found(&book, "t2"), at(20));
    }

    #[test]
    fn a_full_answer_book_stops_vouching_for_absence_until_the_next_day() {
        let book = empty_book(2);
        remember(&book, 100, "a", 1);
        remember(&book, 100, "b", 2);
        remember(&book, 100, "c", 3);
        // Overflowed: a miss is no longer proof, so the store is asked.
        let ask = Some(Whereabouts::AskTheStore);
        assert_eq!(found(&book, "a"), ask);
        assert_eq!(found(&book, "zzz"), ask);
        remember(&book, 101, "d", 4);
        assert_eq!(found(&book, "zzz"), Some(Whereabouts::Absent));
    }

    #[test]
    fn the_answer_book_reads_todays_answers_from_the_audit_log() {
        let (_dir, store) = store();
        let day = 100 * 86_400;
        // Yesterday morning, last night (within the slack), today twice,
        // and an entry with no answer.
        // On two chains, so the book reads every chain.
        let stamps = [day - 50_000, day - 60, day + 10, day + 20, day + 30];
        let entries: Vec<AuditEntry> = stamps
            .iter()
            .enumerate()
            .map(|(i, &second)| AuditEntry {
                chain: if i == 3 { 7 } else { 1 },
                seq: if i == 3 {
                    1
                } else {
                    i as u64 + 1 - u64::from(i > 3)
                },
                at: at(second),
                actor: "partner:p".into(),
                action: "partner.check".into(),
                subject_ref: Some("r1".into()),
                detail: String::new(),
                prev_hash: String::new(),
                hash: String::new(),
                answer: (i != 4).then(|| AuditAnswer {
                    key: format!("k{i}"),
                    body: format!("answer {i}"),
                }),
            })
            .collect();
        store
            .append_audit(&entries, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        let book = AnswerBook::load(store.as_ref(), at(day + 40)).unwrap_or_else(|e| panic!("{e}"));
        let at = |chain, seq| Some(Whereabouts::At(AuditPlace { chain, seq }));
        assert_eq!(
            found(&book, "k0"),
            Some(Whereabouts::Absent),
            "yesterday morning is not read"
        );
        assert_eq!(found(&book, "k1"), at(1, 2));
        assert_eq!(found(&book, "k2"), at(1, 3));
        assert_eq!(found(&book, "k3"), at(7, 1));
        assert_eq!(found(&book, "k9"), Some(Whereabouts::Absent));
    }

    #[test]
    fn the_first_entry_of_a_time_is_found_by_binary_search() {
        let (_dir, store) = store();
        assert_eq!(
            first_entry_at_or_after(store.as_ref(), 2, 0, 0).ok(),
            Some(1)
        );
        let entries: Vec<AuditEntry> = (1..=9_u64)
            .map(|seq| AuditEntry {
                chain: 2,
                seq,
                at: at(seq as i64 * 10),
                actor: "system".into(),
                action: "test".into(),
                subject_ref: None,
                detail: String::new(),
                prev_hash: String::new(),
                hash: String::new(),
                answer: None,
            })
            .collect();
        store
            .append_audit(&entries, &[])
            .unwrap_or_else(|e| panic!("{e}"));
        for (second, first) in [(0, 1), (10, 1), (11, 2), (50, 5), (90, 9), (91, 10)] {
            assert_eq!(
                first_entry_at_or_after(store.as_ref(), 2, 9, second).ok(),
                Some(first),
                "at {second}"
            );
        }
    }

    /// Two nodes sharing one database, with subjects `s1` and `s2` who
    /// consented to partner `bikes` checking perk `ride`; the partner and
    /// each subject's pseudonym.
    fn two_nodes_and_consents(
        path: &std::path::Path,
        clock: std::sync::Arc<dyn crate::Clock>,
    ) -> (
        super::super::Platform,
        super::super::Platform,
        Principal,
        Vec<String>,
    ) {
        use credence_domain::build::EventFactory;
        let (one, two) = super::super::two_processes(path, clock.clone());
        let operator = Principal::System { name: "test" };
        one.registry()
            .put_partner(
                &operator,
                &super::super::registry::PartnerSpec {
                    id: "bikes".into(),
                    name: "Bikes".into(),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let partner = Principal::Partner {
            id: "bikes".into(),
            key_id: "k".into(),
        };
        one.perks()
            .put_perk(
                &partner,
                Perk {
                    id: "ride".into(),
                    partner_id: "bikes".into(),
                    name: "Deposit-free rides".into(),
                    description: String::new(),
                    min_score: 350,
                    subject_kind: None,
                    dimension_minimums: Default::default(),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let now = clock.now();
        let day =
            |n: i64| jiff::Timestamp::from_second(now.as_second() - n * 86_400).unwrap_or(now);
        let mut pseudonyms = Vec::new();
        for subject in ["s1", "s2"] {
            let mut f = EventFactory::new("bank", subject).recorded_at(now);
            let events = vec![
                f.enrolled(day(700), credence_domain::SubjectKind::Person, false),
                f.account_opened(day(650), "a", credence_domain::AccountType::Loan, None),
            ];
            one.store()
                .append_events(&events)
                .unwrap_or_else(|e| panic!("{e}"));
            let granted = one
                .consents()
                .grant_consent(
                    &Principal::Subject {
                        id: SubjectId::new(subject).unwrap_or_else(|e| panic!("{e}")),
                    },
                    &super::super::ConsentRequest {
                        partner_id: "bikes".into(),
                        scope: Scope::Eligibility,
                        purpose: "deposit-free rides".into(),
                        expires_at: "2027-12-01T00:00:00Z".into(),
                        perk_ids: Some(vec!["ride".into()]),
                    },
                )
                .unwrap_or_else(|e| panic!("{e}"));
            // In the subjects' order (a partner's list is in pseudonym
            // order, which the database's secret decides).
            pseudonyms.push(granted.pseudonym);
        }
        (one, two, partner, pseudonyms)
    }

    fn question(pseudonym: &str, transaction: &str) -> PartnerQuestion {
        PartnerQuestion {
            pseudonym: pseudonym.into(),
            transaction_id: transaction.into(),
            perk_id: Some("ride".into()),
        }
    }

    #[test]
    fn nodes_sharing_a_database_give_one_answer_per_transaction() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let clock = std::sync::Arc::new(crate::FixedClock(at(1_790_000_000)));
        let (one, two, partner, pseudonyms) =
            two_nodes_and_consents(&dir.path().join("db"), clock.clone());
        let nodes = [&one, &two];
        // Both nodes asked the same transactions at once, from two threads
        // each: every transaction gets one answer, given fresh once.
        let answers: Vec<Vec<EligibilityAnswer>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|asker| {
                    let node = nodes[asker % 2];
                    let (partner, pseudonym) = (&partner, &pseudonyms[0]);
                    scope.spawn(move || {
                        (0..30)
                            .map(|t| {
                                node.answers()
                                    .check_eligibility(
                                        partner,
                                        &question(pseudonym, &format!("t{t}")),
                                    )
                                    .unwrap_or_else(|e| panic!("{e}"))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| panic!("an asker panicked")))
                .collect()
        });
        for t in 0..30 {
            let given: Vec<&EligibilityAnswer> = answers.iter().map(|a| &a[t]).collect();
            let fresh = given.iter().filter(|a| !a.repeated).count();
            assert_eq!(fresh, 1, "transaction t{t}: {given:?}");
            for answer in &given {
                assert_eq!(
                    (answer.eligible, &answer.answered_at),
                    (given[0].eligible, &given[0].answered_at),
                    "transaction t{t}: one answer"
                );
            }
        }
        // A transaction id answered on one node about s1 is refused on the
        // other about s2: a partner cannot reuse it to probe another.
        let reuse = two
            .answers()
            .check_eligibility(&partner, &question(&pseudonyms[1], "t0"))
            .map_err(|e| e.code);
        assert_eq!(reuse.err(), Some(Code::Conflict));
        // Every answer, fresh or repeated, is in the log with what it said.
        let checks: Vec<String> = crate::platform::audit::every_entry(one.store())
            .into_iter()
            .filter(|e| e.action == "partner.check")
            .map(|e| e.detail)
            .collect();
        assert_eq!(checks.len(), 4 * 30, "{checks:?}");
        // (A file this thin gets no score, so the perk is a no.)
        assert!(!answers[0][0].eligible);
        assert!(
            checks
                .iter()
                .all(|d| d.ends_with("): no") || d.ends_with("same answer (no)")),
            "{checks:?}"
        );
        one.close();
        two.close();
    }

    #[test]
    fn an_answer_claimed_by_a_node_that_stopped_before_its_entry_is_given_as_a_stated_repeat() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let clock = std::sync::Arc::new(crate::FixedClock(at(1_790_000_000)));
        let (one, two, partner, pseudonyms) =
            two_nodes_and_consents(&dir.path().join("db"), clock.clone());
        // A node claimed "no" for transaction t-lost and was killed before
        // its audit entry was written (the answer never left it).
        let id = one.answer_id("bikes", &question(&pseudonyms[0], "t-lost"), "perk:ride");
        let lost = EligibilityAnswer {
            perk_id: "ride".into(),
            eligible: false,
            transaction_id: "t-lost".into(),
            answered_at: one.now().to_string(),
            repeated: false,
        };
        one.store()
            .claim_answer(&AnswerClaim {
                key: id.key,
                day: id.day,
                subject: SubjectId::new("s1").unwrap_or_else(|e| panic!("{e}")),
                body: serde_json::to_string(&lost).unwrap_or_else(|e| panic!("{e}")),
            })
            .unwrap_or_else(|e| panic!("{e}"));
        one.close();
        let retried = two
            .answers()
            .check_eligibility(&partner, &question(&pseudonyms[0], "t-lost"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!retried.eligible && retried.repeated, "{retried:?}");
        let entry = crate::platform::audit::every_entry(two.store())
            .into_iter()
            .rfind(|e| e.action == "partner.check")
            .unwrap_or_else(|| panic!("the retry is audited"));
        assert_eq!(
            entry.detail,
            "repeated transaction t-lost: same answer (no)"
        );
        // Claims from before yesterday are forgotten; yesterday's and
        // today's are kept.
        for (key, days_ago) in [("old", 2), ("yesterday", 1)] {
            let claim = AnswerClaim {
                key: key.into(),
                day: day_of(two.now()) - days_ago,
                subject: SubjectId::new("s2").unwrap_or_else(|e| panic!("{e}")),
                body: "{}".into(),
            };
            assert_eq!(two.store().claim_answer(&claim).ok(), Some(None));
        }
        assert_eq!(two.answers().forget_old_answers().ok(), Some(1));
        let again = |key: &str| AnswerClaim {
            key: key.into(),
            day: day_of(two.now()),
            subject: SubjectId::new("s2").unwrap_or_else(|e| panic!("{e}")),
            body: "{}".into(),
        };
        assert!(matches!(two.store().claim_answer(&again("old")), Ok(None)));
        assert!(matches!(
            two.store().claim_answer(&again("yesterday")),
            Ok(Some(_))
        ));
        let lost_again = two
            .answers()
            .check_eligibility(&partner, &question(&pseudonyms[0], "t-lost"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !lost_again.eligible && lost_again.repeated,
            "today's claim kept"
        );
        two.close();
    }
}
