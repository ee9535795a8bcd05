//! What operators do: register furnishers and partners, issue and revoke
//! keys and subject tokens, enrol subjects, deploy models, watch the
//! population, work the review queue, verify the audit chain.

use super::access::{self, ApiKey, IssuedKey, Role};
use super::records::{Records, kind};
use super::{
    ApiError, ApiResult, AuditVerdict, Code, Deployment, Dispute, DisputeStatus, Furnisher,
    Partner, Platform, Principal, Review, ReviewStatus,
};
use crate::{Config, Scorer};
use credence_domain::build::EventFactory;
use credence_domain::{EventKind, SubjectId, SubjectKind, ValidId};
use credence_scorecard::{Band, Scorecard};
use credence_store::{Counts, RecordFilter, RecordWrite, ScoreDistribution, Store};
use jiff::ToSpan;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use utoipa::ToSchema;

/// Register a furnisher.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FurnisherSpec {
    /// Its id.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub id: String,
    /// Display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Event kinds it may report: names from the event catalogue
    /// (`account_opened`, `payment_made`…) or the deployed model's custom
    /// kinds.
    #[schema(min_items = 1)]
    pub kinds: Vec<String>,
}

/// Register a partner.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerSpec {
    /// Its id.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub id: String,
    /// Display name.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// Create an API key.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    /// The role it acts in.
    pub role: Role,
    /// The furnisher or partner it acts for (omit for operators); it must
    /// be registered first.
    #[serde(default)]
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub principal: Option<String>,
    /// Who holds it.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub label: String,
}

/// Enrol a subject (after they consented in the operator's app).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectSpec {
    /// The operator's opaque id for them: never a name or document number.
    #[schema(pattern = r"^[A-Za-z0-9._:/@-]{1,128}$")]
    pub subject_id: String,
    /// `person` or `organisation`.
    #[schema(value_type = String, pattern = "^(person|organisation|organization)$")]
    pub kind: SubjectKind,
    /// The separate explicit consent that admits income, assets, deposits
    /// and tax records.
    #[serde(default)]
    pub restricted_data_consent: bool,
}

/// Issue a subject token.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// Minutes it is valid (default 60, at most a day).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1440)]
    pub minutes: Option<i64>,
}

/// A subject token.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IssuedToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    pub expires_at: String,
}

/// A model in force, for the dashboard's model card.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

/// The population at a glance.
#[derive(Debug, Clone, Serialize, ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredModel {
    deployment: Deployment,
    model_json: String,
}

pub(super) fn operator_only(principal: &Principal) -> ApiResult<()> {
    super::Audience::Operators.admit(principal)
}

