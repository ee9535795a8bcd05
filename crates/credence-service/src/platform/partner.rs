//! What partners do: ask, with consent and within its scope, about a
//! subject they know only by their own pseudonym; manage their perks.

use super::records::{Freeze, Records, SEP, kind};
use super::subject::{consent_id, perk_verdict};
use super::{ApiError, ApiResult, AuditEvent, Code, Consent, Perk, Platform, Principal, Scope};
use credence_domain::SubjectId;
use credence_store::RecordFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A consent as the partner sees it: the pseudonym, never the subject id.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PartnerConsent {
    /// The subject as this partner knows them.
    pub pseudonym: String,
    /// What the partner may ask.
    pub scope: Scope,
    /// The stated purpose.
    pub purpose: String,
    /// When it lapses.
    pub expires_at: String,
    /// False once revoked or expired.
    pub active: bool,
}

/// A partner's question about one subject.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerQuestion {
    /// The subject, by this partner's pseudonym.
    pub pseudonym: String,
    /// The partner's transaction id: repeated asks within a day under one
    /// transaction id get the same answer.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^|\x00-\x1f]+$")]
    pub transaction_id: String,
    /// For eligibility: the perk asked about.
    #[serde(default)]
    pub perk_id: Option<String>,
}

/// Yes or no; never the number.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScoreAnswer {
    /// 350–950, or none for a thin file.
    pub score: Option<i32>,
    /// The band's label.
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

fn partner_of(principal: &Principal) -> ApiResult<&str> {
    match principal {
        Principal::Partner { id, .. } => Ok(id),
        _ => Err(ApiError::new(
            Code::Forbidden,
            "only partners may use this endpoint (with a partner API key)",
        )),
    }
}

fn check_transaction_id(id: &str) -> ApiResult<()> {
    if id.is_empty() || id.len() > 128 || id.contains(SEP) || id.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "transaction_id",
            "`transaction_id` must be 1–128 printable characters without `|`",
        ));
    }
    Ok(())
}

/// An answer, either final (already audited) or waiting for its audit
/// entry to be written.
// Lives for one request on the stack; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Decided<T> {
    Final(T),
    ToAudit(T, AuditEvent, Remember),
}

/// An answer to add to the [`AnswerBook`] once its audit entry is durable.
struct Remember {
    id: String,
    day: i64,
    stored: StoredAnswer,
}

/// Today's and yesterday's answers in memory, so a partner's check does not
/// read the store to learn that its transaction id is new.
///
/// Answers are added once durable, in the audit writer's order (the order
/// the store keeps them, first writer winning). For a day that began after
/// this process started, the book holds every answer of the day, so a miss
/// is a definite "new transaction"; for the day the process started on, a
/// miss falls back to the store. Like the record cache, this assumes one
/// server process per database.
#[derive(Debug)]
pub(crate) struct AnswerBook {
    started_day: i64,
    limit: usize,
    state: std::sync::Mutex<BookState>,
}

#[derive(Debug, Default)]
struct BookState {
    newest_day: i64,
    /// False once the book overflowed today: misses go to the store again.
    complete: bool,
    answers: std::collections::HashMap<String, (i64, StoredAnswer)>,
}

/// Most answers kept in memory; past it the book stops vouching for
/// absence until the next day (a bound on memory, not on correctness).
const BOOK_LIMIT: usize = 2_000_000;

impl AnswerBook {
    pub fn new(started_day: i64) -> Self {
        Self::with_limit(started_day, BOOK_LIMIT)
    }

    fn with_limit(started_day: i64, limit: usize) -> Self {
        Self {
            started_day,
            limit,
            state: std::sync::Mutex::new(BookState {
                newest_day: started_day,
                complete: true,
                answers: std::collections::HashMap::new(),
            }),
        }
    }

    /// `Some(found)` when the book can answer for `day` (found or definitely
    /// absent); `None` when only the store knows.
    fn lookup(&self, id: &str, day: i64) -> Option<Option<StoredAnswer>> {
        let state = self.state.lock().ok()?;
        match state.answers.get(id) {
            Some((_, stored)) => Some(Some(stored.clone())),
            None => (state.complete && day > self.started_day).then_some(None),
        }
    }

    fn remember(&self, remember: Remember) {
        if let Ok(mut state) = self.state.lock() {
            if remember.day > state.newest_day {
                state.newest_day = remember.day;
                state.complete = true;
                state.answers.retain(|_, (day, _)| *day + 1 >= remember.day);
            }
            if state.answers.len() >= self.limit {
                state.answers.clear();
                state.complete = false;
            }
            state
                .answers
                .entry(remember.id)
                .or_insert((remember.day, remember.stored));
        }
    }
}

