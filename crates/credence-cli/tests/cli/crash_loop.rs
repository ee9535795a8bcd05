//! The crash loop: the real server under a mixed load (ingest batches,
//! imports, enrolments, consent grants and revocations, freezes, disputes,
//! partner checks, rescores, erasures), killed with SIGKILL at random
//! moments (and now and then while it starts), then checked: every
//! acknowledged event on file exactly once and no batch half there; every
//! acknowledged consent, revocation, freeze, enrolment and erasure in
//! force; every stored score equal to a recompute from the events; the
//! audit log intact, with an entry for every acknowledged change and none
//! for a change that was not made.
//!
//! `CREDENCE_CRASH_KILLS` sets the number of kills (20 by default: the
//! test command's short run) and `CREDENCE_CRASH_SEED` the seed;
//! `scripts/crash-loop --kills 100` runs the long one. The backend is the
//! one under test (`CREDENCE_TEST_BACKEND=postgres` for PostgreSQL).

use super::harness::{Node, Reply, agent, call, day, history, in_a_year, now, ok_call};
use super::{ok, postgres_schema};
use credence_store::Store;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Subjects enrolled before the first kill (more are enrolled under load).
const SUBJECTS: usize = 12;
/// At most this many subjects opt out over a run, so most stay to check.
const MOST_ERASURES: usize = 6;
/// Changes closer than this before a rescore started may have been read
/// by it or not: a score is compared with its recompute only when the
/// subject's file did not change in this window or after.
const RESCORE_READ_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_secs(3);

/// What the test knows of a yes-or-no fact of a subject: it was told, or
/// the answer never came (the server was killed while it was asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Yes,
    No,
    Unsure,
}

impl Known {
    fn of(value: bool) -> Self {
        if value { Self::Yes } else { Self::No }
    }

    /// The fact after a request to make it `value` was answered `status`:
    /// done when acknowledged, unchanged when refused, unsure when no
    /// answer came.
    fn after(self, status: u16, value: bool) -> Self {
        match status {
            200..=299 => Self::of(value),
            0 => Self::Unsure,
            _ => self,
        }
    }

    /// Checks what was found against what is known, and learns it.
    fn settle(&mut self, found: bool, what: &str) {
        assert!(
            *self == Self::Unsure || *self == Self::of(found),
            "{what}: acknowledged as {self:?}, found {found}"
        );
        *self = Self::of(found);
    }
}

/// One subject as the test drove it.
struct Book {
    id: String,
    token: Option<String>,
    pseudonym: Option<String>,
    enrolled: Known,
    erased: Known,
    consent: Known,
    frozen: Known,
    /// No longer driven (an erasure was asked for, or the enrolment was
    /// never acknowledged).
    retired: bool,
    /// Per audited action: (acknowledged, sent).
    actions: BTreeMap<&'static str, (usize, usize)>,
    /// When something a score as of yesterday reads was sent (a history,
    /// a dispute).
    changed: Vec<jiff::Timestamp>,
}

impl Book {
    fn new(id: String) -> Self {
        Self {
            id,
            token: None,
            pseudonym: None,
            enrolled: Known::Unsure,
            erased: Known::No,
            consent: Known::No,
            frozen: Known::No,
            retired: false,
            actions: BTreeMap::new(),
            changed: Vec::new(),
        }
    }

    fn driven(&self) -> bool {
        !self.retired && self.enrolled == Known::Yes && self.token.is_some()
    }

    fn sent(&mut self, action: &'static str, status: u16) {
        let counts = self.actions.entry(action).or_default();
        counts.1 += 1;
        if (200..300).contains(&status) {
            counts.0 += 1;
        }
    }
}

/// A batch of events sent (over the API or as an imported file).
struct Batch {
    subject: usize,
    ids: Vec<String>,
    acknowledged: bool,
}

/// A partner check as it was answered.
struct Check {
    subject: usize,
    transaction: String,
    status: u16,
}

