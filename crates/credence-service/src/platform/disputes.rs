//! Disputes: a subject disputes a record as shown, and everything the
//! record is made of is left out of every score at once; the furnisher
//! confirms, corrects or withdraws it within [`DISPUTE_ANSWER_DAYS`], or it
//! resolves for the subject, by the deadline and not by whoever reads.
//! Every rule about disputes lives here.

use super::access::Principal;
use super::access::operator_only;
use super::audit::AuditEvent;
use super::records::{self, Records, kind};
use super::rights::{bounded, subject_of};
use super::{ApiError, ApiResult, Code, Platform};
use credence_domain::SubjectId;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

/// Days a furnisher has to answer a dispute before it resolves for the
/// subject (China's limit; stricter than the US 30).
pub const DISPUTE_ANSWER_DAYS: i64 = 20;

/// Where a dispute stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeStatus {
    /// Waiting for the furnisher; the record is excluded meanwhile.
    Open,
    /// The furnisher confirmed the record; it counts again.
    Confirmed,
    /// The furnisher corrected it with a new record; the old one is out.
    Corrected,
    /// The furnisher withdrew the record.
    Withdrawn,
    /// No answer within 20 days: resolved for the subject, record out.
    ResolvedForSubject,
}

impl DisputeStatus {
    /// The status as the API spells it (`resolved_for_subject`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Confirmed => "confirmed",
            Self::Corrected => "corrected",
            Self::Withdrawn => "withdrawn",
            Self::ResolvedForSubject => "resolved_for_subject",
        }
    }

    /// True when the disputed record is left out of the score.
    pub fn excludes_record(self) -> bool {
        !matches!(self, Self::Confirmed)
    }
}

/// The events that count toward a subject's score: every one but those a
/// dispute leaves out (while open, or once resolved against the
/// furnisher). The one rule every score of the subject follows (a
/// partner's check, the subject's page, a what-if), borrowed unchanged
/// when no dispute leaves anything out.
pub(crate) fn counted<'e>(
    events: &'e [credence_domain::Event],
    disputes: &[Dispute],
) -> std::borrow::Cow<'e, [credence_domain::Event]> {
    let excluding: Vec<&Dispute> = disputes
        .iter()
        .filter(|d| d.status.excludes_record())
        .collect();
    if excluding.is_empty() {
        return std::borrow::Cow::Borrowed(events);
    }
    events
        .iter()
        .filter(|event| !excluding.iter().any(|d| d.concerns(&event.key)))
        .cloned()
        .collect()
}

/// The disputes stored about `id`, read from the store itself: what a
/// score computed outside a serving platform (a rescore, `credence
/// score`, `credence explain`) leaves out, by the same rule ([`counted`]).
/// Whether a dispute leaves its record out does not depend on when it is
/// read (an open one and one lapsed for the subject both do), so no clock
/// is needed.
pub(crate) fn stored_of(
    store: &dyn credence_store::Store,
    id: &SubjectId,
) -> crate::Result<Vec<Dispute>> {
    store
        .records(kind::DISPUTE, credence_store::RecordFilter::Subject(id))?
        .iter()
        .map(decode_stored)
        .collect()
}

/// Every stored dispute that leaves a record out, by subject: read once
/// before a rescore scores everyone (disputes are few beside subjects).
pub(crate) fn stored_excluding(
    store: &dyn credence_store::Store,
) -> crate::Result<std::collections::HashMap<SubjectId, Vec<Dispute>>> {
    let mut by_subject: std::collections::HashMap<SubjectId, Vec<Dispute>> =
        std::collections::HashMap::new();
    for record in store.records(kind::DISPUTE, credence_store::RecordFilter::All)? {
        let dispute = decode_stored(&record)?;
        if let Some(subject) = record.subject
            && dispute.status.excludes_record()
        {
            by_subject.entry(subject).or_default().push(dispute);
        }
    }
    Ok(by_subject)
}

