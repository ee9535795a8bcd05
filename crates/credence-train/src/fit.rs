//! The training pipeline: bins, selection, regression, points.

use crate::binning::{
    BinStat, Binning, BinningOptions, bin_categorical, bin_numeric_with_specials, woe,
};
use crate::dictionary::ColumnRole;
use crate::logistic::{BinnedColumn, fit_design};
use crate::metrics::{Metrics, metrics};
use crate::parallel::par_rows;
use crate::table::{ColumnData, MISSING_CODE, Table};
use crate::{Error, Result};
use credence_domain::DataCategory;
use credence_features::Dimension;
use credence_scorecard::{
    Bin, BinRule, CompiledScorecard, FORMAT, Input, Origin, Scaling, Scorecard, ScoredFeature,
};
use serde::Serialize;

/// Training options.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Binning.
    pub binning: BinningOptions,
    /// Inputs with less information value are dropped.
    pub min_iv: f64,
    /// Of two inputs whose WOE correlate more than this, the weaker goes.
    pub max_correlation: f64,
    /// L2 penalty of the regression.
    pub lambda: f64,
    /// Points scaling.
    pub scaling: Scaling,
    /// Model id and version written into the model.
    pub model_id: String,
    /// Model version.
    pub version: String,
    /// Creation date (RFC 3339 date) written into the model.
    pub created: String,
    /// Scores at or above this are "approved" in the fairness report.
    pub cutoff: i32,
    /// Score an absent input as average (WOE 0, no points) instead of by the
    /// bads among training rows that lacked it: for inputs where absence is
    /// no evidence (no rentals, no closed contracts yet), so that a thin
    /// part of a file never lowers a score.
    pub neutral_missing: bool,
    /// Event-rate trends imposed on named numeric inputs (domain knowledge:
    /// risk rises with days late, falls with history); others use
    /// `binning.trend`.
    pub trends: std::collections::BTreeMap<String, crate::Trend>,
    /// Stepwise selection after the IV and correlation filters, when set.
    pub stepwise: Option<crate::StepwiseOptions>,
    /// Special values of named numeric inputs (codes such as -1 "never" or
    /// 999 "not applicable"): binned apart from the ranges.
    pub specials: std::collections::BTreeMap<String, Vec<f64>>,
    /// Columns left out of the table before training, for the report.
    pub dropped_columns: Vec<String>,
    /// Declared categories that override a weak guess from the column's
    /// name, with the reason given, for the report.
    pub name_overrides: std::collections::BTreeMap<String, String>,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            binning: BinningOptions::default(),
            min_iv: 1e-4,
            max_correlation: 0.8,
            lambda: 1.0,
            scaling: Scaling::default(),
            model_id: "trained".into(),
            version: "1".into(),
            created: String::new(),
            cutoff: 600,
            trends: std::collections::BTreeMap::new(),
            neutral_missing: false,
            stepwise: None,
            specials: std::collections::BTreeMap::new(),
            dropped_columns: Vec::new(),
            name_overrides: std::collections::BTreeMap::new(),
        }
    }
}

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// The column.
    pub name: String,
    /// Its information value on the training rows.
    pub iv: f64,
    /// In the model, or why not.
    pub status: String,
    /// Its bins: label, rows, event rate, WOE, points.
    pub bins: Vec<BinReport>,
}

/// One bin of the binning table.
#[derive(Debug, Clone, Serialize)]
pub struct BinReport {
    /// The bin as people read it.
    pub bin: String,
    /// Training rows in it.
    pub count: u64,
    /// Share of bads among them.
    pub event_rate: f64,
    /// Weight of evidence.
    pub woe: f64,
    /// Points (0 for inputs not in the model).
    pub points: f64,
}

