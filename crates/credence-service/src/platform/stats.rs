//! Population statistics for the operator: counts, the score
//! distribution by band, and drift (the population stability of today's
//! scores against the model's test population).

use super::access::Principal;
use super::access::operator_only;
use super::models::{ModelCard, model_card};
use super::records::kind;
use super::{ApiResult, Dispute, DisputeStatus, Platform, Review, ReviewStatus};
use credence_domain::SubjectKind;
use credence_scorecard::Band;
use credence_store::{Counts, RecordFilter, ScoreDistribution};
use serde::Serialize;
use std::collections::BTreeMap;

/// The population at a glance.
#[derive(Debug, Clone, Serialize)]
pub struct PopulationStats {
    /// Subjects, events and stored scores.
    pub counts: Counts,
    /// Latest stored scores in 10-point buckets.
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

/// PSI between two band distributions (counts), over the bands of
/// `reference`; `None` while either side is empty.
fn psi(reference: &BTreeMap<String, u64>, current: &BTreeMap<String, u64>) -> Option<f64> {
    let expected: Vec<u64> = reference.values().copied().collect();
    let actual: Vec<u64> = reference
        .keys()
        .map(|band| current.get(band).copied().unwrap_or(0))
        .collect();
    if expected.iter().sum::<u64>() == 0 || actual.iter().sum::<u64>() == 0 {
        return None;
    }
    Some(credence_scorecard::stability_index(&expected, &actual))
}

impl Platform {
    /// Population, distribution, queues and models.
    pub fn population(&self, principal: &Principal) -> ApiResult<PopulationStats> {
        operator_only(principal)?;
        let distribution = self.store().score_distribution(10)?;
        let mut bands: BTreeMap<String, u64> = Band::ALL
            .iter()
            .map(|b| (b.name().to_string(), 0))
            .collect();
        for (bucket, count) in &distribution.buckets {
            *bands
                .entry(Band::of(*bucket).name().to_string())
                .or_default() += count;
        }
        bands.insert("not_enough_data".into(), distribution.not_enough_data);
        let disputes: Vec<Dispute> = self.records().list(kind::DISPUTE, RecordFilter::All)?;
        let reviews: Vec<Review> = self.records().list(kind::REVIEW, RecordFilter::All)?;
        let scorer = self.scorer()?;
        let models = vec![
            model_card(&scorer, SubjectKind::Person),
            model_card(&scorer, SubjectKind::Organisation),
        ];
        let drift_psi = psi(&models[0].reference_bands, &bands);
        Ok(PopulationStats {
            drift_psi,
            counts: self.store().counts()?,
            distribution,
            bands,
            open_disputes: disputes
                .iter()
                .filter(|d| d.status == DisputeStatus::Open)
                .count(),
            queued_reviews: reviews
                .iter()
                .filter(|r| r.status == ReviewStatus::Queued)
                .count(),
            models,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
        counts.iter().map(|(b, c)| (b.to_string(), *c)).collect()
    }

    #[test]
    fn psi_is_zero_for_the_same_shape_and_grows_with_shift() {
        let reference = bands(&[("poor", 10), ("good", 80), ("excellent", 10)]);
        let same = bands(&[
            ("poor", 100),
            ("good", 800),
            ("excellent", 100),
            ("not_enough_data", 7),
        ]);
        assert!(psi(&reference, &same).is_some_and(|p| p.abs() < 1e-12));
        let shifted = bands(&[("poor", 30), ("good", 60), ("excellent", 10)]);
        // By hand: (0.3-0.1)ln3 + (0.6-0.8)ln(0.75) = 0.2197 + 0.0575.
        let value = psi(&reference, &shifted).unwrap_or_default();
        assert!((value - 0.27726).abs() < 1e-4, "{value}");
        assert_eq!(psi(&reference, &BTreeMap::new()), None);
    }
}
