//! `credence train`: a scorecard from a table, or from the store.

use crate::cli::{Global, TrainArgs};
use crate::context;
use anyhow::{Context, Result, bail};
use credence_domain::SubjectKind;
use credence_service::{Clock, Scorer};
use credence_train::events::{adopt_texts, feature_trends, training_set};
use credence_train::{
    ColumnRole, Dictionary, FitOptions, Table, TrainedModel, stratified_split, target_from, train,
};

pub fn run(global: &Global, args: &TrainArgs) -> Result<()> {
    refuse_overwriting_inputs(args)?;
    if !(0.0..0.9).contains(&args.test_share) {
        bail!(
            "--test-share {} must be at least 0 and below 0.9",
            args.test_share
        );
    }
    for (flag, p) in [("--entry-p", args.entry_p), ("--stay-p", args.stay_p)] {
        if !(p > 0.0 && p < 1.0) {
            bail!("{flag} {p} must be a probability between 0 and 1 (0.05 is usual)");
        }
    }
    // Out-of-range settings would train something, silently wrong (a NaN
    // penalty, bins larger than half the data, a cut-off off the scale).
    let checks = [
        (
            "--min-bin-share",
            args.min_bin_share,
            args.min_bin_share > 0.0 && args.min_bin_share <= 0.5,
            "a share above 0 and at most 0.5 (0.05 is usual)",
        ),
        (
            "--lambda",
            args.lambda,
            args.lambda.is_finite() && args.lambda >= 0.0,
            "a penalty of 0 or more (1 is usual)",
        ),
        (
            "--max-correlation",
            args.max_correlation,
            args.max_correlation > 0.0 && args.max_correlation <= 1.0,
            "a correlation above 0 and at most 1 (0.8 is usual)",
        ),
        (
            "--min-iv",
            args.min_iv,
            args.min_iv.is_finite() && args.min_iv >= 0.0,
            "an information value of 0 or more (0.02 is a common floor)",
        ),
    ];
    for (flag, value, fine, expected) in checks {
        if !fine {
            bail!("{flag} {value} must be {expected}");
        }
    }
    if !(350..=950).contains(&args.cutoff) {
        bail!(
            "--cutoff {} must be a score on the 350-950 scale (600 is the default)",
            args.cutoff
        );
    }
    let defaults = FitOptions::default();
    let mut options = FitOptions {
        model_id: args.model_id.clone(),
        version: args.model_version.clone(),
        min_iv: args.min_iv,
        max_correlation: args.max_correlation,
        lambda: args.lambda,
        cutoff: args.cutoff,
        binning: credence_train::BinningOptions {
            min_bin_share: args.min_bin_share,
            prebinning: match args.prebinning {
                crate::cli::PrebinningArg::Tree => credence_train::Prebinning::Tree,
                crate::cli::PrebinningArg::Quantile => credence_train::Prebinning::Quantile,
            },
            trend: match args.trend {
                crate::cli::TrendArg::Auto => credence_train::Trend::Auto,
                crate::cli::TrendArg::Ascending => credence_train::Trend::Ascending,
                crate::cli::TrendArg::Descending => credence_train::Trend::Descending,
                crate::cli::TrendArg::Peak => credence_train::Trend::Peak,
                crate::cli::TrendArg::Valley => credence_train::Trend::Valley,
                crate::cli::TrendArg::AutoWithPeaks => credence_train::Trend::AutoWithPeaks,
            },
            ..defaults.binning
        },
        created: context::clock().now().strftime("%Y-%m-%d").to_string(),
        stepwise: args.stepwise.then_some(credence_train::StepwiseOptions {
            entry: args.entry_p,
            stay: args.stay_p,
        }),
        ..defaults
    };
    let mut split = None;
    let started = std::time::Instant::now();
    let (table, target, roles, kind) = if args.from_store {
        let kind = SubjectKind::from_name(&args.kind).ok_or_else(|| {
            anyhow::anyhow!("--kind {:?} is not person or organisation", args.kind)
        })?;
        let config = context::config(global)?;
        let scorer = Scorer::from_config(&config)?;
        let store = context::open_existing_store(global, &config)?;
        let months = jiff::Span::new().months(i64::from(args.window_months));
        let utc = |t: jiff::Timestamp| t.to_zoned_datetime(jiff::tz::TimeZone::UTC);
        let (snapshot, window_end) = match &args.snapshot {
            Some(raw) => {
                let snapshot = context::as_of(Some(raw))?;
                (snapshot, utc(snapshot).checked_add(months)?.timestamp())
            }
            None => {
                let now = context::clock().now();
                (utc(now).checked_sub(months)?.timestamp(), now)
            }
        };
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let set = training_set(
            &*store,
            scorer.policy(),
            kind,
            snapshot,
            window_end,
            workers,
        )?;
        errln!(
            "training on {} {}s (features as of {}, outcomes to {}; left out: {} thin files, {} already in default)",
            set.target.len(),
            kind.name(),
            snapshot.strftime("%Y-%m-%d"),
            window_end.strftime("%Y-%m-%d"),
            set.thin,
            set.already_bad
        )?;
        options.trends = feature_trends();
        // Absence of a kind of record is no evidence: never a penalty.
        options.neutral_missing = true;
        (set.table, set.target, set.roles, Some(kind))
    } else {
        let (Some(data), Some(target_name)) = (&args.data, &args.target) else {
            bail!("give --data FILE --target COLUMN, or --from-store");
        };
        let mut table = match &args.test_data {
            Some(test) => {
                let (both, counts) = Table::read_csvs_counted(&[data.as_path(), test.as_path()])
                    .with_context(|| {
                        format!("reading {} and {}", data.display(), test.display())
                    })?;
                let train_rows = counts[0];
                split = Some((
                    (0..train_rows).collect::<Vec<_>>(),
                    (train_rows..both.rows).collect::<Vec<_>>(),
                ));
                both
            }
            None => Table::read_csv(data).with_context(|| format!("reading {}", data.display()))?,
        };
        for name in &args.drop_columns {
            let before = table.columns.len();
            table.columns.retain(|c| &c.name != name);
            if table.columns.len() == before {
                bail!("--drop-column {name:?}: the data has no such column");
            }
        }
        options.dropped_columns = args.drop_columns.clone();
        let dictionary = match &args.dictionary {
            Some(path) => Dictionary::from_file(path)?,
            None => Dictionary::default(),
        };
        options.name_overrides = dictionary.overrides();
        dictionary.apply_kinds(&mut table)?;
        options.specials = dictionary.specials();
        let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        let roles = dictionary.roles(&names, target_name, &args.audit_columns)?;
        let target = target_from(&table, target_name, args.bad.as_deref())?;
        (table, target, roles, None)
    };
    let read_seconds = started.elapsed().as_secs_f64();
    let mut trained = fit(&table, &target, &roles, args, &options, kind, split)?;
    trained.report.timings.read_seconds = read_seconds;
    write(&trained, args)?;
    report(&trained, args)
}

