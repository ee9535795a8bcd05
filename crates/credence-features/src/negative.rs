//! Negative records and the date each one stops counting, so a subject can
//! see exactly what holds the score down and until when.

use crate::SubjectHistory;
use crate::engine::{DELINQUENT_DAYS, Ledger, WINDOW_24M_DAYS, ts};
use credence_domain::{Closure, DAY_SECONDS, Damage, EventBody, EventKey, Policy};
use jiff::Timestamp;
use serde::Serialize;

/// How heavy a negative record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeSeverity {
    /// Paid 1–29 days late, or a rental returned late or damaged: counts for
    /// 24 months.
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
    /// How heavy it is.
    pub severity: NegativeSeverity,
    /// What it is, in a sentence.
    pub description: String,
    /// The date that starts its clock (a bill's due date, a closure's date).
    pub dated: Timestamp,
    /// When it stops counting.
    pub stops_counting: Timestamp,
}

/// Every negative record of `history` that still counts as of `as_of`,
/// oldest first.
pub fn negative_records(
    history: &SubjectHistory<'_>,
    as_of: Timestamp,
    policy: &Policy,
) -> Vec<NegativeRecord> {
    let events = history.events_as_of(as_of);
    let now = as_of.as_second();
    let mut ledger = Ledger::default();
    ledger.build(events, now);
    let minor_end = |date: i64| ts(date + WINDOW_24M_DAYS * DAY_SECONDS);
    let aged_end = |date: i64| policy.stops_counting(ts(date));
    let mut records = Vec::new();
    let mut push = |event: usize, severity, description: String, dated: i64, stops: Timestamp| {
        if now < stops.as_second() {
            records.push(NegativeRecord {
                event: events[event].key.clone(),
                severity,
                description,
                dated: ts(dated),
                stops_counting: stops,
            });
        }
    };

    for bill in &ledger.bills {
        let Some(late) = bill.lateness(now).filter(|d| *d > 0) else {
            continue;
        };
        let event = bill.event as usize;
        let account = events[event]
            .body
            .account_id()
            .map(|a| a.as_str())
            .unwrap_or("?");
        let description = match bill.paid_days_late {
            Some(days) => format!("payment on account {account} made {days} days late"),
            None => format!("bill on account {account} unpaid, {late} days overdue"),
        };
        if late >= DELINQUENT_DAYS {
            push(
                event,
                NegativeSeverity::Delinquency,
                description,
                bill.due,
                aged_end(bill.due),
            );
        } else {
            push(
                event,
                NegativeSeverity::Minor,
                description,
                bill.due,
                minor_end(bill.due),
            );
        }
    }
    for account in &ledger.accounts {
        let Some((at, closure)) = account.closed else {
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
        let closing = events.iter().rposition(|e| {
            matches!(e.body, EventBody::AccountClosed { .. })
                && e.body.account_id() == events[account.event as usize].body.account_id()
        });
        let event = closing.unwrap_or(account.event as usize);
        let id = events[event]
            .body
            .account_id()
            .map(|a| a.as_str())
            .unwrap_or("?");
        push(
            event,
            severity,
            format!("account {id} {what}"),
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
        push(
            judgment.event as usize,
            NegativeSeverity::Judgment,
            format!("court judgment for unpaid debt, {state}"),
            judgment.entered,
            aged_end(judgment.entered),
        );
    }
    for (i, event) in events.iter().enumerate() {
        if let EventBody::RentalReturned {
            account_id,
            days_late,
            damage,
        } = &event.body
            && (*days_late > 0 || *damage != Damage::None)
        {
            let at = event.occurred_at.as_second();
            let mut what = Vec::new();
            if *days_late > 0 {
                what.push(format!("{days_late} days late"));
            }
            if *damage != Damage::None {
                what.push(format!("with {} damage", damage.name()));
            }
            push(
                i,
                NegativeSeverity::Minor,
                format!("rental {account_id} returned {}", what.join(" ")),
                at,
                minor_end(at),
            );
        }
    }
    records.sort_by(|a, b| a.dated.cmp(&b.dated).then_with(|| a.event.cmp(&b.event)));
    records
}
