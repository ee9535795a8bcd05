//! `credence train`: a scorecard from a table.

use crate::cli::TrainArgs;
use crate::context;
use anyhow::{Context, Result, bail};
use credence_service::Clock;
use credence_train::{Dictionary, FitOptions, Table, stratified_split, target_from, train};

pub fn run(args: &TrainArgs) -> Result<()> {
    if !(0.0..0.9).contains(&args.test_share) {
        bail!(
            "--test-share {} must be at least 0 and below 0.9",
            args.test_share
        );
    }
    let table =
        Table::read_csv(&args.data).with_context(|| format!("reading {}", args.data.display()))?;
    let dictionary = match &args.dictionary {
        Some(path) => Dictionary::from_file(path)?,
        None => Dictionary::default(),
    };
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    let roles = dictionary.roles(&names, &args.target, &args.audit_columns)?;
    let target = target_from(&table, &args.target, args.bad.as_deref())?;
    let (train_rows, test_rows) = if args.test_share > 0.0 {
        stratified_split(&target, args.test_share, args.seed)
    } else {
        ((0..table.rows).collect(), Vec::new())
    };
    let defaults = FitOptions::default();
    let options = FitOptions {
        model_id: args.model_id.clone(),
        min_iv: args.min_iv,
        max_correlation: args.max_correlation,
        lambda: args.lambda,
        cutoff: args.cutoff,
        binning: credence_train::BinningOptions {
            min_bin_share: args.min_bin_share,
            ..defaults.binning
        },
        created: context::clock().now().strftime("%Y-%m-%d").to_string(),
        ..defaults
    };
    let trained = train(&table, &target, &roles, &train_rows, &test_rows, &options)?;
    std::fs::write(&args.out, trained.scorecard.to_json() + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    if let Some(path) = &args.report {
        let json = serde_json::to_string_pretty(&trained.report)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"train": trained.report.train, "test": trained.report.test})
            )?
        )?;
        return Ok(());
    }
    outln!(
        "Trained {} on {} rows ({} held out): {} of {} inputs in the model; written to {}",
        trained.scorecard.version_tag(),
        train_rows.len(),
        test_rows.len(),
        trained.scorecard.features.len(),
        trained.report.inputs.len(),
        args.out.display()
    )?;
    outln!(
        "  {:<12} {:>7} {:>7} {:>7} {:>9}",
        "",
        "AUC",
        "Gini",
        "KS",
        "bad rate"
    )?;
    let mut rows = vec![("train", trained.report.train)];
    rows.extend(trained.report.test.map(|m| ("test", m)));
    for (name, m) in rows {
        outln!(
            "  {:<12} {:>7.4} {:>7.4} {:>7.4} {:>8.1}%",
            name,
            m.auc,
            m.gini,
            m.ks,
            100.0 * m.bad_rate
        )?;
    }
    for report in &trained.report.fairness {
        outln!(
            "  Fairness by {} (approved at {}+): four-fifths rule {}",
            report.column,
            report.cutoff,
            if report.four_fifths_rule_met {
                "met"
            } else {
                "NOT met"
            }
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
