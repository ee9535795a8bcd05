//! `credence model`: inspect, verify and seal scorecard files.

use crate::cli::ModelAction;
use anyhow::{Context, Result, bail};
use credence_domain::SubjectKind;
use credence_scorecard::{Scorecard, default_model};

pub fn run(action: &ModelAction) -> Result<()> {
    match action {
        ModelAction::Show { model } => {
            let scorecard = match SubjectKind::from_name(model) {
                Some(kind) => default_model(kind)?,
                None => load(std::path::Path::new(model))?,
            };
            show(&scorecard)
        }
        ModelAction::Verify { file } => {
            let scorecard = load(file)?;
            outln!(
                "{}: {} is valid and its checksum {} matches",
                file.display(),
                scorecard.version_tag(),
                scorecard.checksum
            )?;
            Ok(())
        }
        ModelAction::Seal { file } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let mut scorecard: Scorecard = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", file.display()))?;
            scorecard
                .validate()
                .with_context(|| format!("validating {}", file.display()))?;
            scorecard.seal();
            std::fs::write(file, scorecard.to_json() + "\n")
                .with_context(|| format!("writing {}", file.display()))?;
            outln!("sealed {} with {}", file.display(), scorecard.checksum)?;
            Ok(())
        }
    }
}

/// `credence export-model`.
pub fn export(args: &crate::cli::ExportArgs) -> Result<()> {
    if crate::context::overwritten(&args.out, &[("the model (--model)", Some(&args.model))])
        .is_some()
    {
        bail!(
            "--out {} is the model (--model); the export would replace it: write it to another file (for example {})",
            args.out.display(),
            args.out
                .with_extension(match args.format {
                    crate::cli::ExportFormat::Sql => "sql",
                    crate::cli::ExportFormat::Pmml => "pmml",
                })
                .display()
        );
    }
    let model = load(&args.model)?;
    let (text, format) = match args.format {
        crate::cli::ExportFormat::Sql => (credence_scorecard::to_sql(&model, &args.table)?, "SQL"),
        crate::cli::ExportFormat::Pmml => (credence_scorecard::to_pmml(&model), "PMML"),
    };
    std::fs::write(&args.out, text).with_context(|| format!("writing {}", args.out.display()))?;
    outln!(
        "exported {} as {format} to {}",
        model.version_tag(),
        args.out.display()
    )?;
    Ok(())
}

fn load(path: &std::path::Path) -> Result<Scorecard> {
    if !path.exists() {
        bail!(
            "no model file at {} (use `person` or `organisation` for the built-in models)",
            path.display()
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Scorecard::from_json(&text).with_context(|| format!("loading {}", path.display()))
}

fn show(model: &Scorecard) -> Result<()> {
    outln!(
        "{} ({}; {})",
        model.version_tag(),
        model.origin.method,
        model.origin.created
    )?;
    outln!("  {}", model.origin.note)?;
    outln!(
        "  scaling: {} points at {}:1 good:bad odds, {} points to double the odds; base points {}",
        model.scaling.base_score,
        model.scaling.base_odds,
        model.scaling.pdo,
        model.base_points
    )?;
    outln!("  checksum {}", model.checksum)?;
    for feature in &model.features {
        outln!(
            "  {} [{}] {} ({})",
            feature.reason_code,
            feature.dimension.name(),
            feature.name,
            feature.category
        )?;
        for bin in &feature.bins {
            let rule = bin.rule.describe();
            outln!("      {rule:<22} {:>+7.1}", bin.points)?;
        }
    }
    Ok(())
}