fn decode_stored(record: &credence_store::Record) -> crate::Result<Dispute> {
    serde_json::from_str(&record.body).map_err(|e| {
        crate::Error::Input(format!(
            "the stored dispute {} is unreadable ({e}); the database is damaged or from a newer version",
            record.id
        ))
    })
}

/// True when some dispute leaves a record out of the score.
pub(crate) fn any_excluding(disputes: &[Dispute]) -> bool {
    disputes.iter().any(|d| d.status.excludes_record())
}

/// A subject's dispute of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dispute {
    /// Its id.
    pub id: String,
    /// Who reported the record.
    pub furnisher_id: String,
    /// The furnisher's id of the record.
    pub event_id: String,
    /// The subject's reason.
    pub reason: String,
    /// When opened.
    pub opened_at: Timestamp,
    /// The furnisher must answer before this, or it resolves for the subject.
    pub answer_due: Timestamp,
    /// Where it stands.
    pub status: DisputeStatus,
    /// When it was resolved.
    pub resolved_at: Option<Timestamp>,
    /// The furnisher's or operator's note.
    #[serde(default)]
    pub note: String,
    /// For a correction: the event id of the corrected record.
    #[serde(default)]
    pub replacement_event_id: Option<String>,
    /// The other events the disputed record is made of (a late payment is
    /// its bill and the payments against it), fixed when the dispute
    /// opens: the dispute excludes them all, so the record leaves the
    /// score at once, whichever of its events was named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<RecordRef>,
}

/// One event, by its furnisher and the furnisher's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRef {
    /// Who reported it.
    pub furnisher_id: String,
    /// The furnisher's id of it.
    pub event_id: String,
}

impl Dispute {
    /// The dispute as it stands at `now`: one still open past its deadline
    /// is resolved for the subject, whether or not its lapse has been
    /// written yet. The deadline decides, not whoever reads first.
    pub fn as_of(mut self, now: Timestamp) -> Self {
        if self.status == DisputeStatus::Open && now >= self.answer_due {
            self.status = DisputeStatus::ResolvedForSubject;
            self.resolved_at = Some(self.answer_due);
            self.note = format!(
                "{} did not answer within {} days; resolved for you and the record no longer counts",
                self.furnisher_id,
                super::DISPUTE_ANSWER_DAYS
            );
        }
        self
    }

    /// True when `key` is one of the events the disputed record is made of.
    pub fn concerns(&self, key: &credence_domain::EventKey) -> bool {
        let is = |furnisher: &str, event: &str| {
            furnisher == key.furnisher_id.as_str() && event == key.event_id.as_str()
        };
        is(&self.furnisher_id, &self.event_id)
            || self.covers.iter().any(|r| is(&r.furnisher_id, &r.event_id))
    }
}

/// A record left out of the score because of a dispute.
#[derive(Debug, Clone, Serialize)]
pub struct DisputedRecord {
    /// Who reported it.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// The dispute's status.
    pub status: DisputeStatus,
}

/// Open a dispute on one of your records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeRequest {
    /// Who reported the record.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// What is wrong with it.
    pub reason: String,
}

/// How a furnisher answers a dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputeAnswerKind {
    /// The record is right; it counts again.
    Confirm,
    /// The record was wrong; a corrected one was reported under
    /// `replacement_event_id`.
    Correct,
    /// The record should not have been reported.
    Withdraw,
}

/// A furnisher's (or operator's) answer to a dispute.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisputeAnswer {
    /// The answer.
    pub answer: DisputeAnswerKind,
    /// A note for the subject.
    #[serde(default)]
    pub note: String,
    /// For `correct`: the event id of the corrected record (reported first).
    #[serde(default)]
    pub replacement_event_id: Option<String>,
}

impl Platform {
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
}

