//! Events: immutable facts about obligations, furnished by data sources.

use crate::{
    AccountId, DataCategory, EventId, EventKind, FurnisherId, Money, RefId, SubjectId, SubjectKind,
};
use compact_str::CompactString;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// The idempotency key of an event: a furnisher never reports the same event
/// id twice with different content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventKey {
    /// Who reported it.
    pub furnisher_id: FurnisherId,
    /// The furnisher's id for it.
    pub event_id: EventId,
}

/// One immutable fact about one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The idempotency key.
    pub key: EventKey,
    /// Whose obligation it is.
    pub subject_id: SubjectId,
    /// When it happened (for a bill: its due date).
    #[serde(with = "epoch_seconds")]
    pub occurred_at: Timestamp,
    /// When Credence recorded it. Kept for the audit trail; scores never
    /// depend on it, so re-importing the same facts scores the same.
    #[serde(with = "epoch_seconds")]
    pub recorded_at: Timestamp,
    /// Kind-specific fields.
    pub body: EventBody,
}

impl Event {
    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// True when the two events state the same fact (all but `recorded_at`),
    /// which is what makes a repeated delivery a harmless duplicate.
    pub fn same_fact(&self, other: &Event) -> bool {
        self.key == other.key
            && self.subject_id == other.subject_id
            && self.occurred_at == other.occurred_at
            && self.body == other.body
    }
}

/// Canonical order of a subject's events: by occurrence, then idempotency
/// key. Every backend returns events in this order, and the feature engine
/// relies on it, so scores are bit-identical wherever they are computed.
pub fn canonical_order(a: &Event, b: &Event) -> Ordering {
    a.occurred_at
        .cmp(&b.occurred_at)
        .then_with(|| a.key.cmp(&b.key))
}

/// What kind of account or contract an obligation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum AccountType {
    Loan,
    Card,
    Utility,
    Telecom,
    Rent,
    Rental,
}

impl AccountType {
    /// Every account type.
    pub const ALL: [AccountType; 6] = [
        Self::Loan,
        Self::Card,
        Self::Utility,
        Self::Telecom,
        Self::Rent,
        Self::Rental,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Loan => "loan",
            Self::Card => "card",
            Self::Utility => "utility",
            Self::Telecom => "telecom",
            Self::Rent => "rent",
            Self::Rental => "rental",
        }
    }

    /// Revolving accounts have a limit and a utilisation.
    pub fn is_revolving(self) -> bool {
        matches!(self, Self::Card)
    }
}

/// How an account ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Closure {
    /// Paid and closed as the contract said.
    PaidAsAgreed,
    /// Closed for less than was owed, by agreement.
    Settled,
    /// Written off as a loss by the furnisher: a negative record.
    ChargedOff,
}

impl Closure {
    /// Every closure.
    pub const ALL: [Closure; 3] = [Self::PaidAsAgreed, Self::Settled, Self::ChargedOff];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::PaidAsAgreed => "paid_as_agreed",
            Self::Settled => "settled",
            Self::ChargedOff => "charged_off",
        }
    }
}

/// Damage found when a rented item came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Damage {
    None,
    Minor,
    Major,
}

impl Damage {
    /// Every damage level.
    pub const ALL: [Damage; 3] = [Self::None, Self::Minor, Self::Major];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Minor => "minor",
            Self::Major => "major",
        }
    }
}

/// How strongly a subject's identity was verified. Only the level is kept,
/// never the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityLevel {
    /// Contact details confirmed.
    Basic,
    /// An official document checked remotely.
    Standard,
    /// An official document checked in person or by a trusted scheme.
    Strong,
}

impl IdentityLevel {
    /// Every level, weakest first.
    pub const ALL: [IdentityLevel; 3] = [Self::Basic, Self::Standard, Self::Strong];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::Standard => "standard",
            Self::Strong => "strong",
        }
    }

    /// 1 (basic) to 3 (strong).
    pub fn rank(self) -> u8 {
        match self {
            Self::Basic => 1,
            Self::Standard => 2,
            Self::Strong => 3,
        }
    }
}

/// The kind-specific part of an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(missing_docs)] // each field is described by the wire format in `wire`.
pub enum EventBody {
    /// The subject consented and enrolled; furnished by the operator.
    SubjectEnrolled {
        subject_kind: SubjectKind,
        restricted_data_consent: bool,
    },
    AccountOpened {
        account_id: AccountId,
        account_type: AccountType,
        limit: Option<Money>,
    },
    AccountClosed {
        account_id: AccountId,
        closure: Closure,
        amount: Option<Money>,
    },
    /// A bill fell due; `occurred_at` is the due date.
    BillDue {
        account_id: AccountId,
        bill_id: RefId,
        amount: Money,
    },
    /// A payment, with the furnisher's count of days past the due date.
    PaymentMade {
        account_id: AccountId,
        bill_id: Option<RefId>,
        amount: Money,
        days_late: u32,
    },
    BalanceReported {
        account_id: AccountId,
        balance: Money,
    },
    RentalReturned {
        account_id: AccountId,
        days_late: u32,
        damage: Damage,
    },
    IdentityVerified {
        level: IdentityLevel,
    },
    /// Monthly income; a restricted category.
    IncomeReported {
        amount: Money,
    },
    /// A court judgment for unpaid debt.
    JudgmentEntered {
        judgment_id: RefId,
        amount: Money,
    },
    JudgmentSatisfied {
        judgment_id: RefId,
    },
    /// An operator-declared kind. Stored and exported, not scored by the
    /// built-in models.
    Custom {
        custom_kind: CompactString,
        category: DataCategory,
        /// The kind's fields as a JSON object.
        fields: String,
    },
}

impl EventBody {
    /// The kind of this body.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::SubjectEnrolled { .. } => EventKind::SubjectEnrolled,
            Self::AccountOpened { .. } => EventKind::AccountOpened,
            Self::AccountClosed { .. } => EventKind::AccountClosed,
            Self::BillDue { .. } => EventKind::BillDue,
            Self::PaymentMade { .. } => EventKind::PaymentMade,
            Self::BalanceReported { .. } => EventKind::BalanceReported,
            Self::RentalReturned { .. } => EventKind::RentalReturned,
            Self::IdentityVerified { .. } => EventKind::IdentityVerified,
            Self::IncomeReported { .. } => EventKind::IncomeReported,
            Self::JudgmentEntered { .. } => EventKind::JudgmentEntered,
            Self::JudgmentSatisfied { .. } => EventKind::JudgmentSatisfied,
            Self::Custom { .. } => EventKind::Custom,
        }
    }

    /// The data category of this body.
    pub fn category(&self) -> DataCategory {
        match self {
            Self::Custom { category, .. } => *category,
            other => other.kind().category(),
        }
    }

    /// The account the event concerns, if any.
    pub fn account_id(&self) -> Option<&AccountId> {
        match self {
            Self::AccountOpened { account_id, .. }
            | Self::AccountClosed { account_id, .. }
            | Self::BillDue { account_id, .. }
            | Self::PaymentMade { account_id, .. }
            | Self::BalanceReported { account_id, .. }
            | Self::RentalReturned { account_id, .. } => Some(account_id),
            _ => None,
        }
    }
}

/// Timestamps as whole epoch seconds: compact in storage and exact on every
/// backend.
mod epoch_seconds {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ts: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(ts.as_second())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let seconds = i64::deserialize(deserializer)?;
        Timestamp::from_second(seconds).map_err(serde::de::Error::custom)
    }
}
