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