fn fit(
    table: &Table,
    target: &[u8],
    roles: &[ColumnRole],
    args: &TrainArgs,
    options: &FitOptions,
    kind: Option<SubjectKind>,
    split: Option<(Vec<usize>, Vec<usize>)>,
) -> Result<TrainedModel> {
    let (train_rows, test_rows) = if let Some(split) = split {
        split
    } else if args.test_share > 0.0 {
        stratified_split(target, args.test_share, args.seed)
    } else {
        ((0..table.rows).collect(), Vec::new())
    };
    let mut trained = train(table, target, roles, &train_rows, &test_rows, options)?;
    if let Some(note) = &args.note {
        trained.scorecard.origin.note = format!("{} {note}", trained.scorecard.origin.note);
    }
    match kind {
        Some(kind) => adopt_texts(&mut trained.scorecard, kind)?,
        None => trained.scorecard.seal(),
    }
    if let (Some(population), Some(data)) = (&args.population, &args.data) {
        let scored = |path: &std::path::Path| -> Result<credence_train::ScoredPopulation> {
            Ok(credence_train::population_of_file(
                &trained.scorecard,
                path,
            )?)
        };
        let reference = scored(data)?;
        let later = scored(population)?;
        if later.scores.is_empty() {
            anyhow::bail!("{} has no rows to compare", population.display());
        }
        trained.report.population = Some(credence_train::PopulationShift::of(
            &trained.scorecard,
            population.display().to_string(),
            &reference,
            &later,
        ));
    }
    Ok(trained)
}