/// An answer that can say it repeats an earlier one.
trait Repeatable {
    fn mark_repeated(&mut self);
}

impl Repeatable for EligibilityAnswer {
    fn mark_repeated(&mut self) {
        self.repeated = true;
    }
}

impl Repeatable for ScoreAnswer {
    fn mark_repeated(&mut self) {
        self.repeated = true;
    }
}

/// A stored answer and the pseudonym it was for.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAnswer {
    pseudonym: String,
    question: String,
    answer: serde_json::Value,
}

impl Platform {
    /// The partner's consents.
    pub fn partner_consents(&self, principal: &Principal) -> ApiResult<Vec<PartnerConsent>> {
        let partner = partner_of(principal)?;
        let now = self.now();
        let consents: Vec<Consent> = self
            .records()
            .list(kind::CONSENT, RecordFilter::Owner(partner))?;
        Ok(consents
            .into_iter()
            .map(|c| PartnerConsent {
                active: c.allows(Scope::Eligibility, now),
                pseudonym: c.pseudonym,
                scope: c.scope,
                purpose: c.purpose,
                expires_at: c.expires_at.to_string(),
            })
            .collect())
    }

    /// The partner's perks.
    pub fn partner_perks(&self, principal: &Principal) -> ApiResult<Vec<Perk>> {
        let partner = partner_of(principal)?;
        self.records()
            .list(kind::PERK, RecordFilter::Owner(partner))
    }

    /// Creates or replaces one of the partner's perks.
    pub fn put_perk(&self, principal: &Principal, mut perk: Perk) -> ApiResult<Perk> {
        let partner = partner_of(principal)?;
        perk.partner_id = partner.to_string();
        check_perk(&perk)?;
        self.records().put(
            kind::PERK,
            format!("{partner}{SEP}{}", perk.id),
            None,
            Some(partner),
            &perk,
        )?;
        self.audit(
            principal,
            "perk.put",
            None,
            format!("perk {} at {}", perk.id, perk.min_score),
        )?;
        Ok(perk)
    }

    /// Deletes one of the partner's perks.
    pub fn delete_perk(&self, principal: &Principal, perk_id: &str) -> ApiResult<()> {
        let partner = partner_of(principal)?;
        if !self
            .records()
            .delete(kind::PERK, &format!("{partner}{SEP}{perk_id}"))?
        {
            return Err(ApiError::not_found(format!("you have no perk {perk_id:?}")));
        }
        self.audit(principal, "perk.delete", None, format!("perk {perk_id}"))
    }

    /// The consented subject behind a pseudonym, or the refusal (audited:
    /// the subject sees who tried).
    fn consented_subject(
        &self,
        principal: &Principal,
        partner: &str,
        question: &PartnerQuestion,
        scope: Scope,
    ) -> ApiResult<SubjectId> {
        check_transaction_id(&question.transaction_id)?;
        let record = self
            .records()
            .raw(kind::CONSENT, &consent_id(partner, &question.pseudonym))?;
        let no_consent = || {
            ApiError::new(
                Code::ConsentRequired,
                format!(
                    "no active consent of scope {} from this subject; ask them to grant it",
                    scope.name()
                ),
            )
        };
        let Some(record) = record else {
            return Err(no_consent());
        };
        let consent: Consent = super::records::decode(&record)?;
        let subject = record
            .subject
            .ok_or_else(|| ApiError::internal("consent without subject"))?;
        let refuse = |code: Code, why: String| -> ApiResult<SubjectId> {
            self.audit(
                principal,
                "partner.refused",
                Some(&subject),
                format!("{why} (transaction {})", question.transaction_id),
            )?;
            Err(ApiError::new(code, why))
        };
        if !consent.allows(scope, self.now()) {
            return refuse(Code::ConsentRequired, no_consent().message);
        }
        if self
            .records()
            .get::<Freeze>(kind::FREEZE, subject.as_str())?
            .is_some()
        {
            return refuse(
                Code::Frozen,
                "the subject has frozen their file; no partner gets an answer until they lift it"
                    .into(),
            );
        }
        Ok(subject)
    }

