//! Perks: what a partner offers (a score threshold, dimension minimums,
//! the kind of subject), who may create and change them, where a subject
//! stands against each ("N points to go"), and the one verdict every
//! eligibility answer gives. Every rule about perks lives here.

use super::access::Principal;
use super::access::operator_only;
use super::answers::partner_of;
use super::records::{Records, SEP, kind};
use super::rights::subject_of;
use super::{ApiError, ApiResult};
use credence_domain::SubjectKind;
use credence_scorecard::ScoreReport;
use credence_store::{RecordFilter, RecordWrite};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A perk a partner offers and the rule that decides it. Perks never change
/// a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Perk {
    /// Unique within the partner.
    pub id: String,
    /// The partner offering it (yourself).
    pub partner_id: String,
    /// Name shown to subjects.
    pub name: String,
    /// One sentence on what it gives.
    #[serde(default)]
    pub description: String,
    /// Minimum score, 350–950.
    pub min_score: i32,
    /// Only for this kind of subject, if set.
    #[serde(default)]
    pub subject_kind: Option<SubjectKind>,
    /// Minimum per dimension (0–100), by dimension name.
    #[serde(default)]
    pub dimension_minimums: BTreeMap<String, u8>,
}

/// A perk and where the subject stands.
#[derive(Debug, Clone, Serialize)]
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

/// Whether a report meets a perk's rule, and by how much it falls short.
pub(crate) fn perk_status(perk: &Perk, report: &ScoreReport, kind: SubjectKind) -> PerkStatus {
    perk_verdict(
        perk,
        report.score,
        &|name| report.dimensions.get(name).copied().flatten(),
        kind,
    )
}

/// Whether a score and dimensions meet a perk's rule.
pub(crate) fn perk_verdict(
    perk: &Perk,
    score: Option<i32>,
    dimension: &dyn Fn(&str) -> Option<u8>,
    kind: SubjectKind,
) -> PerkStatus {
    let mut status = PerkStatus {
        perk: perk.clone(),
        partner_name: perk.partner_id.clone(),
        eligible: false,
        points_to_go: None,
        dimensions_short: Vec::new(),
        why_not: None,
    };
    if perk.subject_kind.is_some_and(|k| k != kind) {
        status.why_not = Some(format!(
            "offered to {}s only",
            perk.subject_kind.map_or("?", |k| k.name())
        ));
        return status;
    }
    let Some(score) = score else {
        status.why_not = Some("not enough data yet to score you".into());
        return status;
    };
    status.points_to_go = Some((perk.min_score - score).max(0));
    for (name, minimum) in &perk.dimension_minimums {
        let have = dimension(name);
        if have.is_none_or(|h| h < *minimum) {
            status.dimensions_short.push(name.clone());
        }
    }
    status.eligible = score >= perk.min_score && status.dimensions_short.is_empty();
    if !status.eligible {
        status.why_not = Some(if score < perk.min_score {
            format!("{} points to go", perk.min_score - score)
        } else {
            format!("{} below the minimum", status.dimensions_short.join(", "))
        });
    }
    status
}

fn check_perk(perk: &Perk) -> ApiResult<()> {
    if credence_domain::ValidId::new(&perk.id).is_err() || perk.id.contains(SEP) {
        return Err(ApiError::invalid(
            "id",
            "`id` must be 1–128 letters, digits or . _ - : / @",
        ));
    }
    if perk.name.trim().is_empty() || perk.name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "`name` must be 1–100 characters"));
    }
    if perk.description.chars().count() > 500 {
        return Err(ApiError::invalid(
            "description",
            "`description` is at most 500 characters",
        ));
    }
    if !(350..=950).contains(&perk.min_score) {
        return Err(ApiError::invalid(
            "min_score",
            "`min_score` must be 350 to 950",
        ));
    }
    let known: BTreeMap<&str, ()> = credence_features::Dimension::ALL
        .iter()
        .map(|d| (d.name(), ()))
        .collect();
    for (dimension, minimum) in &perk.dimension_minimums {
        if !known.contains_key(dimension.as_str()) {
            return Err(ApiError::invalid(
                "dimension_minimums",
                format!(
                    "unknown dimension {dimension:?}; use history, capacity, behaviour, identity or fulfilment"
                ),
            ));
        }
        if *minimum > 100 {
            return Err(ApiError::invalid(
                "dimension_minimums",
                "dimension minimums are 0 to 100",
            ));
        }
    }
    Ok(())
}

impl super::Perks<'_> {
    /// The partner's perks.
    pub fn partner_perks(&self, principal: &Principal) -> ApiResult<Vec<Perk>> {
        let partner = partner_of(principal)?;
        self.records()
            .list(kind::PERK, RecordFilter::Owner(partner))
    }

    /// Creates or replaces one of the partner's perks.
    pub fn put_perk(&self, principal: &Principal, mut perk: Perk) -> ApiResult<Perk> {
        let partner = partner_of(principal)?;
        perk.partner_id = partner.to_string();
        check_perk(&perk)?;
        self.audit_writing(
            principal,
            "perk.put",
            None,
            format!("perk {} at {}", perk.id, perk.min_score),
            vec![Records::put_write(
                kind::PERK,
                format!("{partner}{SEP}{}", perk.id),
                None,
                Some(partner),
                &perk,
            )?],
        )?;
        Ok(perk)
    }

    /// Deletes one of the partner's perks.
    pub fn delete_perk(&self, principal: &Principal, perk_id: &str) -> ApiResult<()> {
        let partner = partner_of(principal)?;
        let id = format!("{partner}{SEP}{perk_id}");
        if self.records().raw(kind::PERK, &id)?.is_none() {
            return Err(ApiError::not_found(format!("you have no perk {perk_id:?}")));
        }
        self.audit_writing(
            principal,
            "perk.delete",
            None,
            format!("perk {perk_id}"),
            vec![RecordWrite::Delete {
                kind: kind::PERK,
                id,
            }],
        )
    }

    /// Every perk of every partner.
    pub fn all_perks(&self, principal: &Principal) -> ApiResult<Vec<Perk>> {
        operator_only(principal)?;
        self.records().list(kind::PERK, RecordFilter::All)
    }

    /// Every perk, with eligibility and points to go.
    pub fn my_perks(&self, principal: &Principal) -> ApiResult<Vec<PerkStatus>> {
        let id = subject_of(principal)?;
        let assessment = self.assess(id)?;
        let perks: Vec<Perk> = self.records().list(kind::PERK, RecordFilter::All)?;
        let mut out = Vec::with_capacity(perks.len());
        for perk in perks {
            let partner_name = self
                .records()
                .get::<super::Partner>(kind::PARTNER, &perk.partner_id)?
                .map_or_else(|| perk.partner_id.clone(), |p| p.name);
            let mut status = perk_status(&perk, &assessment.report, assessment.subject.kind);
            status.partner_name = partner_name;
            out.push(status);
        }
        out.sort_by_key(|s| (!s.eligible, s.points_to_go.unwrap_or(i32::MAX)));
        self.audit(
            principal,
            "read.perks",
            Some(id),
            "the subject read their perks",
        )?;
        Ok(out)
    }
}