/// How the model was trained: every setting that shapes it, so the report
/// alone says how to reproduce it.
#[derive(Debug, Clone, Serialize)]
pub struct TrainSettings {
    /// Where continuous inputs' pre-bins were cut.
    pub prebinning: crate::Prebinning,
    /// Most pre-bins of a continuous input.
    pub max_prebins: usize,
    /// Smallest share of rows of a bin cut from a continuous range.
    pub min_bin_share: f64,
    /// Levels of discrete inputs under this share are rare and pooled.
    pub rare_share: f64,
    /// Levels with fewer rows are rare and pooled.
    pub min_level_rows: u64,
    /// Event-rate trend of numeric bins.
    pub trend: crate::Trend,
    /// Trends imposed on named inputs.
    pub trends: std::collections::BTreeMap<String, crate::Trend>,
    /// Declared special values of named inputs.
    pub special_values: std::collections::BTreeMap<String, Vec<f64>>,
    /// Inputs with less information value were dropped.
    pub min_iv: f64,
    /// Of two inputs whose WOE correlate more, the weaker was dropped.
    pub max_correlation: f64,
    /// L2 penalty of the regression.
    pub lambda: f64,
    /// Stepwise selection levels, when used.
    pub stepwise: Option<crate::StepwiseOptions>,
    /// Absent inputs score as average.
    pub neutral_missing: bool,
    /// Approval cut-off of the fairness report.
    pub cutoff: i32,
    /// Columns dropped before training (`--drop-column`).
    pub dropped_columns: Vec<String>,
    /// Columns whose declared category overrides a weak guess from their
    /// name, with the reason the data dictionary gives.
    pub name_overrides: std::collections::BTreeMap<String, String>,
}

impl TrainSettings {
    fn of(options: &FitOptions) -> Self {
        Self {
            prebinning: options.binning.prebinning,
            max_prebins: options.binning.max_prebins,
            min_bin_share: options.binning.min_bin_share,
            rare_share: options.binning.rare_share,
            min_level_rows: crate::binning::MIN_LEVEL_ROWS,
            trend: options.binning.trend,
            trends: options.trends.clone(),
            special_values: options.specials.clone(),
            min_iv: options.min_iv,
            max_correlation: options.max_correlation,
            lambda: options.lambda,
            stepwise: options.stepwise,
            neutral_missing: options.neutral_missing,
            cutoff: options.cutoff,
            dropped_columns: options.dropped_columns.clone(),
            name_overrides: options.name_overrides.clone(),
        }
    }
}

/// Everything training measured.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    /// How the model was trained.
    pub settings: TrainSettings,
    /// Every input considered.
    pub inputs: Vec<InputReport>,
    /// Metrics on the training rows.
    pub train: Metrics,
    /// Metrics on held-out rows, when there were any.
    pub test: Option<Metrics>,
    /// Fairness by every audit column, on the held-out rows (or all rows
    /// when none were held out).
    pub fairness: Vec<crate::FairnessReport>,
    /// Observed against predicted bad rate by band, on the validation rows.
    pub calibration: Vec<crate::BandCalibration>,
    /// Population stability of the validation scores against the training
    /// scores.
    pub psi_train_to_test: Option<f64>,
    /// ROC, KS and score-distribution curves of the validation rows.
    pub curves: crate::Curves,
    /// Stability of a later scoring population against the development
    /// sample, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub population: Option<PopulationShift>,
    /// Where the time went.
    pub timings: Timings,
}

/// Where training spent its time (seconds of wall clock).
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Timings {
    /// Reading the data files (set by the caller that read them).
    pub read_seconds: f64,
    /// Binning every input (in parallel over inputs).
    pub binning_seconds: f64,
    /// Selection and the regression, refits included.
    pub fit_seconds: f64,
    /// Points table, scoring every row with the model's runtime, metrics,
    /// calibration, curves and fairness.
    pub validation_seconds: f64,
}

/// Population stability of a later scoring population.
#[derive(Debug, Clone, Serialize)]
pub struct PopulationShift {
    /// The later population's file.
    pub file: String,
    /// Its rows.
    pub rows: usize,
    /// Rows of the development sample it is compared with.
    pub reference_rows: usize,
    /// Population stability index of its scores against the development
    /// sample's (under 0.1 stable, 0.1–0.25 some shift, above material).
    pub psi: f64,
    /// Stability of each model input's bins (the characteristic stability
    /// index, read like the PSI), least stable first: which input moved
    /// the scores.
    pub inputs: Vec<InputShift>,
}

/// How far one model input's distribution over its bins moved.
#[derive(Debug, Clone, Serialize)]
pub struct InputShift {
    /// The input.
    pub name: String,
    /// Characteristic stability index.
    pub csi: f64,
}

