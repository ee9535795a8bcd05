//! Models: the scorecard in force for each kind of subject (the
//! configuration's, or the latest deployed through the API, read from the
//! store so a deployment reaches every process), deployments with their
//! validation figures, and the model cards the dashboard shows.

use super::access::Principal;
use super::access::operator_only;
use super::records::{Records, kind};
use super::{ApiError, ApiResult, Platform};
use crate::{Config, Scorer};
use credence_domain::SubjectKind;
use credence_scorecard::Scorecard;
use credence_store::{RecordFilter, RecordWrite, Store};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A model in force, for the dashboard's model card.
#[derive(Debug, Clone, Serialize)]
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
    pub validation: Option<serde_json::Value>,
    /// Features by dimension.
    pub dimensions: BTreeMap<String, Vec<String>>,
    /// The test ROC curve `[false positive rate, true positive rate]`, when
    /// the model's validation report is known (the built-in models).
    pub roc: Vec<[f64; 2]>,
    /// Test-population subjects by band: the reference for drift.
    pub reference_bands: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredModel {
    deployment: Deployment,
    model_json: String,
}

/// What the dashboard shows from a built-in model's validation report.
struct BuiltinReference {
    checksum: String,
    roc: Vec<[f64; 2]>,
    bands: BTreeMap<String, u64>,
}

/// A deployed model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// `model_id@version`.
    pub version: String,
    /// SHA-256 of the model.
    pub checksum: String,
    /// Which subjects it scores.
    pub subject_kind: SubjectKind,
    /// When deployed.
    pub deployed_at: Timestamp,
    /// True while in force.
    pub active: bool,
}

/// The scorer for the models deployed in the store, falling back to the
/// configuration's.
pub(crate) fn scorer_in_force(store: &dyn Store, config: &Config) -> ApiResult<Scorer> {
    let configured = Scorer::from_config(config)?;
    let deployed: Vec<StoredModel> =
        Records::uncached(store).list(kind::MODEL, RecordFilter::All)?;
    let pick = |kind: SubjectKind| -> ApiResult<Scorecard> {
        match deployed
            .iter()
            .rev()
            .find(|m| m.deployment.active && m.deployment.subject_kind == kind)
        {
            Some(m) => Scorecard::from_json(&m.model_json).map_err(|e| {
                ApiError::internal(format!(
                    "deployed model {} is unreadable: {e}",
                    m.deployment.version
                ))
            }),
            None => Ok(configured.model(kind).model().clone()),
        }
    };
    Ok(Scorer::new(
        pick(SubjectKind::Person)?,
        pick(SubjectKind::Organisation)?,
        configured.policy().clone(),
    )?)
}

pub(super) fn model_card(scorer: &Scorer, kind: SubjectKind) -> ModelCard {
    let model = scorer.model(kind).model();
    let mut dimensions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for feature in &model.features {
        dimensions
            .entry(feature.dimension.name().to_string())
            .or_default()
            .push(feature.name.clone());
    }
    let (roc, reference_bands) = reference_of(model, kind);
    ModelCard {
        roc,
        reference_bands,
        version: model.version_tag(),
        subject_kind: kind.name().to_string(),
        checksum: model.checksum.clone(),
        method: model.origin.method.clone(),
        created: model.origin.created.clone(),
        validation: model.origin.validation.clone(),
        dimensions,
    }
}

/// The ROC curve (at most 101 points) and band counts from the validation
/// report of a built-in model; empty for others.
fn reference_of(model: &Scorecard, kind: SubjectKind) -> (Vec<[f64; 2]>, BTreeMap<String, u64>) {
    match builtin_reference(kind) {
        Some(reference) if reference.checksum == model.checksum => {
            (reference.roc.clone(), reference.bands.clone())
        }
        _ => (Vec::new(), BTreeMap::new()),
    }
}