    /// The answer given earlier today under this transaction id, if any.
    fn earlier_answer<T: serde::de::DeserializeOwned>(
        &self,
        answer_id: &str,
        question: &PartnerQuestion,
        kind_of_question: &str,
    ) -> ApiResult<Option<T>> {
        let known = match self.answers.lookup(answer_id, self.today()) {
            Some(known) => known,
            None => self
                .records()
                .get::<StoredAnswer>(kind::ANSWER, answer_id)?,
        };
        let Some(stored) = known else {
            return Ok(None);
        };
        if stored.pseudonym != question.pseudonym || stored.question != kind_of_question {
            return Err(ApiError::new(
                Code::Conflict,
                "this transaction id was already used today for another question; use a new transaction id",
            ));
        }
        serde_json::from_value(stored.answer)
            .map(Some)
            .map_err(ApiError::internal)
    }

    fn today(&self) -> i64 {
        self.now().as_second().div_euclid(86_400)
    }

    fn answer_id(&self, partner: &str, question: &PartnerQuestion, what: &str) -> String {
        let day = self.today();
        format!(
            "{partner}{SEP}{day}{SEP}{what}{SEP}{}",
            question.transaction_id
        )
    }

    /// The answer to one transaction: the one given earlier today under
    /// the same transaction id (audited as a repeat), or a fresh one from
    /// `fresh` (answer and audit detail), to be audited together with the
    /// stored answer so both are kept in one transaction.
    fn decide<T: Serialize + serde::de::DeserializeOwned + Repeatable>(
        &self,
        principal: &Principal,
        subject: &SubjectId,
        question: &PartnerQuestion,
        answer_id: String,
        action: &'static str,
        fresh: impl FnOnce() -> ApiResult<(T, String)>,
    ) -> ApiResult<Decided<T>> {
        if let Some(mut earlier) = self.earlier_answer::<T>(&answer_id, question, action)? {
            earlier.mark_repeated();
            self.audit(
                principal,
                action,
                Some(subject),
                format!(
                    "repeated transaction {}: same answer",
                    question.transaction_id
                ),
            )?;
            return Ok(Decided::Final(earlier));
        }
        let (answer, detail) = fresh()?;
        let stored = StoredAnswer {
            pseudonym: question.pseudonym.clone(),
            question: action.to_string(),
            answer: serde_json::to_value(&answer).map_err(ApiError::internal)?,
        };
        // No owner: answers are never listed by partner, and an owner costs
        // the audit writer one more index insert on every check.
        let record = Records::record(
            kind::ANSWER,
            answer_id.clone(),
            Some(subject),
            None,
            &stored,
        )?;
        let event = AuditEvent {
            actor: principal.actor(),
            action,
            subject_ref: Some(self.subject_ref(subject)),
            detail,
            record: Some(record),
        };
        let remember = Remember {
            id: answer_id,
            day: self.today(),
            stored,
        };
        Ok(Decided::ToAudit(answer, event, remember))
    }

