//! Computing the feature vector of one subject as of one instant.

use crate::{Feature, FeatureVector};
use credence_domain::{
    AccountType, Admission, Closure, DAY_SECONDS, EventKind, IdentityLevel, NONE, Policy,
    SubjectLog, months_between,
};
use jiff::Timestamp;
use serde::Serialize;
use std::fmt;

/// Window of the "last 24 months" features, in days. Minor lateness stops
/// counting when it leaves this window.
pub(crate) const WINDOW_24M_DAYS: i64 = 730;
const WINDOW_12M_DAYS: i64 = 365;
const WINDOW_6M_DAYS: i64 = 183;
/// Days overdue after which an unpaid bill is a delinquency. Before that it
/// is simply not yet counted: reporting lags, and a score should not flicker.
pub(crate) const DELINQUENT_DAYS: u32 = 30;
/// Ratios of amounts are capped so one outlier cannot dominate a bin.
const RATIO_CAP: f64 = 50.0;

/// Features of one subject, and whether the file is too thin to score.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSet {
    /// The computed features.
    pub values: FeatureVector,
    /// `Some` when the file does not hold enough to judge: the subject gets
    /// "not enough data" and this list of what is missing, never a low score.
    pub thin: Option<ThinFile>,
}

/// What a thin file is missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThinFile {
    /// Every unmet requirement.
    pub reasons: Vec<ThinReason>,
}

/// One unmet requirement of a scorable file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ThinReason {
    /// No account, bill or rental at all.
    NoObligations,
    /// The oldest obligation is too recent.
    ShortHistory {
        /// Age of the oldest obligation in months.
        months: i64,
        /// Months required.
        required: u32,
    },
    /// Too few bills, payments or rental returns in the last 24 months.
    FewRecentRecords {
        /// Records found.
        have: u32,
        /// Records required.
        required: u32,
    },
}

