//! The feature list, each feature's dimension and data category.

use credence_domain::DataCategory;
use serde::{Deserialize, Serialize};

/// The five dimensions a score is explained in. Connections are not one of
/// them, and never will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Paying on time.
    History,
    /// Means to pay.
    Capacity,
    /// Use of credit: utilisation, mix, new accounts.
    Behaviour,
    /// Verified and stable.
    Identity,
    /// Contracts and rentals honoured.
    Fulfilment,
}

impl Dimension {
    /// All five, in display order.
    pub const ALL: [Dimension; 5] = [
        Self::History,
        Self::Capacity,
        Self::Behaviour,
        Self::Identity,
        Self::Fulfilment,
    ];

    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::History => "history",
            Self::Capacity => "capacity",
            Self::Behaviour => "behaviour",
            Self::Identity => "identity",
            Self::Fulfilment => "fulfilment",
        }
    }

    /// One line that says what the dimension measures.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::History => "Whether bills and loans were paid on time, and for how long.",
            Self::Capacity => "Whether reported means cover the obligations taken on.",
            Self::Behaviour => "How credit is used: utilisation, mix and new accounts.",
            Self::Identity => "How well identity is verified and how long you have been enrolled.",
            Self::Fulfilment => "Whether contracts and rentals were honoured as agreed.",
        }
    }
}

macro_rules! features {
    ($( $variant:ident => $name:literal, $dimension:ident, $category:ident, $description:literal; )*) => {
        /// A feature computed from one subject's events.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(missing_docs)]
        pub enum Feature { $( $variant, )* }

        impl Feature {
            /// Every feature, in a fixed order (the order of [`FeatureVector`]).
            pub const ALL: [Feature; [$( Feature::$variant, )*].len()] = [$( Feature::$variant, )*];

            /// The snake_case name used in model files.
            pub fn name(self) -> &'static str {
                match self { $( Self::$variant => $name, )* }
            }

            /// The dimension the feature explains.
            pub fn dimension(self) -> Dimension {
                match self { $( Self::$variant => Dimension::$dimension, )* }
            }

            /// The data category the feature is computed from.
            pub fn category(self) -> DataCategory {
                match self { $( Self::$variant => DataCategory::$category, )* }
            }

            /// What the feature measures, in words.
            pub fn description(self) -> &'static str {
                match self { $( Self::$variant => $description, )* }
            }
        }
    };
}

features! {
    OnTimeRatio24m => "on_time_ratio_24m", History, Payment,
        "Share of bills and payments in the last 24 months that were paid on time.";
    WorstDaysLate24m => "worst_days_late_24m", History, Payment,
        "The most days any bill was paid late in the last 24 months.";
    Delinquencies30 => "delinquencies_30_59", History, Payment,
        "Bills paid 30–59 days late that still count.";
    Delinquencies60 => "delinquencies_60_89", History, Payment,
        "Bills paid 60–89 days late that still count.";
    Delinquencies90Plus => "delinquencies_90_plus", History, Payment,
        "Bills paid 90 or more days late, or still unpaid, that still count.";
    MonthsSinceLastDelinquency => "months_since_last_delinquency", History, Payment,
        "Months since the most recent delinquency (30+ days late) that still counts.";
    HistoryMonths => "history_months", History, Account,
        "Months since the first account, rental or bill on file.";
    ChargeOffs => "charge_offs", History, Account,
        "Accounts written off as a loss that still count.";
    UnsatisfiedJudgments => "unsatisfied_judgments", History, CourtJudgment,
        "Court judgments for unpaid debt not yet satisfied that still count.";
    CapacityRatio => "capacity_ratio", Capacity, Income,
        "Reported monthly income over average monthly bills in the last 12 months.";
    PaidToBilledRatio12m => "paid_to_billed_ratio_12m", Capacity, Payment,
        "Amount paid over amount billed in the last 12 months (at most 1).";
    Utilisation => "utilisation", Behaviour, Balance,
        "Balances on open cards over their limits.";
    OpenAccounts => "open_accounts", Behaviour, Account,
        "Accounts open now (rentals not counted).";
    AccountMix => "account_mix", Behaviour, Account,
        "Different kinds of account ever held (loan, card, utility, telecom, rent).";
    NewAccounts6m => "new_accounts_6m", Behaviour, Account,
        "Accounts opened in the last 6 months.";
    IdentityLevel => "identity_level", Identity, Identity,
        "Strongest identity verification: 0 none, 1 basic, 2 standard, 3 strong.";
    EnrolledMonths => "enrolled_months", Identity, Enrollment,
        "Months since enrolling with consent.";
    RentalOnTimeRatio24m => "rental_on_time_ratio_24m", Fulfilment, Rental,
        "Share of rentals in the last 24 months returned on time.";
    RentalDamage24m => "rental_damage_24m", Fulfilment, Rental,
        "Rentals returned damaged in the last 24 months.";
    ContractsHonouredRatio => "contracts_honoured_ratio", Fulfilment, Account,
        "Share of closed contracts that were paid as agreed (among those that still count).";
}

