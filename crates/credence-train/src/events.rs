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
use credence_store::{HashRange, Store};
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

/// The rows one part of the subject hash range gives.
#[derive(Debug, Default)]
struct Part {
    /// Whose row each is.
    subjects: Vec<String>,
    /// Feature by feature, a value per row.
    values: Vec<Vec<f64>>,
    target: Vec<u8>,
    thin: usize,
    already_bad: usize,
}

/// Extracts the rows of the subjects of `range`.
fn extract_part(
    store: &dyn Store,
    policy: &Policy,
    kind: SubjectKind,
    snapshot: Timestamp,
    window_end: Timestamp,
    range: HashRange,
) -> Result<Part> {
    let mut part = Part {
        values: vec![Vec::new(); Feature::ALL.len()],
        ..Part::default()
    };
    let window = window_end.as_second() - snapshot.as_second();
    let mut engine = FeatureEngine::new(policy.clone());
    let mut cursor = None;
    let mut page = Vec::new();
    loop {
        cursor = store
            .scan_logs(range, cursor, 1024, &mut page)
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
                part.thin += 1;
                continue;
            }
            if bad_outcome(log, snapshot.as_second() - window, snapshot.as_second()) {
                part.already_bad += 1;
                continue;
            }
            for (column, value) in part.values.iter_mut().zip(features.values.values()) {
                column.push(value.unwrap_or(f64::NAN));
            }
            part.target.push(u8::from(bad_outcome(
                log,
                snapshot.as_second(),
                window_end.as_second(),
            )));
            part.subjects.push(log.subject().id.as_str().to_string());
        }
        if cursor.is_none() {
            return Ok(part);
        }
    }
}

/// Builds the training set of subjects of `kind`, features as of
/// `snapshot`, outcomes in `(snapshot, window_end]`. Thin files (not
/// scored) and subjects already bad in the same length of window before the
/// snapshot (defaults already) are left out.
///
/// `workers` threads each extract a disjoint part of the subject hash
/// range, and the rows come out ordered by subject id: the same set, row
/// for row, however many workers read it and on whichever backend (whose
/// scan orders differ), so a model trained from it does not depend on
/// either.
pub fn training_set(
    store: &dyn Store,
    policy: &Policy,
    kind: SubjectKind,
    snapshot: Timestamp,
    window_end: Timestamp,
    workers: usize,
) -> Result<StoreTrainingSet> {
    let parts: Vec<Part> = std::thread::scope(|scope| {
        let handles: Vec<_> = HashRange::ALL
            .split(workers.max(1))
            .into_iter()
            .map(|range| {
                scope.spawn(move || extract_part(store, policy, kind, snapshot, window_end, range))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::Unfit("a training-set worker panicked".into())))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let (thin, already_bad) = parts
        .iter()
        .fold((0, 0), |(t, b), p| (t + p.thin, b + p.already_bad));
    // Every row's place: part and row within it, in subject id order.
    let mut order: Vec<(usize, usize)> = parts
        .iter()
        .enumerate()
        .flat_map(|(p, part)| (0..part.subjects.len()).map(move |r| (p, r)))
        .collect();
    order.sort_by(|a, b| parts[a.0].subjects[a.1].cmp(&parts[b.0].subjects[b.1]));
    let target: Vec<u8> = order.iter().map(|&(p, r)| parts[p].target[r]).collect();
    let values: Vec<Vec<f64>> = (0..Feature::ALL.len())
        .map(|f| order.iter().map(|&(p, r)| parts[p].values[f][r]).collect())
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;
    use credence_store::prelude::*;

    fn numbers(table: &Table) -> Vec<Vec<u64>> {
        table
            .columns
            .iter()
            .map(|c| match &c.data {
                ColumnData::Numeric(values) => values.iter().map(|v| v.to_bits()).collect(),
                ColumnData::Categorical { codes, .. } => {
                    codes.iter().map(|c| u64::from(*c)).collect()
                }
            })
            .collect()
    }

    #[test]
    fn parts_read_by_several_workers_make_the_same_set_row_for_row() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = credence_store_sqlite::SqliteStore::open(&dir.path().join("db"))
            .unwrap_or_else(|e| panic!("{e}"));
        let until = Timestamp::from_second(1_780_000_000).unwrap_or_else(|e| panic!("{e}"));
        let world = credence_sim::SimConfig::new(600, 5, until);
        let mut events = Vec::new();
        credence_sim::simulate(&world, 0..600, |subject| events.extend(subject.events));
        store
            .append_events(&events)
            .unwrap_or_else(|e| panic!("{e}"));
        let snapshot = Timestamp::from_second(1_750_000_000).unwrap_or_else(|e| panic!("{e}"));
        let policy = Policy::default();
        let set = |workers| {
            training_set(
                &store,
                &policy,
                SubjectKind::Person,
                snapshot,
                until,
                workers,
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let one = set(1);
        assert!(one.target.len() > 300, "{} rows", one.target.len());
        for workers in [2, 3, 7] {
            let many = set(workers);
            assert_eq!(many.target, one.target, "{workers} workers");
            assert_eq!(
                numbers(&many.table),
                numbers(&one.table),
                "{workers} workers"
            );
            assert_eq!((many.thin, many.already_bad), (one.thin, one.already_bad));
        }
        // Every scorable person once: the rows, the thin and the already
        // bad add up to the people enrolled by the snapshot.
        let mut people = 0;
        let mut cursor = None;
        let mut page = Vec::new();
        loop {
            cursor = store
                .scan_subjects(HashRange::ALL, cursor, 256, &mut page)
                .unwrap_or_else(|e| panic!("{e}"));
            people += page
                .iter()
                .filter(|r| {
                    r.subject.kind == SubjectKind::Person && r.subject.enrolled_at <= snapshot
                })
                .count();
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(one.target.len() + one.thin + one.already_bad, people);
    }
}
