//! Scorecard models and their runtime.
//!
//! A [`Scorecard`] is a points table: for every input, bins (intervals,
//! category sets, a missing bin) with points; a base; log-odds scaling. It is
//! stored as versioned JSON with a SHA-256 checksum, so the exact model that
//! made a score can be named, shown and verified. [`CompiledScorecard`] binds
//! a model to its inputs once and then scores without allocating.
//!
//! A score is `clamp(round(base_points + Σ points), 350, 950)`. The reasons
//! behind it are the inputs ranked by the points they fall short of their
//! best bin; the top four are the adverse-action reasons.

mod band;
mod compiled;
mod defaults;
mod error;
mod export;
mod model;
mod report;
mod stability;

pub use band::Band;
pub use compiled::{CompiledScorecard, Input, ScoreSummary, number_label};
pub use defaults::{default_model, default_model_json, default_report_json};
pub use error::{Error, Result};
pub use export::{to_pmml, to_sql};
pub use model::{
    Bin, BinRule, BinStats, FORMAT, MAX_SCORE, MIN_SCORE, Origin, Scaling, Scorecard, ScoredFeature,
};
pub use report::{DimensionScore, Reason, ScoreReport, ScoreStatus};
pub use stability::stability_index;

#[cfg(test)]
mod tests;
