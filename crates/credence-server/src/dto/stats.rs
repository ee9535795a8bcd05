//! The wire shapes of stats.

use super::*;

/// The population at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub struct PopulationStats {
    /// Subjects, events and stored scores.
    #[schema(value_type = Object)]
    pub counts: Counts,
    /// Latest stored scores in 10-point buckets.
    #[schema(value_type = Object)]
    pub distribution: ScoreDistribution,
    /// Latest stored scores by band.
    pub bands: BTreeMap<String, u64>,
    /// Disputes waiting for an answer.
    pub open_disputes: usize,
    /// Review requests waiting.
    pub queued_reviews: usize,
    /// The models in force.
    pub models: Vec<ModelCard>,
    /// Population stability index of today's latest scores by band against
    /// the person model's reference population (under 0.1 stable, 0.1–0.25
    /// watch, above 0.25 investigate); none without a reference.
    pub drift_psi: Option<f64>,
}

impl From<platform::PopulationStats> for PopulationStats {
    fn from(value: platform::PopulationStats) -> Self {
        Self {
            counts: value.counts,
            distribution: value.distribution,
            bands: value.bands,
            open_disputes: value.open_disputes,
            queued_reviews: value.queued_reviews,
            models: value.models.into_iter().map(Into::into).collect(),
            drift_psi: value.drift_psi,
        }
    }
}