    /// Writes a decided answer's audit entry, waiting until it is durable.
    fn finish<T>(&self, decided: Decided<T>) -> ApiResult<T> {
        match decided {
            Decided::Final(answer) => Ok(answer),
            Decided::ToAudit(answer, event, remember) => {
                self.audit_event(event)?;
                self.answers.remember(remember);
                Ok(answer)
            }
        }
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
    /// audit log's fsync, which is what lets a server keep many checks in
    /// flight on few threads.
    pub fn check_eligibility_then(
        &self,
        principal: &Principal,
        question: &PartnerQuestion,
        done: Box<dyn FnOnce(ApiResult<EligibilityAnswer>) + Send>,
    ) {
        match self.decide_eligibility(principal, question) {
            Err(error) => done(Err(error)),
            Ok(Decided::Final(answer)) => done(Ok(answer)),
            Ok(Decided::ToAudit(answer, event, remember)) => {
                let book = self.answers.clone();
                self.audit.submit(
                    event,
                    self.now(),
                    Box::new(move |written| {
                        done(
                            written
                                .map(|_| {
                                    book.remember(remember);
                                    answer
                                })
                                .map_err(|e| ApiError::new(Code::Unavailable, e)),
                        )
                    }),
                )
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
        let subject = self.consented_subject(principal, partner, question, Scope::Eligibility)?;
        let answer_id = self.answer_id(partner, question, &format!("perk:{perk_id}"));
        self.decide(
            principal,
            &subject,
            question,
            answer_id,
            "partner.check",
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

    /// The subject's score and band (scope `score` or wider).
    pub fn partner_score(
        &self,
        principal: &Principal,
        question: &PartnerQuestion,
    ) -> ApiResult<ScoreAnswer> {
        let partner = partner_of(principal)?;
        let subject = self.consented_subject(principal, partner, question, Scope::Score)?;
        let answer_id = self.answer_id(partner, question, "score");
        let decided = self.decide(
            principal,
            &subject,
            question,
            answer_id,
            "partner.score",
            || {
                let report = self.assess(&subject)?.report;
                let answer = ScoreAnswer {
                    score: report.score,
                    band: report.band.map(|b| b.label().to_string()),
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
        let subject = self.consented_subject(principal, partner, question, Scope::FullReport)?;
        let mut report = self.assess(&subject)?.report;
        // The partner knows the subject by pseudonym only.
        report.subject_id = question.pseudonym.clone();
        self.audit(
            principal,
            "partner.report",
            Some(&subject),
            format!("full report (transaction {})", question.transaction_id),
        )?;
        Ok(report)
    }
}

fn check_perk(perk: &Perk) -> ApiResult<()> {
    if credence_domain::ValidId::new(&perk.id).is_err() || perk.id.contains(SEP) {
        return Err(ApiError::invalid(
            "id",
            "`id` must be 1–128 letters, digits or . _ - : / @",
        ));
    }
    if perk.name.trim().is_empty() || perk.name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "`name` must be 1–100 characters"));
    }
    if perk.description.chars().count() > 500 {
        return Err(ApiError::invalid(
            "description",
            "`description` is at most 500 characters",
        ));
    }
    if !(350..=950).contains(&perk.min_score) {
        return Err(ApiError::invalid(
            "min_score",
            "`min_score` must be 350 to 950",
        ));
    }
    let known: BTreeMap<&str, ()> = credence_features::Dimension::ALL
        .iter()
        .map(|d| (d.name(), ()))
        .collect();
    for (dimension, minimum) in &perk.dimension_minimums {
        if !known.contains_key(dimension.as_str()) {
            return Err(ApiError::invalid(
                "dimension_minimums",
                format!(
                    "unknown dimension {dimension:?}; use history, capacity, behaviour, identity or fulfilment"
                ),
            ));
        }
        if *minimum > 100 {
            return Err(ApiError::invalid(
                "dimension_minimums",
                "dimension minimums are 0 to 100",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(text: &str) -> StoredAnswer {
        StoredAnswer {
            pseudonym: "ps_1".into(),
            question: "partner.check".into(),
            answer: serde_json::Value::String(text.into()),
        }
    }

    fn remember(day: i64, id: &str, text: &str) -> Remember {
        Remember {
            id: id.into(),
            day,
            stored: answer(text),
        }
    }

    #[test]
    fn the_answer_book_knows_absence_only_for_days_it_saw_whole() {
        let book = AnswerBook::new(100);
        // The start day: a miss is not proof; the store must be asked.
        assert!(book.lookup("t1", 100).is_none());
        book.remember(remember(100, "t1", "yes"));
        assert_eq!(
            book.lookup("t1", 100).flatten().map(|a| a.answer),
            Some(serde_json::json!("yes"))
        );
        // A later day began under this process: a miss is a new question.
        assert!(matches!(book.lookup("t2", 101), Some(None)));
        // The first answer of a transaction stays.
        book.remember(remember(101, "t2", "no"));
        book.remember(remember(101, "t2", "yes"));
        assert_eq!(
            book.lookup("t2", 101).flatten().map(|a| a.answer),
            Some(serde_json::json!("no"))
        );
        // Two days on, the oldest answers are dropped.
        book.remember(remember(102, "t3", "yes"));
        assert!(book.lookup("t1", 102).is_some_and(|a| a.is_none()));
        assert!(book.lookup("t2", 102).is_some_and(|a| a.is_some()));
    }

    #[test]
    fn a_full_answer_book_stops_vouching_for_absence_until_the_next_day() {
        let book = AnswerBook::with_limit(100, 2);
        book.remember(remember(101, "a", "yes"));
        book.remember(remember(101, "b", "yes"));
        book.remember(remember(101, "c", "yes"));
        // Overflowed: a miss is no longer proof, so the store is asked.
        assert!(book.lookup("a", 101).is_none());
        assert!(book.lookup("zzz", 101).is_none());
        book.remember(remember(102, "d", "yes"));
        assert!(matches!(book.lookup("zzz", 102), Some(None)));
    }
}
