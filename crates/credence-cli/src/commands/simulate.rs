//! `credence simulate`: a synthetic population to a file.

use crate::cli::SimulateArgs;
use crate::context;
use crate::output;
use anyhow::{Context, Result, bail};
use credence_domain::wire::{FIELDS, WireEvent};
use credence_service::Clock;
use credence_sim::{SimConfig, generate_in_order, simulate_subject};
use jiff::Timestamp;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Subjects generated per work unit.
const CHUNK: u64 = 1_000;

/// The start of today, UTC: the default end of a simulated history, so a
/// world is the same all day long.
pub fn today(clock: &impl Clock) -> Timestamp {
    let now = clock.now().as_second();
    Timestamp::from_second(now - now.rem_euclid(86_400)).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub fn run(args: &SimulateArgs) -> Result<()> {
    if args.subjects == 0 {
        bail!("--subjects must be at least 1");
    }
    let until = match &args.until {
        Some(raw) => {
            credence_domain::parse_instant(raw).map_err(|e| anyhow::anyhow!("--until: {e}"))?
        }
        None => today(&context::clock()),
    };
    let config = SimConfig::new(args.subjects, args.seed, until);
    let csv = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let bar = output::progress(args.subjects, "simulate", "subjects");
    let events = write_world(&config, &args.out, csv, &mut |done| bar.set_position(done))?;
    bar.finish_and_clear();
    errln!(
        "wrote {events} events of {} subjects (seed {}, until {}) to {}",
        args.subjects,
        args.seed,
        until.strftime("%Y-%m-%d"),
        args.out.display()
    )?;
    Ok(())
}

/// Generates the world on every core and writes it in subject order.
/// Returns the number of events written.
pub fn write_world(
    config: &SimConfig,
    out: &Path,
    csv: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    if csv {
        writeln!(writer, "{}", FIELDS.join(","))?;
    }
    let mut written = 0u64;
    generate_in_order(
        config,
        CHUNK,
        workers(),
        |range| {
            let mut bytes = Vec::with_capacity((range.end - range.start) as usize * 48 * 200);
            let mut count = 0u64;
            for index in range {
                for event in simulate_subject(config, index).events {
                    let wire = WireEvent::from_event(&event);
                    if csv {
                        write_csv_row(&mut bytes, &wire);
                    } else if serde_json::to_writer(&mut bytes, &wire).is_ok() {
                        bytes.push(b'\n');
                    }
                    count += 1;
                }
            }
            (bytes, count)
        },
        |range, (bytes, count)| -> Result<()> {
            writer
                .write_all(&bytes)
                .with_context(|| format!("writing {}", out.display()))?;
            written += count;
            progress(range.end);
            Ok(())
        },
    )?;
    writer
        .flush()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(written)
}

/// Threads to generate with: every core.
/// Simulates `world` on every core and writes it into `store` in subject
/// order, 2,000 subjects per batch; `progress` hears how many subjects are
/// done. Returns the events written.
pub fn ingest_world(
    world: &SimConfig,
    store: &dyn credence_store::Store,
    mut progress: impl FnMut(u64),
) -> Result<u64> {
    let mut written = 0u64;
    generate_in_order(
        world,
        2_000,
        workers(),
        |range| {
            range
                .flat_map(|i| simulate_subject(world, i).events)
                .collect::<Vec<credence_domain::Event>>()
        },
        |range, events| -> Result<()> {
            let report = store
                .append_events(&events)
                .context("ingesting simulated events")?;
            written += report.inserted as u64;
            progress(range.end);
            Ok(())
        },
    )?;
    Ok(written)
}

pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8)
}

fn write_csv_row(out: &mut Vec<u8>, wire: &WireEvent<'_>) {
    let Ok(serde_json::Value::Object(map)) = serde_json::to_value(wire) else {
        return;
    };
    let cells: Vec<String> = FIELDS
        .iter()
        .map(|field| match map.get(*field) {
            None | Some(serde_json::Value::Null) => String::new(),
            Some(serde_json::Value::String(s)) => csv_cell(s),
            Some(other) => csv_cell(&other.to_string()),
        })
        .collect();
    out.extend_from_slice(cells.join(",").as_bytes());
    out.push(b'\n');
}

fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
