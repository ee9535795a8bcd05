//! The versioned JSON model format.

use crate::{Error, Result};
use credence_domain::{Admission, DataCategory, GuardrailViolation, SubjectKind};
use credence_features::Dimension;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format tag every model file carries.
pub const FORMAT: &str = "credence.scorecard/v1";
/// Lowest score.
pub const MIN_SCORE: i32 = 350;
/// Highest score.
pub const MAX_SCORE: i32 = 950;

/// A scorecard: a points table over named inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    /// Always [`FORMAT`].
    pub format: String,
    /// Stable name of the model line (`person-default`).
    pub model_id: String,
    /// Version of this model within its line; every score names it.
    pub version: String,
    /// The subjects it scores, for models over Credence's event features.
    /// `None` for models trained on arbitrary tables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_kind: Option<SubjectKind>,
    /// Where the points came from.
    pub origin: Origin,
    /// Log-odds scaling of the points.
    pub scaling: Scaling,
    /// Points every subject starts from.
    pub base_points: f64,
    /// The inputs and their bins.
    pub features: Vec<ScoredFeature>,
    /// `sha256:` and the hex digest of the model with this field empty.
    #[serde(default)]
    pub checksum: String,
}

/// Provenance of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// `expert` (points set by hand from domain knowledge) or `trained`.
    pub method: String,
    /// When it was made (RFC 3339 date).
    pub created: String,
    /// Plain words on how it was made and what it is for.
    pub note: String,
    /// Validation figures from training (AUC, Gini, KS…), when trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<serde_json::Value>,
}

/// How points map to odds: `base_score` points mean `base_odds` good:bad,
/// and every `pdo` points double the odds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// Score at the base odds (600).
    pub base_score: f64,
    /// Good:bad odds at the base score (50).
    pub base_odds: f64,
    /// Points to double the odds (40).
    pub pdo: f64,
}

impl Default for Scaling {
    fn default() -> Self {
        Self {
            base_score: 600.0,
            base_odds: 50.0,
            pdo: 40.0,
        }
    }
}

impl Scaling {
    /// Probability of default at a raw (unclamped) point total.
    pub fn probability_of_default(&self, points: f64) -> f64 {
        let log_odds_good =
            self.base_odds.ln() + (points - self.base_score) * std::f64::consts::LN_2 / self.pdo;
        1.0 / (1.0 + log_odds_good.exp())
    }

    /// Points worth one unit of log-odds.
    pub fn factor(&self) -> f64 {
        self.pdo / std::f64::consts::LN_2
    }
}

/// One input of a scorecard with its bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoredFeature {
    /// The input's name: a Credence feature or a training column.
    pub name: String,
    /// The dimension it explains.
    pub dimension: Dimension,
    /// The data category of the input; prohibited and audit-only categories
    /// are refused on load.
    pub category: DataCategory,
    /// Stable reason code (`H01`).
    pub reason_code: String,
    /// The sentence shown when this input holds the score down.
    pub reason: String,
    /// What the subject can do about it.
    pub improve: String,
    /// The bins; exactly one matches any value.
    pub bins: Vec<Bin>,
    /// Why the input's name, which weakly suggests a stricter category,
    /// misleads (from the data dictionary's `override`). Without it, a
    /// category looser than the name suggests is refused on load, so a
    /// model file cannot smuggle in an input by renaming it.
    #[serde(default, rename = "override", skip_serializing_if = "Option::is_none")]
    pub override_reason: Option<String>,
}

/// One bin and its points. (Not `deny_unknown_fields`: serde cannot combine
/// it with the flattened rule.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    /// Which values fall in the bin.
    #[serde(flatten)]
    pub rule: BinRule,
    /// Points for a value in the bin.
    pub points: f64,
    /// Training statistics (count, event rate, WOE), when trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<BinStats>,
}

/// Training statistics of a bin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinStats {
    /// Training rows in the bin.
    pub count: u64,
    /// Share of bads among them.
    pub event_rate: f64,
    /// Weight of evidence.
    pub woe: f64,
}

