//! `credence score`, `explain` and `rescore`.

use crate::cli::{ExplainArgs, Global, RescoreArgs, ScoreArgs};
use crate::context;
use crate::output;
use anyhow::{Context, Result};
use credence_domain::SubjectId;
use credence_service::{Clock, Scorer};
use credence_store::HashRange;

fn subject_id(raw: &str) -> Result<SubjectId> {
    SubjectId::new(raw).map_err(|e| anyhow::anyhow!("subject id {raw:?} {e}"))
}

pub fn score(global: &Global, args: &ScoreArgs) -> Result<()> {
    if let (Some(data), Some(model), Some(out)) = (&args.data, &args.model, &args.out) {
        return score_file(data, model, out);
    }
    let Some(subject) = args.subject_id.as_deref() else {
        anyhow::bail!("give a SUBJECT_ID, or --data FILE --model MODEL --out FILE to score a file");
    };
    let config = context::config(global)?;
    let scorer = Scorer::from_config(&config)?;
    let store = context::open_existing_store(global, &config)?;
    let as_of = context::as_of(args.as_of.as_deref())?;
    let report = scorer
        .report(&*store, &subject_id(subject)?, as_of)
        .with_context(|| format!("scoring {subject}"))?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        output::print_report(&report)?;
    }
    Ok(())
}

/// Scores every row of a CSV file with a model file.
fn score_file(
    data: &std::path::Path,
    model: &std::path::Path,
    out: &std::path::Path,
) -> Result<()> {
    let kept = [
        ("the model (--model)", Some(model)),
        ("the data (--data)", Some(data)),
    ];
    if let Some(what) = context::overwritten(out, &kept) {
        anyhow::bail!(
            "--out {} is {what}; scoring would replace it: write the scores to another file",
            out.display()
        );
    }
    let text =
        std::fs::read_to_string(model).with_context(|| format!("reading {}", model.display()))?;
    let scorecard = credence_scorecard::Scorecard::from_json(&text)
        .with_context(|| format!("loading {}", model.display()))?;
    credence_train::require_csv(data)?;
    let input = std::fs::File::open(data).with_context(|| format!("opening {}", data.display()))?;
    // Write next to the destination and rename at the end: a failed run
    // never leaves a half-written output behind.
    let partial = out.with_extension("partial");
    let output = std::fs::File::create(&partial)
        .with_context(|| format!("creating {}", partial.display()))?;
    let result = credence_train::score_csv(
        &scorecard,
        std::io::BufReader::new(input),
        std::io::BufWriter::new(output),
        &data.display().to_string(),
    );
    match result {
        Ok(rows) => {
            std::fs::rename(&partial, out).with_context(|| format!("writing {}", out.display()))?;
            outln!(
                "scored {rows} rows of {} with {} into {}",
                data.display(),
                scorecard.version_tag(),
                out.display()
            )?;
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e).with_context(|| format!("scoring {}", data.display()))
        }
    }
}

pub fn explain(global: &Global, args: &ExplainArgs) -> Result<()> {
    let config = context::config(global)?;
    let scorer = Scorer::from_config(&config)?;
    let store = context::open_existing_store(global, &config)?;
    let as_of = context::as_of(args.as_of.as_deref())?;
    let explanation = scorer
        .explain(&*store, &subject_id(&args.subject_id)?, as_of)
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
    let config = context::config(global)?;
    let scorer = Scorer::from_config(&config)?;
    let store = context::open_existing_store(global, &config)?;
    let as_of = context::as_of(args.as_of.as_deref())?;
    let (range, parts) = match args.part {
        None => (HashRange::ALL, 1),
        Some((k, n)) => {
            let range = HashRange::ALL
                .part(k as u64 - 1, n as u64)
                .with_context(|| format!("cannot cut the subjects into {n} parts"))?;
            (range, n as u64)
        }
    };
    // A part's count is only known once scanned: its share of the total.
    let total = store.counts()?.subjects.div_ceil(parts);
    let bar = output::progress(total, "rescore", "subjects");
    let summary = scorer.rescore(&*store, range, as_of, context::clock().now(), &mut |done| {
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