/// Everything the load was told.
#[derive(Default)]
struct World {
    books: Vec<Book>,
    batches: Vec<Batch>,
    checks: Vec<Check>,
    /// Answers of 500 seen: never allowed.
    internal_errors: Vec<String>,
}

/// What a run did, for its report.
#[derive(Default, Debug)]
struct Tally {
    kills: usize,
    kills_at_start: usize,
    import_kills: usize,
    rescore_kills: usize,
    scores_compared: usize,
    scores_compared_with_dispute: usize,
}

/// A small deterministic generator: the seed reproduces a run's choices
/// (not its timing, which the machine decides).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

fn open_store(db: &str) -> Arc<dyn Store> {
    if db.starts_with("postgres") {
        Arc::new(credence_store_postgres::PostgresStore::open(db).expect("opens PostgreSQL"))
    } else {
        Arc::new(credence_store_sqlite::SqliteStore::open(Path::new(db)).expect("opens the file"))
    }
}

/// Every audit entry of every chain.
fn every_entry(store: &dyn Store) -> Vec<credence_store::AuditEntry> {
    let mut all = Vec::new();
    for head in store.audit_heads().expect("heads") {
        let mut after = 0;
        loop {
            let page = store
                .audit_entries(head.chain, after, 10_000)
                .expect("entries");
            let Some(last) = page.last() else { break };
            after = last.seq;
            all.extend(page);
        }
    }
    all
}

/// A child process the killer may kill: an import or a rescore.
type Slot = Arc<Mutex<Option<Child>>>;

