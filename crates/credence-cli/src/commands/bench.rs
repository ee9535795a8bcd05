//! `credence bench`: speed and memory, each as a ratio against a baseline
//! measured in the same run (this machine is shared and noisy).

use super::simulate::{today, workers, write_world};
use crate::cli::BenchArgs;
use crate::context;
use anyhow::{Context, Result};
use credence_domain::Event;
use credence_domain::SubjectLog;
use credence_service::import::{ImportOptions, import_file};
use credence_service::{Clock, Config, Ingestor, Scorer};
use credence_sim::{SimConfig, simulate_subject};
use credence_store::prelude::*;
use credence_store_sqlite::{SqliteStore, bare_insert_baseline};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Serialize)]
struct Measure {
    name: &'static str,
    items: u64,
    unit: &'static str,
    seconds: f64,
    per_second: f64,
    note: String,
}

fn measure(
    name: &'static str,
    items: u64,
    unit: &'static str,
    seconds: f64,
    note: String,
) -> Measure {
    Measure {
        name,
        items,
        unit,
        seconds,
        per_second: items as f64 / seconds.max(1e-9),
        note,
    }
}

/// Anonymous resident memory of this process in KiB (Linux): the heap and
/// stacks, for the flat-memory check. File-backed pages (SQLite's memory map
/// of the database) are the kernel's page cache, shared and reclaimable, and
/// are left out on purpose.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("credence-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_in(&dir, args);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(dir: &std::path::Path, args: &BenchArgs) -> Result<()> {
    let clock = context::clock();
    let world = SimConfig::new(args.subjects, args.seed, today(&clock));
    let mut results = Vec::new();

    // 1. Simulate, one thread, in memory.
    let started = Instant::now();
    let mut subjects: Vec<SubjectLog> = Vec::with_capacity(args.subjects as usize);
    let mut events: Vec<Event> = Vec::new();
    for index in 0..args.subjects {
        let sim = simulate_subject(&world, index);
        events.extend(sim.events.iter().cloned());
        let mut own = sim.events;
        own.sort_by(credence_domain::canonical_order);
        let subject = credence_domain::Subject {
            id: own[0].subject_id.clone(),
            kind: sim.kind,
            enrolled_at: own[0].occurred_at,
            restricted_data_consent: false,
            state: credence_domain::SubjectState::Enrolled,
        };
        subjects.push(SubjectLog::from_events(subject, &own).map_err(|e| anyhow::anyhow!("{e}"))?);
    }
    let sim_secs = started.elapsed().as_secs_f64();
    let n_events = events.len() as u64;
    errln!(
        "world: {} subjects, {} events ({:.1} a subject)",
        args.subjects,
        n_events,
        n_events as f64 / args.subjects as f64
    )?;
    results.push(measure(
        "simulate (1 thread, in memory)",
        n_events,
        "events",
        sim_secs,
        String::new(),
    ));

    // 2. Simulate to a JSON Lines file on every core.
    let file = dir.join("world.jsonl");
    let started = Instant::now();
    write_world(&world, &file, false, &mut |_| {})?;
    results.push(measure(
        "simulate to JSON Lines (all cores)",
        n_events,
        "events",
        started.elapsed().as_secs_f64(),
        format!("{} threads", workers()),
    ));

    // 3. Bare rusqlite insert: the engine's limit.
    let bare = bare_insert_baseline(&dir.join("bare.db"), &events, 8_192)?.as_secs_f64();
    results.push(measure(
        "baseline: bare rusqlite insert",
        n_events,
        "events",
        bare,
        "same rows, no keys or indexes, WAL + synchronous=FULL".into(),
    ));

    // 4. Credence's store write path (parsed events, durable, idempotent).
    let store = SqliteStore::open(&dir.join("store.db"))?;
    let started = Instant::now();
    store.write_events(&mut |writer| {
        for chunk in events.chunks(8_192) {
            writer.append(chunk)?;
        }
        Ok(())
    })?;
    let write = started.elapsed().as_secs_f64();
    results.push(measure(
        "store write (durable, idempotent)",
        n_events,
        "events",
        write,
        format!("{:.2}x the bare insert time", write / bare),
    ));
    drop(store);

    // 5. Full import from the JSON Lines file: parse, validate, guardrails, write.
    let import_store = SqliteStore::open(&dir.join("import.db"))?;
    let ingestor = Ingestor::new(&Config::default())?;
    let started = Instant::now();
    import_file(
        &import_store,
        &ingestor,
        &file,
        &ImportOptions::default(),
        clock.now(),
        &mut |_| {},
    )?;
    let import = started.elapsed().as_secs_f64();
    results.push(measure(
        "import JSON Lines file (end to end)",
        n_events,
        "events",
        import,
        format!("{:.2}x the bare insert time", import / bare),
    ));

    // 6. Reading every subject back (the store's read limit for a rescore);
    // the first pass also warms the caches, as a running service's would be.
    let scan = |store: &SqliteStore| -> Result<(f64, u64)> {
        let started = Instant::now();
        let mut cursor = None;
        let mut page = Vec::new();
        let mut facts = 0u64;
        loop {
            cursor = store.scan_logs(credence_store::HashRange::ALL, cursor, 512, &mut page)?;
            facts += page.iter().map(|log| log.facts().len() as u64).sum::<u64>();
            if cursor.is_none() {
                return Ok((started.elapsed().as_secs_f64(), facts));
            }
        }
    };
    let (cold, _) = scan(&import_store)?;
    let (warm, facts) = scan(&import_store)?;
    results.push(measure(
        "baseline: read every subject's log (1 thread)",
        args.subjects,
        "subjects",
        warm,
        format!("{facts} facts; first (cold) pass {cold:.3}s"),
    ));

    // 7. Rescore from the store, with memory sampled along the way.
    let scorer = Scorer::from_config(&Config::default())?;
    let as_of = clock.now();
    let rss_before = rss_kib();
    let mut samples = Vec::new();
    let quarter = (args.subjects / 4).max(1);
    let started = Instant::now();
    let summary = scorer.rescore(
        &import_store,
        credence_store::HashRange::ALL,
        as_of,
        as_of,
        &mut |done| {
            if done / quarter > samples.len() as u64 {
                samples.push((done, rss_kib().unwrap_or(0)));
            }
        },
    )?;
    let rescore = started.elapsed().as_secs_f64();
    let memory = samples
        .iter()
        .map(|(done, kib)| format!("{done}: {} MiB", kib / 1024))
        .collect::<Vec<_>>()
        .join(", ");
    results.push(measure(
        "rescore from the store (end to end)",
        summary.subjects,
        "subjects",
        rescore,
        format!(
            "heap (anonymous RSS) before {} MiB; after N subjects: {memory}",
            rss_before.unwrap_or(0) / 1024
        ),
    ));

    // 8. In memory: features + scorecard only.
    let mut engine = scorer.engine();
    let started = Instant::now();
    let mut checksum = 0i64;
    for log in &subjects {
        if let (_, Some(summary)) = scorer.assess(&mut engine, log, as_of) {
            checksum += i64::from(summary.score);
        }
    }
    let one = started.elapsed().as_secs_f64();
    results.push(measure(
        "in memory: features + scorecard (1 thread)",
        args.subjects,
        "subjects",
        one,
        format!("score sum {checksum}"),
    ));
    let threads = workers();
    let started = Instant::now();
    let chunk = subjects.len().div_ceil(threads).max(1);
    let sums: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = subjects
            .chunks(chunk)
            .map(|part| {
                let scorer = &scorer;
                scope.spawn(move || {
                    let mut engine = scorer.engine();
                    part.iter()
                        .filter_map(|log| scorer.assess(&mut engine, log, as_of).1)
                        .map(|s| i64::from(s.score))
                        .sum::<i64>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    let all = started.elapsed().as_secs_f64();
    results.push(measure(
        "in memory: features + scorecard (all cores)",
        args.subjects,
        "subjects",
        all,
        format!("{threads} threads; score sum {}", sums.iter().sum::<i64>()),
    ));

    // 9. Batch scoring alone: the scorecard over inputs already computed
    // (what scoring a prepared table costs), repeated to at least 2M rows.
    let person = scorer.model(credence_domain::SubjectKind::Person);
    let mut engine = scorer.engine();
    let vectors: Vec<credence_features::FeatureVector> = subjects
        .iter()
        .map(|log| engine.compute(log, as_of).values)
        .collect();
    let rounds = (2_000_000 / vectors.len().max(1)).max(1);
    let started = Instant::now();
    let mut total = 0i64;
    for _ in 0..rounds {
        for vector in &vectors {
            total += i64::from(person.score_features(vector).score);
        }
    }
    let batch = started.elapsed().as_secs_f64();
    results.push(measure(
        "in memory: scorecard only (1 thread)",
        (rounds * vectors.len()) as u64,
        "rows",
        batch,
        format!("score sum {total}"),
    ));
    // The same rows split across every core: batch scoring's throughput.
    let started = Instant::now();
    let sums: Vec<i64> = std::thread::scope(|scope| {
        let chunk = vectors.len().div_ceil(threads);
        let handles: Vec<_> = vectors
            .chunks(chunk.max(1))
            .map(|part| {
                scope.spawn(move || {
                    let mut sum = 0i64;
                    for _ in 0..rounds {
                        for vector in part {
                            sum += i64::from(person.score_features(vector).score);
                        }
                    }
                    sum
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    let batch_all = started.elapsed().as_secs_f64();
    results.push(measure(
        "in memory: scorecard only (all cores)",
        (rounds * vectors.len()) as u64,
        "rows",
        batch_all,
        format!(
            "{threads} threads; score sum {}; {:.2}x one thread",
            sums.iter().sum::<i64>(),
            batch / batch_all.max(1e-9)
        ),
    ));

    if let Some(url) = &args.postgres {
        on_postgres(url, &events, args.subjects, &mut results)?;
    }

    if args.json {
        outln!("{}", serde_json::to_string_pretty(&results)?)?;
    } else {
        outln!(
            "{:<46} {:>12} {:>9} {:>14}  note",
            "measure",
            "items",
            "seconds",
            "per second"
        )?;
        for m in &results {
            outln!(
                "{:<46} {:>12} {:>9.3} {:>14.0}  {}",
                m.name,
                format!("{} {}", m.items, m.unit),
                m.seconds,
                m.per_second,
                m.note
            )?;
        }
    }
    Ok(())
}

/// The PostgreSQL rows: the same events loaded by a bare binary COPY (the
/// engine's limit) and through the store, then rescored by one worker and
/// by two on halves of the hash range, in a schema made for the run.
fn on_postgres(
    url: &str,
    events: &[Event],
    subjects: u64,
    results: &mut Vec<Measure>,
) -> Result<()> {
    let schema = RunSchema::create(url, "credence_bench")?;
    postgres_rows(&schema.config, events, subjects, results)
}

/// A PostgreSQL schema made for one benchmark run and dropped when done.
pub struct RunSchema {
    /// The database's address with the schema as its search path.
    pub config: postgres::Config,
    name: String,
    admin: postgres::Client,
}

impl RunSchema {
    /// Creates `<prefix>_<pid>` (replacing a leftover) in the database at
    /// `url`.
    pub fn create(url: &str, prefix: &str) -> Result<Self> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            anyhow::anyhow!(
                "--postgres: {e}; write it as postgres://user:password@host:port/database"
            )
        })?;
        let name = format!("{prefix}_{}", std::process::id());
        let mut admin = config
            .connect(postgres::NoTls)
            .with_context(|| format!("connecting to {}", context::redacted(url)))?;
        admin.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))?;
        config.options(&format!("-c search_path={name}"));
        Ok(Self {
            config,
            name,
            admin,
        })
    }
}

impl Drop for RunSchema {
    fn drop(&mut self) {
        let drop_it = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        if let Err(e) = self.admin.batch_execute(&drop_it) {
            tracing::warn!(error = %e, schema = %self.name, "dropping the benchmark's schema");
        }
    }
}

fn postgres_rows(
    config: &postgres::Config,
    events: &[Event],
    subjects: u64,
    results: &mut Vec<Measure>,
) -> Result<()> {
    use credence_store_postgres::{PostgresStore, bare_copy_baseline};
    let n_events = events.len() as u64;
    let bare = bare_copy_baseline(config, events, 8_192, false)?.as_secs_f64();
    results.push(measure(
        "PostgreSQL baseline: bare binary COPY",
        n_events,
        "events",
        bare,
        "same rows, no keys or indexes, a commit per 8,192".into(),
    ));
    let keyed = bare_copy_baseline(config, events, 8_192, true)?.as_secs_f64();
    results.push(measure(
        "PostgreSQL baseline: COPY with a unique key",
        n_events,
        "events",
        keyed,
        format!(
            "the same, keyed on (furnisher, event id): {:.2}x the bare COPY time",
            keyed / bare
        ),
    ));
    let store = PostgresStore::open_config(config.clone())?;
    let started = Instant::now();
    for chunk in events.chunks(8_192) {
        store.append_events(chunk)?;
    }
    let write = started.elapsed().as_secs_f64();
    results.push(measure(
        "PostgreSQL store write (durable, idempotent)",
        n_events,
        "events",
        write,
        format!(
            "{:.2}x the bare COPY time, {:.2}x the keyed one; a transaction per 8,192",
            write / bare,
            write / keyed
        ),
    ));
    let scorer = Scorer::from_config(&Config::default())?;
    let as_of = context::clock().now();
    let started = Instant::now();
    let one = scorer.rescore(
        &store,
        credence_store::HashRange::ALL,
        as_of,
        as_of,
        &mut |_| {},
    )?;
    let alone = started.elapsed().as_secs_f64();
    results.push(measure(
        "PostgreSQL rescore, one worker",
        one.subjects,
        "subjects",
        alone,
        String::new(),
    ));
    let started = Instant::now();
    let scored: u64 = std::thread::scope(|scope| -> Result<u64> {
        let workers: Vec<_> = credence_store::HashRange::ALL
            .split(2)
            .into_iter()
            .map(|range| {
                let (scorer, store) = (&scorer, &store);
                scope.spawn(move || scorer.rescore(store, range, as_of, as_of, &mut |_| {}))
            })
            .collect();
        let mut total = 0;
        for worker in workers {
            let summary = worker
                .join()
                .map_err(|_| anyhow::anyhow!("a rescore worker panicked"))??;
            total += summary.subjects;
        }
        Ok(total)
    })?;
    let two = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        scored == subjects,
        "two workers scored {scored} of {subjects} subjects"
    );
    results.push(measure(
        "PostgreSQL rescore, two workers on halves",
        scored,
        "subjects",
        two,
        format!("{:.2}x one worker's rate", alone / two.max(1e-9)),
    ));
    Ok(())
}