impl Feature {
    /// Looks a feature up by name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Position in [`FeatureVector`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Feature {
    /// The stable reason code of the feature (`H01`…), the same in every
    /// model that uses it.
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::OnTimeRatio24m => "H01",
            Self::WorstDaysLate24m => "H02",
            Self::Delinquencies30 => "H03",
            Self::Delinquencies60 => "H04",
            Self::Delinquencies90Plus => "H05",
            Self::MonthsSinceLastDelinquency => "H06",
            Self::HistoryMonths => "H07",
            Self::ChargeOffs => "H08",
            Self::UnsatisfiedJudgments => "H09",
            Self::CapacityRatio => "C01",
            Self::PaidToBilledRatio12m => "C02",
            Self::Utilisation => "B01",
            Self::OpenAccounts => "B02",
            Self::AccountMix => "B03",
            Self::NewAccounts6m => "B04",
            Self::IdentityLevel => "I01",
            Self::EnrolledMonths => "I02",
            Self::RentalOnTimeRatio24m => "F01",
            Self::RentalDamage24m => "F02",
            Self::ContractsHonouredRatio => "F03",
        }
    }

    /// The sentence shown when this feature holds a score down.
    pub fn reason(self) -> &'static str {
        match self {
            Self::OnTimeRatio24m => "Some bills in the last 24 months were not paid on time.",
            Self::WorstDaysLate24m => "A bill in the last 24 months was paid many days late.",
            Self::Delinquencies30 => "Bills paid 30 to 59 days late still count against you.",
            Self::Delinquencies60 => "Bills paid 60 to 89 days late still count against you.",
            Self::Delinquencies90Plus => {
                "Bills paid 90 or more days late, or left unpaid, still count against you."
            }
            Self::MonthsSinceLastDelinquency => "A recent delinquency still weighs on the score.",
            Self::HistoryMonths => "Your history of accounts and bills is short.",
            Self::ChargeOffs => "A debt was written off as a loss.",
            Self::UnsatisfiedJudgments => "A court judgment for unpaid debt is not satisfied.",
            Self::CapacityRatio => "Reported income is low compared with monthly bills.",
            Self::PaidToBilledRatio12m => "Less was paid than was billed in the last 12 months.",
            Self::Utilisation => "Card balances are high compared with their limits.",
            Self::OpenAccounts => "Few accounts are open at the moment.",
            Self::AccountMix => "Few kinds of obligation are on file.",
            Self::NewAccounts6m => "Several accounts were opened in the last 6 months.",
            Self::IdentityLevel => "Identity is not verified, or only at a basic level.",
            Self::EnrolledMonths => "You enrolled recently.",
            Self::RentalOnTimeRatio24m => "Some rentals in the last 24 months were returned late.",
            Self::RentalDamage24m => "Some rentals were returned damaged.",
            Self::ContractsHonouredRatio => {
                "Some contracts were closed without being paid as agreed."
            }
        }
    }

    /// What the subject can do about it.
    pub fn improve(self) -> &'static str {
        match self {
            Self::OnTimeRatio24m => {
                "Pay every bill by its due date; each bill paid on time raises this share."
            }
            Self::WorstDaysLate24m => {
                "Bring any overdue bill up to date; lateness leaves this measure after 24 months."
            }
            Self::Delinquencies30 => {
                "Keep every account current; each record stops counting on the date shown."
            }
            Self::Delinquencies60 => {
                "Keep every account current; each record stops counting on the date shown."
            }
            Self::Delinquencies90Plus => {
                "Pay or settle overdue bills; each record stops counting on the date shown."
            }
            Self::MonthsSinceLastDelinquency => {
                "Each month without a new late payment lowers its weight."
            }
            Self::HistoryMonths => {
                "Keep existing accounts in good standing; history grows with time, not with more accounts."
            }
            Self::ChargeOffs => {
                "Contact the furnisher to settle it; the record stops counting on the date shown."
            }
            Self::UnsatisfiedJudgments => "Satisfy the judgment and have the furnisher report it.",
            Self::CapacityRatio => {
                "Lower monthly obligations where you can. Reporting income is optional and needs your separate consent."
            }
            Self::PaidToBilledRatio12m => "Pay bills in full when you can.",
            Self::Utilisation => "Pay card balances down; below 30% of the limit is best.",
            Self::OpenAccounts => {
                "An account kept in good standing shows how you handle credit now."
            }
            Self::AccountMix => {
                "Bills you already pay (utility, telecom, rent) count when their provider reports them."
            }
            Self::NewAccounts6m => "Space out applications for new credit.",
            Self::IdentityLevel => {
                "Verify your identity with the operator; only the level is kept, never the document."
            }
            Self::EnrolledMonths => "This improves with time on its own.",
            Self::RentalOnTimeRatio24m => "Return rentals by the agreed time.",
            Self::RentalDamage24m => {
                "Return items as agreed; each record stops counting after 24 months."
            }
            Self::ContractsHonouredRatio => {
                "Complete contracts as agreed; settled and written-off contracts stop counting on the dates shown."
            }
        }
    }
}

