//! Building events in code, for the simulator and for tests: ids are
//! generated, amounts are in one currency, and nothing can fail.

use crate::{
    AccountId, AccountType, Closure, Currency, Damage, Event, EventBody, EventId, EventKey,
    FurnisherId, IdentityLevel, Money, RefId, SubjectId, SubjectKind,
};
use jiff::Timestamp;

/// Makes a valid id from any text: characters outside the id alphabet
/// become `_`, and the result is cut to the maximum length. Deterministic.
fn sanitise(raw: &str) -> String {
    let mut id: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '@') {
                c
            } else {
                '_'
            }
        })
        .take(crate::id::MAX_ID_LEN)
        .collect();
    if id.is_empty() {
        id.push('_');
    }
    id
}

macro_rules! id_from {
    ($ty:ident, $raw:expr) => {
        $ty::new(&sanitise($raw))
            .unwrap_or_else(|_| $ty::new("_").unwrap_or_else(|_| unreachable!()))
    };
}

/// Builds one subject's events from one furnisher, numbering event ids.
#[derive(Debug, Clone)]
pub struct EventFactory {
    furnisher: FurnisherId,
    subject: SubjectId,
    currency: Currency,
    recorded_at: Option<Timestamp>,
    next: u64,
}

impl EventFactory {
    /// A factory for `subject`'s events as reported by `furnisher`, in EUR.
    pub fn new(furnisher: &str, subject: &str) -> Self {
        Self {
            furnisher: id_from!(FurnisherId, furnisher),
            subject: id_from!(SubjectId, subject),
            currency: Currency::new("EUR").unwrap_or_else(|_| unreachable!()),
            recorded_at: None,
            next: 0,
        }
    }

    /// Uses another currency for amounts.
    pub fn with_currency(mut self, currency: Currency) -> Self {
        self.currency = currency;
        self
    }

    /// Records every event at this instant (default: when it occurred).
    pub fn recorded_at(mut self, at: Timestamp) -> Self {
        self.recorded_at = Some(at);
        self
    }

    /// Switches the furnisher for the events that follow.
    pub fn furnisher(&mut self, furnisher: &str) -> &mut Self {
        self.furnisher = id_from!(FurnisherId, furnisher);
        self
    }

    /// The subject.
    pub fn subject(&self) -> &SubjectId {
        &self.subject
    }

    fn money(&self, minor: i64) -> Money {
        Money {
            minor: minor.max(0),
            currency: self.currency,
        }
    }

    /// An event with the next id.
    pub fn event(&mut self, at: Timestamp, body: EventBody) -> Event {
        self.next += 1;
        let event_id = id_from!(EventId, &format!("{}-{}", self.subject, self.next));
        Event {
            key: EventKey {
                furnisher_id: self.furnisher.clone(),
                event_id,
            },
            subject_id: self.subject.clone(),
            occurred_at: at,
            recorded_at: self.recorded_at.unwrap_or(at),
            body,
        }
    }

    /// The subject enrols.
    pub fn enrolled(
        &mut self,
        at: Timestamp,
        kind: SubjectKind,
        restricted_data_consent: bool,
    ) -> Event {
        self.event(
            at,
            EventBody::SubjectEnrolled {
                subject_kind: kind,
                restricted_data_consent,
            },
        )
    }

    /// An account opens.
    pub fn account_opened(
        &mut self,
        at: Timestamp,
        account: &str,
        account_type: AccountType,
        limit: Option<i64>,
    ) -> Event {
        let limit = limit.map(|l| self.money(l));
        self.event(
            at,
            EventBody::AccountOpened {
                account_id: id_from!(AccountId, account),
                account_type,
                limit,
            },
        )
    }

    /// An account closes.
    pub fn account_closed(
        &mut self,
        at: Timestamp,
        account: &str,
        closure: Closure,
        amount: Option<i64>,
    ) -> Event {
        let amount = amount.map(|a| self.money(a));
        self.event(
            at,
            EventBody::AccountClosed {
                account_id: id_from!(AccountId, account),
                closure,
                amount,
            },
        )
    }

    /// A bill falls due.
    pub fn bill(&mut self, due: Timestamp, account: &str, bill: &str, amount: i64) -> Event {
        let amount = self.money(amount);
        self.event(
            due,
            EventBody::BillDue {
                account_id: id_from!(AccountId, account),
                bill_id: id_from!(RefId, bill),
                amount,
            },
        )
    }

    /// A payment is made.
    pub fn payment(
        &mut self,
        at: Timestamp,
        account: &str,
        bill: Option<&str>,
        amount: i64,
        days_late: u32,
    ) -> Event {
        let amount = self.money(amount);
        self.event(
            at,
            EventBody::PaymentMade {
                account_id: id_from!(AccountId, account),
                bill_id: bill.map(|b| id_from!(RefId, b)),
                amount,
                days_late,
            },
        )
    }

    /// A balance is reported.
    pub fn balance(&mut self, at: Timestamp, account: &str, balance: i64) -> Event {
        let balance = self.money(balance);
        self.event(
            at,
            EventBody::BalanceReported {
                account_id: id_from!(AccountId, account),
                balance,
            },
        )
    }

    /// A rental comes back.
    pub fn rental_returned(
        &mut self,
        at: Timestamp,
        rental: &str,
        days_late: u32,
        damage: Damage,
    ) -> Event {
        self.event(
            at,
            EventBody::RentalReturned {
                account_id: id_from!(AccountId, rental),
                days_late,
                damage,
            },
        )
    }

    /// Identity is verified.
    pub fn identity_verified(&mut self, at: Timestamp, level: IdentityLevel) -> Event {
        self.event(at, EventBody::IdentityVerified { level })
    }

    /// Monthly income is reported.
    pub fn income(&mut self, at: Timestamp, monthly: i64) -> Event {
        let amount = self.money(monthly);
        self.event(at, EventBody::IncomeReported { amount })
    }

    /// A court judgment is entered.
    pub fn judgment(&mut self, at: Timestamp, judgment: &str, amount: i64) -> Event {
        let amount = self.money(amount);
        self.event(
            at,
            EventBody::JudgmentEntered {
                judgment_id: id_from!(RefId, judgment),
                amount,
            },
        )
    }

    /// A court judgment is satisfied.
    pub fn judgment_satisfied(&mut self, at: Timestamp, judgment: &str) -> Event {
        self.event(
            at,
            EventBody::JudgmentSatisfied {
                judgment_id: id_from!(RefId, judgment),
            },
        )
    }
}
