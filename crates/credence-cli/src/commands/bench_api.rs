//! `credence bench-api`: the HTTP API under load on loopback.
//!
//! Three phases against one in-process server over a fresh database:
//! `/healthz` (what HTTP alone costs here: the baseline), partner
//! eligibility checks (each one authenticated, consent-checked, scored and
//! audited durably before the answer), and furnisher ingest in batches.
//! Results are ratios against the baseline measured in the same run.
//!
//! The load client is a hand-written keep-alive HTTP/1.1 loop: fixed
//! requests, `Content-Length` responses, one request in flight per
//! connection. A client crate would put its own pooling and buffering
//! between us and what we measure, and wrk/oha are not part of the build.

use super::simulate::{ingest_world, today};
use crate::cli::BenchApiArgs;
use anyhow::{Context, Result, anyhow, bail};
use credence_domain::SubjectId;
use credence_domain::build::EventFactory;
use credence_domain::wire::WireEvent;
use credence_service::platform::{
    Answering, ConsentRequest, FurnisherSpec, KeySpec, Limits, PartnerSpec, Perk, Platform,
    Principal, Role, Scope,
};
use credence_service::{Clock, Config, SystemClock};
use credence_sim::{SimConfig, subject_id};
use credence_store::Store;
use credence_store_sqlite::SqliteStore;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Subjects who consent to the benchmark partner.
const CONSENTING: u64 = 2_000;
/// Subjects per ingest batch.
const SUBJECTS_PER_BATCH: usize = 20;

#[derive(Debug, Serialize)]
struct Phase {
    name: &'static str,
    connections: usize,
    requests: u64,
    failed: u64,
    requests_per_second: f64,
    items_per_second: f64,
    unit: &'static str,
    p50_ms: f64,
    p99_ms: f64,
    ratio_to_healthz: f64,
    /// Where the machine's cores spent the phase (Linux only): whether a
    /// phase is bound by the processors or waits, for instance, on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    cpu: Option<CpuShare>,
}

/// Shares of the whole machine's CPU time during a phase, in percent.
#[derive(Debug, Clone, Copy, Serialize)]
struct CpuShare {
    user: f64,
    system: f64,
    iowait: f64,
    idle: f64,
}

/// Cumulative CPU time by state, in clock ticks, from `/proc/stat`.
/// Read by hand: four numbers from one line do not justify a system
/// information crate and its dependencies.
#[derive(Debug, Clone, Copy)]
struct CpuTimes {
    user: u64,
    system: u64,
    iowait: u64,
    idle: u64,
    total: u64,
}

impl CpuTimes {
    /// Now, or none where there is no `/proc/stat`.
    fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        // user nice system idle iowait irq softirq steal (guest time is
        // already inside user).
        let ticks: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .take(8)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let [user, nice, system, idle, iowait, irq, softirq, steal] = ticks[..] else {
            return None;
        };
        Some(Self {
            user: user + nice,
            system: system + irq + softirq,
            iowait,
            idle,
            total: user + nice + system + idle + iowait + irq + softirq + steal,
        })
    }

    /// The shares of the time between `self` and `later`.
    fn share_until(self, later: Self) -> Option<CpuShare> {
        let total = later.total.checked_sub(self.total).filter(|t| *t > 0)? as f64;
        let percent = |a: u64, b: u64| b.saturating_sub(a) as f64 * 100.0 / total;
        Some(CpuShare {
            user: percent(self.user, later.user),
            system: percent(self.system, later.system),
            iowait: percent(self.iowait, later.iowait),
            idle: percent(self.idle, later.idle),
        })
    }
}

