//! `credence demo`: the main job. Simulates a population, ingests it into
//! `./credence-demo.db`, scores everyone and prints what came out.

use super::simulate::{ingest_world, today};
use crate::cli::{DemoArgs, Global};
use crate::context;
use crate::output;
use anyhow::{Context, Result, bail};
use credence_domain::SubjectId;
use credence_scorecard::{Band, ScoreStatus};
use credence_service::{Clock, Scorer};
use credence_sim::{SimConfig, subject_id};
use credence_store::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
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
    let database = context::Database::from_flags(global, DEMO_DB)?;
    // Held while the demo builds and serves its database.
    let _claim = database.claim_for_serving()?;
    let context::Database::Sqlite(path) = &database else {
        anyhow::bail!(
            "the demo builds its own embedded database and deletes it on the next run; give it a file (--db credence-demo.db), and use `credence import` or `credence serve` with --db {database}"
        );
    };
    remove_database(path)?;
    let store = database.open(&config)?;
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
    let events_written = ingest_world(&world, &*store, |done| bar.set_position(done))?;
    bar.finish_and_clear();
    let ingested = started.elapsed();

    // Month-end scores for the last half year, so every subject has a
    // history to show, then today's.
    let bar = output::progress(args.subjects * 7, "score", "subjects");
    for months_back in (1..=6).rev() {
        let as_of = now
            .checked_sub(jiff::SignedDuration::from_hours(24 * 30 * months_back))
            .context("computing history dates")?;
        let offset = (6 - months_back as u64) * args.subjects;
        scorer.rescore(
            &*store,
            credence_store::HashRange::ALL,
            as_of,
            now,
            &mut |done| bar.set_position(offset + done),
        )?;
    }
    let summary = scorer.rescore(
        &*store,
        credence_store::HashRange::ALL,
        now,
        now,
        &mut |done| bar.set_position(6 * args.subjects + done),
    )?;
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
    let mut samples: Vec<SubjectId> = Vec::new();
    for index in 0..args.subjects.min(5_000) {
        let id = SubjectId::new(&subject_id(index))?;
        let report = scorer.report(&*store, &id, now)?;
        let wanted_scored = !shown_scored
            && report.status == ScoreStatus::Scored
            && report
                .band
                .is_some_and(|b| b >= Band::Fair && b <= Band::VeryGood)
            && report.reasons.len() >= 2
            && !report.negative_records.is_empty();
        let wanted_thin = !shown_thin && report.status == ScoreStatus::NotEnoughData;
        if wanted_scored || wanted_thin {
            samples.push(id.clone());
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
    if args.no_serve {
        print_next(path)?;
        return Ok(());
    }
    // One more sample: the best-scored of the first subjects.
    if let Some(best) = (0..args.subjects.min(200))
        .filter_map(|i| SubjectId::new(&subject_id(i)).ok())
        .filter(|id| !samples.contains(id))
        .filter_map(|id| store.latest_score(&id).ok().flatten())
        .max_by_key(|s| s.score.unwrap_or(0))
    {
        samples.push(best.subject_id);
    }
    let furnishers = furnishers_of(&*store, args.subjects.min(2_000))?;
    drop(store);
    serve_demo(global, args, &furnishers, &samples)
}

fn print_next(path: &std::path::Path) -> Result<()> {
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

/// Furnishers seen among the first subjects, with the kinds each reported.
fn furnishers_of(store: &dyn Store, subjects: u64) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let mut furnishers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for index in 0..subjects {
        let id = SubjectId::new(&subject_id(index))?;
        for event in store.subject_events(&id)? {
            furnishers
                .entry(event.key.furnisher_id.to_string())
                .or_default()
                .insert(event.kind().name().to_string());
        }
    }
    Ok(furnishers)
}

/// Sesame Credit's own perks, for the demo's partners.
/// A demo perk: id, name, description, minimum score.
type DemoPerk = (&'static str, &'static str, &'static str, i32);

const DEMO_PARTNERS: &[(&str, &str, &[DemoPerk])] = &[
    (
        "bike-share",
        "City Bike Share",
        &[
            (
                "deposit-free-ride",
                "Deposit-free bike rides",
                "Ride without the €299 deposit.",
                600,
            ),
            (
                "e-bike-no-deposit",
                "Deposit-free e-bikes",
                "E-bikes without a deposit.",
                650,
            ),
        ],
    ),
    (
        "hotel-stays",
        "Hotel Stays",
        &[(
            "deposit-free-stay",
            "Deposit-free hotel stays",
            "Check in without a card deposit; pay at check-out.",
            600,
        )],
    ),
    (
        "car-rental",
        "Car Rental Co-op",
        &[(
            "no-deposit-rental",
            "Car rental without deposit",
            "Rent a car without a deposit.",
            650,
        )],
    ),
    (
        "visa-services",
        "Visa Paperwork Help",
        &[(
            "visa-express",
            "Visa paperwork help",
            "Fewer documents for a travel visa application.",
            700,
        )],
    ),
];

fn serve_demo(
    global: &Global,
    args: &DemoArgs,
    furnishers: &BTreeMap<String, BTreeSet<String>>,
    samples: &[SubjectId],
) -> Result<()> {
    use credence_service::platform::{
        Answering, FurnisherSpec, KeySpec, PartnerSpec, Perk, Principal, Role, TokenSpec,
    };
    // Under the claim `demo` took on its file.
    let platform = super::serve::open_platform(global, DEMO_DB, Answering::Alone)?;
    let fail = |e: credence_service::platform::ApiError| anyhow::anyhow!("{e}");
    let operator_key = platform
        .registry()
        .create_key(
            &Principal::System { name: "demo" },
            &KeySpec {
                role: Role::Operator,
                principal: None,
                label: "demo operator".into(),
            },
        )
        .map_err(fail)?;
    let operator = Principal::Operator {
        key_id: operator_key.record.id.clone(),
    };
    for (id, kinds) in furnishers {
        platform
            .registry()
            .put_furnisher(
                &operator,
                &FurnisherSpec {
                    id: id.clone(),
                    name: id.replace('-', " "),
                    kinds: kinds.iter().cloned().collect(),
                },
            )
            .map_err(fail)?;
    }
    let mut partner_keys = Vec::new();
    for (id, name, perks) in DEMO_PARTNERS {
        platform
            .registry()
            .put_partner(
                &operator,
                &PartnerSpec {
                    id: id.to_string(),
                    name: name.to_string(),
                },
            )
            .map_err(fail)?;
        let key = platform
            .registry()
            .create_key(
                &Principal::System { name: "demo" },
                &KeySpec {
                    role: Role::Partner,
                    principal: Some(id.to_string()),
                    label: "demo".into(),
                },
            )
            .map_err(fail)?;
        let partner = Principal::Partner {
            id: id.to_string(),
            key_id: key.record.id.clone(),
        };
        for (perk_id, perk_name, description, min_score) in *perks {
            platform
                .perks()
                .put_perk(
                    &partner,
                    Perk {
                        id: perk_id.to_string(),
                        partner_id: id.to_string(),
                        name: perk_name.to_string(),
                        description: description.to_string(),
                        min_score: *min_score,
                        subject_kind: None,
                        dimension_minimums: BTreeMap::new(),
                    },
                )
                .map_err(fail)?;
        }
        partner_keys.push((id, key.key));
    }
    let furnisher_key = match furnishers.keys().find(|f| f.as_str() != "operator") {
        Some(furnisher) => Some((
            furnisher.clone(),
            platform
                .registry()
                .create_key(
                    &Principal::System { name: "demo" },
                    &KeySpec {
                        role: Role::Furnisher,
                        principal: Some(furnisher.clone()),
                        label: "demo".into(),
                    },
                )
                .map_err(fail)?
                .key,
        )),
        None => None,
    };
    let mut tokens = Vec::new();
    for id in samples {
        let token = platform
            .registry()
            .issue_token(
                &Principal::System { name: "demo" },
                id.as_str(),
                &TokenSpec {
                    minutes: Some(24 * 60),
                },
            )
            .map_err(fail)?;
        tokens.push((id.clone(), token.token));
    }
    super::serve::run_server(platform, &args.listen, |address| {
        let base = format!("http://{address}");
        let _ = print_links(
            &base,
            &operator_key.key,
            &partner_keys,
            furnisher_key.as_ref(),
            &tokens,
        );
    })
}

fn print_links(
    base: &str,
    operator_key: &str,
    partner_keys: &[(&&str, String)],
    furnisher_key: Option<&(String, String)>,
    tokens: &[(SubjectId, String)],
) -> Result<()> {
    outln!()?;
    outln!(
        "Serving on {base} (API: {base}/openapi.json). Ctrl-C stops; everything acknowledged is kept."
    )?;
    outln!("Open in a browser (links valid 24 hours):")?;
    if let Some((id, token)) = tokens.first() {
        outln!("  {id}'s own page: {base}/app/#token={token}")?;
    }
    outln!("  operator dashboard: {base}/app/#key={operator_key}")?;
    outln!(
        "Subject tokens (send as `Authorization: Bearer <token>`, or open {base}/app/#token=<token>):"
    )?;
    for (id, token) in tokens {
        outln!("  {id}: {token}")?;
    }
    outln!("API keys (shown once):")?;
    outln!("  operator             {operator_key}")?;
    for (partner, key) in partner_keys {
        // A space after the padding: names longer than the column stay apart
        // from their key.
        outln!("  partner {partner:<12} {key}")?;
    }
    if let Some((furnisher, key)) = furnisher_key {
        outln!("  furnisher {furnisher:<10} {key}")?;
    }
    if let Some((_, token)) = tokens.first() {
        outln!("Try: curl -s -H 'Authorization: Bearer {token}' {base}/v1/me")?;
    }
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