impl PopulationShift {
    /// The later population `later` (from `file`) against the development
    /// sample `reference`, both scored and binned by `model`.
    pub fn of(
        model: &Scorecard,
        file: String,
        reference: &crate::ScoredPopulation,
        later: &crate::ScoredPopulation,
    ) -> Self {
        let mut inputs: Vec<InputShift> = model
            .features
            .iter()
            .zip(reference.bin_counts.iter().zip(&later.bin_counts))
            .map(|(feature, (expected, actual))| InputShift {
                name: feature.name.clone(),
                csi: crate::stability_index(expected, actual),
            })
            .collect();
        inputs.sort_by(|a, b| b.csi.total_cmp(&a.csi).then_with(|| a.name.cmp(&b.name)));
        Self {
            file,
            rows: later.scores.len(),
            reference_rows: reference.scores.len(),
            psi: crate::psi(&reference.scores, &later.scores),
            inputs,
        }
    }
}

/// A trained model and its report.
#[derive(Debug, Clone)]
pub struct TrainedModel {
    /// The scorecard, sealed.
    pub scorecard: Scorecard,
    /// The report.
    pub report: TrainReport,
}

struct Candidate {
    column: usize,
    binning: Binning,
    /// The bin of every training row: 0 is the missing bin, then the
    /// binning's bins in order.
    codes: Vec<u16>,
    /// The WOE of each code.
    woe_by_code: Vec<f64>,
    category: DataCategory,
    dimension: Dimension,
    iv: f64,
    status: String,
}

impl Candidate {
    fn design(&self) -> BinnedColumn<'_> {
        BinnedColumn {
            codes: &self.codes,
            values: &self.woe_by_code,
        }
    }
}

/// Bins one input on the training rows and codes every row by its bin.
fn candidate(
    index: usize,
    column: &crate::Column,
    role: &ColumnRole,
    train_rows: &[usize],
    y: &[u8],
    options: &FitOptions,
) -> Result<Option<Candidate>> {
    let ColumnRole::Input {
        category,
        dimension,
    } = *role
    else {
        return Ok(None);
    };
    let too_many = || {
        Error::Unfit(format!(
            "{} has more bins than a scorecard holds; raise --min-bin-share",
            column.name
        ))
    };
    let (binning, codes) = match &column.data {
        ColumnData::Numeric(all) => {
            let values: Vec<f64> = train_rows.iter().map(|&r| all[r]).collect();
            let binning = BinningOptions {
                trend: options
                    .trends
                    .get(&column.name)
                    .copied()
                    .unwrap_or(options.binning.trend),
                ..options.binning
            };
            let special = options
                .specials
                .get(&column.name)
                .map_or(&[][..], Vec::as_slice);
            let binning = bin_numeric_with_specials(&values, y, &binning, special);
            let (cuts, ranges) = match &binning {
                Binning::Numeric { cuts, stats, .. } => (cuts.as_slice(), stats.len()),
                Binning::Categorical { .. } => (&[][..], 0),
            };
            u16::try_from(ranges + binning.specials().len() + 1).map_err(|_| too_many())?;
            // Codes: 0 missing, then the ranges, then the special bins.
            let special_code = |v: f64| {
                binning
                    .specials()
                    .iter()
                    .position(|s| s.values.contains(&v))
                    .map(|i| (1 + ranges + i) as u16)
            };
            let codes = values
                .iter()
                .map(|v| {
                    if v.is_nan() {
                        0
                    } else {
                        special_code(*v)
                            .unwrap_or_else(|| (cuts.partition_point(|c| c <= v) + 1) as u16)
                    }
                })
                .collect();
            (binning, codes)
        }
        ColumnData::Categorical { codes, levels } => {
            let own: Vec<u32> = train_rows.iter().map(|&r| codes[r]).collect();
            let binning = bin_categorical(&own, levels, y, &options.binning);
            let groups = match &binning {
                Binning::Categorical { groups, .. } => groups.as_slice(),
                Binning::Numeric { .. } => &[],
            };
            u16::try_from(groups.len() + 1).map_err(|_| too_many())?;
            // Each level's bin, found once instead of once a row.
            let position: std::collections::HashMap<&str, usize> = levels
                .iter()
                .enumerate()
                .map(|(i, l)| (l.as_str(), i))
                .collect();
            let mut bin_of_level = vec![0u16; levels.len()];
            for (g, group) in groups.iter().enumerate() {
                for level in group {
                    if let Some(&l) = position.get(level.as_str()) {
                        bin_of_level[l] = (g + 1) as u16;
                    }
                }
            }
            let codes = own
                .iter()
                .map(|&code| {
                    if code == MISSING_CODE {
                        0
                    } else {
                        bin_of_level[code as usize]
                    }
                })
                .collect();
            (binning, codes)
        }
    };
    let total = binning.total();
    let mut woe_by_code = vec![if options.neutral_missing {
        0.0
    } else {
        woe(binning.missing(), total)
    }];
    woe_by_code.extend(binning.stats().iter().map(|s| woe(*s, total)));
    woe_by_code.extend(binning.specials().iter().map(|s| woe(s.stat, total)));
    let iv = binning.iv();
    let status = if iv < options.min_iv {
        format!(
            "dropped: information value {iv:.4} below {}",
            options.min_iv
        )
    } else {
        "selected".into()
    };
    Ok(Some(Candidate {
        column: index,
        binning,
        codes,
        woe_by_code,
        category,
        dimension,
        iv,
        status,
    }))
}

