//! Outcomes for training: did a subject go bad in a window after a
//! snapshot? "Bad" is a bill reaching 90 days past due, an account charged
//! off, or a court judgment for unpaid debt, within the window. Computed
//! from the subject's own facts, like every feature.

use crate::engine::Ledger;
use credence_domain::{Closure, DAY_SECONDS, SubjectLog};

/// True when the subject went bad in `(snapshot, window_end]` (epoch
/// seconds).
pub fn bad_outcome(log: &SubjectLog, snapshot: i64, window_end: i64) -> bool {
    let mut ledger = Ledger::default();
    ledger.build(log, window_end);
    let in_window = |at: i64| at > snapshot && at <= window_end;
    let ninety_days = 90 * DAY_SECONDS;
    let delinquent = ledger.bills.iter().any(|bill| {
        let reached = bill.due + ninety_days;
        in_window(reached) && bill.paid_days_late.is_none_or(|late| late >= 90)
    });
    let charged_off = ledger
        .accounts
        .iter()
        .any(|a| matches!(a.closed, Some((at, Closure::ChargedOff, _)) if in_window(at)));
    let judged = ledger.judgments.iter().any(|j| in_window(j.entered));
    delinquent || charged_off || judged
}