/// Which values a bin holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "when", rename_all = "snake_case")]
pub enum BinRule {
    /// The value is absent.
    Missing,
    /// `lower <= value < upper`; an absent bound is unbounded.
    Range {
        /// Inclusive lower bound.
        #[serde(default)]
        lower: Option<f64>,
        /// Exclusive upper bound.
        #[serde(default)]
        upper: Option<f64>,
    },
    /// The number is one of these special values: codes that are not
    /// quantities (−1 "never delinquent", 999 "not applicable"), matched
    /// exactly and before any range, so they never fall into the range
    /// their number happens to lie in.
    Special {
        /// The special values.
        values: Vec<f64>,
    },
    /// The value is one of these categories.
    Categories {
        /// The categories.
        values: Vec<String>,
    },
    /// Any category not listed in another bin.
    Other,
}

impl BinRule {
    /// The bin as people read it: `missing`, `[0.5, 0.75)`, `= -1 or 999`,
    /// `{a, b}`, `other`.
    /// Bounds show at most six significant digits; the model keeps them exact.
    pub fn describe(&self) -> String {
        let bound = |x: f64| {
            let short = format!("{:.6}", x);
            let short = short.trim_end_matches('0').trim_end_matches('.');
            if short.parse::<f64>().ok() == Some(x) {
                short.to_string()
            } else {
                format!("{:.4}", x)
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            }
        };
        match self {
            Self::Missing => "missing".into(),
            Self::Range { lower, upper } => format!(
                "[{}, {})",
                lower.map_or("-inf".to_string(), bound),
                upper.map_or("+inf".to_string(), bound)
            ),
            Self::Special { values } => format!(
                "= {}",
                values
                    .iter()
                    .map(|v| bound(*v))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            Self::Categories { values } => format!("{{{}}}", values.join(", ")),
            Self::Other => "other".into(),
        }
    }
}

impl Scorecard {
    /// Parses, validates and verifies the checksum of a model.
    pub fn from_json(json: &str) -> Result<Self> {
        let model: Scorecard = serde_json::from_str(json)?;
        model.validate()?;
        model.verify_checksum()?;
        Ok(model)
    }

    /// The model as pretty JSON (sealed with its checksum).
    pub fn to_json(&self) -> String {
        let mut sealed = self.clone();
        sealed.seal();
        serde_json::to_string_pretty(&sealed).unwrap_or_default()
    }

    /// Computes the checksum of the content and writes it into the model.
    pub fn seal(&mut self) {
        self.checksum = self.content_checksum();
    }

    /// `sha256:<hex>` of the model's canonical JSON with an empty checksum.
    pub fn content_checksum(&self) -> String {
        let mut unsealed = self.clone();
        unsealed.checksum.clear();
        let bytes = serde_json::to_vec(&unsealed).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        let hex = hex::encode(digest);
        format!("sha256:{hex}")
    }

    /// Fails when the stated checksum is not the content's. An empty checksum
    /// is refused too: unsealed models are not deployed.
    pub fn verify_checksum(&self) -> Result<()> {
        let actual = self.content_checksum();
        if self.checksum != actual {
            return Err(Error::Checksum {
                model: self.model_id.clone(),
                stated: if self.checksum.is_empty() {
                    "nothing".into()
                } else {
                    self.checksum.clone()
                },
                actual,
            });
        }
        Ok(())
    }

    /// The model id and version, as scores cite them (`person-default@1.0.0`).
    pub fn version_tag(&self) -> String {
        format!("{}@{}", self.model_id, self.version)
    }

