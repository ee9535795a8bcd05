//! `credence score`, `explain` and `rescore`.

use crate::cli::{Global, RescoreArgs, ScoreArgs};
use crate::context;
use crate::output;
use anyhow::{Context, Result};
use credence_domain::SubjectId;
use credence_service::{Clock, Scorer};
use credence_store::Store;

fn subject_id(raw: &str) -> Result<SubjectId> {
    SubjectId::new(raw).map_err(|e| anyhow::anyhow!("subject id {raw:?} {e}"))
}

pub fn score(global: &Global, args: &ScoreArgs) -> Result<()> {
    let scorer = Scorer::from_config(&context::config(global)?)?;
    let store = context::open_existing_store(global)?;
    let as_of = context::as_of(args.as_of.as_deref())?;
    let report = scorer
        .report(&store, &subject_id(&args.subject_id)?, as_of)
        .with_context(|| format!("scoring {}", args.subject_id))?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        output::print_report(&report)?;
    }
    Ok(())
}

pub fn explain(global: &Global, args: &ScoreArgs) -> Result<()> {
    let scorer = Scorer::from_config(&context::config(global)?)?;
    let store = context::open_existing_store(global)?;
    let as_of = context::as_of(args.as_of.as_deref())?;
    let explanation = scorer
        .explain(&store, &subject_id(&args.subject_id)?, as_of)
        .with_context(|| format!("explaining {}", args.subject_id))?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&explanation)?)?;
        return Ok(());
    }
    outln!(
        "Subject {} — model {} — as of {}",
        explanation.subject_id,
        explanation.model_version,
        explanation.as_of
    )?;
    outln!(
        "  {:<32} {:<11} {:>10}  {:<18} {:>7} {:>7}",
        "feature",
        "dimension",
        "value",
        "bin",
        "points",
        "best"
    )?;
    outln!(
        "  {:<32} {:<11} {:>10}  {:<18} {:>7.1}",
        "base points",
        "",
        "",
        "",
        explanation.base_points
    )?;
    for row in &explanation.rows {
        let value = row.value.map_or("missing".to_string(), |v| {
            format!("{:.3}", v)
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        });
        outln!(
            "  {:<32} {:<11} {:>10}  {:<18} {:>7.1} {:>7.1}",
            row.feature,
            row.dimension,
            value,
            row.bin,
            row.points,
            row.best_points
        )?;
    }
    outln!(
        "  {:<32} {:<11} {:>10}  {:<18} {:>7.1}",
        "total",
        "",
        "",
        "",
        explanation.total_points
    )?;
    match explanation.score {
        Some(score) => outln!("  score = clamp(round(total), 350, 950) = {score}")?,
        None => outln!("  not scored: {}", explanation.missing.join("; "))?,
    }
    Ok(())
}

pub fn rescore(global: &Global, args: &RescoreArgs) -> Result<()> {
    let scorer = Scorer::from_config(&context::config(global)?)?;
    let store = context::open_existing_store(global)?;
    let as_of = context::as_of(args.as_of.as_deref())?;
    let total = store.counts()?.subjects;
    let bar = output::progress(total, "rescore", "subjects");
    let summary = scorer.rescore(&store, as_of, context::clock().now(), &mut |done| {
        bar.set_position(done)
    })?;
    bar.finish_and_clear();
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
        outln!(
            "Rescored {} subjects as of {}: {} scored, {} not enough data, mean score {}",
            summary.subjects,
            summary.as_of,
            summary.scored,
            summary.not_enough_data,
            summary.mean_score.map_or("–".into(), |m| format!("{m:.0}"))
        )?;
        output::print_bands(&summary)?;
    }
    Ok(())
}
