//! A subject's rights over their own file: read it (score, reasons,
//! history), project it (what-if), see who looked, freeze it, add
//! statements, ask a person to review a decision, read notices, export
//! everything, and leave (erasure). Consents and disputes have homes of
//! their own (`consents`, `disputes`).
//!
//! Every method takes the subject from the verified token and nothing else,
//! so no request can name another subject.

use super::access::operator_only;
use super::records::{Freeze, Records, SEP, kind};
use super::{
    ApiError, ApiResult, Code, Consent, Dispute, DisputedRecord, Platform, Principal, Review,
    ReviewStatus, Statement,
};
use credence_domain::build::EventFactory;
use credence_domain::wire::WireEvent;
use credence_domain::{Event, EventBody, SubjectId, SubjectKind};
use credence_scorecard::{Band, ScoreReport, ScoreStatus};
use credence_store::{RecordFilter, RecordWrite, StoredScore};
use jiff::ToSpan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A subject's own view of their file.
#[derive(Debug, Clone, Serialize)]
pub struct SubjectView {
    /// The subject.
    pub subject_id: String,
    /// Person or organisation.
    pub kind: SubjectKind,
    /// True while partners are refused every answer.
    pub frozen: bool,
    /// True while the subject's separate consent to restricted data
    /// (income, assets, deposits, tax) stands.
    pub restricted_data_consent: bool,
    /// Score, band, dimensions, reasons with how to improve, and every
    /// negative record with the date it stops counting.
    pub report: ScoreReport,
    /// Records the score leaves out because of a dispute.
    pub excluded_under_dispute: Vec<DisputedRecord>,
    /// The subject's statements on their records.
    pub statements: Vec<Statement>,
    /// The ids of the subject's accounts (for the what-if simulator).
    pub accounts: Vec<String>,
    /// What each dimension measures, by name: a description of the
    /// measure, never a verdict on this subject (the reasons say that).
    pub dimension_meanings: BTreeMap<&'static str, &'static str>,
}

/// Attach a statement to one of your records.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatementRequest {
    /// Who reported the record.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// At most 1,000 characters.
    pub text: String,
}

/// Ask a person to review an automated decision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// Which decision (a perk refused, a score).
    pub about: String,
    /// What the reviewer should know.
    pub message: String,
}

/// One hypothetical change.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scenario {
    /// "If I pay this balance down to X" (minor units).
    PayDown {
        /// The account (one of your records').
        account_id: String,
        /// The new balance, minor units, ≥ 0.
        balance: i64,
    },
    /// "If I pay every bill on time for N more months".
    OnTimeMonths {
        /// 1–24.
        months: u32,
    },
}

/// The result of a what-if.
#[derive(Debug, Clone, Serialize)]
pub struct WhatIf {
    /// The score today (none for a thin file).
    pub current_score: Option<i32>,
    /// The projected score.
    pub projected_score: Option<i32>,
    /// Projected minus current, when both exist.
    pub change: Option<i32>,
    /// The projected band: `poor`, `fair`, `good`, `very_good` or `excellent`.
    pub projected_band: Option<String>,
    /// The date the projection is for.
    pub as_of: String,
    /// A reminder that this is a projection.
    pub note: &'static str,
}

/// One entry of "who looked at my data".
#[derive(Debug, Clone, Serialize)]
pub struct AccessEntry {
    /// When.
    pub at: String,
    /// Who (`partner:bikes`, `operator:…`, `subject` for yourself).
    pub who: String,
    /// What (`partner.check`, `read.report`, `consent.grant`…).
    pub what: String,
    /// Why and with what outcome.
    pub why: String,
}

/// A notice of a negative record.
#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// When the record arrived.
    pub received_at: String,
    /// Who reported it.
    pub furnisher_id: String,
    /// The record.
    pub event_id: String,
    /// What it says.
    pub message: String,
}

/// One score of a subject's history, as the subject reads it: dimensions
/// by name and the band spelt as everywhere else in the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScorePoint {
    /// The instant the score is as of (RFC 3339).
    pub as_of: String,
    /// `model_id@version` of the model that made it.
    pub model_version: String,
    /// `scored` or `not_enough_data`.
    pub status: ScoreStatus,
    /// 350–950 when scored.
    pub score: Option<i32>,
    /// The band: `poor`, `fair`, `good`, `very_good` or `excellent`.
    pub band: Option<Band>,
    /// Probability of default when scored.
    pub pd: Option<f64>,
    /// The five dimensions by name (`history`, `capacity`, `behaviour`,
    /// `identity`, `fulfilment`), 0–100 each, `null` where nothing speaks
    /// to it.
    pub dimensions: BTreeMap<&'static str, Option<u8>>,
    /// Reason codes, most important first.
    pub reasons: Vec<String>,
}