    /// Checks structure and guardrails.
    pub fn validate(&self) -> Result<()> {
        let invalid = |problem: String| Error::Invalid {
            model: self.model_id.clone(),
            problem,
        };
        if self.format != FORMAT {
            return Err(invalid(format!(
                "format is {:?}; this build reads {FORMAT:?}",
                self.format
            )));
        }
        if self.model_id.is_empty() || self.version.is_empty() {
            return Err(invalid("model_id and version must not be empty".into()));
        }
        let s = self.scaling;
        if !(s.pdo > 0.0 && s.base_odds > 0.0 && s.base_score.is_finite()) {
            return Err(invalid("scaling needs pdo > 0 and base_odds > 0".into()));
        }
        if !self.base_points.is_finite() {
            return Err(invalid("base_points must be a finite number".into()));
        }
        if self.features.is_empty() {
            return Err(invalid("the model has no features".into()));
        }
        for (i, feature) in self.features.iter().enumerate() {
            if self.features[..i].iter().any(|f| f.name == feature.name) {
                return Err(invalid(format!("feature {:?} appears twice", feature.name)));
            }
            if self.features[..i]
                .iter()
                .any(|f| f.reason_code == feature.reason_code)
            {
                return Err(invalid(format!(
                    "reason code {:?} appears twice",
                    feature.reason_code
                )));
            }
            check_admission(&feature.name, feature.category)?;
            credence_domain::check_declared(
                &format!("model input {:?}", feature.name),
                &feature.name,
                feature.category,
                feature.override_reason.as_deref(),
            )?;
            validate_bins(feature)
                .map_err(|p| invalid(format!("feature {:?}: {p}", feature.name)))?;
        }
        Ok(())
    }
}

/// Refuses inputs whose category may not be scored.
pub(crate) fn check_admission(name: &str, category: DataCategory) -> Result<()> {
    match category.admission() {
        Admission::Permitted | Admission::Restricted => Ok(()),
        Admission::AuditOnly | Admission::Prohibited => {
            Err(GuardrailViolation::new(format!("model input {name:?}"), category).into())
        }
    }
}

fn validate_bins(feature: &ScoredFeature) -> std::result::Result<(), String> {
    let mut missing = 0;
    let mut ranges = Vec::new();
    let mut categories: Vec<&str> = Vec::new();
    let mut specials: Vec<f64> = Vec::new();
    let mut other = 0;
    for bin in &feature.bins {
        if !bin.points.is_finite() {
            return Err("bin points must be finite numbers".into());
        }
        match &bin.rule {
            BinRule::Missing => missing += 1,
            BinRule::Range { lower, upper } => ranges.push((*lower, *upper)),
            BinRule::Special { values } => {
                if values.is_empty() {
                    return Err("a special bin lists no values".into());
                }
                for value in values {
                    if !value.is_finite() {
                        return Err(format!("special value {value} is not a finite number"));
                    }
                    if specials.contains(value) {
                        return Err(format!("special value {value} is in two bins"));
                    }
                    specials.push(*value);
                }
            }
            BinRule::Categories { values } => {
                for value in values {
                    if categories.contains(&value.as_str()) {
                        return Err(format!("category {value:?} is in two bins"));
                    }
                    categories.push(value);
                }
            }
            BinRule::Other => other += 1,
        }
    }
    if missing != 1 {
        return Err(format!(
            "needs exactly one missing bin (has {missing}): absent values must score somewhere, visibly"
        ));
    }
    match (ranges.is_empty(), categories.is_empty() && other == 0) {
        (false, false) => return Err("mixes numeric ranges and categories".into()),
        (true, true) => return Err("has no bins besides the missing bin".into()),
        (false, true) => {
            if ranges[0].0.is_some() {
                return Err("the first range must have no lower bound".into());
            }
            if ranges[ranges.len() - 1].1.is_some() {
                return Err("the last range must have no upper bound".into());
            }
            for pair in ranges.windows(2) {
                match (pair[0].1, pair[1].0) {
                    (Some(upper), Some(lower)) if upper == lower && upper.is_finite() => {}
                    _ => {
                        return Err(format!(
                            "ranges must be sorted and contiguous: an upper bound {:?} is followed by a lower bound {:?}",
                            pair[0].1, pair[1].0
                        ));
                    }
                }
            }
            for (lower, upper) in &ranges {
                if let (Some(l), Some(u)) = (lower, upper)
                    && l >= u
                {
                    return Err(format!("range [{l}, {u}) is empty"));
                }
            }
        }
        (true, false) => {
            if !specials.is_empty() {
                return Err(
                    "special values belong to numeric inputs; a category is listed by name".into(),
                );
            }
            if other > 1 {
                return Err("has more than one `other` bin".into());
            }
        }
    }
    Ok(())
}
