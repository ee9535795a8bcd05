//! The wire shapes of perks.

use super::*;

/// A perk a partner offers and the rule that decides it. Perks never change
/// a score.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Perk {
    /// Unique within the partner.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub id: String,
    /// The partner offering it (yourself).
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub partner_id: String,
    /// Name shown to subjects.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// One sentence on what it gives.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
    /// Minimum score, 350–950.
    #[schema(minimum = 350, maximum = 950)]
    pub min_score: i32,
    /// Only for this kind of subject, if set.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub subject_kind: Option<SubjectKind>,
    /// Minimum per dimension (0–100), by dimension name.
    #[serde(default)]
    pub dimension_minimums: BTreeMap<String, u8>,
}

/// A perk and where the subject stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct PerkStatus {
    /// The perk.
    pub perk: Perk,
    /// The partner's name.
    pub partner_name: String,
    /// True when the subject qualifies now.
    pub eligible: bool,
    /// Points still missing on the score (0 when the score is enough).
    pub points_to_go: Option<i32>,
    /// Dimensions below the perk's minimum.
    pub dimensions_short: Vec<String>,
    /// Why not, in a sentence, when not eligible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

impl From<platform::Perk> for Perk {
    fn from(value: platform::Perk) -> Self {
        Self {
            id: value.id,
            partner_id: value.partner_id,
            name: value.name,
            description: value.description,
            min_score: value.min_score,
            subject_kind: value.subject_kind,
            dimension_minimums: value.dimension_minimums,
        }
    }
}

impl From<Perk> for platform::Perk {
    fn from(value: Perk) -> Self {
        Self {
            id: value.id,
            partner_id: value.partner_id,
            name: value.name,
            description: value.description,
            min_score: value.min_score,
            subject_kind: value.subject_kind,
            dimension_minimums: value.dimension_minimums,
        }
    }
}

impl From<platform::PerkStatus> for PerkStatus {
    fn from(value: platform::PerkStatus) -> Self {
        Self {
            perk: value.perk.into(),
            partner_name: value.partner_name,
            eligible: value.eligible,
            points_to_go: value.points_to_go,
            dimensions_short: value.dimensions_short,
            why_not: value.why_not,
        }
    }
}