impl From<&StoredScore> for ScorePoint {
    fn from(stored: &StoredScore) -> Self {
        Self {
            as_of: stored.as_of.to_string(),
            model_version: stored.model_version.clone(),
            status: if stored.scored {
                ScoreStatus::Scored
            } else {
                ScoreStatus::NotEnoughData
            },
            score: stored.score,
            band: stored.score.map(Band::of),
            pd: stored.pd,
            dimensions: credence_features::Dimension::ALL
                .iter()
                .zip(stored.dimensions)
                .map(|(d, value)| (d.name(), value))
                .collect(),
            reasons: stored.reasons.clone(),
        }
    }
}

/// Everything Credence holds about a subject.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    /// When exported.
    pub exported_at: String,
    /// The subject's own view.
    pub view: SubjectView,
    /// Every record, in the wire format furnishers use.
    pub events: Vec<serde_json::Value>,
    /// Every stored score, oldest first.
    pub score_history: Vec<ScorePoint>,
    /// Consents given.
    pub consents: Vec<Consent>,
    /// Disputes.
    pub disputes: Vec<Dispute>,
    /// Review requests.
    pub reviews: Vec<Review>,
    /// Notices of negative records.
    pub notices: Vec<Notice>,
    /// Who looked.
    pub access_log: Vec<AccessEntry>,
}

const WHAT_IF_NOTE: &str = "A projection from your records and the stated changes; it is not a promise, and nothing is stored.";

pub(super) fn subject_of(principal: &Principal) -> ApiResult<&SubjectId> {
    match principal {
        Principal::Subject { id } => Ok(id),
        _ => Err(super::Audience::Subjects.refusal()),
    }
}

pub(super) fn bounded(field: &str, text: &str, max: usize) -> ApiResult<()> {
    if text.trim().is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    if text.chars().count() > max {
        return Err(ApiError::invalid(
            field,
            format!("`{field}` is longer than {max} characters; shorten it"),
        ));
    }
    Ok(())
}

fn negative_message(event: &Event) -> Option<String> {
    match &event.body {
        EventBody::PaymentMade {
            account_id,
            days_late,
            ..
        } if *days_late > 0 => Some(format!(
            "a payment on account {account_id} was reported {} late",
            credence_domain::count_days(*days_late)
        )),
        EventBody::AccountClosed {
            account_id,
            closure,
            ..
        } if closure.name() != "paid_as_agreed" => Some(format!(
            "account {account_id} was reported closed as {}",
            closure.name().replace('_', " ")
        )),
        EventBody::RentalReturned {
            account_id,
            days_late,
            damage,
        } if *days_late > 0 || *damage != credence_domain::Damage::None => Some(format!(
            "rental {account_id} was reported returned {}",
            credence_features::rental_problem(*days_late, *damage)
        )),
        EventBody::JudgmentEntered { judgment_id, .. } => Some(format!(
            "a court judgment for unpaid debt ({judgment_id}) was reported"
        )),
        _ => None,
    }
}

impl Platform {
    fn own_view(&self, id: &SubjectId) -> ApiResult<SubjectView> {
        let assessment = self.assess(id)?;
        let frozen = self
            .records()
            .get::<Freeze>(kind::FREEZE, id.as_str())?
            .is_some();
        let statements = self
            .records()
            .list(kind::STATEMENT, RecordFilter::Subject(id))?;
        let mut accounts: Vec<String> = assessment
            .events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::AccountOpened { account_id, .. } => Some(account_id.to_string()),
                _ => None,
            })
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        Ok(SubjectView {
            accounts,
            dimension_meanings: credence_features::Dimension::ALL
                .iter()
                .map(|d| (d.name(), d.explanation()))
                .collect(),
            subject_id: id.to_string(),
            kind: assessment.subject.kind,
            restricted_data_consent: assessment.subject.restricted_data_consent,
            frozen,
            report: assessment.report,
            excluded_under_dispute: assessment
                .disputes
                .iter()
                .filter(|d| d.status.excludes_record())
                .map(|d| DisputedRecord {
                    furnisher_id: d.furnisher_id.clone(),
                    event_id: d.event_id.clone(),
                    status: d.status,
                })
                .collect(),
            statements,
        })
    }

    pub(super) fn own_event(
        &self,
        id: &SubjectId,
        furnisher: &str,
        event_id: &str,
    ) -> ApiResult<Event> {
        self.store()
            .subject_events(id)?
            .into_iter()
            .find(|e| e.key.furnisher_id.as_str() == furnisher && e.key.event_id.as_str() == event_id)
            .ok_or_else(|| {
                ApiError::not_found(format!(
                    "you have no record {event_id:?} from {furnisher:?}; use the ids shown on your records"
                ))
            })
    }

    fn notices(&self, events: &[Event]) -> Vec<Notice> {
        // Derived from the stored events themselves, so a notice exists
        // exactly when its record does and can never be lost apart from it.
        let mut notices: Vec<Notice> = events
            .iter()
            .filter_map(|e| {
                negative_message(e).map(|message| Notice {
                    received_at: e.recorded_at.to_string(),
                    furnisher_id: e.key.furnisher_id.to_string(),
                    event_id: e.key.event_id.to_string(),
                    message,
                })
            })
            .collect();
        notices.sort_by(|a, b| b.received_at.cmp(&a.received_at));
        notices
    }
}

