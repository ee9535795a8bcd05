//! A score in words: what `credence score --json` prints and what a subject
//! reads.

use crate::{Band, CompiledScorecard, ScoreSummary};
use credence_features::{Dimension, FeatureSet, NegativeRecord, ThinReason};
use serde::Serialize;
use std::collections::BTreeMap;

/// Whether a score could be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreStatus {
    /// A score was computed.
    Scored,
    /// The file is too thin: no score, and a list of what is missing.
    NotEnoughData,
}

/// One adverse-action reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// Stable reason code.
    pub code: String,
    /// The input behind it.
    pub feature: String,
    /// The dimension it belongs to.
    pub dimension: Dimension,
    /// What holds the score down, in a sentence.
    pub sentence: String,
    /// What would help.
    pub improve: String,
    /// Points short of the input's best bin.
    pub points_short: f64,
}

/// A dimension's sub-score for display.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DimensionScore {
    /// 0–100, or `None` when nothing on file speaks to it.
    pub score: Option<u8>,
    /// What the dimension measures.
    pub explanation: &'static str,
}

/// A full, explained score for one subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    /// The subject.
    pub subject_id: String,
    /// `scored` or `not_enough_data`.
    pub status: ScoreStatus,
    /// 350–950, or `null` when not scored.
    pub score: Option<i32>,
    /// The band, or `null`.
    pub band: Option<Band>,
    /// Probability of default over the model's outcome window, or `null`.
    pub pd: Option<f64>,
    /// The five dimensions, 0–100 each (`null` where nothing speaks to it).
    pub dimensions: BTreeMap<&'static str, Option<u8>>,
    /// At most four reasons, most important first.
    pub reasons: Vec<Reason>,
    /// For a thin file: what is missing.
    pub missing: Vec<String>,
    /// Records counting against the subject, each with the date it stops.
    pub negative_records: Vec<NegativeRecord>,
    /// The model that made the score (`id@version`).
    pub model_version: String,
    /// The model's checksum.
    pub model_checksum: String,
    /// The instant the score is as of (RFC 3339).
    pub as_of: String,
    /// A reminder that travels with every score.
    pub note: &'static str,
}

/// Printed with every score, because Sesame's critics were right to ask.
pub const SCORE_NOTE: &str = "This score uses only this subject's own records. Friends, contacts and connections are never part of it.";

impl ScoreReport {
    /// Builds the report of one subject from its features and, when scored,
    /// its summary.
    pub fn build(
        model: &CompiledScorecard,
        subject_id: &str,
        as_of: jiff::Timestamp,
        features: &FeatureSet,
        summary: Option<&ScoreSummary>,
        negative_records: Vec<NegativeRecord>,
    ) -> Self {
        let scorecard = model.model();
        let mut dimensions = BTreeMap::new();
        for (i, dimension) in Dimension::ALL.iter().enumerate() {
            dimensions.insert(dimension.name(), summary.and_then(|s| s.dimensions[i]));
        }
        let reasons = summary
            .map(|s| {
                let bins = model.bins(|slot| {
                    features.values.values()[slot]
                        .map_or(crate::Input::Missing, crate::Input::Number)
                });
                s.reasons
                    .iter()
                    .flatten()
                    .map(|&index| {
                        let feature = &scorecard.features[index as usize];
                        let bin = bins[index as usize];
                        let (points, best) = model.points_of(index as usize, bin);
                        // A reason must be true of this subject: when the
                        // input is simply absent, say that, not what a bad
                        // value would mean.
                        let absent = feature
                            .bins
                            .get(bin as usize)
                            .is_some_and(|b| b.rule == crate::BinRule::Missing);
                        let (sentence, improve) = if absent {
                            (
                                format!(
                                    "Nothing on file yet speaks to this measure ({}).",
                                    feature.name.replace('_', " ")
                                ),
                                "It counts once records of this kind are reported for you."
                                    .to_string(),
                            )
                        } else {
                            (feature.reason.clone(), feature.improve.clone())
                        };
                        Reason {
                            code: feature.reason_code.clone(),
                            feature: feature.name.clone(),
                            dimension: feature.dimension,
                            sentence,
                            improve,
                            points_short: ((best - points) * 10.0).round() / 10.0,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let missing = features
            .thin
            .as_ref()
            .map(|t| t.reasons.iter().map(ThinReason::to_string).collect())
            .unwrap_or_default();
        Self {
            subject_id: subject_id.to_string(),
            status: if summary.is_some() {
                ScoreStatus::Scored
            } else {
                ScoreStatus::NotEnoughData
            },
            score: summary.map(|s| s.score),
            band: summary.map(ScoreSummary::band),
            pd: summary.map(|s| (s.pd * 1e6).round() / 1e6),
            dimensions,
            reasons,
            missing,
            negative_records,
            model_version: scorecard.version_tag(),
            model_checksum: scorecard.checksum.clone(),
            as_of: as_of.to_string(),
            note: SCORE_NOTE,
        }
    }
}
