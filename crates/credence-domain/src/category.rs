//! Data categories and the guardrail "no scoring of opinions or lifestyle".
//!
//! Every event kind and every model input carries a [`DataCategory`]. The
//! category decides its [`Admission`]: permitted, restricted (needs the
//! subject's separate explicit consent), audit-only (protected attributes:
//! fairness reports, never model inputs) or prohibited (refused everywhere).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of information an event or column carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // the variant names are the documentation; see `describe`.
pub enum DataCategory {
    // Permitted: what people did with their obligations.
    Enrollment,
    Identity,
    Account,
    Payment,
    Balance,
    Rental,
    CourtJudgment,
    Employment,
    Application,
    // Restricted: only with a separate explicit consent.
    Income,
    Assets,
    Deposits,
    Tax,
    // Protected attributes: fairness audits only.
    Sex,
    MaritalStatus,
    Age,
    Nationality,
    // Prohibited everywhere.
    PoliticalOpinion,
    ReligionOrBelief,
    EthnicityOrNationalOrigin,
    HealthOrGenetics,
    Biometrics,
    SexualLife,
    SocialMediaContent,
    SocialConnections,
    PurchasePurpose,
    LocationTrace,
    ThirdPartyScore,
    Occupation,
    Blacklist,
    InformantReport,
    AppUsage,
    NonCreditConduct,
}

/// How a category may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Admission {
    /// May be collected and scored.
    Permitted,
    /// May be collected and scored only with the subject's separate, explicit
    /// consent that says what could count against them.
    Restricted,
    /// A protected attribute: admitted to fairness audits, never as a model
    /// input.
    AuditOnly,
    /// Never collected, never scored.
    Prohibited,
}

impl DataCategory {
    /// Every category, in declaration order.
    pub const ALL: [DataCategory; 33] = {
        use DataCategory::*;
        [
            Enrollment,
            Identity,
            Account,
            Payment,
            Balance,
            Rental,
            CourtJudgment,
            Employment,
            Application,
            Income,
            Assets,
            Deposits,
            Tax,
            Sex,
            MaritalStatus,
            Age,
            Nationality,
            PoliticalOpinion,
            ReligionOrBelief,
            EthnicityOrNationalOrigin,
            HealthOrGenetics,
            Biometrics,
            SexualLife,
            SocialMediaContent,
            SocialConnections,
            PurchasePurpose,
            LocationTrace,
            ThirdPartyScore,
            Occupation,
            Blacklist,
            InformantReport,
            AppUsage,
            NonCreditConduct,
        ]
    };

    /// The category's admission.
    pub fn admission(self) -> Admission {
        use DataCategory::*;
        match self {
            Enrollment | Identity | Account | Payment | Balance | Rental | CourtJudgment
            | Employment | Application => Admission::Permitted,
            Income | Assets | Deposits | Tax => Admission::Restricted,
            Sex | MaritalStatus | Age | Nationality => Admission::AuditOnly,
            PoliticalOpinion
            | ReligionOrBelief
            | EthnicityOrNationalOrigin
            | HealthOrGenetics
            | Biometrics
            | SexualLife
            | SocialMediaContent
            | SocialConnections
            | PurchasePurpose
            | LocationTrace
            | ThirdPartyScore
            | Occupation
            | Blacklist
            | InformantReport
            | AppUsage
            | NonCreditConduct => Admission::Prohibited,
        }
    }

    /// The snake_case name used in files and APIs.
    pub fn name(self) -> &'static str {
        use DataCategory::*;
        match self {
            Enrollment => "enrollment",
            Identity => "identity",
            Account => "account",
            Payment => "payment",
            Balance => "balance",
            Rental => "rental",
            CourtJudgment => "court_judgment",
            Employment => "employment",
            Application => "application",
            Income => "income",
            Assets => "assets",
            Deposits => "deposits",
            Tax => "tax",
            Sex => "sex",
            MaritalStatus => "marital_status",
            Age => "age",
            Nationality => "nationality",
            PoliticalOpinion => "political_opinion",
            ReligionOrBelief => "religion_or_belief",
            EthnicityOrNationalOrigin => "ethnicity_or_national_origin",
            HealthOrGenetics => "health_or_genetics",
            Biometrics => "biometrics",
            SexualLife => "sexual_life",
            SocialMediaContent => "social_media_content",
            SocialConnections => "social_connections",
            PurchasePurpose => "purchase_purpose",
            LocationTrace => "location_trace",
            ThirdPartyScore => "third_party_score",
            Occupation => "occupation",
            Blacklist => "blacklist",
            InformantReport => "informant_report",
            AppUsage => "app_usage",
            NonCreditConduct => "non_credit_conduct",
        }
    }

    /// Parses a snake_case category name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The rule of DESIGN.md that governs this category, in one sentence a
    /// furnisher or analyst can act on.
    pub fn rule(self) -> &'static str {
        use DataCategory::*;
        match self {
            PoliticalOpinion
            | ReligionOrBelief
            | EthnicityOrNationalOrigin
            | HealthOrGenetics
            | Biometrics
            | SexualLife
            | SocialMediaContent
            | PurchasePurpose
            | LocationTrace => {
                "no scoring of opinions or lifestyle: this category is never collected or scored"
            }
            ThirdPartyScore => {
                "no scoring of opinions or lifestyle: third-party scores are never inputs; Credence scores only what the subject did"
            }
            SocialConnections => {
                "no guilt by association: a score depends on the subject's own events only, never on friends or contacts"
            }
            Occupation => "no scrutiny by profession: occupation is never an input",
            Blacklist | InformantReport => {
                "no blacklists and no informant rewards: only furnished facts about obligations are accepted"
            }
            AppUsage => "nothing is bought: no input rewards spending more or using an app more",
            NonCreditConduct => {
                "only obligations count: conduct that is not an obligation (traffic offences, public behaviour, volunteering, criminal records) is never collected or scored"
            }
            Sex | MaritalStatus | Age | Nationality => {
                "protected attribute: admitted only as a fairness-audit column, never as a model input"
            }
            Income | Assets | Deposits | Tax => {
                "restricted category: needs the subject's separate explicit consent before it is collected"
            }
            Enrollment | Identity | Account | Payment | Balance | Rental | CourtJudgment
            | Employment | Application => "permitted: facts about obligations and their fulfilment",
        }
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for category in DataCategory::ALL {
            assert_eq!(DataCategory::from_name(category.name()), Some(category));
            let json = serde_json::to_string(&category).expect("serialises");
            assert_eq!(json, format!("\"{}\"", category.name()));
        }
    }

    #[test]
    fn admissions() {
        assert_eq!(DataCategory::Payment.admission(), Admission::Permitted);
        assert_eq!(DataCategory::Income.admission(), Admission::Restricted);
        assert_eq!(DataCategory::Age.admission(), Admission::AuditOnly);
        assert_eq!(
            DataCategory::SocialConnections.admission(),
            Admission::Prohibited
        );
        assert!(
            DataCategory::SocialConnections
                .rule()
                .contains("guilt by association")
        );
    }
}
