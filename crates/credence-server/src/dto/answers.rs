//! The wire shapes of answers.

use super::*;

/// A partner's question about one subject.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerQuestion {
    /// The subject, by this partner's pseudonym.
    #[schema(pattern = "^ps_[0-9a-f]{32}$")]
    pub pseudonym: String,
    /// The partner's transaction id: repeated asks within a day under one
    /// transaction id get the same answer.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[^|\x00-\x1f\x7f-\x9f]+$"
    )]
    pub transaction_id: String,
    /// For eligibility: the perk asked about.
    #[serde(default)]
    pub perk_id: Option<String>,
}

/// Yes or no; never the number.
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityAnswer {
    /// The perk.
    pub perk_id: String,
    /// The answer.
    pub eligible: bool,
    /// The transaction it answers.
    pub transaction_id: String,
    /// When it was first answered.
    pub answered_at: String,
    /// True when this repeats an earlier answer of the same day.
    #[serde(default)]
    pub repeated: bool,
}

/// Score and band (scope `score` or wider).
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreAnswer {
    /// 350–950, or none for a thin file.
    pub score: Option<i32>,
    /// The band: `poor`, `fair`, `good`, `very_good` or `excellent`.
    pub band: Option<String>,
    /// The model that made it.
    pub model_version: String,
    /// The transaction it answers.
    pub transaction_id: String,
    /// When it was first answered.
    pub answered_at: String,
    /// True when this repeats an earlier answer of the same day.
    #[serde(default)]
    pub repeated: bool,
}

impl From<PartnerQuestion> for platform::PartnerQuestion {
    fn from(value: PartnerQuestion) -> Self {
        Self {
            pseudonym: value.pseudonym,
            transaction_id: value.transaction_id,
            perk_id: value.perk_id,
        }
    }
}

impl From<platform::EligibilityAnswer> for EligibilityAnswer {
    fn from(value: platform::EligibilityAnswer) -> Self {
        Self {
            perk_id: value.perk_id,
            eligible: value.eligible,
            transaction_id: value.transaction_id,
            answered_at: value.answered_at,
            repeated: value.repeated,
        }
    }
}

impl From<platform::ScoreAnswer> for ScoreAnswer {
    fn from(value: platform::ScoreAnswer) -> Self {
        Self {
            score: value.score,
            band: value.band,
            model_version: value.model_version,
            transaction_id: value.transaction_id,
            answered_at: value.answered_at,
            repeated: value.repeated,
        }
    }
}