/// Writes the model and, when asked, the report (JSON and HTML).
fn write(trained: &TrainedModel, args: &TrainArgs) -> Result<()> {
    std::fs::write(&args.out, trained.scorecard.to_json() + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    if let Some(path) = &args.report {
        // The report comes as JSON for tools and as one self-contained HTML
        // page for people, side by side whichever name was given.
        let json_path = path.with_extension("json");
        let html_path = path.with_extension("html");
        let json = serde_json::to_string_pretty(&trained.report)?;
        std::fs::write(&json_path, json + "\n")
            .with_context(|| format!("writing {}", json_path.display()))?;
        let html = credence_train::report_html(&trained.report, &trained.scorecard);
        std::fs::write(&html_path, html)
            .with_context(|| format!("writing {}", html_path.display()))?;
    }
    Ok(())
}

fn report(trained: &TrainedModel, args: &TrainArgs) -> Result<()> {
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "train": trained.report.train,
                "test": trained.report.test,
                "timings": trained.report.timings,
            }))?
        )?;
        return Ok(());
    }
    outln!(
        "Trained {}: {} of {} inputs in the model; written to {}",
        trained.scorecard.version_tag(),
        trained.scorecard.features.len(),
        trained.report.inputs.len(),
        args.out.display()
    )?;
    outln!(
        "  {:<12} {:>7} {:>7} {:>7} {:>9} {:>7}",
        "",
        "AUC",
        "Gini",
        "KS",
        "bad rate",
        "rows"
    )?;
    let mut rows = vec![("train", trained.report.train)];
    rows.extend(trained.report.test.map(|m| ("test", m)));
    for (name, m) in rows {
        outln!(
            "  {:<12} {:>7.4} {:>7.4} {:>7.4} {:>8.1}% {:>7}",
            name,
            m.auc,
            m.gini,
            m.ks,
            100.0 * m.bad_rate,
            m.rows
        )?;
    }
    if let Some(shift) = &trained.report.population {
        outln!(
            "later population {}: {} rows, PSI {:.4} against the development sample",
            shift.file,
            shift.rows,
            shift.psi
        )?;
    }
    for report in &trained.report.fairness {
        outln!(
            "  Fairness by {} (approved at {}+): four-fifths rule {}",
            report.column,
            report.cutoff,
            report.verdict()
        )?;
        for group in &report.groups {
            outln!(
                "    {:<40} n={:<5} approved {:>5.1}%  impact ratio {:.2}  AUC {}",
                group.group,
                group.count,
                100.0 * group.approval_rate,
                group.adverse_impact_ratio,
                group.auc.map_or("–".to_string(), |a| format!("{a:.3}"))
            )?;
        }
    }
    outln!("  Inputs:")?;
    for input in &trained.report.inputs {
        outln!(
            "    {:<48} IV {:>6.3}  {}",
            input.name,
            input.iv,
            input.status
        )?;
    }
    Ok(())
}

/// The report is written as JSON and HTML beside each other, whatever
/// extension `--report` has; refuses, before any work, a report that would
/// land on the model or on a data file (`--report m.html` with `--out
/// m.json` used to replace the model with the report).
fn refuse_overwriting_inputs(args: &TrainArgs) -> Result<()> {
    let Some(report) = &args.report else {
        return Ok(());
    };
    let written = [report.with_extension("json"), report.with_extension("html")];
    let kept = [
        ("the model (--out)", Some(args.out.as_path())),
        ("the data (--data)", args.data.as_deref()),
        ("the test data (--test-data)", args.test_data.as_deref()),
        ("the population (--population)", args.population.as_deref()),
        ("the dictionary (--dictionary)", args.dictionary.as_deref()),
    ];
    for path in &written {
        if let Some(what) = context::overwritten(path, &kept) {
            bail!(
                "--report {} writes {}, which is {what}; name the report differently (for example --report {}-report.html)",
                report.display(),
                path.display(),
                report.with_extension("").display()
            );
        }
    }
    Ok(())
}