/// One value per [`Feature`], `None` when the file holds nothing to compute
/// it from (a scorecard puts that in its "missing" bin).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FeatureVector {
    values: [Option<f64>; Feature::ALL.len()],
}

impl FeatureVector {
    /// The value of `feature`.
    pub fn get(&self, feature: Feature) -> Option<f64> {
        self.values[feature.index()]
    }

    /// Sets the value of `feature`.
    pub fn set(&mut self, feature: Feature, value: Option<f64>) {
        self.values[feature.index()] = value;
    }

    /// All values in [`Feature::ALL`] order.
    pub fn values(&self) -> &[Option<f64>] {
        &self.values
    }

    /// (feature, value) pairs.
    pub fn iter(&self) -> impl Iterator<Item = (Feature, Option<f64>)> + '_ {
        Feature::ALL.iter().map(|f| (*f, self.get(*f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for feature in Feature::ALL {
            assert_eq!(Feature::from_name(feature.name()), Some(feature));
            assert_eq!(Feature::ALL[feature.index()], feature);
        }
    }

    #[test]
    fn every_dimension_has_a_feature_and_no_feature_is_prohibited() {
        for dimension in Dimension::ALL {
            assert!(Feature::ALL.iter().any(|f| f.dimension() == dimension));
        }
        for feature in Feature::ALL {
            use credence_domain::Admission;
            assert!(
                matches!(
                    feature.category().admission(),
                    Admission::Permitted | Admission::Restricted
                ),
                "{feature:?}"
            );
        }
    }
}
