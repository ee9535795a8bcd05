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
    pub const ALL: [DataCategory; 32] = {
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
            | AppUsage => Admission::Prohibited,
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

/// A guess at the category of a column or custom kind from its name alone.
///
/// Used to refuse undeclared names that look protected or prohibited until
/// someone declares them: a guess is never the source of truth, so it only
/// ever tightens (it never admits anything).
pub fn guess_category_from_name(name: &str) -> Option<DataCategory> {
    use DataCategory::*;
    let lower = name.to_ascii_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let has = |words: &[&str]| tokens.iter().any(|t| words.contains(t));
    let table: [(&[&str], DataCategory); 17] = [
        (&["sex", "gender"], Sex),
        (&["marital", "married", "marriage", "spouse"], MaritalStatus),
        (&["age", "birth", "dob", "birthday", "born"], Age),
        (
            &[
                "nationality",
                "citizenship",
                "citizen",
                "foreign",
                "immigrant",
            ],
            Nationality,
        ),
        (
            &["ethnic", "ethnicity", "race", "racial", "caste", "tribe"],
            EthnicityOrNationalOrigin,
        ),
        (
            &[
                "religion",
                "religious",
                "belief",
                "church",
                "mosque",
                "temple",
                "faith",
            ],
            ReligionOrBelief,
        ),
        (
            &["political", "politics", "party", "vote", "voting", "union"],
            PoliticalOpinion,
        ),
        (
            &[
                "health",
                "medical",
                "disease",
                "diagnosis",
                "genetic",
                "dna",
                "disability",
                "pregnancy",
            ],
            HealthOrGenetics,
        ),
        (
            &[
                "biometric",
                "biometrics",
                "fingerprint",
                "face",
                "facial",
                "iris",
                "voiceprint",
            ],
            Biometrics,
        ),
        (&["sexual", "orientation", "lgbt"], SexualLife),
        (
            &[
                "social",
                "tweet",
                "tweets",
                "post",
                "posts",
                "followers",
                "likes",
            ],
            SocialMediaContent,
        ),
        (
            &[
                "friend",
                "friends",
                "contacts",
                "connections",
                "network",
                "relatives",
            ],
            SocialConnections,
        ),
        (
            &[
                "gps",
                "location",
                "latitude",
                "longitude",
                "geo",
                "geolocation",
                "whereabouts",
            ],
            LocationTrace,
        ),
        (
            &[
                "fico",
                "zhima",
                "sesame",
                "bureau",
                "vantagescore",
                "external",
            ],
            ThirdPartyScore,
        ),
        (&["occupation", "profession", "profession_code"], Occupation),
        (
            &["blacklist", "blacklisted", "dishonest", "laolai"],
            Blacklist,
        ),
        (
            &["informant", "tipoff", "whistle", "report_on"],
            InformantReport,
        ),
    ];
    table
        .iter()
        .find(|(words, _)| has(words))
        .map(|(_, category)| *category)
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

    #[test]
    fn guesses_from_names() {
        let check = |name: &str, expect: Option<DataCategory>| {
            assert_eq!(guess_category_from_name(name), expect, "{name}");
        };
        check("personal_status_and_sex", Some(DataCategory::Sex));
        check("age_in_years", Some(DataCategory::Age));
        check("foreign_worker", Some(DataCategory::Nationality));
        check("MARRIAGE", Some(DataCategory::MaritalStatus));
        check("religion", Some(DataCategory::ReligionOrBelief));
        check("friends_avg_score", Some(DataCategory::SocialConnections));
        check("gps_trace", Some(DataCategory::LocationTrace));
        check("credit_amount", None);
        check("duration_in_month", None);
        // "page" contains "age" but is not the token "age".
        check("page_views", None);
    }
}