/// The built-in model's reference, read from the embedded report once per
/// process (it never changes; the stats page asks on every view).
fn builtin_reference(kind: SubjectKind) -> Option<&'static BuiltinReference> {
    static PERSON: std::sync::OnceLock<Option<BuiltinReference>> = std::sync::OnceLock::new();
    static ORGANISATION: std::sync::OnceLock<Option<BuiltinReference>> = std::sync::OnceLock::new();
    let cell = match kind {
        SubjectKind::Person => &PERSON,
        SubjectKind::Organisation => &ORGANISATION,
    };
    cell.get_or_init(|| {
        let checksum = credence_scorecard::default_model(kind).ok()?.checksum;
        let report: serde_json::Value =
            serde_json::from_str(credence_scorecard::default_report_json(kind)).ok()?;
        let points: Vec<[f64; 2]> = report["curves"]["roc"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| Some([p[0].as_f64()?, p[1].as_f64()?]))
            .collect();
        let step = (points.len() / 100).max(1);
        let mut roc: Vec<[f64; 2]> = points.iter().step_by(step).copied().collect();
        if let Some(last) = points.last()
            && roc.last() != Some(last)
        {
            roc.push(*last);
        }
        let bands = report["calibration"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| Some((b["band"].as_str()?.to_string(), b["count"].as_u64()?)))
            .collect();
        Some(BuiltinReference {
            checksum,
            roc,
            bands,
        })
    })
    .as_ref()
}

impl Platform {
    /// Every deployment, oldest first.
    pub fn deployments(&self, principal: &Principal) -> ApiResult<Vec<Deployment>> {
        operator_only(principal)?;
        let stored: Vec<StoredModel> = self.records().list(kind::MODEL, RecordFilter::All)?;
        Ok(stored.into_iter().map(|m| m.deployment).collect())
    }

    /// Deploys a model (checksum verified): every score from now on says
    /// it made it.
    pub fn deploy_model(&self, principal: &Principal, model_json: &str) -> ApiResult<Deployment> {
        operator_only(principal)?;
        let model = Scorecard::from_json(model_json)
            .map_err(|e| ApiError::invalid("body", format!("not a valid Credence model: {e}")))?;
        let Some(kind) = model.subject_kind else {
            return Err(ApiError::invalid(
                "subject_kind",
                "the model must say which subjects it scores (`subject_kind`: person or organisation)",
            ));
        };
        let current = self.scorer()?;
        let (person, organisation) = match kind {
            SubjectKind::Person => (
                model.clone(),
                current.model(SubjectKind::Organisation).model().clone(),
            ),
            SubjectKind::Organisation => (
                current.model(SubjectKind::Person).model().clone(),
                model.clone(),
            ),
        };
        let scorer = Scorer::new(person, organisation, current.policy().clone()).map_err(|e| {
            ApiError::invalid("body", format!("the model cannot score events: {e}"))
        })?;
        let deployment = Deployment {
            version: model.version_tag(),
            checksum: model.checksum.clone(),
            subject_kind: kind,
            deployed_at: self.now(),
            active: true,
        };
        let mut stored: Vec<StoredModel> = self.records().list(kind::MODEL, RecordFilter::All)?;
        let mut records = Vec::new();
        for previous in &mut stored {
            if previous.deployment.subject_kind == kind && previous.deployment.active {
                previous.deployment.active = false;
                records.push(Records::record(
                    kind::MODEL,
                    previous.deployment.version.clone(),
                    None,
                    None,
                    previous,
                )?);
            }
        }
        records.push(Records::record(
            kind::MODEL,
            deployment.version.clone(),
            None,
            None,
            &StoredModel {
                deployment: deployment.clone(),
                model_json: model.to_json(),
            },
        )?);
        self.audit_writing(
            principal,
            "model.deploy",
            None,
            format!(
                "{} ({}) for {}s{}",
                deployment.version,
                deployment.checksum,
                kind.name(),
                // An input kept against its name's suggestion is on the
                // record with the reason its dictionary gave.
                model
                    .features
                    .iter()
                    .filter_map(|f| f
                        .override_reason
                        .as_ref()
                        .map(|why| format!("; input {} kept as {}: {why}", f.name, f.category)))
                    .collect::<String>()
            ),
            records.into_iter().map(RecordWrite::Put).collect(),
        )?;
        *self
            .scorer
            .write()
            .map_err(|_| ApiError::internal("scorer lock poisoned"))? = Arc::new(scorer);
        Ok(deployment)
    }
}