impl super::Disputes<'_> {
    /// The subject's disputes.
    pub fn my_disputes(&self, principal: &Principal) -> ApiResult<Vec<Dispute>> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        self.disputes_of(id)
    }

    /// Opens a dispute; the record stops counting at once.
    pub fn open_dispute(
        &self,
        principal: &Principal,
        request: &DisputeRequest,
    ) -> ApiResult<Dispute> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        bounded("reason", &request.reason, 1_000)?;
        self.own_event(id, &request.furnisher_id, &request.event_id)?;
        let named = credence_domain::EventKey {
            furnisher_id: credence_domain::FurnisherId::new(&request.furnisher_id)
                .map_err(|e| ApiError::invalid("furnisher_id", e.to_string()))?,
            event_id: credence_domain::EventId::new(&request.event_id)
                .map_err(|e| ApiError::invalid("event_id", e.to_string()))?,
        };
        let assessment = self.assess(id)?;
        if assessment
            .disputes
            .iter()
            .any(|d| d.status == DisputeStatus::Open && d.concerns(&named))
        {
            return Err(ApiError::new(
                Code::Conflict,
                "this record already has an open dispute; follow it in your disputes",
            ));
        }
        // A subject disputes a record as shown: every event it is made of
        // leaves the score with it.
        let covers = assessment
            .report
            .negative_records
            .iter()
            .find(|r| r.events.contains(&named))
            .map(|r| {
                r.events
                    .iter()
                    .filter(|k| **k != named)
                    .map(|k| RecordRef {
                        furnisher_id: k.furnisher_id.as_str().to_string(),
                        event_id: k.event_id.as_str().to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let now = self.now();
        let dispute = Dispute {
            id: format!(
                "d_{}",
                super::access::hex(&super::access::random_bytes::<8>()?)
            ),
            furnisher_id: request.furnisher_id.clone(),
            event_id: request.event_id.clone(),
            reason: request.reason.trim().to_string(),
            opened_at: now,
            answer_due: now
                .checked_add((DISPUTE_ANSWER_DAYS * 24).hours())
                .map_err(ApiError::internal)?,
            status: DisputeStatus::Open,
            resolved_at: None,
            note: String::new(),
            replacement_event_id: None,
            covers,
        };
        self.audit_writing(
            principal,
            "dispute.open",
            Some(id),
            format!(
                "dispute {} on {}'s record {}",
                dispute.id, dispute.furnisher_id, dispute.event_id
            ),
            vec![Records::put_write(
                kind::DISPUTE,
                dispute.id.clone(),
                Some(id),
                Some(&dispute.furnisher_id),
                &dispute,
            )?],
        )?;
        Ok(dispute)
    }

    /// Open disputes on the furnisher's records (all open ones for an
    /// operator).
    pub fn dispute_queue(&self, principal: &Principal) -> ApiResult<Vec<Dispute>> {
        let filter = match principal {
            Principal::Furnisher { id, .. } => credence_store::RecordFilter::Owner(id),
            Principal::Operator { .. } | Principal::System { .. } => {
                credence_store::RecordFilter::All
            }
            _ => {
                return Err(ApiError::new(
                    Code::Forbidden,
                    "only furnishers and operators see dispute queues",
                ));
            }
        };
        Ok(self.settle_and_list_open(filter)?.0)
    }

    /// Answers a dispute: confirm, correct or withdraw.
    pub fn answer_dispute(
        &self,
        principal: &Principal,
        dispute_id: &str,
        answer: &DisputeAnswer,
    ) -> ApiResult<Dispute> {
        let record = self
            .store()
            .record(kind::DISPUTE, dispute_id)?
            .ok_or_else(|| ApiError::not_found(format!("no dispute {dispute_id:?}")))?;
        let allowed = match principal {
            Principal::Operator { .. } | Principal::System { .. } => true,
            Principal::Furnisher { id, .. } => record.owner.as_deref() == Some(id.as_str()),
            _ => false,
        };
        if !allowed {
            // Not yours: indistinguishable from not existing.
            return Err(ApiError::not_found(format!("no dispute {dispute_id:?}")));
        }
        let subject = record
            .subject
            .clone()
            .ok_or_else(|| ApiError::internal("dispute without subject"))?;
        // Settle a lapsed deadline before answering.
        let current = self
            .disputes_of(&subject)?
            .into_iter()
            .find(|d| d.id == dispute_id)
            .ok_or_else(|| ApiError::not_found(format!("no dispute {dispute_id:?}")))?;
        if current.status != DisputeStatus::Open {
            return Err(ApiError::new(
                Code::Conflict,
                format!("dispute {dispute_id} is already {}", current.status.name()),
            ));
        }
        if answer.note.chars().count() > 1_000 {
            return Err(ApiError::invalid(
                "note",
                "`note` is at most 1,000 characters",
            ));
        }
        let status = match answer.answer {
            DisputeAnswerKind::Confirm => DisputeStatus::Confirmed,
            DisputeAnswerKind::Withdraw => DisputeStatus::Withdrawn,
            DisputeAnswerKind::Correct => {
                let Some(replacement) = answer.replacement_event_id.as_deref() else {
                    return Err(ApiError::invalid(
                        "replacement_event_id",
                        "a correction names the corrected record: report it first, then give its event id",
                    ));
                };
                let exists = self.store().subject_events(&subject)?.iter().any(|e| {
                    e.key.event_id.as_str() == replacement
                        && e.key.furnisher_id.as_str() == current.furnisher_id
                });
                if !exists || replacement == current.event_id {
                    return Err(ApiError::invalid(
                        "replacement_event_id",
                        format!(
                            "no record {replacement:?} from {} for this subject",
                            current.furnisher_id
                        ),
                    ));
                }
                DisputeStatus::Corrected
            }
        };
        let dispute = Dispute {
            status,
            resolved_at: Some(self.now()),
            note: answer.note.trim().to_string(),
            replacement_event_id: answer.replacement_event_id.clone(),
            ..current
        };
        self.audit_writing(
            principal,
            "dispute.answer",
            Some(&subject),
            format!("dispute {} {}", dispute.id, dispute.status.name()),
            vec![Records::put_write(
                kind::DISPUTE,
                dispute.id.clone(),
                Some(&subject),
                Some(&dispute.furnisher_id),
                &dispute,
            )?],
        )?;
        Ok(dispute)
    }

    /// Every open dispute, for the operator's queue.
    pub fn open_disputes(&self, principal: &Principal) -> ApiResult<Vec<Dispute>> {
        operator_only(principal)?;
        self.dispute_queue(principal)
    }

    /// Settles every dispute past its deadline; returns how many.
    pub fn settle_lapsed_disputes(&self) -> ApiResult<usize> {
        Ok(self
            .settle_and_list_open(credence_store::RecordFilter::All)?
            .1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;
    use crate::Clock;
    use std::sync::Arc;

    /// A clock the test moves.
    struct Moving(std::sync::atomic::AtomicI64);

    impl Clock for Moving {
        fn now(&self) -> Timestamp {
            Timestamp::from_second(self.0.load(std::sync::atomic::Ordering::SeqCst))
                .unwrap_or(Timestamp::UNIX_EPOCH)
        }
    }

    fn lapses(store: &dyn Store) -> usize {
        crate::platform::audit::every_entry(store)
            .iter()
            .filter(|e| e.action == "dispute.lapsed")
            .count()
    }

    /// A subject with a record under dispute is scored on one rule: a
    /// partner's quick score leaves the record out as the full report
    /// does, and both are the score of the file without it.
    #[test]
    fn a_disputed_record_is_left_out_of_the_quick_score_as_of_the_report() {
        use credence_domain::build::EventFactory;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let start = 1_790_000_000;
        let clock = Arc::new(Moving(std::sync::atomic::AtomicI64::new(start)));
        let (platform, _) = super::super::two_processes(&dir.path().join("db"), clock.clone());
        let now = clock.now();
        let day = |n: i64| Timestamp::from_second(start - n * 86_400).unwrap_or(now);
        let mut f = EventFactory::new("bank", "s1").recorded_at(now);
        let mut events = vec![
            f.enrolled(day(700), credence_domain::SubjectKind::Person, false),
            f.account_opened(day(650), "a", credence_domain::AccountType::Loan, None),
        ];
        for month in 0..20 {
            let due = day(620 - month * 30);
            let bill = format!("b{month}");
            events.push(f.bill(due, "a", &bill, 100));
            events.push(f.payment(due, "a", Some(&bill), 100, 0));
        }
        let mut clean = events.clone();
        clean.sort_by(credence_domain::canonical_order);
        events.push(f.bill(day(20), "a", "late", 100));
        let late = f.payment(day(5), "a", Some("late"), 100, 60);
        let late_id = late.key.event_id.to_string();
        events.push(late);
        platform
            .store()
            .append_events(&events)
            .unwrap_or_else(|e| panic!("{e}"));
        let id = SubjectId::new("s1").unwrap_or_else(|e| panic!("{e}"));
        let quick = |p: &Platform| p.quick_score(&id).unwrap_or_else(|e| panic!("{e}"));
        let full = |p: &Platform| {
            let report = p.assess(&id).unwrap_or_else(|e| panic!("{e}")).report;
            (report.score, Platform::dimensions_of(&report))
        };
        let hurt = quick(&platform);
        assert_eq!((hurt.0, hurt.1), full(&platform), "before the dispute");
        platform
            .disputes()
            .open_dispute(
                &Principal::Subject { id: id.clone() },
                &DisputeRequest {
                    furnisher_id: "bank".into(),
                    event_id: late_id,
                    reason: "paid on time".into(),
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let disputed = quick(&platform);
        assert_eq!((disputed.0, disputed.1), full(&platform), "under dispute");
        let subject = platform.enrolled(&id).unwrap_or_else(|e| panic!("{e}"));
        let without = platform
            .report_without_disputed(&subject, &clean, &[], now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(disputed.0, without.score, "the file without the record");
        assert!(disputed.0 > hurt.0, "{disputed:?} vs {hurt:?}");

        // Scores made outside a serving platform follow the same rule: a
        // rescore (before, it stored the score with the record in) and
        // `credence score` and `explain`.
        let scorer = platform.scorer().unwrap_or_else(|e| panic!("{e}"));
        let store = platform.store();
        let reported = scorer
            .report(store, &id, now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reported.score, disputed.0, "a score of one subject");
        let explained = scorer
            .explain(store, &id, now)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(explained.score, disputed.0, "an explanation");
        scorer
            .rescore(store, credence_store::HashRange::ALL, now, now, &mut |_| {})
            .unwrap_or_else(|e| panic!("{e}"));
        let stored = store.latest_score(&id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored.and_then(|s| s.score), disputed.0, "a rescore");
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
        let (one, two) = super::super::two_processes(&path, clock.clone());
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
            .disputes()
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
        let seen = one
            .disputes()
            .my_disputes(&subject)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seen[0].id, dispute.id);
        assert_eq!(seen[0].status, DisputeStatus::ResolvedForSubject);
        assert_eq!(lapses(one.store()), 0, "a read writes no lapse");

        let settled: usize = std::thread::scope(|scope| {
            let a = scope.spawn(|| one.disputes().settle_lapsed_disputes());
            let b = scope.spawn(|| two.disputes().settle_lapsed_disputes());
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
        assert_eq!(two.disputes().settle_lapsed_disputes().ok(), Some(0));
        assert_eq!(lapses(one.store()), 1);
        one.close();
        two.close();
    }

    #[test]
    fn a_dispute_status_is_named_as_the_api_spells_it() {
        for status in [
            DisputeStatus::Open,
            DisputeStatus::Confirmed,
            DisputeStatus::Corrected,
            DisputeStatus::Withdrawn,
            DisputeStatus::ResolvedForSubject,
        ] {
            let wire = serde_json::to_value(status).expect("serialises");
            assert_eq!(wire.as_str(), Some(status.name()));
        }
    }
}
