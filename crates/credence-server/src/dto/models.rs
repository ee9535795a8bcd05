//! The wire shapes of models.

use super::*;

/// A model in force, for the dashboard's model card.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelCard {
    /// `model_id@version`.
    pub version: String,
    /// Which subjects it scores.
    pub subject_kind: String,
    /// SHA-256 of the model.
    pub checksum: String,
    /// How it was made.
    pub method: String,
    /// When it was trained.
    pub created: String,
    /// Validation figures recorded at training (AUC, Gini, KS, ROC…).
    #[schema(value_type = Option<Object>)]
    pub validation: Option<serde_json::Value>,
    /// Features by dimension.
    pub dimensions: BTreeMap<String, Vec<String>>,
    /// The test ROC curve `[false positive rate, true positive rate]`, when
    /// the model's validation report is known (the built-in models).
    pub roc: Vec<[f64; 2]>,
    /// Test-population subjects by band: the reference for drift.
    pub reference_bands: BTreeMap<String, u64>,
}

/// A deployed model version.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deployment {
    /// `model_id@version`.
    pub version: String,
    /// SHA-256 of the model.
    pub checksum: String,
    /// Which subjects it scores.
    #[schema(value_type = String)]
    pub subject_kind: SubjectKind,
    /// When deployed.
    #[schema(value_type = String)]
    pub deployed_at: Timestamp,
    /// True while in force.
    pub active: bool,
}

impl From<platform::ModelCard> for ModelCard {
    fn from(value: platform::ModelCard) -> Self {
        Self {
            version: value.version,
            subject_kind: value.subject_kind,
            checksum: value.checksum,
            method: value.method,
            created: value.created,
            validation: value.validation,
            dimensions: value.dimensions,
            roc: value.roc,
            reference_bands: value.reference_bands,
        }
    }
}

impl From<platform::Deployment> for Deployment {
    fn from(value: platform::Deployment) -> Self {
        Self {
            version: value.version,
            checksum: value.checksum,
            subject_kind: value.subject_kind,
            deployed_at: value.deployed_at,
            active: value.active,
        }
    }
}
