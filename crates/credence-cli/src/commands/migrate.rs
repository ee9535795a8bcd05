//! `credence migrate`: moves a whole deployment into an empty database
//! (an embedded file up to PostgreSQL, typically) and proves the move: the
//! same rows (counted and digested on both sides), an intact audit log
//! ending at the same heads, and every subject scoring the same.

use crate::cli::{Global, MigrateArgs};
use crate::context::{self, Database};
use anyhow::{Context, Result, anyhow, bail};
use credence_service::platform::{CheckpointKey, audit};
use credence_service::{Clock, Scorer};
use credence_store::transfer::{self, Tally};
use credence_store::{HashRange, Store};
use std::time::Instant;

pub fn run(global: &Global, args: &MigrateArgs) -> Result<()> {
    let from = Database::parse(&args.from).context("reading --from")?;
    let to = Database::parse(&args.to).context("reading --to")?;
    if from == to {
        bail!("--from and --to name the same database {from}; move into a new, empty one");
    }
    if !from.exists() {
        bail!("no database at {from} (--from)");
    }
    // No server may write the source while it moves: what it acknowledged
    // after the snapshot would be left behind.
    let _claim = from
        .claim_for_serving()
        .context("a server is running on --from: stop it (and every other writer) before moving")?;
    let config = context::config(global)?;
    let source = from.open(&config)?;
    let target = to.open(&config)?;
    let started = Instant::now();
    errln!("credence: moving {from} into {to}")?;
    let moved = transfer::copy(source.as_ref(), target.as_ref())
        .map_err(|e| anyhow!("{e}"))
        .with_context(|| format!("moving into {to}; nothing was written there"))?;
    errln!(
        "credence: moved {} subjects ({} events), {} keys, {} scores, {} records, {} audit entries, {} answers in {:.1} s; verifying",
        moved.subjects,
        moved.events,
        moved.event_keys,
        moved.scores,
        moved.records,
        moved.audit_entries,
        moved.claims,
        started.elapsed().as_secs_f64()
    )?;
    verify(source.as_ref(), target.as_ref(), &moved, global, &config)
        .with_context(|| format!("the move into {to} did not verify; drop it and move again"))?;
    outln!(
        "moved and verified: {} subjects, {} events, {} scores, {} records, {} audit entries; digest {}",
        moved.subjects,
        moved.events,
        moved.scores,
        moved.records,
        moved.audit_entries,
        moved.digest
    )?;
    Ok(())
}

/// Checks the target against the source: every row, the audit log, and
/// the score of every subject recomputed on both sides.
fn verify(
    source: &dyn Store,
    target: &dyn Store,
    moved: &Tally,
    global: &Global,
    config: &credence_service::Config,
) -> Result<()> {
    let held = transfer::tally(target).map_err(|e| anyhow!("{e}"))?;
    if &held != moved {
        bail!("the target holds other rows than were moved: moved {moved:?}, found {held:?}");
    }
    let counts = (
        source.counts().map_err(|e| anyhow!("{e}"))?,
        target.counts().map_err(|e| anyhow!("{e}"))?,
    );
    if counts.0 != counts.1 {
        bail!(
            "counts differ: source {:?}, target {:?}",
            counts.0,
            counts.1
        );
    }
    let key = match context::audit_key(global)? {
        Some(key) => Some(key),
        None => CheckpointKey::of_database(source).map_err(|e| anyhow!("{e}"))?,
    };
    let verdicts = (
        audit::verify(source, key.as_ref()).map_err(|e| anyhow!("{e}"))?,
        audit::verify(target, key.as_ref()).map_err(|e| anyhow!("{e}"))?,
    );
    if !verdicts.1.intact {
        bail!(
            "the moved audit log is not intact: {}",
            verdicts.1.problem.as_deref().unwrap_or_default()
        );
    }
    if verdicts.0.head_hash != verdicts.1.head_hash || verdicts.0.entries != verdicts.1.entries {
        bail!(
            "the moved audit log ends at {} after {} entries, the source's at {} after {}",
            verdicts.1.head_hash,
            verdicts.1.entries,
            verdicts.0.head_hash,
            verdicts.0.entries
        );
    }
    let scored = same_scores(source, target, config)?;
    errln!(
        "credence: verified: rows and digest equal, audit log intact ({} entries, head {}), {scored} subjects score the same on both",
        verdicts.1.entries,
        verdicts.1.head_hash
    )?;
    Ok(())
}

/// Scores every subject of the source, and the same subject read from the
/// target, now with the configured models; any difference is an error.
fn same_scores(
    source: &dyn Store,
    target: &dyn Store,
    config: &credence_service::Config,
) -> Result<u64> {
    let scorer = Scorer::from_config(config)?;
    let (mut source_engine, mut target_engine) = (scorer.engine(), scorer.engine());
    let now = context::clock().now();
    let mut cursor = None;
    let mut page = Vec::new();
    let mut compared = 0;
    loop {
        cursor = source
            .scan_logs(HashRange::ALL, cursor, 1_024, &mut page)
            .map_err(|e| anyhow!("{e}"))?;
        for log in &page {
            let id = &log.subject().id;
            let moved = target
                .subject_log(id)
                .map_err(|e| anyhow!("{e}"))?
                .ok_or_else(|| anyhow!("subject {id} is missing from the target"))?;
            let here = scorer.assess(&mut source_engine, log, now);
            let there = scorer.assess(&mut target_engine, &moved, now);
            if here.1 != there.1 || here.0.values != there.0.values {
                bail!(
                    "subject {id} scores {:?} on the target, {:?} on the source",
                    there.1,
                    here.1
                );
            }
            compared += 1;
        }
        if cursor.is_none() {
            return Ok(compared);
        }
    }
}
