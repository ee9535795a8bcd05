//! Training scorecards from tables.
//!
//! The pipeline of a credit-risk analyst, inside Credence: read a table and
//! a binary target; refuse inputs whose data category may not be scored
//! (the data dictionary is the source of truth); bin every input
//! optimally under a monotone event-rate trend (exact dynamic programming
//! over quantile pre-bins); compute WOE and IV; select by IV and
//! correlation; fit an L2-regularised logistic regression on WOE by
//! Newton's method, dropping inputs whose sign contradicts their WOE; and
//! scale the coefficients into a points table in Credence's model format.

mod batch;
mod binning;
mod dictionary;
mod error;
pub mod events;
mod fairness;
mod fit;
mod html;
mod logistic;
mod metrics;
mod parallel;
mod parquet;
mod stepwise;
mod table;
#[cfg(test)]
mod testing;
mod validation;

pub use batch::{
    SCORE_COLUMNS, ScoredPopulation, population_of_csv, population_of_file, require_csv, score_csv,
};
pub use binning::{
    BinStat, Binning, BinningOptions, Prebinning, SpecialBin, Trend, bin_categorical, bin_numeric,
    bin_numeric_with_specials, information_value, optimal_groups, optimal_shaped_groups, woe,
};
pub use dictionary::{ColumnKind, ColumnRole, Dictionary};
pub use error::{Error, Result};
pub use fairness::{FairnessReport, GroupReport, fairness};
pub use fit::{
    FitOptions, InputShift, PopulationShift, Timings, TrainReport, TrainSettings, TrainedModel,
    train,
};
pub use html::report_html;
pub use logistic::{BinnedColumn, Design, LogisticFit, fit_design, fit_logistic};
pub use metrics::{Metrics, auc, ks, metrics};
pub use stepwise::{StepwiseOptions, StepwiseOutcome, stepwise};
pub use table::{Column, ColumnData, Table, stratified_split, target_from};
pub use validation::{BandCalibration, Curves, calibration, curves, psi, stability_index};

#[cfg(test)]
mod tests {
    use super::*;
    use credence_scorecard::{CompiledScorecard, Scorecard};

    /// A table where risk rises with `debt` and falls with `tenure`, with a
    /// categorical `region` that carries signal and a noise column.
    fn synthetic(rows: usize) -> (Table, Vec<u8>) {
        let mut rng = crate::testing::Lcg::new(7);
        let mut next = move || rng.unit();
        let regions = ["north", "south", "east", "west"];
        let (mut debt, mut tenure, mut noise, mut region_codes, mut target) =
            (vec![], vec![], vec![], vec![], vec![]);
        for _ in 0..rows {
            let d = next() * 100.0;
            let t = next() * 20.0;
            let r = (next() * 4.0) as u32;
            let logit = -2.0 + 0.03 * d - 0.1 * t + [0.0, 0.8, -0.5, 0.3][r as usize];
            let p = 1.0 / (1.0 + (-logit).exp());
            debt.push(if next() < 0.05 { f64::NAN } else { d });
            tenure.push(t);
            noise.push(next());
            region_codes.push(r);
            target.push(u8::from(next() < p));
        }
        let column = |name: &str, data| Column {
            name: name.into(),
            data,
        };
        let table = Table {
            rows,
            columns: vec![
                column("debt", ColumnData::Numeric(debt)),
                column("tenure", ColumnData::Numeric(tenure)),
                column("noise", ColumnData::Numeric(noise)),
                column(
                    "region",
                    ColumnData::Categorical {
                        codes: region_codes,
                        levels: regions.iter().map(|s| s.to_string()).collect(),
                    },
                ),
                column(
                    "y",
                    ColumnData::Numeric(target.iter().map(|t| f64::from(*t)).collect()),
                ),
            ],
        };
        (table, target)
    }

