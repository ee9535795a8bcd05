//! Training tables from the store: every scorable subject of a kind, its
//! features as of a snapshot, and whether it went bad (90+ days past due,
//! a charge-off or a court judgment) within the window after it.

//!
//! Here rather than in the service, so nothing online depends on training:
//! training reads the store (through its trait), the service never reads
//! training.

use crate::{Column, ColumnData, ColumnRole, Error, Result, Table, Trend};
use credence_domain::{Policy, SubjectKind};
use credence_features::{Feature, FeatureEngine, bad_outcome};
use credence_scorecard::Scorecard;
use credence_store::Store;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// The target column's name in a training table built from the store.
pub const TARGET: &str = "bad_within_window";

/// A training table built from the store.
#[derive(Debug, Clone)]
pub struct StoreTrainingSet {
    /// One row per scorable subject: every feature, then the target.
    pub table: Table,
    /// 1 = went bad in the window.
    pub target: Vec<u8>,
    /// Roles: every feature an input with its own category and dimension.
    pub roles: Vec<ColumnRole>,
    /// Subjects of the kind skipped as thin files at the snapshot.
    pub thin: usize,
    /// Subjects left out because they were already bad in the window before
    /// the snapshot: they are defaults already, not predictions to make.
    pub already_bad: usize,
}

/// Builds the training set of subjects of `kind`, features as of
/// `snapshot`, outcomes in `(snapshot, window_end]`. Thin files (not
/// scored) and subjects already bad in the same length of window before the
/// snapshot (defaults already) are left out.
pub fn training_set(
    store: &dyn Store,
    policy: &Policy,
    kind: SubjectKind,
    snapshot: Timestamp,
    window_end: Timestamp,
) -> Result<StoreTrainingSet> {
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); Feature::ALL.len()];
    let mut target = Vec::new();
    let mut thin = 0;
    let mut already_bad = 0;
    let window = window_end.as_second() - snapshot.as_second();
    let mut engine = FeatureEngine::new(policy.clone());
    let mut cursor = None;
    let mut page = Vec::new();
    loop {
        cursor = store
            .scan_logs(credence_store::HashRange::ALL, cursor, 1024, &mut page)
            .map_err(|e| Error::Read {
                path: "the database".into(),
                message: e.to_string(),
            })?;
        for log in &page {
            if log.subject().kind != kind || log.subject().enrolled_at > snapshot {
                continue;
            }
            let features = engine.compute(log, snapshot);
            if features.thin.is_some() {
                thin += 1;
                continue;
            }
            if bad_outcome(log, snapshot.as_second() - window, snapshot.as_second()) {
                already_bad += 1;
                continue;
            }
            for (column, value) in values.iter_mut().zip(features.values.values()) {
                column.push(value.unwrap_or(f64::NAN));
            }
            target.push(u8::from(bad_outcome(
                log,
                snapshot.as_second(),
                window_end.as_second(),
            )));
        }
        if cursor.is_none() {
            break;
        }
    }
    if target.is_empty() {
        return Err(Error::Unfit(format!(
            "no scorable {} enrolled by {snapshot}; pick a later --snapshot or import more data",
            kind.name()
        )));
    }
    let rows = target.len();
    let mut columns: Vec<Column> = Feature::ALL
        .iter()
        .zip(values)
        .map(|(feature, data)| Column {
            name: feature.name().to_string(),
            data: ColumnData::Numeric(data),
        })
        .collect();
    let mut roles: Vec<ColumnRole> = Feature::ALL
        .iter()
        .map(|f| ColumnRole::Input {
            category: f.category(),
            dimension: f.dimension(),
        })
        .collect();
    columns.push(Column {
        name: TARGET.into(),
        data: ColumnData::Numeric(target.iter().map(|t| f64::from(*t)).collect()),
    });
    roles.push(ColumnRole::Target);
    Ok(StoreTrainingSet {
        table: Table { columns, rows },
        target,
        roles,
        thin,
        already_bad,
    })
}

/// The direction risk moves in for each event feature — what a risk
/// analyst imposes so that points never reward, say, more days late.
pub fn feature_trends() -> BTreeMap<String, Trend> {
    use Feature::*;
    Feature::ALL
        .iter()
        .map(|f| {
            let trend = match f {
                WorstDaysLate24m | Delinquencies30 | Delinquencies60 | Delinquencies90Plus
                | ChargeOffs | UnsatisfiedJudgments | Utilisation | NewAccounts6m
                | RentalDamage24m => Trend::Ascending,
                OnTimeRatio24m
                | MonthsSinceLastDelinquency
                | HistoryMonths
                | CapacityRatio
                | PaidToBilledRatio12m
                | IdentityLevel
                | EnrolledMonths
                | RentalOnTimeRatio24m
                | ContractsHonouredRatio
                | OpenAccounts
                | AccountMix => Trend::Descending,
            };
            (f.name().to_string(), trend)
        })
        .collect()
}

/// Gives a model trained on event features each feature's stable reason
/// code, sentence and improvement advice (they belong to the feature, not
/// to any one model), marks it as a model for `kind`, and re-seals it.
pub fn adopt_texts(model: &mut Scorecard, kind: SubjectKind) -> Result<()> {
    for scored in &mut model.features {
        if let Some(feature) = Feature::from_name(&scored.name) {
            scored.reason_code = feature.reason_code().to_string();
            scored.reason = feature.reason().to_string();
            scored.improve = feature.improve().to_string();
        }
    }
    model.subject_kind = Some(kind);
    model.seal();
    model.validate()?;
    Ok(())
}