fn check_id(field: &str, id: &str) -> ApiResult<()> {
    ValidId::new(id)
        .map(|_| ())
        .map_err(|e| ApiError::invalid(field, format!("`{field}` {e}")))?;
    if id.contains(super::records::SEP) {
        return Err(ApiError::invalid(
            field,
            format!("`{field}` must not contain `|`"),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "`name` must be 1–100 characters"));
    }
    Ok(())
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

fn model_card(scorer: &Scorer, kind: SubjectKind) -> ModelCard {
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

/// What the dashboard shows from a built-in model's validation report.
struct BuiltinReference {
    checksum: String,
    roc: Vec<[f64; 2]>,
    bands: BTreeMap<String, u64>,
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
    /// Registers or updates a furnisher.
    pub fn put_furnisher(
        &self,
        principal: &Principal,
        spec: &FurnisherSpec,
    ) -> ApiResult<Furnisher> {
        operator_only(principal)?;
        check_id("id", &spec.id)?;
        check_name(&spec.name)?;
        if spec.kinds.is_empty() {
            return Err(ApiError::invalid("kinds", "name at least one event kind"));
        }
        let scorer_catalogue = self.ingestor.catalogue();
        for name in &spec.kinds {
            let known = EventKind::from_name(name).is_some()
                || scorer_catalogue
                    .custom_kinds()
                    .iter()
                    .any(|c| c.name == *name);
            if !known {
                return Err(ApiError::invalid(
                    "kinds",
                    format!("unknown event kind {name:?}; see the catalogue"),
                ));
            }
        }
        let furnisher = Furnisher {
            id: spec.id.clone(),
            name: spec.name.trim().to_string(),
            kinds: spec.kinds.clone(),
            created_at: self.now(),
        };
        self.audit_writing(
            principal,
            "furnisher.put",
            None,
            format!("{} may report {}", spec.id, spec.kinds.join(", ")),
            vec![Records::put_write(
                kind::FURNISHER,
                spec.id.clone(),
                None,
                None,
                &furnisher,
            )?],
        )?;
        Ok(furnisher)
    }

    /// Every furnisher.
    pub fn furnishers(&self, principal: &Principal) -> ApiResult<Vec<Furnisher>> {
        operator_only(principal)?;
        self.records().list(kind::FURNISHER, RecordFilter::All)
    }

    /// Registers or updates a partner.
    pub fn put_partner(&self, principal: &Principal, spec: &PartnerSpec) -> ApiResult<Partner> {
        operator_only(principal)?;
        check_id("id", &spec.id)?;
        check_name(&spec.name)?;
        let partner = Partner {
            id: spec.id.clone(),
            name: spec.name.trim().to_string(),
            created_at: self.now(),
        };
        self.audit_writing(
            principal,
            "partner.put",
            None,
            format!("partner {}", spec.id),
            vec![Records::put_write(
                kind::PARTNER,
                spec.id.clone(),
                None,
                None,
                &partner,
            )?],
        )?;
        Ok(partner)
    }

    /// Every partner (operators); subjects see names when granting.
    pub fn partners(&self, principal: &Principal) -> ApiResult<Vec<Partner>> {
        match principal {
            Principal::Operator { .. } | Principal::System { .. } | Principal::Subject { .. } => {
                self.records().list(kind::PARTNER, RecordFilter::All)
            }
            _ => Err(ApiError::new(
                Code::Forbidden,
                "only operators and subjects list partners",
            )),
        }
    }

    /// Creates a key; the secret is in the answer and nowhere else.
    pub fn create_key(&self, principal: &Principal, spec: &KeySpec) -> ApiResult<IssuedKey> {
        operator_only(principal)?;
        let actor = principal.actor();
        let principal = match spec.role {
            Role::Operator => "operator".to_string(),
            Role::Furnisher | Role::Partner => {
                let Some(id) = spec.principal.as_deref() else {
                    return Err(ApiError::invalid(
                        "principal",
                        format!(
                            "a {} key names the {} it acts for",
                            spec.role.name(),
                            spec.role.name()
                        ),
                    ));
                };
                let registered = match spec.role {
                    Role::Furnisher => self
                        .records()
                        .get::<Furnisher>(kind::FURNISHER, id)?
                        .is_some(),
                    _ => self.records().get::<Partner>(kind::PARTNER, id)?.is_some(),
                };
                if !registered {
                    return Err(ApiError::invalid(
                        "principal",
                        format!("no {} {id:?}; register it first", spec.role.name()),
                    ));
                }
                id.to_string()
            }
        };
        if spec.label.chars().count() > 100 {
            return Err(ApiError::invalid(
                "label",
                "`label` is at most 100 characters",
            ));
        }
        let issued = access::new_key(spec.role, &principal, spec.label.trim(), self.now())?;
        self.audit_event(super::AuditEvent {
            actor: actor.to_string(),
            action: "key.create",
            subject_ref: None,
            detail: format!(
                "{} key {} for {principal}",
                spec.role.name(),
                issued.record.id
            ),
            writes: vec![access::key_write(&issued.record)?],
            answer: None,
        })?;
        self.keys
            .write()
            .map_err(|_| ApiError::internal("key cache lock poisoned"))?
            .insert(issued.record.id.clone(), issued.record.clone());
        Ok(issued)
    }

    /// Every key (without secrets).
    pub fn keys(&self) -> ApiResult<Vec<ApiKey>> {
        let mut keys: Vec<ApiKey> = self.records().list(kind::API_KEY, RecordFilter::All)?;
        for key in &mut keys {
            key.secret_sha256.clear();
        }
        Ok(keys)
    }

    /// Every key, for an operator.
    pub fn list_keys(&self, principal: &Principal) -> ApiResult<Vec<ApiKey>> {
        operator_only(principal)?;
        self.keys()
    }

    /// Revokes a key, in force at once.
    pub fn revoke_key(&self, principal: &Principal, key_id: &str) -> ApiResult<ApiKey> {
        operator_only(principal)?;
        let actor = principal.actor();
        let mut key: ApiKey = self
            .records()
            .get(kind::API_KEY, key_id)?
            .ok_or_else(|| ApiError::not_found(format!("no key {key_id:?}")))?;
        if key.revoked_at.is_none() {
            key.revoked_at = Some(self.now());
            self.audit_event(super::AuditEvent {
                actor: actor.to_string(),
                action: "key.revoke",
                subject_ref: None,
                detail: format!("key {key_id}"),
                writes: vec![access::key_write(&key)?],
                answer: None,
            })?;
            self.keys
                .write()
                .map_err(|_| ApiError::internal("key cache lock poisoned"))?
                .insert(key.id.clone(), key.clone());
        }
        key.secret_sha256.clear();
        Ok(key)
    }

    /// Enrols a subject (the consent step happened in the operator's app).
    pub fn enrol(&self, principal: &Principal, spec: &SubjectSpec) -> ApiResult<()> {
        operator_only(principal)?;
        check_id("subject_id", &spec.subject_id)?;
        if spec.subject_id.starts_with("erased-") {
            return Err(ApiError::invalid(
                "subject_id",
                "ids starting with `erased-` are reserved for tombstones",
            ));
        }
        let event = EventFactory::new("operator", &spec.subject_id)
            .recorded_at(self.now())
            .enrolled(self.now(), spec.kind, spec.restricted_data_consent);
        match self.store().append_events(std::slice::from_ref(&event)) {
            Ok(_) => {}
            Err(credence_store::Error::Rejected(r)) => {
                return Err(ApiError::new(
                    Code::Conflict,
                    r.first()
                        .map_or_else(|| "enrolment refused".to_string(), |r| r.message.clone()),
                ));
            }
            Err(e) => return Err(e.into()),
        }
        let id = SubjectId::new(&spec.subject_id).map_err(ApiError::internal)?;
        self.audit(
            principal,
            "subject.enrol",
            Some(&id),
            format!("enrolled as {}", spec.kind.name()),
        )
    }

    /// Issues a token a subject's app uses to act as the subject.
    pub fn issue_token(
        &self,
        principal: &Principal,
        subject: &str,
        spec: &TokenSpec,
    ) -> ApiResult<IssuedToken> {
        operator_only(principal)?;
        let id = SubjectId::new(subject)
            .map_err(|e| ApiError::invalid("subject_id", format!("`subject_id` {e}")))?;
        self.enrolled(&id)?;
        let minutes = spec.minutes.unwrap_or(60);
        if !(1..=self.limits().max_token_minutes).contains(&minutes) {
            return Err(ApiError::invalid(
                "minutes",
                format!("`minutes` must be 1 to {}", self.limits().max_token_minutes),
            ));
        }
        let expires_at = self
            .now()
            .checked_add(minutes.minutes())
            .map_err(ApiError::internal)?;
        Ok(IssuedToken {
            token: self.secrets.subject_token(&id, expires_at),
            expires_at: expires_at.to_string(),
        })
    }

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

    /// Review requests waiting for a person.
    pub fn review_queue(&self, principal: &Principal) -> ApiResult<Vec<Review>> {
        operator_only(principal)?;
        let reviews: Vec<Review> = self.records().list(kind::REVIEW, RecordFilter::All)?;
        Ok(reviews
            .into_iter()
            .filter(|r| r.status == ReviewStatus::Queued)
            .collect())
    }

    /// Closes a review with the reviewer's answer.
    pub fn close_review(
        &self,
        principal: &Principal,
        review_id: &str,
        outcome: &str,
    ) -> ApiResult<Review> {
        operator_only(principal)?;
        let record = self
            .store()
            .record(kind::REVIEW, review_id)?
            .ok_or_else(|| ApiError::not_found(format!("no review {review_id:?}")))?;
        let mut review: Review = super::records::decode(&record)?;
        if review.status == ReviewStatus::Closed {
            return Err(ApiError::new(
                Code::Conflict,
                format!("review {review_id} is already closed"),
            ));
        }
        if outcome.trim().is_empty() || outcome.chars().count() > 2_000 {
            return Err(ApiError::invalid(
                "outcome",
                "`outcome` must be 1–2,000 characters",
            ));
        }
        review.status = ReviewStatus::Closed;
        review.outcome = outcome.trim().to_string();
        review.closed_at = Some(self.now());
        self.audit_writing(
            principal,
            "review.close",
            record.subject.as_ref(),
            format!("review {review_id} closed"),
            vec![Records::put_write(
                kind::REVIEW,
                review.id.clone(),
                record.subject.as_ref(),
                None,
                &review,
            )?],
        )?;
        Ok(review)
    }

    /// Verifies the audit chain.
    pub fn verify_audit(&self, principal: &Principal) -> ApiResult<AuditVerdict> {
        operator_only(principal)?;
        Ok(super::audit::verify(self.store())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bands(counts: &[(&str, u64)]) -> BTreeMap<String, u64> {
        counts.iter().map(|(b, c)| (b.to_string(), *c)).collect()
    }

    #[test]
    fn a_change_whose_audit_entry_fails_is_not_stored() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store: Arc<dyn Store> = Arc::new(
            credence_store_sqlite::SqliteStore::open(&dir.path().join("db"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
        let platform = Platform::open(
            store.clone(),
            &crate::Config::default(),
            Arc::new(crate::SystemClock),
            super::super::Limits::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let operator = Principal::Operator {
            key_id: "test".into(),
        };
        let partner = |id: &str| PartnerSpec {
            id: id.into(),
            name: id.into(),
        };
        platform
            .put_partner(&operator, &partner("kept"))
            .unwrap_or_else(|e| panic!("{e}"));
        let entries = || super::super::audit::verify(store.as_ref()).map(|v| v.entries);
        let before = entries().unwrap_or_else(|e| panic!("{e}"));
        // A closed audit log stands for one that cannot be written.
        platform.close();
        let refused = platform.put_partner(&operator, &partner("lost"));
        assert_eq!(refused.map_err(|e| e.code).err(), Some(Code::Unavailable));
        let key = platform.create_key(
            &operator,
            &KeySpec {
                role: Role::Operator,
                principal: None,
                label: "lost".into(),
            },
        );
        assert_eq!(key.map_err(|e| e.code).err(), Some(Code::Unavailable));
        assert!(
            store
                .record(kind::PARTNER, "kept")
                .is_ok_and(|r| r.is_some())
        );
        assert!(
            store
                .record(kind::PARTNER, "lost")
                .is_ok_and(|r| r.is_none()),
            "an unaudited partner was stored"
        );
        let keys = store
            .records(kind::API_KEY, RecordFilter::All)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(keys.is_empty(), "an unaudited key was stored: {keys:?}");
        assert_eq!(entries().ok(), Some(before));
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