/// Every input's candidate, binned on as many threads as the machine has
/// (inputs are independent), in column order.
fn candidates(
    table: &Table,
    roles: &[ColumnRole],
    train_rows: &[usize],
    y: &[u8],
    options: &FitOptions,
) -> Result<Vec<Candidate>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let jobs = table.columns.len().min(roles.len());
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(jobs)
        .max(1);
    let mut results: Vec<(usize, Result<Option<Candidate>>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= jobs {
                            break done;
                        }
                        let column = &table.columns[i];
                        done.push((i, candidate(i, column, &roles[i], train_rows, y, options)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    if results.len() < jobs {
        return Err(Error::Unfit("a binning thread failed".into()));
    }
    results.sort_by_key(|(i, _)| *i);
    results
        .into_iter()
        .filter_map(|(_, c)| c.transpose())
        .collect()
}

/// Pearson correlations of every pair of binned columns, over all rows
/// (row-major `p × p`). Rows are expanded to dense blocks a few thousand
/// at a time and summed as `XᵀX`, which vectorises; each core takes a
/// share of the rows.
fn correlation_matrix(columns: &[BinnedColumn<'_>]) -> Vec<f64> {
    const BLOCK: usize = 2048;
    let p = columns.len();
    let n = columns.first().map_or(0, |c| c.codes.len());
    // (Σx, Σxxᵀ) over rows [from, to).
    let sums = |from: usize, to: usize| {
        let mut sum = vec![0.0; p];
        let mut cross = vec![0.0; p * p];
        let mut block = vec![0.0; p * BLOCK];
        let mut start = from;
        while start < to {
            let len = BLOCK.min(to - start);
            for (j, column) in columns.iter().enumerate() {
                let out = &mut block[j * BLOCK..j * BLOCK + len];
                for (o, &code) in out.iter_mut().zip(&column.codes[start..start + len]) {
                    *o = column.values[usize::from(code)];
                }
                sum[j] += out.iter().sum::<f64>();
            }
            for i in 0..p {
                let a = &block[i * BLOCK..i * BLOCK + len];
                for j in 0..=i {
                    let b = &block[j * BLOCK..j * BLOCK + len];
                    cross[i * p + j] += a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
                }
            }
            start += len;
        }
        (sum, cross)
    };
    let mut sum = vec![0.0; p];
    let mut cross = vec![0.0; p * p];
    for (s, c) in par_rows(n, |rows| sums(rows.start, rows.end)) {
        sum.iter_mut().zip(s).for_each(|(a, b)| *a += b);
        cross.iter_mut().zip(c).for_each(|(a, b)| *a += b);
    }
    let rows = n as f64;
    let variance = |i: usize| cross[i * p + i] - sum[i] * sum[i] / rows;
    let mut matrix = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let (vi, vj) = (variance(i), variance(j));
            let r = if vi <= 1e-12 * rows || vj <= 1e-12 * rows {
                0.0
            } else {
                (cross[i * p + j] - sum[i] * sum[j] / rows) / (vi * vj).sqrt()
            };
            matrix[i * p + j] = r;
            matrix[j * p + i] = r;
        }
    }
    matrix
}

/// Trains a scorecard on `train_rows` of `table` (and measures it on
/// `test_rows`), using the columns whose role is `Input`.
pub fn train(
    table: &Table,
    target: &[u8],
    roles: &[ColumnRole],
    train_rows: &[usize],
    test_rows: &[usize],
    options: &FitOptions,
) -> Result<TrainedModel> {
    let y: Vec<u8> = train_rows.iter().map(|&r| target[r]).collect();
    let started = std::time::Instant::now();
    let mut candidates = candidates(table, roles, train_rows, &y, options)?;
    let binning_seconds = started.elapsed().as_secs_f64();
    if candidates.is_empty() {
        return Err(Error::Unfit("no input columns to train on".into()));
    }
    let started = std::time::Instant::now();
    // Correlation filter, strongest first.
    let mut order: Vec<usize> = (0..candidates.len())
        .filter(|&c| candidates[c].status == "selected")
        .collect();
    order.sort_by(|&a, &b| candidates[b].iv.total_cmp(&candidates[a].iv));
    let designs: Vec<BinnedColumn<'_>> = order.iter().map(|&c| candidates[c].design()).collect();
    let correlations = correlation_matrix(&designs);
    let mut kept: Vec<usize> = Vec::new();
    for (rank, &c) in order.iter().enumerate() {
        let stronger = (0..rank).filter(|&r| kept.contains(&order[r]));
        if let Some(other) = stronger
            .into_iter()
            .find(|&r| correlations[rank * order.len() + r].abs() > options.max_correlation)
        {
            candidates[c].status = format!(
                "dropped: WOE correlates above {} with {}",
                options.max_correlation, table.columns[candidates[order[other]].column].name
            );
        } else {
            kept.push(c);
        }
    }
    kept.sort_unstable();
    if let Some(levels) = options.stepwise {
        let designs: Vec<BinnedColumn<'_>> = kept.iter().map(|&c| candidates[c].design()).collect();
        let outcome = crate::stepwise(&designs, &y, options.lambda, levels);
        for (position, &c) in kept.iter().enumerate() {
            if !outcome.chosen.contains(&position) {
                candidates[c].status = format!(
                    "dropped by stepwise selection: p = {:.4} (enters below {}, stays at or below {})",
                    outcome.p_values[position], levels.entry, levels.stay
                );
            }
        }
        kept = outcome
            .chosen
            .iter()
            .map(|&position| kept[position])
            .collect();
    }
    // Fit; drop inputs whose coefficient contradicts their WOE, refit from
    // where the last fit ended.
    let mut start: Option<Vec<f64>> = None;
    let fit = loop {
        if kept.is_empty() {
            return Err(Error::Unfit(
                "every input was dropped (weak, correlated or contradictory); nothing to fit"
                    .into(),
            ));
        }
        let columns: Vec<BinnedColumn<'_>> = kept.iter().map(|&c| candidates[c].design()).collect();
        let fit = fit_design(columns.as_slice(), &y, options.lambda, start.as_deref());
        // WOE is ln(goods/bads): a safer bin must lower the odds of bad.
        match fit
            .coefficients
            .iter()
            .enumerate()
            .filter(|(_, b)| **b > 0.0)
            .max_by(|a, b| a.1.total_cmp(b.1))
        {
            Some((position, _)) => {
                let c = kept.remove(position);
                candidates[c].status = "dropped: its coefficient contradicts its WOE".into();
                let mut next = vec![fit.intercept];
                next.extend(
                    fit.coefficients
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != position)
                        .map(|(_, b)| *b),
                );
                start = Some(next);
            }
            None => break fit,
        }
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let factor = options.scaling.factor();
    let offset = options.scaling.base_score - factor * options.scaling.base_odds.ln();
    let base_points = offset - factor * fit.intercept;
    let mut features = Vec::new();
    let mut reports = Vec::new();
    for (c, candidate) in candidates.iter().enumerate() {
        let name = table.columns[candidate.column].name.clone();
        let beta = kept
            .iter()
            .position(|&k| k == c)
            .map(|p| fit.coefficients[p]);
        let total = candidate.binning.total();
        let points_of = |stat: BinStat| beta.map_or(0.0, |b| whole(-factor * b * woe(stat, total)));
        let mut bins = vec![Bin {
            rule: BinRule::Missing,
            points: if options.neutral_missing {
                0.0
            } else {
                points_of(candidate.binning.missing())
            },
            stats: Some(stats_of(candidate.binning.missing(), total)),
        }];
        match &candidate.binning {
            Binning::Numeric {
                cuts,
                stats,
                specials,
                ..
            } => {
                for (i, stat) in stats.iter().enumerate() {
                    bins.push(Bin {
                        rule: BinRule::Range {
                            lower: i.checked_sub(1).map(|p| cuts[p]),
                            upper: cuts.get(i).copied(),
                        },
                        points: points_of(*stat),
                        stats: Some(stats_of(*stat, total)),
                    });
                }
                for special in specials {
                    bins.push(Bin {
                        rule: BinRule::Special {
                            values: special.values.clone(),
                        },
                        points: points_of(special.stat),
                        stats: Some(stats_of(special.stat, total)),
                    });
                }
            }
            Binning::Categorical { groups, stats, .. } => {
                for (group, stat) in groups.iter().zip(stats) {
                    bins.push(Bin {
                        rule: BinRule::Categories {
                            values: group.clone(),
                        },
                        points: points_of(*stat),
                        stats: Some(stats_of(*stat, total)),
                    });
                }
                // Categories never seen in training score as average (WOE 0).
                bins.push(Bin {
                    rule: BinRule::Other,
                    points: 0.0,
                    stats: None,
                });
            }
        }
        reports.push(InputReport {
            name: name.clone(),
            iv: round6(candidate.iv),
            status: if beta.is_some() {
                "in the model".into()
            } else {
                candidate.status.clone()
            },
            bins: bins
                .iter()
                .map(|b| BinReport {
                    bin: b.rule.describe(),
                    count: b.stats.map_or(0, |s| s.count),
                    event_rate: b.stats.map_or(0.0, |s| round6(s.event_rate)),
                    woe: b.stats.map_or(0.0, |s| round6(s.woe)),
                    points: b.points,
                })
                .collect(),
        });
        if beta.is_some() {
            let code = format!("T{:02}", features.len() + 1);
            features.push(ScoredFeature {
                name: name.clone(),
                dimension: candidate.dimension,
                category: candidate.category,
                reason_code: code,
                reason: format!(
                    "The value of {name} is one associated with more defaults in the training data."
                ),
                improve: format!(
                    "Values of {name} associated with fewer defaults raise the score."
                ),
                bins,
                override_reason: options.name_overrides.get(&name).cloned(),
            });
        }
    }
    let mut scorecard = Scorecard {
        format: FORMAT.into(),
        model_id: options.model_id.clone(),
        version: options.version.clone(),
        subject_kind: None,
        origin: Origin {
            method: "trained".into(),
            created: options.created.clone(),
            note: format!(
                "Trained by credence train: optimal monotone binning, WOE, {}L2 logistic regression (lambda {}), {} of {} inputs kept, {} training rows.",
                options.stepwise.map_or(String::new(), |s| format!(
                    "stepwise selection (entry p < {}, stay p <= {}), ",
                    s.entry, s.stay
                )),
                options.lambda,
                features.len(),
                candidates.len(),
                train_rows.len()
            ),
            validation: None,
        },
        scaling: options.scaling,
        base_points: whole(base_points),
        features,
        checksum: String::new(),
    };
    // Score every row once with the model's own runtime; every measure
    // below reads these.
    let measure = |rows: &[usize], summaries: &[credence_scorecard::ScoreSummary]| {
        let risk: Vec<f64> = summaries.iter().map(|s| -s.raw_points).collect();
        let outcomes: Vec<u8> = rows.iter().map(|&r| target[r]).collect();
        metrics(&risk, &outcomes)
    };
    let train_summaries = score_rows(&scorecard, table, train_rows)?;
    let test_summaries = score_rows(&scorecard, table, test_rows)?;
    let train_metrics = measure(train_rows, &train_summaries);
    let test_metrics = (!test_rows.is_empty()).then(|| measure(test_rows, &test_summaries));
    scorecard.origin.validation =
        Some(serde_json::json!({ "train": train_metrics, "test": test_metrics }));
    let (audited_rows, audited) = if test_rows.is_empty() {
        (train_rows.to_vec(), train_summaries.clone())
    } else {
        (test_rows.to_vec(), test_summaries.clone())
    };
    let audited_scores: Vec<i32> = audited.iter().map(|s| s.score).collect();
    let calibration_rows: Vec<(i32, f64, u8)> = audited
        .iter()
        .zip(&audited_rows)
        .map(|(s, &r)| (s.score, s.pd, target[r]))
        .collect();
    let calibration = crate::calibration(&calibration_rows);
    let curves = crate::curves(
        &calibration_rows
            .iter()
            .map(|(s, _, y)| (*s, *y))
            .collect::<Vec<_>>(),
    );
    let psi_train_to_test = (!test_rows.is_empty()).then(|| {
        let train_scores: Vec<i32> = train_summaries.iter().map(|s| s.score).collect();
        crate::psi(&train_scores, &audited_scores)
    });
    let fairness_reports = roles
        .iter()
        .enumerate()
        .filter(|(_, role)| matches!(role, ColumnRole::Audit))
        .map(|(column, _)| {
            crate::fairness(
                table,
                column,
                &audited_rows,
                &audited_scores,
                target,
                options.cutoff,
            )
        })
        .collect();
    scorecard.seal();
    scorecard.validate()?;
    Ok(TrainedModel {
        scorecard,
        report: TrainReport {
            settings: TrainSettings::of(options),
            inputs: reports,
            train: train_metrics,
            test: test_metrics,
            fairness: fairness_reports,
            calibration,
            psi_train_to_test,
            curves,
            population: None,
            timings: Timings {
                read_seconds: 0.0,
                binning_seconds,
                fit_seconds,
                validation_seconds: started.elapsed().as_secs_f64(),
            },
        },
    })
}

fn stats_of(stat: BinStat, total: BinStat) -> credence_scorecard::BinStats {
    credence_scorecard::BinStats {
        count: stat.count,
        event_rate: round6(stat.event_rate()),
        woe: round6(woe(stat, total)),
    }
}

/// Points are whole numbers, as on a printed scorecard: sums of whole
/// numbers are exact in floating point, so every engine (Rust, SQL, PMML)
/// adds them up to the same total, and rounding the total never depends on
/// the order of addition.
fn whole(x: f64) -> f64 {
    let rounded = x.round();
    if rounded == 0.0 { 0.0 } else { rounded }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The model's input from one cell of a table.
fn table_input(table: &Table, column: usize, row: usize) -> Input<'_> {
    match &table.columns[column].data {
        ColumnData::Numeric(values) => {
            let v = values[row];
            if v.is_nan() {
                Input::Missing
            } else {
                Input::Number(v)
            }
        }
        ColumnData::Categorical { codes, levels } => {
            let code = codes[row];
            if code == MISSING_CODE {
                Input::Missing
            } else {
                Input::Category(&levels[code as usize])
            }
        }
    }
}

/// Binds a model to a table's columns by name.
fn bind_to_table(scorecard: &Scorecard, table: &Table) -> Result<CompiledScorecard> {
    Ok(CompiledScorecard::bind(scorecard.clone(), |name| {
        table
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| "is not a column of the data".to_string())
    })?)
}