impl super::Rights<'_> {
    /// The subject's score, reasons, negative records and disputes.
    pub fn my_view(&self, principal: &Principal) -> ApiResult<SubjectView> {
        let id = subject_of(principal)?;
        let view = self.own_view(id)?;
        self.audit(
            principal,
            "read.report",
            Some(id),
            "the subject read their own file",
        )?;
        Ok(view)
    }

    /// Stored scores, oldest first, with today's score last.
    pub fn my_history(&self, principal: &Principal) -> ApiResult<Vec<ScorePoint>> {
        let id = subject_of(principal)?;
        let assessment = self.assess(id)?;
        let mut history = self.store().score_history(id)?;
        let report = &assessment.report;
        let today = StoredScore {
            subject_id: id.clone(),
            as_of: self.now(),
            model_version: report.model_version.clone(),
            scored: report.score.is_some(),
            score: report.score,
            pd: report.pd,
            dimensions: Platform::dimensions_of(report),
            reasons: report.reasons.iter().map(|r| r.code.clone()).collect(),
            computed_at: self.now(),
        };
        history.retain(|s| s.as_of < today.as_of);
        history.push(today);
        self.audit(
            principal,
            "read.history",
            Some(id),
            "the subject read their score history",
        )?;
        Ok(history.iter().map(ScorePoint::from).collect())
    }

    /// Projects the score under hypothetical changes. Nothing is stored.
    pub fn what_if(&self, principal: &Principal, scenarios: &[Scenario]) -> ApiResult<WhatIf> {
        let id = subject_of(principal)?;
        if scenarios.is_empty() || scenarios.len() > 10 {
            return Err(ApiError::invalid(
                "scenarios",
                "give between 1 and 10 scenarios",
            ));
        }
        let assessment = self.assess(id)?;
        let now = self.now();
        let mut events = assessment.events.clone();
        let mut as_of = now;
        let mut factory = EventFactory::new("what-if", id.as_str()).recorded_at(now);
        for (index, scenario) in scenarios.iter().enumerate() {
            match scenario {
                Scenario::PayDown {
                    account_id,
                    balance,
                } => {
                    if *balance < 0 {
                        return Err(ApiError::invalid(
                            format!("scenarios[{index}].balance"),
                            "`balance` is in minor units and must be 0 or more",
                        ));
                    }
                    let opened = events.iter().any(|e| {
                        matches!(&e.body, EventBody::AccountOpened { account_id: a, .. } if a.as_str() == account_id)
                    });
                    if !opened {
                        return Err(ApiError::invalid(
                            format!("scenarios[{index}].account_id"),
                            format!(
                                "you have no account {account_id:?}; use an account id from your records"
                            ),
                        ));
                    }
                    events.push(factory.balance(now, account_id, *balance));
                }
                Scenario::OnTimeMonths { months } => {
                    if !(1..=24).contains(months) {
                        return Err(ApiError::invalid(
                            format!("scenarios[{index}].months"),
                            "`months` must be 1 to 24",
                        ));
                    }
                    let accounts = open_billed_accounts(&events);
                    for month in 1..=i64::from(*months) {
                        let due = now
                            .checked_add((month * 30 * 24).hours())
                            .map_err(ApiError::internal)?;
                        for (account, amount) in &accounts {
                            let bill = format!("whatif-{index}-{month}-{account}");
                            events.push(factory.bill(due, account, &bill, *amount));
                            events.push(factory.payment(due, account, Some(&bill), *amount, 0));
                        }
                        as_of = as_of.max(due);
                    }
                }
            }
        }
        events.sort_by(credence_domain::canonical_order);
        let projected = self.report_without_disputed(
            &assessment.subject,
            &events,
            &assessment.disputes,
            as_of,
        )?;
        self.audit(
            principal,
            "read.what_if",
            Some(id),
            "the subject ran a what-if",
        )?;
        Ok(WhatIf {
            current_score: assessment.report.score,
            projected_score: projected.score,
            change: assessment
                .report
                .score
                .zip(projected.score)
                .map(|(a, b)| b - a),
            projected_band: projected.band.map(|b| b.name().to_string()),
            as_of: as_of.to_string(),
            note: WHAT_IF_NOTE,
        })
    }

    /// Freezes (true) or unfreezes the file; both take effect at once.
    pub fn set_freeze(&self, principal: &Principal, frozen: bool) -> ApiResult<bool> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        let change = if frozen {
            Records::put_write(
                kind::FREEZE,
                id.to_string(),
                Some(id),
                None,
                &Freeze { since: self.now() },
            )?
        } else {
            RecordWrite::Delete {
                kind: kind::FREEZE,
                id: id.to_string(),
            }
        };
        self.audit_writing(
            principal,
            if frozen { "freeze.on" } else { "freeze.off" },
            Some(id),
            if frozen {
                "every partner query is refused until lifted"
            } else {
                "partner queries allowed again under consent"
            },
            vec![change],
        )?;
        Ok(frozen)
    }

    /// Who looked at the subject's data, newest first.
    pub fn my_access_log(
        &self,
        principal: &Principal,
        limit: usize,
    ) -> ApiResult<Vec<AccessEntry>> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        let entries = self
            .store()
            .audit_of_subject(&self.subject_ref(id), limit.clamp(1, 1_000))?;
        Ok(entries
            .into_iter()
            .map(|e| AccessEntry {
                at: e.at.to_string(),
                who: e.actor,
                what: e.action,
                why: e.detail,
            })
            .collect())
    }

    /// Attaches (or replaces) a statement on one of the subject's records.
    pub fn add_statement(
        &self,
        principal: &Principal,
        request: &StatementRequest,
    ) -> ApiResult<Statement> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        bounded("text", &request.text, 1_000)?;
        self.own_event(id, &request.furnisher_id, &request.event_id)?;
        let statement = Statement {
            furnisher_id: request.furnisher_id.clone(),
            event_id: request.event_id.clone(),
            text: request.text.trim().to_string(),
            at: self.now(),
        };
        self.audit_writing(
            principal,
            "statement.add",
            Some(id),
            format!("on a record from {}", request.furnisher_id),
            vec![Records::put_write(
                kind::STATEMENT,
                format!("{id}{SEP}{}{SEP}{}", request.furnisher_id, request.event_id),
                Some(id),
                Some(&request.furnisher_id),
                &statement,
            )?],
        )?;
        Ok(statement)
    }

    /// Queues a request for human review.
    pub fn request_review(
        &self,
        principal: &Principal,
        request: &ReviewRequest,
    ) -> ApiResult<Review> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        bounded("about", &request.about, 200)?;
        bounded("message", &request.message, 2_000)?;
        let review = Review {
            id: format!(
                "r_{}",
                super::access::hex(&super::access::random_bytes::<8>()?)
            ),
            about: request.about.trim().to_string(),
            message: request.message.trim().to_string(),
            opened_at: self.now(),
            status: ReviewStatus::Queued,
            outcome: String::new(),
            closed_at: None,
        };
        self.audit_writing(
            principal,
            "review.request",
            Some(id),
            format!("review {} about {}", review.id, review.about),
            vec![Records::put_write(
                kind::REVIEW,
                review.id.clone(),
                Some(id),
                None,
                &review,
            )?],
        )?;
        Ok(review)
    }

    /// The subject's review requests.
    pub fn my_reviews(&self, principal: &Principal) -> ApiResult<Vec<Review>> {
        let id = subject_of(principal)?;
        self.records().list(kind::REVIEW, RecordFilter::Subject(id))
    }

    /// Notices of every negative record reported, newest first.
    pub fn my_notices(&self, principal: &Principal) -> ApiResult<Vec<Notice>> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        Ok(self.notices(&self.store().subject_events(id)?))
    }

    /// Everything held about the subject, machine-readable.
    pub fn export(&self, principal: &Principal) -> ApiResult<Export> {
        let id = subject_of(principal)?;
        let view = self.own_view(id)?;
        let events = self.store().subject_events(id)?;
        let wire = events
            .iter()
            .map(|e| serde_json::to_value(WireEvent::from_event(e)).map_err(ApiError::internal))
            .collect::<ApiResult<Vec<_>>>()?;
        self.audit(
            principal,
            "read.export",
            Some(id),
            "the subject exported their data",
        )?;
        Ok(Export {
            exported_at: self.now().to_string(),
            notices: self.notices(&events),
            events: wire,
            score_history: self
                .store()
                .score_history(id)?
                .iter()
                .map(ScorePoint::from)
                .collect(),
            consents: self
                .records()
                .list(kind::CONSENT, RecordFilter::Subject(id))?,
            disputes: self.disputes_of(id)?,
            reviews: self
                .records()
                .list(kind::REVIEW, RecordFilter::Subject(id))?,
            access_log: self.my_access_log(principal, 1_000)?,
            view,
        })
    }

    /// Opts out: erases every event, score, consent, dispute and statement,
    /// leaving a tombstone under a keyed hash and the audit record of the
    /// erasure.
    pub fn opt_out(&self, principal: &Principal) -> ApiResult<credence_store::Erasure> {
        let id = subject_of(principal)?;
        self.enrolled(id)?;
        let reference = self.subject_ref(id);
        let tombstone =
            SubjectId::new(&format!("erased-{reference}")).map_err(ApiError::internal)?;
        // The entry commits with the erasure, in its transaction: never an
        // erasure without its record, nor a record of one not made.
        let at = self.now();
        let actor = principal.actor();
        let mut make = |erasure: &credence_store::Erasure| credence_store::AuditEntry {
            chain: super::audit::chain_of(Some(&reference)),
            seq: 0,
            at,
            actor: actor.clone(),
            action: "subject.erase".into(),
            subject_ref: Some(reference.clone()),
            detail: format!(
                "opted out: {} events, {} scores and {} other records erased; tombstone kept",
                erasure.events, erasure.scores, erasure.records
            ),
            prev_hash: String::new(),
            hash: String::new(),
            answer: None,
        };
        let entry = credence_store::EntryOf {
            make: &mut make,
            link: &mut super::audit::link,
        };
        self.store()
            .erase_subject_audited(id, &tombstone, Some(entry))
            .inspect(|_| self.clear_record_cache())?
            .ok_or_else(|| ApiError::not_found("no such subject"))
    }
}