/// Runs `credence args…` in `slot` until it ends; true when it succeeded,
/// false when it failed or was killed.
fn run_killable(dir: &Path, slot: &Slot, args: &[&str]) -> bool {
    let child = Command::new(env!("CARGO_BIN_EXE_credence"))
        .args(args)
        .current_dir(dir)
        .env_remove("CREDENCE_DB")
        .env_remove("CREDENCE_CONFIG")
        .env_remove("CREDENCE_AUDIT_KEY_FILE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    *slot.lock().expect("lock") = Some(child);
    loop {
        let mut held = slot.lock().expect("lock");
        let Some(child) = held.as_mut() else {
            return false;
        };
        if let Some(status) = child.try_wait().expect("waits") {
            *held = None;
            return status.success();
        }
        drop(held);
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills what runs in `slot`, if anything; true when something was killed.
fn kill_slot(slot: &Slot) -> bool {
    let mut held = slot.lock().expect("lock");
    let Some(mut child) = held.take() else {
        return false;
    };
    let running = child.try_wait().ok().flatten().is_none();
    let _ = child.kill();
    let _ = child.wait();
    running
}

/// Everything one run shares with its load threads.
struct Run<'a> {
    dir: &'a Path,
    db: &'a str,
    operator: String,
    bank: String,
    bikes: String,
    /// The date every ingested or imported event occurs on (today): after
    /// the rescores' as-of date, so a rescore's numbers do not depend on
    /// what ingest it raced.
    today: String,
    /// What rescores score as of (yesterday).
    rescore_as_of: String,
    world: Mutex<World>,
    /// Subjects enrolled under load so far (each gets a new id).
    enrolments: AtomicUsize,
}

impl Run<'_> {
    fn note(&self, what: &str, reply: &Reply) {
        if reply.status == 500 {
            self.world
                .lock()
                .expect("lock")
                .internal_errors
                .push(format!("{what}: {}", reply.body));
        }
    }

    /// A subject the load may drive, at random.
    fn pick(&self, rng: &mut Rng) -> Option<(usize, String, String, Option<String>)> {
        let world = self.world.lock().expect("lock");
        let driven: Vec<usize> = (0..world.books.len())
            .filter(|&i| world.books[i].driven())
            .collect();
        let &i = driven.get(rng.below(driven.len() as u64) as usize)?;
        let book = &world.books[i];
        Some((
            i,
            book.id.clone(),
            book.token.clone().unwrap_or_default(),
            book.pseudonym.clone(),
        ))
    }

    /// A loan history, with one payment 60 days late (a negative record a
    /// dispute takes out of the score).
    fn history_of(id: &str) -> Vec<Value> {
        let mut events = history(id);
        events.push(json!({"event_id": format!("{id}-late-bill"), "subject_id": id, "kind": "bill_due", "occurred_at": day(400), "account_id": "loan", "bill_id": "late", "amount": 5000, "currency": "EUR"}));
        events.push(json!({"event_id": format!("{id}-late-pay"), "subject_id": id, "kind": "payment_made", "occurred_at": day(340), "account_id": "loan", "bill_id": "late", "amount": 5000, "currency": "EUR", "days_late": 60}));
        events
    }

    /// Enrols a subject with its history, a token and a consent, booking
    /// each step as it was answered.
    fn enrol(&self, http: &ureq::Agent, base: &str, id: &str) {
        let index = {
            let mut world = self.world.lock().expect("lock");
            world.books.push(Book::new(id.to_string()));
            world.books.len() - 1
        };
        let enrolled = call(
            http,
            "POST",
            &format!("{base}/v1/operator/subjects"),
            &self.operator,
            Some(json!({"subject_id": id, "kind": "person"})),
        );
        self.note("enrol", &enrolled);
        {
            let mut world = self.world.lock().expect("lock");
            let book = &mut world.books[index];
            book.enrolled = Known::Unsure.after(enrolled.status, true);
            if book.enrolled != Known::Yes {
                book.retired = true;
                return;
            }
            book.changed.push(now());
        }
        let events = Self::history_of(id);
        let ids = events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap_or_default().to_string())
            .collect();
        self.send_batch(http, base, index, events, ids, "history");
        let token = call(
            http,
            "POST",
            &format!("{base}/v1/operator/subjects/{id}/token"),
            &self.operator,
            Some(json!({"minutes": 600})),
        );
        let Some(token) = token.body["token"].as_str().map(str::to_string) else {
            self.world.lock().expect("lock").books[index].retired = true;
            return;
        };
        self.world.lock().expect("lock").books[index].token = Some(token.clone());
        self.grant(http, base, index, &token);
    }

    fn grant(&self, http: &ureq::Agent, base: &str, index: usize, token: &str) {
        let reply = call(
            http,
            "POST",
            &format!("{base}/v1/me/consents"),
            token,
            Some(
                json!({"partner_id": "bikes", "scope": "eligibility", "purpose": "deposit-free rides",
                "expires_at": in_a_year(), "perk_ids": ["ride"]}),
            ),
        );
        self.note("grant", &reply);
        let mut world = self.world.lock().expect("lock");
        let book = &mut world.books[index];
        book.consent = book.consent.after(reply.status, true);
        book.sent("consent.grant", reply.status);
        if let Some(pseudonym) = reply.body["pseudonym"].as_str() {
            book.pseudonym = Some(pseudonym.to_string());
        }
    }

    /// One change a subject (or the operator) makes, chosen at random.
    fn change(&self, http: &ureq::Agent, base: &str, rng: &mut Rng) {
        let choice = rng.below(100);
        if choice < 5 {
            let n = self.enrolments.fetch_add(1, Ordering::SeqCst);
            self.enrol(http, base, &format!("late-{n}"));
            return;
        }
        let Some((index, _, token, _)) = self.pick(rng) else {
            return;
        };
        let (consent, frozen, erasures) = {
            let world = self.world.lock().expect("lock");
            let book = &world.books[index];
            let erasures = world.books.iter().filter(|b| b.erased != Known::No).count();
            (book.consent, book.frozen, erasures)
        };
        let at = |path: &str| format!("{base}{path}");
        match choice {
            5..=39 if consent == Known::Yes => {
                let reply = call(http, "DELETE", &at("/v1/me/consents/bikes"), &token, None);
                self.note("revoke", &reply);
                let mut world = self.world.lock().expect("lock");
                let book = &mut world.books[index];
                book.consent = book.consent.after(reply.status, false);
                book.sent("consent.revoke", reply.status);
            }
            5..=39 => self.grant(http, base, index, &token),
            40..=59 => {
                let on = frozen != Known::Yes;
                let method = if on { "POST" } else { "DELETE" };
                let reply = call(http, method, &at("/v1/me/freeze"), &token, None);
                self.note("freeze", &reply);
                let mut world = self.world.lock().expect("lock");
                let book = &mut world.books[index];
                book.frozen = book.frozen.after(reply.status, on);
                book.sent(if on { "freeze.on" } else { "freeze.off" }, reply.status);
            }
            60..=74 => {
                let id = self.world.lock().expect("lock").books[index].id.clone();
                self.world.lock().expect("lock").books[index]
                    .changed
                    .push(now());
                let reply = call(
                    http,
                    "POST",
                    &at("/v1/me/disputes"),
                    &token,
                    Some(
                        json!({"furnisher_id": "bank", "event_id": format!("{id}-late-pay"), "reason": "paid on time"}),
                    ),
                );
                self.note("dispute", &reply);
                self.world.lock().expect("lock").books[index].sent("dispute.open", reply.status);
            }
            75..=79 if erasures < MOST_ERASURES => {
                self.world.lock().expect("lock").books[index].retired = true;
                let reply = call(http, "DELETE", &at("/v1/me"), &token, None);
                self.note("erase", &reply);
                let mut world = self.world.lock().expect("lock");
                let book = &mut world.books[index];
                book.erased = Known::No.after(reply.status, true);
            }
            _ => {
                let reply = call(http, "GET", &at("/v1/me"), &token, None);
                self.note("read", &reply);
                self.world.lock().expect("lock").books[index].sent("read.report", reply.status);
            }
        }
    }

    /// Sends a furnisher's batch and books it as it was answered.
    fn send_batch(
        &self,
        http: &ureq::Agent,
        base: &str,
        subject: usize,
        events: Vec<Value>,
        ids: Vec<String>,
        what: &str,
    ) {
        let reply = call(
            http,
            "POST",
            &format!("{base}/v1/events"),
            &self.bank,
            Some(Value::Array(events)),
        );
        self.note(what, &reply);
        self.world.lock().expect("lock").batches.push(Batch {
            subject,
            ids,
            acknowledged: reply.status == 200,
        });
    }

    /// Two events (a bill and its payment) for one subject, today.
    fn batch(&self, id: &str, tag: &str) -> (Vec<Value>, Vec<String>) {
        let events = vec![
            json!({"event_id": format!("{id}-{tag}-bill"), "subject_id": id, "kind": "bill_due", "occurred_at": self.today, "account_id": "loan", "bill_id": tag, "amount": 100, "currency": "EUR"}),
            json!({"event_id": format!("{id}-{tag}-pay"), "subject_id": id, "kind": "payment_made", "occurred_at": self.today, "account_id": "loan", "bill_id": tag, "amount": 100, "currency": "EUR", "days_late": 0}),
        ];
        let ids = events
            .iter()
            .map(|e| e["event_id"].as_str().unwrap_or_default().to_string())
            .collect();
        (events, ids)
    }

    /// The load of one round, until `stop`.
    fn load(
        &self,
        base: &str,
        round: usize,
        seed: u64,
        stop: &AtomicBool,
        imports: &Slot,
        rescores: &Slot,
    ) {
        std::thread::scope(|scope| {
            // Ingest batches.
            scope.spawn(|| {
                let (http, mut rng) = (agent(), Rng(seed ^ 0x1));
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let Some((index, id, _, _)) = self.pick(&mut rng) else {
                        break;
                    };
                    let (events, ids) = self.batch(&id, &format!("r{round}b{n}"));
                    self.send_batch(&http, base, index, events, ids, "ingest");
                    n += 1;
                }
            });
            // Partner checks.
            scope.spawn(|| {
                let (http, mut rng) = (agent(), Rng(seed ^ 0x2));
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let Some((index, _, _, Some(pseudonym))) = self.pick(&mut rng) else {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    };
                    let transaction = format!("load{round}x{n}z");
                    let reply = call(&http, "POST", &format!("{base}/v1/partner/check"), &self.bikes,
                        Some(json!({"pseudonym": pseudonym, "perk_id": "ride", "transaction_id": transaction})));
                    self.note("check", &reply);
                    self.world.lock().expect("lock").checks.push(Check { subject: index, transaction, status: reply.status });
                    n += 1;
                }
            });
            // Changes by subjects and the operator.
            scope.spawn(|| {
                let (http, mut rng) = (agent(), Rng(seed ^ 0x3));
                while !stop.load(Ordering::SeqCst) {
                    self.change(&http, base, &mut rng);
                }
            });
            // Imports: a furnisher's file of two subjects' events.
            scope.spawn(|| {
                let mut rng = Rng(seed ^ 0x4);
                let mut n = 0;
                while !stop.load(Ordering::SeqCst) {
                    let (Some(a), Some(b)) = (self.pick(&mut rng), self.pick(&mut rng)) else {
                        break;
                    };
                    let mut lines = String::new();
                    let mut booked = Vec::new();
                    for (index, id, _, _) in [a, b] {
                        if booked.iter().any(|(i, _)| *i == index) {
                            continue;
                        }
                        let (events, ids) = self.batch(&id, &format!("r{round}i{n}"));
                        for event in events {
                            lines.push_str(&event.to_string());
                            lines.push('\n');
                        }
                        booked.push((index, ids));
                    }
                    let file = self.dir.join(format!("import-{round}-{n}.jsonl"));
                    std::fs::write(&file, lines).expect("writes the file");
                    let file = file.to_string_lossy().into_owned();
                    let imported = run_killable(
                        self.dir,
                        imports,
                        &["import", "--furnisher", "bank", "--db", self.db, &file],
                    );
                    let mut world = self.world.lock().expect("lock");
                    for (subject, ids) in booked {
                        world.batches.push(Batch {
                            subject,
                            ids,
                            acknowledged: imported,
                        });
                    }
                    n += 1;
                }
            });
            // Rescores as of yesterday.
            scope.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    run_killable(
                        self.dir,
                        rescores,
                        &[
                            "rescore",
                            "--as-of",
                            &self.rescore_as_of,
                            "--db",
                            self.db,
                            "--quiet",
                        ],
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        });
    }

    /// With the server down: the store holds exactly what was
    /// acknowledged, scores are their recomputes, the log is intact and
    /// has an entry for every enrolment and erasure made, and none more.
    fn check_while_down(&self, scorer: &credence_service::Scorer, tally: &mut Tally) {
        let verdict = ok(self.dir, &["audit", "verify", "--db", self.db]);
        assert!(verdict.contains("intact"), "{verdict}");
        let store = open_store(self.db);
        let mut world = self.world.lock().expect("lock");
        let World { books, batches, .. } = &mut *world;
        let mut present = vec![false; books.len()];
        for (i, book) in books.iter_mut().enumerate() {
            let id = credence_domain::SubjectId::new(&book.id).expect("an id");
            let subject = store.subject(&id).expect("reads a subject");
            present[i] = subject.is_some();
            if book.enrolled == Known::Unsure && book.erased == Known::No {
                book.enrolled
                    .settle(present[i], &format!("enrolment of {}", book.id));
            }
            if book.enrolled == Known::Yes {
                book.erased
                    .settle(!present[i], &format!("erasure of {}", book.id));
            }
            if book.erased == Known::Yes || book.enrolled == Known::No {
                assert!(
                    store.subject_events(&id).expect("events").is_empty(),
                    "{}: events after erasure",
                    book.id
                );
                assert!(
                    store.score_history(&id).expect("scores").is_empty(),
                    "{}: scores after erasure",
                    book.id
                );
                continue;
            }
            // Scores: each is its recompute, unless the file changed while
            // the rescore that wrote it was reading.
            if let Some(stored) = store.latest_score(&id).expect("a score") {
                let quiet_since = stored
                    .computed_at
                    .checked_sub(RESCORE_READ_MARGIN)
                    .expect("a time");
                if book.changed.iter().all(|&t| t < quiet_since) {
                    let recomputed = scorer
                        .report(&*store, &id, stored.as_of)
                        .expect("recomputes");
                    assert_eq!(
                        (stored.score, stored.model_version.as_str()),
                        (recomputed.score, recomputed.model_version.as_str()),
                        "{}: stored score as of {} against its recompute",
                        book.id,
                        stored.as_of
                    );
                    tally.scores_compared += 1;
                    let disputed = book.actions.get("dispute.open").is_some_and(|c| c.0 > 0);
                    if disputed {
                        tally.scores_compared_with_dispute += 1;
                    }
                }
            }
        }
        // Events: every acknowledged one exactly once; a batch that was not
        // acknowledged whole or not at all.
        let mut on_file: HashMap<usize, HashMap<String, usize>> = HashMap::new();
        for (i, book) in books.iter().enumerate() {
            if present[i] {
                let id = credence_domain::SubjectId::new(&book.id).expect("an id");
                let counts = on_file.entry(i).or_default();
                for event in store.subject_events(&id).expect("events") {
                    *counts.entry(event.key.event_id.to_string()).or_default() += 1;
                }
            }
        }
        for batch in batches.iter() {
            let Some(counts) = on_file.get(&batch.subject) else {
                continue;
            };
            let found: Vec<usize> = batch
                .ids
                .iter()
                .map(|id| counts.get(id).copied().unwrap_or(0))
                .collect();
            if batch.acknowledged {
                assert!(
                    found.iter().all(|&n| n == 1),
                    "acknowledged batch {:?} on file {found:?} times",
                    batch.ids
                );
            } else {
                assert!(
                    found.iter().all(|&n| n == found[0]) && found[0] <= 1,
                    "batch {:?} half on file: {found:?}",
                    batch.ids
                );
            }
        }
        // Enrolments and erasures: one entry each, none for one not made.
        let entries = every_entry(&*store);
        let count = |action: &str| entries.iter().filter(|e| e.action == action).count();
        let enrolled = books.iter().filter(|b| b.enrolled == Known::Yes).count();
        let erased = books.iter().filter(|b| b.erased == Known::Yes).count();
        assert_eq!(count("subject.enrol"), enrolled, "enrolment entries");
        assert_eq!(count("subject.erase"), erased, "erasure entries");
    }

    /// With the server back: consents and freezes are as acknowledged and
    /// answer partners so, erased subjects are gone, and each subject's
    /// access log has an entry for every acknowledged change and check.
    fn check_after_restart(&self, http: &ureq::Agent, base: &str, round: usize) {
        let at = |path: &str| format!("{base}{path}");
        let count = self.world.lock().expect("lock").books.len();
        for index in 0..count {
            let (book_id, token, pseudonym, enrolled, erased) = {
                let world = self.world.lock().expect("lock");
                let b = &world.books[index];
                (
                    b.id.clone(),
                    b.token.clone(),
                    b.pseudonym.clone(),
                    b.enrolled,
                    b.erased,
                )
            };
            let Some(token) = token else { continue };
            if erased == Known::Yes || enrolled != Known::Yes {
                let reply = call(http, "GET", &at("/v1/me"), &token, None);
                assert!(
                    matches!(reply.status, 401 | 404),
                    "{book_id} after erasure: {} {}",
                    reply.status,
                    reply.body
                );
                if let Some(pseudonym) = pseudonym {
                    let reply = call(
                        http,
                        "POST",
                        &at("/v1/partner/check"),
                        &self.bikes,
                        Some(
                            json!({"pseudonym": pseudonym, "perk_id": "ride", "transaction_id": format!("gone{round}x{index}z")}),
                        ),
                    );
                    assert_ne!(reply.status, 200, "{book_id} answered for after erasure");
                }
                continue;
            }
            let consents = ok_call(http, "GET", &at("/v1/me/consents"), &token, None);
            let consented = consents
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["partner_id"] == "bikes" && c["revoked_at"].is_null());
            let view = ok_call(http, "GET", &at("/v1/me"), &token, None);
            let frozen = view["frozen"].as_bool().expect("frozen");
            let (allowed, pseudonym) = {
                let mut world = self.world.lock().expect("lock");
                let book = &mut world.books[index];
                book.consent
                    .settle(consented, &format!("consent of {book_id}"));
                book.frozen.settle(frozen, &format!("freeze of {book_id}"));
                book.sent("read.report", 200);
                (consented && !frozen, book.pseudonym.clone())
            };
            if let Some(pseudonym) = pseudonym {
                let transaction = format!("verify{round}x{index}z");
                let reply = call(
                    http,
                    "POST",
                    &at("/v1/partner/check"),
                    &self.bikes,
                    Some(
                        json!({"pseudonym": pseudonym, "perk_id": "ride", "transaction_id": transaction}),
                    ),
                );
                assert_eq!(
                    reply.status == 200,
                    allowed,
                    "{book_id}: consent {consented}, frozen {frozen}, check {} {}",
                    reply.status,
                    reply.body
                );
                self.world.lock().expect("lock").checks.push(Check {
                    subject: index,
                    transaction,
                    status: reply.status,
                });
            }
            let log = ok_call(
                http,
                "GET",
                &at("/v1/me/access-log?limit=1000"),
                &token,
                None,
            );
            let log = log.as_array().cloned().unwrap_or_default();
            let world = self.world.lock().expect("lock");
            let book = &world.books[index];
            for (action, (acknowledged, sent)) in &book.actions {
                let entries = log.iter().filter(|e| e["what"] == *action).count();
                assert!(
                    *acknowledged <= entries && entries <= *sent,
                    "{book_id}: {entries} {action} entries for {acknowledged} acknowledged of {sent} sent"
                );
            }
            for check in world
                .checks
                .iter()
                .filter(|c| c.subject == index && (c.status == 200 || c.status == 403))
            {
                let entered = log.iter().any(|e| {
                    e["what"]
                        .as_str()
                        .is_some_and(|w| w.starts_with("partner."))
                        && e["why"]
                            .as_str()
                            .is_some_and(|why| why.contains(&check.transaction))
                });
                assert!(
                    entered,
                    "{book_id}: check {} answered {} has no entry",
                    check.transaction, check.status
                );
            }
        }
    }
}