    /// The synthetic table and a model trained on 70% of it with `options`.
    /// What the report says of one input.
    fn reported<'a>(trained: &'a TrainedModel, name: &str) -> &'a fit::InputReport {
        trained
            .report
            .inputs
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("{name} is reported"))
    }

    fn train_synthetic(options: &FitOptions) -> (Table, TrainedModel) {
        let (table, _) = synthetic(6_000);
        let target = target_from(&table, "y", None).expect("binary target");
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let roles = Dictionary::default()
            .roles(&names, "y", &[])
            .expect("no protected columns");
        let (train_rows, test_rows) = stratified_split(&target, 0.3, 42);
        let trained =
            train(&table, &target, &roles, &train_rows, &test_rows, options).expect("trains");
        (table, trained)
    }

    #[test]
    fn trains_a_valid_discriminating_scorecard() {
        let (table, trained) = train_synthetic(&FitOptions::default());
        let model = &trained.scorecard;
        // The file round-trips with its checksum.
        // Every float survives the trip exactly (serde_json's
        // float_roundtrip), or checksums would not verify.
        let reloaded = Scorecard::from_json(&model.to_json()).expect("valid sealed model");
        assert_eq!(&reloaded, model);
        let names: Vec<&str> = model.features.iter().map(|f| f.name.as_str()).collect();
        assert!(
            names.contains(&"debt") && names.contains(&"tenure") && names.contains(&"region"),
            "{names:?}"
        );
        // Noise carries next to no information, and if it is kept at all it
        // moves a score far less than a real risk driver does.
        let noise = reported(&trained, "noise");
        assert!(noise.iv < 0.02, "noise IV {}", noise.iv);
        let spread = |name: &str| {
            model
                .features
                .iter()
                .find(|f| f.name == name)
                .map_or(0.0, |f| {
                    let points = f.bins.iter().map(|b| b.points);
                    points.clone().fold(f64::MIN, f64::max) - points.fold(f64::MAX, f64::min)
                })
        };
        assert!(
            spread("noise") < 0.2 * spread("debt"),
            "noise {} vs debt {}",
            spread("noise"),
            spread("debt")
        );
        let test = trained.report.test.expect("held-out metrics");
        assert!(test.gini > 0.3, "test Gini {}", test.gini);
        // Risk rises with debt: its points fall from bin to bin.
        let debt = model
            .features
            .iter()
            .find(|f| f.name == "debt")
            .expect("debt");
        let points: Vec<f64> = debt
            .bins
            .iter()
            .filter(|b| matches!(b.rule, credence_scorecard::BinRule::Range { .. }))
            .map(|b| b.points)
            .collect();
        assert!(points.windows(2).all(|w| w[0] >= w[1]), "{points:?}");
        // The model binds to the table's columns and scores every row in range.
        let compiled =
            CompiledScorecard::bind(model.clone(), |n| names_index(&table, n)).expect("binds");
        let score = compiled
            .score_with(|_| credence_scorecard::Input::Missing)
            .score;
        assert!((350..=950).contains(&score));
    }

    fn names_index(table: &Table, name: &str) -> std::result::Result<usize, String> {
        table
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| "missing".to_string())
    }

    #[test]
    fn stepwise_training_keeps_the_drivers_and_says_why_others_went() {
        let options = FitOptions {
            stepwise: Some(StepwiseOptions {
                entry: 0.01,
                stay: 0.01,
            }),
            ..FitOptions::default()
        };
        let (_, trained) = train_synthetic(&options);
        let in_model: Vec<&str> = trained
            .scorecard
            .features
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(in_model, ["debt", "tenure", "region"]);
        let noise = reported(&trained, "noise");
        assert!(
            noise
                .status
                .starts_with("dropped by stepwise selection: p = "),
            "{}",
            noise.status
        );
        assert!(trained.scorecard.origin.note.contains("stepwise selection"));
    }

    #[test]
    fn splits_are_stratified_and_seeded() {
        let target: Vec<u8> = (0..1000).map(|i| u8::from(i % 10 < 3)).collect();
        let (train_a, test_a) = stratified_split(&target, 0.3, 42);
        let (_, test_b) = stratified_split(&target, 0.3, 42);
        let (_, test_c) = stratified_split(&target, 0.3, 43);
        assert_eq!(test_a, test_b);
        assert_ne!(test_a, test_c);
        assert_eq!(train_a.len() + test_a.len(), 1000);
        let bads = test_a.iter().filter(|&&r| target[r] == 1).count();
        assert_eq!((test_a.len(), bads), (300, 90));
    }

    #[test]
    fn targets_must_be_binary_and_named() {
        let (table, _) = synthetic(100);
        assert!(
            target_from(&table, "nope", None)
                .expect_err("no column")
                .to_string()
                .contains("no column")
        );
        let err = target_from(&table, "debt", None).expect_err("not binary");
        assert!(err.to_string().contains("--bad"), "{err}");
    }
}