/// Accounts with bills and not closed, with their latest bill amount.
fn open_billed_accounts(events: &[Event]) -> Vec<(String, i64)> {
    let mut accounts: Vec<(String, i64)> = Vec::new();
    for event in events {
        match &event.body {
            EventBody::BillDue {
                account_id, amount, ..
            } => match accounts.iter_mut().find(|(a, _)| a == account_id.as_str()) {
                Some(entry) => entry.1 = amount.minor,
                None => accounts.push((account_id.to_string(), amount.minor)),
            },
            EventBody::AccountClosed { account_id, .. } => {
                accounts.retain(|(a, _)| a != account_id.as_str());
            }
            _ => {}
        }
    }
    accounts
}

impl super::Rights<'_> {
    /// Review requests waiting for a person.
    pub fn review_queue(&self, principal: &Principal) -> ApiResult<Vec<Review>> {
        operator_only(principal)?;
        let reviews: Vec<Review> = self.records().list(kind::REVIEW, RecordFilter::All)?;
        Ok(reviews
            .into_iter()
            .filter(|r| r.status == ReviewStatus::Queued)
            .collect())
    }

    /// Closes a review with the reviewer's answer.
    pub fn close_review(
        &self,
        principal: &Principal,
        review_id: &str,
        outcome: &str,
    ) -> ApiResult<Review> {
        operator_only(principal)?;
        let record = self
            .store()
            .record(kind::REVIEW, review_id)?
            .ok_or_else(|| ApiError::not_found(format!("no review {review_id:?}")))?;
        let mut review: Review = super::records::decode(&record)?;
        if review.status == ReviewStatus::Closed {
            return Err(ApiError::new(
                Code::Conflict,
                format!("review {review_id} is already closed"),
            ));
        }
        if outcome.trim().is_empty() || outcome.chars().count() > 2_000 {
            return Err(ApiError::invalid(
                "outcome",
                "`outcome` must be 1–2,000 characters",
            ));
        }
        review.status = ReviewStatus::Closed;
        review.outcome = outcome.trim().to_string();
        review.closed_at = Some(self.now());
        self.audit_writing(
            principal,
            "review.close",
            record.subject.as_ref(),
            format!("review {review_id} closed"),
            vec![Records::put_write(
                kind::REVIEW,
                review.id.clone(),
                record.subject.as_ref(),
                None,
                &review,
            )?],
        )?;
        Ok(review)
    }
}