impl fmt::Display for ThinReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoObligations => f.write_str("no account, bill or rental has been reported yet"),
            Self::ShortHistory { months, required } => write!(
                f,
                "the oldest account or rental is {months} month(s) old; {required} are needed"
            ),
            Self::FewRecentRecords { have, required } => write!(
                f,
                "{have} bill(s), payment(s) or rental return(s) in the last 24 months; {required} are needed"
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct AccountState {
    /// Interned account id.
    pub id: u32,
    pub account_type: Option<AccountType>,
    pub opened_at: Option<i64>,
    pub closed: Option<(i64, Closure, u32)>,
    pub limit: Option<i64>,
    pub balance: Option<i64>,
}

/// A bill, or a payment reported without a bill: one "payment record".
#[derive(Debug, Clone, Copy)]
pub(crate) struct BillState {
    /// Index of the bill (or the stand-alone payment) fact.
    pub fact: u32,
    /// Interned account and bill ids ([`NONE`] bill for a stand-alone payment).
    pub account: u32,
    pub reference: u32,
    /// Due date (for a stand-alone payment: its date), epoch seconds.
    pub due: i64,
    pub amount: i64,
    /// Fewest days late among its payments; `None` while unpaid.
    pub paid_days_late: Option<u32>,
}

impl BillState {
    /// Days late as of `as_of`: the payment's lateness, or for an unpaid bill
    /// the days overdue once it is delinquent (`None` before that).
    pub fn lateness(&self, as_of: i64) -> Option<u32> {
        match self.paid_days_late {
            Some(days) => Some(days),
            None => {
                let overdue = (as_of - self.due).div_euclid(DAY_SECONDS);
                u32::try_from(overdue)
                    .ok()
                    .filter(|d| *d >= DELINQUENT_DAYS)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct JudgmentState {
    pub fact: u32,
    pub reference: u32,
    pub entered: i64,
    pub satisfied: bool,
}

/// Everything a subject's facts say, organised by account, bill and
/// judgment. Built in two passes so that a payment made before its bill's
/// due date (an early payment) still finds its bill.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub accounts: Vec<AccountState>,
    pub bills: Vec<BillState>,
    pub judgments: Vec<JudgmentState>,
    pub enrolled_at: Option<i64>,
    pub first_obligation: Option<i64>,
    pub identity_level: u8,
    pub latest_income: Option<(i64, i64)>,
    pub paid_12m: i64,
}

impl Ledger {
    pub fn clear(&mut self) {
        self.accounts.clear();
        self.bills.clear();
        self.judgments.clear();
        self.enrolled_at = None;
        self.first_obligation = None;
        self.identity_level = 0;
        self.latest_income = None;
        self.paid_12m = 0;
    }

    fn account(&mut self, id: u32) -> &mut AccountState {
        let index = match self.accounts.iter().position(|a| a.id == id) {
            Some(index) => index,
            None => {
                self.accounts.push(AccountState {
                    id,
                    account_type: None,
                    opened_at: None,
                    closed: None,
                    limit: None,
                    balance: None,
                });
                self.accounts.len() - 1
            }
        };
        &mut self.accounts[index]
    }

    fn note_obligation(&mut self, at: i64) {
        self.first_obligation = Some(self.first_obligation.map_or(at, |f| f.min(at)));
    }

    /// Fills the ledger from the facts of `log` that occurred by `as_of`.
    ///
    /// Facts of a restricted category (income) count only while the subject
    /// has given the separate consent to them: withdrawing it takes them out
    /// of every score at once, whatever is stored. This is the one place
    /// every feature, negative record and outcome is built from.
    pub fn build(&mut self, log: &SubjectLog, as_of: i64) {
        self.clear();
        let facts = log.facts_as_of(as_of);
        let restricted_admitted = log.subject().restricted_data_consent;
        let since_12m = as_of - WINDOW_12M_DAYS * DAY_SECONDS;
        // Pass 1: accounts, bills, judgments and the simple facts.
        for (i, fact) in facts.iter().enumerate() {
            let at = fact.at;
            if !restricted_admitted && fact.kind.category().admission() == Admission::Restricted {
                continue;
            }
            match fact.kind {
                EventKind::SubjectEnrolled => {
                    self.enrolled_at.get_or_insert(at);
                }
                EventKind::AccountOpened => {
                    let account = self.account(fact.account);
                    account.account_type = AccountType::ALL.get(fact.code as usize).copied();
                    account.opened_at.get_or_insert(at);
                    account.limit = fact.has_amount.then_some(fact.amount);
                    self.note_obligation(at);
                }
                EventKind::AccountClosed => {
                    let closure = Closure::ALL
                        .get(fact.code as usize)
                        .copied()
                        .unwrap_or(Closure::PaidAsAgreed);
                    self.account(fact.account).closed = Some((at, closure, i as u32));
                }
                EventKind::BalanceReported => {
                    self.account(fact.account).balance = Some(fact.amount)
                }
                EventKind::BillDue => {
                    self.bills.push(BillState {
                        fact: i as u32,
                        account: fact.account,
                        reference: fact.reference,
                        due: at,
                        amount: fact.amount,
                        paid_days_late: None,
                    });
                    self.note_obligation(at);
                }
                EventKind::RentalReturned => self.note_obligation(at),
                EventKind::IdentityVerified => {
                    let rank = IdentityLevel::ALL
                        .get(fact.code as usize)
                        .map_or(0, |l| l.rank());
                    self.identity_level = self.identity_level.max(rank);
                }
                EventKind::IncomeReported => self.latest_income = Some((at, fact.amount)),
                EventKind::JudgmentEntered => self.judgments.push(JudgmentState {
                    fact: i as u32,
                    reference: fact.reference,
                    entered: at,
                    satisfied: false,
                }),
                EventKind::PaymentMade | EventKind::JudgmentSatisfied | EventKind::Custom => {}
            }
        }
        // Pass 2: payments find their bills, satisfactions their judgments.
        for (i, fact) in facts.iter().enumerate() {
            match fact.kind {
                EventKind::PaymentMade => {
                    if fact.at > since_12m {
                        self.paid_12m = self.paid_12m.saturating_add(fact.amount);
                    }
                    let expected_due = fact.at - i64::from(fact.days_late) * DAY_SECONDS;
                    let found = (fact.reference != NONE)
                        .then(|| find_bill(&self.bills, fact.account, fact.reference, expected_due))
                        .flatten();
                    match found {
                        Some(index) => {
                            let bill = &mut self.bills[index];
                            bill.paid_days_late = Some(
                                bill.paid_days_late
                                    .map_or(fact.days_late, |d| d.min(fact.days_late)),
                            );
                        }
                        None => {
                            self.bills.push(BillState {
                                fact: i as u32,
                                account: fact.account,
                                reference: NONE,
                                due: fact.at,
                                amount: 0,
                                paid_days_late: Some(fact.days_late),
                            });
                            self.note_obligation(fact.at);
                        }
                    }
                }
                EventKind::JudgmentSatisfied => {
                    if let Some(judgment) = self
                        .judgments
                        .iter_mut()
                        .find(|j| j.reference == fact.reference)
                    {
                        judgment.satisfied = true;
                    }
                }
                _ => {}
            }
        }
    }
}

/// The index of bill `reference` of `account`. Bills are in due-date order
/// and a payment says how late it is, so the bill is almost always where its
/// due date says: look there first, then outwards. (Stand-alone payments are
/// appended after all bills, so a search never meets one before the end.)
fn find_bill(
    bills: &[BillState],
    account: u32,
    reference: u32,
    expected_due: i64,
) -> Option<usize> {
    let is_it = |b: &BillState| b.reference == reference && b.account == account;
    let start = bills.partition_point(|b| b.due < expected_due);
    let (mut up, mut down) = (start, start);
    while up < bills.len() || down > 0 {
        if up < bills.len() {
            if is_it(&bills[up]) {
                return Some(up);
            }
            up += 1;
        }
        if down > 0 {
            down -= 1;
            if is_it(&bills[down]) {
                return Some(down);
            }
        }
    }
    None
}

/// Computes features, reusing its buffers between subjects. Holds no data
/// between calls: the result depends only on the arguments.
#[derive(Debug, Default)]
pub struct FeatureEngine {
    policy: Policy,
    ledger: Ledger,
    /// (as-of, as-of minus the ageing years), cached: a rescore scores
    /// everyone as of one instant, and calendar arithmetic is not free.
    ageing_cutoff: Option<(i64, i64)>,
}

impl FeatureEngine {
    /// An engine applying `policy`.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            ledger: Ledger::default(),
            ageing_cutoff: None,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The features of `log` as of `as_of`.
    pub fn compute(&mut self, log: &SubjectLog, as_of: Timestamp) -> FeatureSet {
        let now = as_of.as_second();
        let facts = log.facts_as_of(now);
        self.ledger.build(log, now);
        let cutoff = match self.ageing_cutoff {
            Some((cached, cutoff)) if cached == now => cutoff,
            _ => {
                let cutoff = self.policy.ageing_cutoff(as_of).as_second();
                self.ageing_cutoff = Some((now, cutoff));
                cutoff
            }
        };
        let ledger = &self.ledger;
        let policy = &self.policy;
        // A record counts while as_of < its stop date. Far from the cutoff the
        // answer is plain; within days of it (where calendar clamping of
        // 29 February matters) ask for the exact date.
        const MARGIN: i64 = 3 * DAY_SECONDS;
        let counts = |date: i64| {
            if date > cutoff + MARGIN {
                true
            } else if date < cutoff - MARGIN {
                false
            } else {
                now < policy.stops_counting(ts(date)).as_second()
            }
        };
        let since_24m = now - WINDOW_24M_DAYS * DAY_SECONDS;
        let since_12m = now - WINDOW_12M_DAYS * DAY_SECONDS;
        let since_6m = now - WINDOW_6M_DAYS * DAY_SECONDS;

        let mut v = FeatureVector::default();

        // History: payment records.
        let (mut counted, mut on_time, mut worst) = (0u32, 0u32, None::<u32>);
        let (mut d30, mut d60, mut d90) = (0u32, 0u32, 0u32);
        let mut last_delinquency: Option<i64> = None;
        let mut recent_records = 0u32;
        let mut billed_12m = 0i64;
        for bill in &ledger.bills {
            if bill.due > since_24m {
                recent_records += 1;
            }
            if bill.due > since_12m {
                billed_12m = billed_12m.saturating_add(bill.amount);
            }
            let Some(late) = bill.lateness(now) else {
                continue;
            };
            if bill.due > since_24m {
                counted += 1;
                on_time += u32::from(late == 0);
                worst = Some(worst.map_or(late, |w| w.max(late)));
            }
            if late >= DELINQUENT_DAYS && counts(bill.due) {
                match late {
                    30..=59 => d30 += 1,
                    60..=89 => d60 += 1,
                    _ => d90 += 1,
                }
                last_delinquency = Some(last_delinquency.map_or(bill.due, |d| d.max(bill.due)));
            }
        }
        let mut charge_offs = 0u32;
        let (mut closed, mut honoured) = (0u32, 0u32);
        for account in &ledger.accounts {
            if let Some((at, closure, _)) = account.closed
                && counts(at)
            {
                closed += 1;
                match closure {
                    Closure::PaidAsAgreed => honoured += 1,
                    Closure::Settled => {}
                    Closure::ChargedOff => {
                        charge_offs += 1;
                        last_delinquency = Some(last_delinquency.map_or(at, |d| d.max(at)));
                    }
                }
            }
        }
        let unsatisfied = ledger
            .judgments
            .iter()
            .filter(|j| !j.satisfied && counts(j.entered))
            .count() as u32;
        v.set(Feature::OnTimeRatio24m, ratio(on_time, counted));
        v.set(Feature::WorstDaysLate24m, worst.map(f64::from));
        v.set(Feature::Delinquencies30, Some(f64::from(d30)));
        v.set(Feature::Delinquencies60, Some(f64::from(d60)));
        v.set(Feature::Delinquencies90Plus, Some(f64::from(d90)));
        v.set(
            Feature::MonthsSinceLastDelinquency,
            last_delinquency.map(|d| months_between(ts(d), as_of) as f64),
        );
        v.set(
            Feature::HistoryMonths,
            ledger
                .first_obligation
                .map(|f| months_between(ts(f), as_of) as f64),
        );
        v.set(Feature::ChargeOffs, Some(f64::from(charge_offs)));
        v.set(Feature::UnsatisfiedJudgments, Some(f64::from(unsatisfied)));

        // Capacity.
        let income = ledger
            .latest_income
            .filter(|(at, _)| *at > since_24m)
            .map(|(_, amount)| amount);
        v.set(
            Feature::CapacityRatio,
            income.map(|monthly| {
                if billed_12m <= 0 {
                    RATIO_CAP
                } else {
                    (monthly as f64 * 12.0 / billed_12m as f64).min(RATIO_CAP)
                }
            }),
        );
        v.set(
            Feature::PaidToBilledRatio12m,
            (billed_12m > 0).then(|| (ledger.paid_12m as f64 / billed_12m as f64).min(1.0)),
        );

        // Behaviour.
        let (mut balances, mut limits) = (0i64, 0i64);
        let (mut open, mut new_6m) = (0u32, 0u32);
        let mut kinds = 0u8;
        for account in &ledger.accounts {
            let Some(kind) = account.account_type else {
                continue;
            };
            if kind == AccountType::Rental {
                continue;
            }
            kinds |= 1 << (kind as u8);
            let is_open = account.closed.is_none();
            if is_open {
                open += 1;
                if kind.is_revolving()
                    && let Some(limit) = account.limit.filter(|l| *l > 0)
                {
                    limits = limits.saturating_add(limit);
                    balances = balances.saturating_add(account.balance.unwrap_or(0));
                }
            }
            if account.opened_at.is_some_and(|at| at > since_6m) {
                new_6m += 1;
            }
        }
        v.set(
            Feature::Utilisation,
            (limits > 0).then(|| (balances as f64 / limits as f64).min(2.0)),
        );
        v.set(Feature::OpenAccounts, Some(f64::from(open)));
        v.set(Feature::AccountMix, Some(f64::from(kinds.count_ones())));
        v.set(Feature::NewAccounts6m, Some(f64::from(new_6m)));

        // Identity.
        v.set(
            Feature::IdentityLevel,
            Some(f64::from(ledger.identity_level)),
        );
        v.set(
            Feature::EnrolledMonths,
            ledger
                .enrolled_at
                .map(|e| months_between(ts(e), as_of) as f64),
        );

        // Fulfilment.
        let (mut rentals, mut rentals_on_time, mut damaged) = (0u32, 0u32, 0u32);
        for fact in facts {
            if fact.kind == EventKind::RentalReturned && fact.at > since_24m {
                rentals += 1;
                rentals_on_time += u32::from(fact.days_late == 0);
                // Damage code 0 is `Damage::None`.
                damaged += u32::from(fact.code != 0);
            }
        }
        recent_records += rentals;
        v.set(
            Feature::RentalOnTimeRatio24m,
            ratio(rentals_on_time, rentals),
        );
        v.set(
            Feature::RentalDamage24m,
            (rentals > 0).then_some(f64::from(damaged)),
        );
        v.set(Feature::ContractsHonouredRatio, ratio(honoured, closed));

        let thin = self.thin_file(v.get(Feature::HistoryMonths), recent_records);
        FeatureSet { values: v, thin }
    }

    fn thin_file(&self, history_months: Option<f64>, recent_records: u32) -> Option<ThinFile> {
        let mut reasons = Vec::new();
        match history_months {
            None => reasons.push(ThinReason::NoObligations),
            Some(months) if months < f64::from(self.policy.min_history_months) => {
                reasons.push(ThinReason::ShortHistory {
                    months: months as i64,
                    required: self.policy.min_history_months,
                })
            }
            Some(_) => {}
        }
        if recent_records < self.policy.min_recent_records && history_months.is_some() {
            reasons.push(ThinReason::FewRecentRecords {
                have: recent_records,
                required: self.policy.min_recent_records,
            });
        }
        (!reasons.is_empty()).then_some(ThinFile { reasons })
    }
}

/// The features of `log` as of `as_of` under `policy`.
pub fn compute_features(log: &SubjectLog, as_of: Timestamp, policy: &Policy) -> FeatureSet {
    FeatureEngine::new(policy.clone()).compute(log, as_of)
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

pub(crate) fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::MAX)
}