#[test]
fn the_server_killed_at_random_under_load_keeps_every_promise() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = if std::env::var("CREDENCE_TEST_BACKEND").as_deref() == Ok("postgres") {
        let Some(url) = postgres_schema("crash") else {
            return;
        };
        url
    } else {
        dir.path()
            .join("credence.db")
            .to_string_lossy()
            .into_owned()
    };
    let kills = setting("CREDENCE_CRASH_KILLS", 20) as usize;
    let seed = setting("CREDENCE_CRASH_SEED", 0x5eed_c0de);
    eprintln!("crash loop: {kills} kills, seed {seed} (CREDENCE_CRASH_SEED)");
    let operator = ok(
        dir.path(),
        &[
            "keys", "create", "--role", "operator", "--label", "test", "--db", &db,
        ],
    )
    .trim()
    .to_string();
    let http = agent();
    let node = Node::start(dir.path(), &db);
    let base = node.base.clone();
    let at = |path: &str| format!("{base}{path}");
    ok_call(
        &http,
        "POST",
        &at("/v1/operator/furnishers"),
        &operator,
        Some(
            json!({"id": "bank", "name": "Bank", "kinds": ["account_opened", "bill_due", "payment_made"]}),
        ),
    );
    ok_call(
        &http,
        "POST",
        &at("/v1/operator/partners"),
        &operator,
        Some(json!({"id": "bikes", "name": "Bikes"})),
    );
    let key = |role: &str, principal: &str| {
        ok_call(
            &http,
            "POST",
            &at("/v1/operator/keys"),
            &operator,
            Some(json!({"role": role, "principal": principal})),
        )["key"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let (bank, bikes) = (key("furnisher", "bank"), key("partner", "bikes"));
    ok_call(
        &http,
        "POST",
        &at("/v1/partner/perks"),
        &bikes,
        Some(
            json!({"id": "ride", "partner_id": "bikes", "name": "Deposit-free ride", "min_score": 350}),
        ),
    );
    let run = Run {
        dir: dir.path(),
        db: &db,
        operator,
        bank,
        bikes,
        today: day(0),
        rescore_as_of: day(1),
        world: Mutex::new(World::default()),
        enrolments: AtomicUsize::new(0),
    };
    for i in 0..SUBJECTS {
        run.enrol(&http, &base, &format!("subject-{i}"));
    }
    assert!(
        run.world
            .lock()
            .expect("lock")
            .books
            .iter()
            .all(Book::driven),
        "every subject enrolled before the first kill"
    );

    let scorer = credence_service::Scorer::from_config(&credence_service::Config::default())
        .expect("the default models");
    let (imports, rescores): (Slot, Slot) = Default::default();
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut node = Some(node);
    for round in 0..kills {
        let mut serving = match node.take() {
            Some(node) => node,
            None => {
                // Now and then, killed while it starts.
                if round % 4 == 3 {
                    let mut child = Node::spawn(dir.path(), &db);
                    std::thread::sleep(Duration::from_millis(rng.below(400)));
                    let _ = child.kill();
                    let _ = child.wait();
                    tally.kills_at_start += 1;
                    run.check_while_down(&scorer, &mut tally);
                }
                let node = Node::start(dir.path(), &db);
                run.check_after_restart(&http, &node.base, round);
                node
            }
        };
        let stop = AtomicBool::new(false);
        let lasts = Duration::from_millis(200 + rng.below(800));
        let serving_base = serving.base.clone();
        std::thread::scope(|scope| {
            scope.spawn(|| {
                run.load(
                    &serving_base,
                    round,
                    rng.0 ^ round as u64,
                    &stop,
                    &imports,
                    &rescores,
                );
            });
            std::thread::sleep(lasts);
            let _ = serving.child.kill(); // SIGKILL
            let _ = serving.child.wait();
            tally.import_kills += usize::from(kill_slot(&imports));
            tally.rescore_kills += usize::from(kill_slot(&rescores));
            stop.store(true, Ordering::SeqCst);
        });
        drop(serving);
        tally.kills += 1;
        rng.next();
        run.check_while_down(&scorer, &mut tally);
    }
    let node = Node::start(dir.path(), &db);
    run.check_after_restart(&http, &node.base, kills);
    drop(node);

    let world = run.world.into_inner().expect("lock");
    assert!(
        world.internal_errors.is_empty(),
        "answered 500: {:?}",
        world.internal_errors
    );
    let acknowledged = world.batches.iter().filter(|b| b.acknowledged).count();
    let actions = |name: &str| {
        world
            .books
            .iter()
            .map(|b| b.actions.get(name).map_or(0, |c| c.0))
            .sum::<usize>()
    };
    eprintln!(
        "crash loop: {} kills ({} while starting, {} during an import, {} during a rescore) in {:.0?}; \
         {acknowledged} batches acknowledged, {} not; {} subjects ({} erased); {} grants, {} revocations, \
         {} freezes, {} disputes, {} checks acknowledged; {} scores compared with their recompute ({} of subjects with a dispute)",
        tally.kills,
        tally.kills_at_start,
        tally.import_kills,
        tally.rescore_kills,
        started.elapsed(),
        world.batches.len() - acknowledged,
        world.books.len(),
        world
            .books
            .iter()
            .filter(|b| b.erased == Known::Yes)
            .count(),
        actions("consent.grant"),
        actions("consent.revoke"),
        actions("freeze.on"),
        actions("dispute.open"),
        world.checks.iter().filter(|c| c.status == 200).count(),
        tally.scores_compared,
        tally.scores_compared_with_dispute,
    );
    assert!(acknowledged > kills, "{acknowledged} batches acknowledged");
    assert!(tally.scores_compared > 0, "no stored score was compared");
}