pub fn run(args: &BenchApiArgs) -> Result<()> {
    if args.subjects < 100
        || args.seconds <= 0.0
        || args.connections == 0
        || args.batch < SUBJECTS_PER_BATCH * 2
    {
        bail!(
            "use at least 100 subjects, a positive --seconds, one connection and a batch of at least 40 events"
        );
    }
    let dir = std::env::temp_dir().join(format!("credence-bench-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let outcome = run_in(&dir, args);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

fn run_in(dir: &std::path::Path, args: &BenchApiArgs) -> Result<()> {
    let clock = SystemClock;
    // The nodes' stores: one embedded file served alone (as `credence
    // serve` serves one), or one store per node over a PostgreSQL schema
    // made for the run, answering shared.
    let schema = match &args.postgres {
        Some(url) => Some(super::bench::RunSchema::create(url, "credence_bench_api")?),
        None => None,
    };
    let (stores, answering): (Vec<Arc<dyn Store>>, Answering) = match &schema {
        None => (
            vec![Arc::new(SqliteStore::open(&dir.join("bench.db"))?)],
            Answering::Alone,
        ),
        Some(schema) => (
            (0..args.nodes.max(1))
                .map(|_| {
                    credence_store_postgres::PostgresStore::open_config(schema.config.clone())
                        .map(|store| Arc::new(store) as Arc<dyn Store>)
                })
                .collect::<Result<_, _>>()?,
            Answering::Shared,
        ),
    };
    errln!(
        "bench-api: building a world of {} subjects on {} ({} node{})",
        args.subjects,
        stores[0].backend(),
        stores.len(),
        if stores.len() == 1 { "" } else { "s" }
    )?;
    let world = SimConfig::new(args.subjects, 11, today(&clock));
    ingest_world(&world, stores[0].as_ref(), |_| {})?;
    let platforms = stores
        .into_iter()
        .map(|store| {
            Platform::open(
                store,
                &Config::default(),
                Arc::new(SystemClock),
                Limits::default(),
                answering,
            )
            .map(Arc::new)
            .map_err(|e| anyhow!("{e}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let (partner_key, furnisher_key, pseudonyms) = set_up(&platforms[0], args.subjects)?;
    let bodies = ingest_bodies(args, &clock)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut servers = Vec::new();
    let mut addresses = Vec::new();
    for platform in platforms {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        addresses.push(listener.local_addr()?);
        let server = runtime.spawn(credence_server::serve(listener, platform, async {
            let _ = stopped.await;
        }));
        servers.push((stop, server));
    }
    let addresses = Arc::new(addresses);

    let seconds = Duration::from_secs_f64(args.seconds);
    errln!(
        "bench-api: {} connections, {:.0} s per phase",
        args.connections,
        args.seconds
    )?;
    let health = runtime.block_on(load(
        addresses.clone(),
        args.connections,
        seconds,
        Arc::new(|_, _| b"GET /healthz HTTP/1.1\r\nhost: bench\r\n\r\n".to_vec()),
    ))?;
    let check_auth = partner_key.clone();
    let checks = runtime.block_on(load(addresses.clone(), args.connections, seconds, Arc::new(move |connection, n| {
        let pseudonym = &pseudonyms[(connection * 7_919 + n as usize) % pseudonyms.len()];
        let body = format!(r#"{{"pseudonym":"{pseudonym}","perk_id":"ride","transaction_id":"c{connection}-{n}"}}"#);
        post("/v1/partner/check", &check_auth, body.as_bytes())
    })))?;
    let bodies = Arc::new(bodies);
    let ingest_bodies = bodies.clone();
    let ingest_connections = 4.min(args.connections);
    let ingest = runtime.block_on(load(
        addresses.clone(),
        ingest_connections,
        seconds,
        Arc::new(move |connection, n| {
            let index = n as usize * ingest_connections + connection;
            match ingest_bodies.get(index) {
                Some(body) => post("/v1/events", &furnisher_key, body),
                None => Vec::new(), // out of fresh batches: the connection stops
            }
        }),
    ))?;
    for (stop, server) in servers {
        let _ = stop.send(());
        runtime.block_on(server).context("server task")??;
    }

    let baseline = health.per_second();
    let phases = [
        health.phase("healthz (HTTP alone)", "requests", 1.0, baseline),
        checks.phase("partner eligibility check", "checks", 1.0, baseline),
        ingest.phase("furnisher ingest", "events", args.batch as f64, baseline),
    ];
    drop(schema);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&phases)?)?;
        return Ok(());
    }
    outln!(
        "{} node{} on {}",
        addresses.len(),
        if addresses.len() == 1 { "" } else { "s" },
        if args.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    )?;
    outln!(
        "{:<28} {:>5} {:>10} {:>14} {:>8} {:>8} {:>9} {:>7}",
        "phase",
        "conns",
        "requests",
        "items/s",
        "p50 ms",
        "p99 ms",
        "vs health",
        "failed"
    )?;
    for p in &phases {
        outln!(
            "{:<28} {:>5} {:>10} {:>14} {:>8.2} {:>8.2} {:>8.2}x {:>7}",
            p.name,
            p.connections,
            p.requests,
            format!("{:.0} {}", p.items_per_second, p.unit),
            p.p50_ms,
            p.p99_ms,
            p.ratio_to_healthz,
            p.failed
        )?;
    }
    if phases.iter().any(|p| p.cpu.is_some()) {
        outln!(
            "\n{:<28} {:>6} {:>7} {:>7} {:>6}",
            "the machine's cores",
            "user",
            "system",
            "iowait",
            "idle"
        )?;
        for p in &phases {
            if let Some(cpu) = p.cpu {
                outln!(
                    "{:<28} {:>5.0}% {:>6.0}% {:>6.0}% {:>5.0}%",
                    p.name,
                    cpu.user,
                    cpu.system,
                    cpu.iowait,
                    cpu.idle
                )?;
            }
        }
    }
    outln!(
        "Each check: key, consent and freeze checked, subject scored from its events, answer audited durably (group commit) before the reply."
    )?;
    Ok(())
}

fn post(path: &str, key: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// Registers a partner with a perk and a furnisher, and has the first
/// subjects consent; returns the keys and the partner's pseudonyms.
fn set_up(platform: &Platform, subjects: u64) -> Result<(String, String, Vec<String>)> {
    let fail = |e: credence_service::platform::ApiError| anyhow!("{e}");
    let operator = Principal::Operator {
        key_id: "bench".into(),
    };
    platform
        .registry()
        .put_partner(
            &operator,
            &PartnerSpec {
                id: "bench-partner".into(),
                name: "Bench".into(),
            },
        )
        .map_err(fail)?;
    platform
        .registry()
        .put_furnisher(
            &operator,
            &FurnisherSpec {
                id: "bench-bank".into(),
                name: "Bench bank".into(),
                kinds: vec![
                    "account_opened".into(),
                    "bill_due".into(),
                    "payment_made".into(),
                ],
            },
        )
        .map_err(fail)?;
    let partner_key = platform
        .registry()
        .create_key(
            &Principal::System { name: "bench" },
            &KeySpec {
                role: Role::Partner,
                principal: Some("bench-partner".into()),
                label: String::new(),
            },
        )
        .map_err(fail)?;
    let furnisher_key = platform
        .registry()
        .create_key(
            &Principal::System { name: "bench" },
            &KeySpec {
                role: Role::Furnisher,
                principal: Some("bench-bank".into()),
                label: String::new(),
            },
        )
        .map_err(fail)?;
    let partner = Principal::Partner {
        id: "bench-partner".into(),
        key_id: partner_key.record.id.clone(),
    };
    platform
        .perks()
        .put_perk(
            &partner,
            Perk {
                id: "ride".into(),
                partner_id: "bench-partner".into(),
                name: "Deposit-free ride".into(),
                description: String::new(),
                min_score: 600,
                subject_kind: None,
                dimension_minimums: BTreeMap::new(),
            },
        )
        .map_err(fail)?;
    let consenting = subjects.min(CONSENTING);
    errln!("bench-api: {consenting} subjects consent to the partner")?;
    let expires = platform
        .now()
        .checked_add(jiff::SignedDuration::from_hours(24 * 30))?
        .to_string();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = (0..8u64)
            .map(|part| {
                let expires = expires.clone();
                scope.spawn(move || -> Result<()> {
                    for index in (part..consenting).step_by(8) {
                        let subject = Principal::Subject {
                            id: SubjectId::new(&subject_id(index))?,
                        };
                        platform
                            .consents()
                            .grant_consent(
                                &subject,
                                &ConsentRequest {
                                    partner_id: "bench-partner".into(),
                                    scope: Scope::Eligibility,
                                    purpose: "benchmark".into(),
                                    expires_at: expires.clone(),
                                    perk_ids: None,
                                },
                            )
                            .map_err(|e| anyhow!("{e}"))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .map_err(|_| anyhow!("a consent thread panicked"))??;
        }
        Ok(())
    })?;
    let pseudonyms: Vec<String> = platform
        .consents()
        .partner_consents(&partner)
        .map_err(fail)?
        .into_iter()
        .map(|c| c.pseudonym)
        .collect();
    Ok((partner_key.key, furnisher_key.key, pseudonyms))
}

/// Fresh batches of furnished events (an account with monthly bills and
/// payments per subject), serialised once before the clock starts.
fn ingest_bodies(args: &BenchApiArgs, clock: &SystemClock) -> Result<Vec<Vec<u8>>> {
    let per_subject = args.batch / SUBJECTS_PER_BATCH;
    let batches = (args.subjects as usize / SUBJECTS_PER_BATCH).min(600);
    let now = clock.now();
    let mut bodies = Vec::with_capacity(batches);
    for batch in 0..batches {
        let mut events = Vec::with_capacity(args.batch);
        for slot in 0..SUBJECTS_PER_BATCH {
            let subject = subject_id((batch * SUBJECTS_PER_BATCH + slot) as u64);
            let mut f = EventFactory::new("bench-bank", &subject);
            let start = now.checked_sub(jiff::SignedDuration::from_hours(
                24 * 30 * per_subject as i64,
            ))?;
            events.push(f.account_opened(
                start,
                "bench-loan",
                credence_domain::AccountType::Loan,
                None,
            ));
            for month in 0..(per_subject as i64 - 1) / 2 {
                let due =
                    start.checked_add(jiff::SignedDuration::from_hours(24 * 30 * (month + 1)))?;
                let bill = format!("m{month}");
                events.push(f.bill(due, "bench-loan", &bill, 15_000));
                events.push(f.payment(due, "bench-loan", Some(&bill), 15_000, 0));
            }
        }
        let wire: Vec<WireEvent<'_>> = events.iter().map(WireEvent::from_event).collect();
        bodies.push(serde_json::to_vec(&wire)?);
    }
    Ok(bodies)
}

struct Load {
    connections: usize,
    latencies_us: Vec<u32>,
    failed: u64,
    seconds: f64,
    cpu: Option<CpuShare>,
}

impl Load {
    fn per_second(&self) -> f64 {
        self.latencies_us.len() as f64 / self.seconds.max(1e-9)
    }

    fn phase(
        &self,
        name: &'static str,
        unit: &'static str,
        items_per_request: f64,
        baseline: f64,
    ) -> Phase {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        let pick = |q: f64| {
            sorted
                .get(((sorted.len() as f64 - 1.0) * q).round() as usize)
                .map_or(0.0, |us| f64::from(*us) / 1e3)
        };
        Phase {
            name,
            connections: self.connections,
            requests: sorted.len() as u64,
            failed: self.failed,
            requests_per_second: self.per_second(),
            items_per_second: self.per_second() * items_per_request,
            unit,
            p50_ms: pick(0.5),
            p99_ms: pick(0.99),
            ratio_to_healthz: self.per_second() / baseline.max(1e-9),
            cpu: self.cpu,
        }
    }
}

type RequestFn = Arc<dyn Fn(usize, u64) -> Vec<u8> + Send + Sync>;

/// Keeps `connections` connections busy for `duration`; each sends the
/// next request as soon as the previous answer is in.
async fn load(
    addresses: Arc<Vec<SocketAddr>>,
    connections: usize,
    duration: Duration,
    request: RequestFn,
) -> Result<Load> {
    let cpu_before = CpuTimes::now();
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for connection in 0..connections {
        let request = request.clone();
        // Connections spread over the nodes, as a load balancer would.
        let address = addresses[connection % addresses.len()];
        tasks.push(tokio::spawn(async move {
            one_connection(address, connection, deadline, request).await
        }));
    }
    let mut load = Load {
        connections,
        latencies_us: Vec::new(),
        failed: 0,
        seconds: 0.0,
        cpu: None,
    };
    for task in tasks {
        let (latencies, failed) = task.await??;
        load.latencies_us.extend(latencies);
        load.failed += failed;
    }
    load.seconds = started.elapsed().as_secs_f64();
    load.cpu = cpu_before
        .zip(CpuTimes::now())
        .and_then(|(before, after)| before.share_until(after));
    Ok(load)
}

async fn one_connection(
    address: SocketAddr,
    connection: usize,
    deadline: Instant,
    request: RequestFn,
) -> Result<(Vec<u32>, u64)> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut buffer = Vec::with_capacity(16 * 1024);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let bytes = request(connection, n);
        if bytes.is_empty() {
            break;
        }
        let sent = Instant::now();
        stream.write_all(&bytes).await?;
        let status = read_response(&mut stream, &mut buffer).await?;
        if (200..300).contains(&status) {
            latencies.push(sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        } else {
            failed += 1;
        }
        n += 1;
    }
    Ok((latencies, failed))
}

/// Reads one response; returns its status.
async fn read_response(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> Result<u16> {
    buffer.clear();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("the server closed the connection");
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = std::str::from_utf8(&buffer[..header_end]).context("response head")?;
    let status: u16 = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .context("status line")?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buffer.len() < header_end + length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("the server closed the connection mid-body");
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    Ok(status)
}
