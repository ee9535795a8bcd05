//! Negative records and the date each one stops counting, so a subject can
//! see exactly what holds the score down and until when.

use crate::engine::{DELINQUENT_DAYS, Ledger, WINDOW_24M_DAYS, ts};
use credence_domain::{
    Closure, DAY_SECONDS, Event, EventBody, EventKey, EventKind, LogError, NONE, Policy, SubjectLog,
};
use jiff::Timestamp;
use serde::Serialize;

/// How heavy a negative record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSeverity {
    /// Paid 1–29 days late, or a rental returned late or damaged: counts for
    /// 24 months (730 days).
    Minor,
    /// 30 or more days late, or unpaid and delinquent.
    Delinquency,
    /// A contract closed for less than was owed.
    Settlement,
    /// A debt written off by the furnisher.
    ChargeOff,
    /// A court judgment for unpaid debt.
    Judgment,
}

/// One record that currently counts against the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NegativeRecord {
    /// The event behind it (for disputes and statements).
    pub event: EventKey,
    /// Every event the record is made of (a late payment is its bill and
    /// the payments against it): a dispute of the record excludes them
    /// all. Not part of the record's wire shape.
    #[serde(skip)]
    pub events: Vec<EventKey>,
    /// The account it concerns, as its description names it. Not part of
    /// the wire shape: a partner's copy names it by pseudonym.
    #[serde(skip)]
    pub account: Option<String>,
    /// How heavy it is.
    pub severity: NegativeSeverity,
    /// What it is, in a sentence.
    pub description: String,
    /// The date that starts its clock (a bill's due date, a closure's date).
    pub dated: Timestamp,
    /// When it stops counting.
    pub stops_counting: Timestamp,
}

/// Every negative record of a subject that still counts as of `as_of`,
/// oldest first. `events` are the subject's events the log was built from
/// (they name each record); the log decides what counts, exactly as the
/// feature engine does.
pub fn negative_records(
    log: &SubjectLog,
    events: &[Event],
    as_of: Timestamp,
    policy: &Policy,
) -> Result<Vec<NegativeRecord>, LogError> {
    if events.len() != log.facts().len() {
        return Err(LogError::Unordered {
            position: events.len().min(log.facts().len()),
        });
    }
    let now = as_of.as_second();
    let facts = log.facts_as_of(now);
    let mut ledger = Ledger::default();
    ledger.build(log, now);
    let minor_end = |date: i64| ts(date + WINDOW_24M_DAYS * DAY_SECONDS);
    let aged_end = |date: i64| policy.stops_counting(ts(date));
    let account_of = |index: usize| events[index].body.account_id().map_or("?", |a| a.as_str());
    let mut records = Vec::new();
    let keys = |parts: &[usize]| -> Vec<EventKey> {
        parts.iter().map(|&i| events[i].key.clone()).collect()
    };
    let mut push =
        |parts: Vec<usize>, severity, description: String, dated: i64, stops: Timestamp| {
            if now < stops.as_second() {
                let index = parts[0];
                records.push(NegativeRecord {
                    event: events[index].key.clone(),
                    events: keys(&parts),
                    account: events[index]
                        .body
                        .account_id()
                        .map(|a| a.as_str().to_string()),
                    severity,
                    description,
                    dated: ts(dated),
                    stops_counting: stops,
                });
            }
        };
    // The payments against a bill, the satisfaction of a judgment: the
    // other events a record is made of.
    let related = |first: usize, kind: EventKind, account: u32, reference: u32| -> Vec<usize> {
        let mut parts = vec![first];
        if reference != NONE {
            parts.extend(facts.iter().enumerate().filter_map(|(i, f)| {
                (i != first && f.kind == kind && f.account == account && f.reference == reference)
                    .then_some(i)
            }));
        }
        parts
    };

    for bill in &ledger.bills {
        let Some(late) = bill.lateness(now).filter(|d| *d > 0) else {
            continue;
        };
        let index = bill.fact as usize;
        let account = account_of(index);
        let description = match bill.paid_days_late {
            Some(days) => format!(
                "payment on account {account} made {} late",
                credence_domain::count_days(days)
            ),
            None => format!(
                "bill on account {account} unpaid, {} overdue",
                credence_domain::count_days(late)
            ),
        };
        let parts = related(index, EventKind::PaymentMade, bill.account, bill.reference);
        if late >= DELINQUENT_DAYS {
            push(
                parts,
                NegativeSeverity::Delinquency,
                description,
                bill.due,
                aged_end(bill.due),
            );
        } else {
            push(
                parts,
                NegativeSeverity::Minor,
                description,
                bill.due,
                minor_end(bill.due),
            );
        }
    }
    for account in &ledger.accounts {
        let Some((at, closure, closing)) = account.closed else {
            continue;
        };
        let (severity, what) = match closure {
            Closure::PaidAsAgreed => continue,
            Closure::Settled => (
                NegativeSeverity::Settlement,
                "settled for less than was owed",
            ),
            Closure::ChargedOff => (
                NegativeSeverity::ChargeOff,
                "written off as a loss (charge-off)",
            ),
        };
        // The closing event, not the opening one, is the record to dispute.
        let index = closing as usize;
        push(
            vec![index],
            severity,
            format!("account {} {what}", account_of(index)),
            at,
            aged_end(at),
        );
    }
    for judgment in &ledger.judgments {
        let state = if judgment.satisfied {
            "satisfied"
        } else {
            "not yet satisfied"
        };
        let first = judgment.fact as usize;
        push(
            related(
                first,
                EventKind::JudgmentSatisfied,
                facts[first].account,
                judgment.reference,
            ),
            NegativeSeverity::Judgment,
            format!("court judgment for unpaid debt, {state}"),
            judgment.entered,
            aged_end(judgment.entered),
        );
    }
    for (index, event) in events[..facts.len()].iter().enumerate() {
        if let EventBody::RentalReturned {
            account_id,
            days_late,
            damage,
        } = &event.body
            && (*days_late > 0 || *damage != credence_domain::Damage::None)
        {
            let at = event.occurred_at.as_second();
            push(
                vec![index],
                NegativeSeverity::Minor,
                format!(
                    "rental {account_id} returned {}",
                    rental_problem(*days_late, *damage)
                ),
                at,
                minor_end(at),
            );
        }
    }
    records.sort_by(|a, b| a.dated.cmp(&b.dated).then_with(|| a.event.cmp(&b.event)));
    Ok(records)
}

/// What went wrong with a rental's return, in words: "2 days late",
/// "with minor damage", or both.
pub fn rental_problem(days_late: u32, damage: credence_domain::Damage) -> String {
    let mut what = Vec::new();
    if days_late > 0 {
        what.push(format!("{} late", credence_domain::count_days(days_late)));
    }
    if damage != credence_domain::Damage::None {
        what.push(format!("with {} damage", damage.name()));
    }
    what.join(" ")
}
