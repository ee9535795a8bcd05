//! `credence demo`: the main job. Simulates a population, ingests it into
//! `./credence-demo.db`, scores everyone and prints what came out.

use super::simulate::{today, workers};
use crate::cli::{DemoArgs, Global};
use crate::context;
use crate::output;
use anyhow::{Context, Result, bail};
use credence_domain::{Event, SubjectId};
use credence_scorecard::{Band, ScoreStatus};
use credence_service::{Clock, Scorer};
use credence_sim::{SimConfig, generate_in_order, simulate_subject, subject_id};
use credence_store::Store;
use std::time::Instant;

/// The demo's own database, recreated on every run.
pub const DEMO_DB: &str = "credence-demo.db";

pub fn run(global: &Global, args: &DemoArgs) -> Result<()> {
    if args.subjects == 0 {
        bail!("--subjects must be at least 1");
    }
    let started = Instant::now();
    let config = context::config(global)?;
    let scorer = Scorer::from_config(&config)?;
    let path = context::db_path(global, DEMO_DB)?;
    remove_database(&path)?;
    let store = context::open_store(global, DEMO_DB)?;
    let clock = context::clock();
    let now = clock.now();
    let world = SimConfig::new(args.subjects, args.seed, today(&clock));

    outln!(
        "Credence demo: {} simulated subjects (seed {}), database {}",
        args.subjects,
        args.seed,
        path.display()
    )?;
    let bar = output::progress(args.subjects, "ingest", "subjects");
    let mut events_written = 0u64;
    generate_in_order(
        &world,
        2_000,
        workers(),
        |range| {
            range
                .flat_map(|i| simulate_subject(&world, i).events)
                .collect::<Vec<Event>>()
        },
        |range, events| -> Result<()> {
            let report = store
                .append_events(&events)
                .context("ingesting simulated events")?;
            events_written += report.inserted as u64;
            bar.set_position(range.end);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    let ingested = started.elapsed();

    let bar = output::progress(args.subjects, "score", "subjects");
    let summary = scorer.rescore(&store, now, now, &mut |done| bar.set_position(done))?;
    bar.finish_and_clear();

    outln!(
        "Ingested {events_written} events in {:.1}s; scored {} subjects as of {} in {:.1}s.",
        ingested.as_secs_f64(),
        summary.subjects,
        now.strftime("%Y-%m-%d %H:%M UTC"),
        (started.elapsed() - ingested).as_secs_f64()
    )?;
    outln!(
        "  {} scored (mean {}), {} with not enough data to score — they get no score, not a low one.",
        summary.scored,
        summary.mean_score.map_or("–".into(), |m| format!("{m:.0}")),
        summary.not_enough_data
    )?;
    outln!("Score bands:")?;
    output::print_bands(&summary)?;

    // A sample subject whose score has reasons to show, and a thin file.
    let mut shown_scored = false;
    let mut shown_thin = false;
    for index in 0..args.subjects.min(5_000) {
        let id = SubjectId::new(&subject_id(index))?;
        let report = scorer.report(&store, &id, now)?;
        let wanted_scored = !shown_scored
            && report.status == ScoreStatus::Scored
            && report
                .band
                .is_some_and(|b| b >= Band::Fair && b <= Band::VeryGood)
            && report.reasons.len() >= 2
            && !report.negative_records.is_empty();
        let wanted_thin = !shown_thin && report.status == ScoreStatus::NotEnoughData;
        if wanted_scored || wanted_thin {
            outln!()?;
            output::print_report(&report)?;
            shown_scored |= wanted_scored;
            shown_thin |= wanted_thin;
        }
        if shown_scored && shown_thin {
            break;
        }
    }
    let counts = store.counts()?;
    outln!()?;
    outln!(
        "Done in {:.1}s. {} subjects, {} events in {}.",
        started.elapsed().as_secs_f64(),
        counts.subjects,
        counts.events,
        path.display()
    )?;
    outln!("Next:")?;
    outln!(
        "  credence score sub-00000042 --db {}          # one subject, with reasons",
        path.display()
    )?;
    outln!(
        "  credence explain sub-00000042 --db {}        # the scorecard rows behind it",
        path.display()
    )?;
    outln!(
        "  credence rescore --as-of 2025-01-01 --db {}  # everyone, at another date",
        path.display()
    )?;
    Ok(())
}

fn remove_database(path: &std::path::Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("removing the previous demo database {}", file.display())
                });
            }
        }
    }
    Ok(())
}