/// Every row's score and the bin of each model input it fell in.
pub(crate) fn score_and_bin_rows(
    scorecard: &Scorecard,
    table: &Table,
    rows: &[usize],
) -> Result<Vec<(credence_scorecard::ScoreSummary, Vec<u16>)>> {
    let compiled = bind_to_table(scorecard, table)?;
    Ok(rows
        .iter()
        .map(|&row| {
            let mut bins = Vec::new();
            let summary = compiled.score_and_bins(|slot| table_input(table, slot, row), &mut bins);
            (summary, bins)
        })
        .collect())
}

/// Scores `rows` of `table` with the model's own runtime.
pub fn score_rows(
    scorecard: &Scorecard,
    table: &Table,
    rows: &[usize],
) -> Result<Vec<credence_scorecard::ScoreSummary>> {
    let compiled = bind_to_table(scorecard, table)?;
    let score = |row: usize| compiled.score_with(|slot| table_input(table, slot, row));
    // Rows score independently: each core takes a contiguous share and
    // the shares are joined in order.
    let summaries: Vec<credence_scorecard::ScoreSummary> = par_rows(rows.len(), |share| {
        rows[share]
            .iter()
            .map(|&row| score(row))
            .collect::<Vec<_>>()
    })
    .concat();
    Ok(summaries)
}
