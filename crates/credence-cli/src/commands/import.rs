//! `credence import`: files of events into the database.

use crate::cli::{FileFormat, ImportArgs};
use crate::context;
use crate::output;
use anyhow::{Context, Result, bail};
use credence_domain::FurnisherId;
use credence_service::import::{Format, ImportOptions, import_file};
use credence_service::{Clock, Error, Furnishing, Ingestor};

pub fn run(global: &crate::cli::Global, args: &ImportArgs) -> Result<()> {
    let config = context::config(global)?;
    let ingestor = Ingestor::new(&config)?;
    let store = context::open_store(global, context::DEFAULT_DB, &config)?;
    if args.quarantine.is_some() && args.files.len() > 1 {
        bail!(
            "--quarantine takes one input file at a time, so each quarantine file matches its input"
        );
    }
    let furnishing = match &args.furnisher {
        None => Furnishing::Operator,
        Some(raw) => {
            let id =
                FurnisherId::new(raw).map_err(|e| anyhow::anyhow!("--furnisher {raw:?} {e}"))?;
            Furnishing::registered(&*store, &id)?.with_context(|| {
                format!(
                    "--furnisher {id}: no such registered furnisher; the operator registers furnishers (POST /v1/operator/furnishers)"
                )
            })?
        }
    };
    let mut summaries = Vec::new();
    for path in &args.files {
        let size = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        let options = ImportOptions {
            format: args.format.map(|f| match f {
                FileFormat::Jsonl => Format::JsonLines,
                FileFormat::Csv => Format::Csv,
            }),
            quarantine: args.quarantine.clone(),
            furnishing: furnishing.clone(),
            ..ImportOptions::default()
        };
        let bar = output::byte_progress(size, "import");
        let result = import_file(
            &*store,
            &ingestor,
            path,
            &options,
            context::clock().now(),
            &mut |bytes| bar.set_position(bytes),
        );
        bar.finish_and_clear();
        match result {
            Ok(summary) => {
                if !args.json {
                    outln!(
                        "{}: {} records, {} events imported, {} already present, as {}{}",
                        path.display(),
                        summary.records,
                        summary.inserted,
                        summary.duplicates,
                        match &furnishing {
                            Furnishing::Furnisher { id, .. } => format!("furnisher {id}"),
                            Furnishing::Operator =>
                                "the operator (records name their furnishers)".to_string(),
                        },
                        match &args.quarantine {
                            Some(q) if summary.quarantined > 0 => format!(
                                ", {} bad records quarantined in {}",
                                summary.quarantined,
                                q.display()
                            ),
                            _ => String::new(),
                        }
                    )?;
                }
                summaries.push(
                    serde_json::json!({"file": path.display().to_string(), "summary": summary}),
                );
            }
            Err(Error::BadRecords {
                path: file,
                bad,
                errors,
                not_listed,
            }) => {
                // A reader that stops early (`2>&1 | head`) has seen enough;
                // the import failed all the same, so its status still says so.
                let _ = errors
                    .iter()
                    .try_for_each(|error| errln!("{file}:{error}"))
                    .and_then(|()| match not_listed {
                        0 => Ok(()),
                        n => errln!(
                            "{file}: … and {n} more problem(s) not listed; pass --quarantine FILE to see every bad record with its problems"
                        ),
                    });
                bail!(
                    "{bad} bad record(s) in {file}; nothing was imported from it. Fix them, or pass --quarantine FILE to import the good records and set the bad ones aside"
                );
            }
            Err(e) => return Err(e).with_context(|| format!("importing {}", path.display())),
        }
    }
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&summaries)?)?;
    }
    Ok(())
}
