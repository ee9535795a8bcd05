use super::*;
use credence_domain::build::EventFactory;
use credence_domain::{AccountType, SubjectKind};

fn day(n: i64) -> Timestamp {
    Timestamp::from_second(1_704_067_200 + n * 86_400).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Runs the backend-independent suite on fresh stores, each keeping up
/// to `cache_bytes` of subject logs.
fn conformance(cache_bytes: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let counter = std::sync::atomic::AtomicUsize::new(0);
    credence_store::conformance::run_all(&|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let store = SqliteStore::open(&dir.path().join(format!("c{n}.db")))
            .expect("opens")
            .with_subject_cache(cache_bytes);
        Box::new(store)
    });
}

#[test]
fn passes_the_conformance_suite() {
    conformance(log_cache::DEFAULT_BUDGET);
}

#[test]
fn passes_the_conformance_suite_without_the_subject_cache() {
    conformance(0);
}

#[test]
fn data_survives_reopening_and_schema_is_versioned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.db");
    let mut f = EventFactory::new("bank", "s1");
    let events = vec![
        f.enrolled(day(0), SubjectKind::Person, false),
        f.account_opened(day(1), "a", AccountType::Card, Some(100_000)),
    ];
    {
        let store = SqliteStore::open(&path).expect("opens");
        store.append_events(&events).expect("appends");
    }
    let store = SqliteStore::open(&path).expect("reopens");
    assert_eq!(store.schema_version().expect("version"), schema::LATEST);
    assert_eq!(
        store
            .subject_events(&events[0].subject_id)
            .expect("reads")
            .len(),
        2
    );
}

#[test]
fn a_newer_schema_is_refused_with_advice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("future.db");
    Connection::open(&path)
        .and_then(|c| c.execute_batch("PRAGMA user_version = 999"))
        .expect("prepares a future database");
    let err = SqliteStore::open(&path).expect_err("refused");
    assert!(err.to_string().contains("upgrade Credence"), "{err}");
}

#[test]
fn a_missing_directory_is_a_clear_error() {
    let err =
        SqliteStore::open(Path::new("/nonexistent/dir/credence.db")).expect_err("cannot open");
    assert!(
        err.to_string().contains("/nonexistent/dir/credence.db"),
        "{err}"
    );
}

/// An acknowledged batch survives the process dying right after the
/// acknowledgement: the child appends, reports success, and aborts without
/// any orderly shutdown; the parent reopens the file and finds the batch.
#[test]
fn acknowledged_batches_survive_a_crash() {
    const CHILD: &str = "CREDENCE_CRASH_CHILD_DB";
    if let Ok(path) = std::env::var(CHILD) {
        let store = SqliteStore::open(Path::new(&path)).expect("child opens");
        let mut f = EventFactory::new("bank", "crash");
        let mut events = vec![f.enrolled(day(0), SubjectKind::Person, false)];
        events.extend((0..500).map(|i| f.bill(day(i + 1), "a", &format!("b{i}"), 100)));
        store.append_events(&events).expect("child appends");
        println!("ACKNOWLEDGED");
        std::process::abort();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("crash.db");
    let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "tests::acknowledged_batches_survive_a_crash",
            "--nocapture",
        ])
        .env(CHILD, &path)
        .output()
        .expect("child runs");
    assert!(
        !output.status.success(),
        "the child must die, not exit cleanly"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("ACKNOWLEDGED"));
    let store = SqliteStore::open(&path).expect("reopens after the crash");
    let subject = SubjectId::new("crash").expect("valid");
    assert_eq!(store.subject_events(&subject).expect("reads").len(), 501);
}

#[test]
fn the_baseline_inserts_every_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut f = EventFactory::new("bank", "s1");
    let events: Vec<Event> = (0..100)
        .map(|i| f.bill(day(i), "a", &format!("b{i}"), 100))
        .collect();
    let path = dir.path().join("bare.db");
    bare_insert_baseline(&path, &events, 30).expect("inserts");
    let rows: i64 = Connection::open(&path)
        .and_then(|c| c.query_row("SELECT count(*) FROM bare_events", [], |r| r.get(0)))
        .expect("counts");
    assert_eq!(rows, 100);
}

#[test]
fn the_checkpointer_copies_the_log_into_the_file_without_a_commit_doing_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.db");
    let store = SqliteStore::open(&path).expect("opens");
    let file_size = || std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    // Far fewer pages than the writer's own threshold (16,384), so only
    // the checkpointer can move them out of the log.
    let mut hash = "0".repeat(64);
    for seq in 1..=400_u64 {
        let next = format!("{seq:064}");
        let entry = credence_store::AuditEntry {
            chain: 0,
            seq,
            at: day(0),
            actor: "system".into(),
            action: "test".into(),
            subject_ref: Some(format!("{:064x}", seq * 7_919)),
            detail: "x".repeat(300),
            prev_hash: std::mem::replace(&mut hash, next.clone()),
            hash: next,
            answer: None,
        };
        store.append_audit(&[entry], &[]).expect("appends");
    }
    let before = file_size();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while file_size() <= before && std::time::Instant::now() < deadline {
        std::thread::sleep(CHECKPOINT_EVERY / 2);
    }
    assert!(
        file_size() > before,
        "the database file should grow as the log is copied in ({before} bytes before)"
    );
    assert_eq!(store.audit_entries(0, 0, 1_000).expect("reads").len(), 400);
}

/// Another process writing the same file (here, a second handle: its own
/// connections and its own log cache) is a change this handle was not told
/// about; its cached logs must not hide it.
#[test]
fn cached_logs_see_another_process_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("shared.db");
    let here = SqliteStore::open(&path).expect("opens");
    let elsewhere = SqliteStore::open(&path).expect("opens again");
    let mut f = EventFactory::new("bank", "s1");
    here.append_events(&[
        f.enrolled(day(0), SubjectKind::Person, false),
        f.account_opened(day(1), "a", AccountType::Card, Some(100_000)),
    ])
    .expect("appends");
    let id = SubjectId::new("s1").expect("id");
    let facts = |store: &SqliteStore| {
        store
            .subject_log(&id)
            .expect("reads")
            .map(|log| log.facts().len())
    };
    assert_eq!(facts(&here), Some(2));
    assert_eq!(facts(&here), Some(2), "now from the cache");
    elsewhere
        .append_events(&[f.account_opened(day(2), "b", AccountType::Loan, None)])
        .expect("appends elsewhere");
    assert_eq!(facts(&here), Some(3));
    elsewhere
        .erase_subject(&id, &SubjectId::new("erased-s1").expect("id"))
        .expect("erases elsewhere");
    assert_eq!(facts(&here), None);
}

/// Readers racing a writer never see a log older than an acknowledged
/// write, whichever of them fills the cache.
#[test]
fn cached_logs_never_go_back_past_an_acknowledged_write() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("race.db")).expect("opens");
    let subjects = ["r0", "r1", "r2"];
    let mut factories: Vec<EventFactory> = subjects
        .iter()
        .map(|s| EventFactory::new("bank", s))
        .collect();
    let enrolments: Vec<Event> = factories
        .iter_mut()
        .map(|f| f.enrolled(day(0), SubjectKind::Person, false))
        .collect();
    store.append_events(&enrolments).expect("enrols");
    let acknowledged: Vec<std::sync::atomic::AtomicUsize> = subjects
        .iter()
        .map(|_| std::sync::atomic::AtomicUsize::new(1))
        .collect();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while !done.load(std::sync::atomic::Ordering::SeqCst) {
                    for (n, subject) in subjects.iter().enumerate() {
                        let floor = acknowledged[n].load(std::sync::atomic::Ordering::SeqCst);
                        let id = SubjectId::new(subject).expect("id");
                        let seen = store
                            .subject_log(&id)
                            .expect("reads")
                            .map_or(0, |log| log.facts().len());
                        assert!(
                            seen >= floor,
                            "{subject}: {seen} facts after {floor} acknowledged"
                        );
                    }
                }
            });
        }
        // Stops the readers however the writer ends, panics included.
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let _stop = Stop(&done);
        for round in 0..150_i64 {
            let n = (round % 3) as usize;
            let account = format!("acct{round}");
            let event =
                factories[n].account_opened(day(1 + round), &account, AccountType::Card, None);
            store
                .append_events(&[event])
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            acknowledged[n].fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    for (n, subject) in subjects.iter().enumerate() {
        let id = SubjectId::new(subject).expect("id");
        let facts = store
            .subject_log(&id)
            .expect("reads")
            .map(|l| l.facts().len());
        assert_eq!(
            facts,
            Some(acknowledged[n].load(std::sync::atomic::Ordering::SeqCst))
        );
    }
}

#[test]
fn a_reader_behind_the_pruned_feed_is_told_to_start_over() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("c.db");
    let store = SqliteStore::open(&path).expect("opens");
    for n in 0..5 {
        store
            .put_records(&[Record {
                kind: "perk",
                id: format!("p{n}"),
                subject: None,
                owner: Some("bikes".into()),
                body: "{}".into(),
            }])
            .expect("writes");
    }
    let whole = store.record_changes(0, 100).expect("reads");
    assert!(whole.complete);
    assert_eq!(whole.changes.len(), 5);
    // What the writer's pruning does once the feed is long.
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute("DELETE FROM record_changes WHERE seq <= 2", []))
        .expect("prunes");
    let behind = store.record_changes(1, 100).expect("reads");
    assert!(!behind.complete, "changes 2 was pruned before it was read");
    let current = store.record_changes(2, 100).expect("reads");
    assert!(current.complete, "nothing after 2 is missing");
    assert_eq!(current.changes.len(), 3);
}

/// A database from before partitions and chains (version 7) opens with
/// every subject in its hash's range and every audit entry on chain 0,
/// unchanged, its answers found by key.
#[test]
fn a_version_7_database_gains_hashes_and_chains() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    {
        let mut old = Connection::open(&path).expect("creates");
        schema::migrate_to(&mut old, 7).expect("migrates to 7");
        old.execute_batch(
            "INSERT INTO subjects (subject_key, subject_id, kind, enrolled_at, restricted_consent,
                 state, event_count, events) VALUES (1, 'alice', 0, 0, 0, 0, 0, x''),
                 (2, 'bob', 0, 0, 0, 0, 0, x'');
             INSERT INTO audit (seq, at, actor, action, subject_ref, detail, prev_hash, hash,
                 answer_key, answer) VALUES
                 (1, 10, 'system', 'a', NULL, 'one', 'g', 'h1', NULL, NULL),
                 (2, 20, 'partner:p', 'b', 'ref', 'two', 'h1', 'h2', 'k', 'yes');",
        )
        .expect("fills the old schema");
    }
    let store = SqliteStore::open(&path).expect("migrates");
    assert_eq!(store.schema_version().expect("version"), schema::LATEST);
    let hash = credence_store::subject_hash("alice");
    let mut page = Vec::new();
    store
        .scan_subjects(
            credence_store::HashRange {
                first: hash,
                last: hash,
            },
            None,
            10,
            &mut page,
        )
        .expect("scans");
    let found: Vec<&str> = page.iter().map(|r| r.subject.id.as_str()).collect();
    assert_eq!(found, ["alice"]);
    let entries = store.audit_entries(0, 0, 10).expect("reads");
    assert_eq!(
        entries
            .iter()
            .map(|e| (e.chain, e.seq, e.hash.as_str()))
            .collect::<Vec<_>>(),
        [(0, 1, "h1"), (0, 2, "h2")]
    );
    assert_eq!(
        store
            .audit_answer("ref", "k")
            .expect("looks up")
            .map(|e| e.seq),
        Some(2)
    );
    assert_eq!(store.audit_heads().expect("heads").len(), 1);
}

/// The audit writer's statements keep their plans: SQLite re-planned the
/// look at a chain's head whenever a new chain number was bound (every
/// fifth run), which cost the writer a fifth of its time.
#[test]
fn appends_on_many_chains_never_re_prepare_a_statement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(&dir.path().join("p.db")).expect("opens");
    let mut seqs = [0u64; 17];
    for group in 0..200u64 {
        let entries: Vec<credence_store::AuditEntry> = (0..10u64)
            .map(|i| {
                let chain = ((group * 10 + i) % 17) as u32;
                seqs[chain as usize] += 1;
                credence_store::AuditEntry {
                    chain,
                    seq: seqs[chain as usize],
                    at: day(0),
                    actor: "system".into(),
                    action: "test".into(),
                    subject_ref: Some(format!("{:064x}", group * 10 + i)),
                    detail: String::new(),
                    prev_hash: String::new(),
                    hash: String::new(),
                    answer: Some(credence_store::AuditAnswer {
                        key: format!("k{group}-{i}"),
                        body: "yes".into(),
                    }),
                }
            })
            .collect();
        store.append_audit(&entries, &[]).expect("appends");
    }
    let writer = store.writer().expect("the writer");
    for sql in [
        "SELECT coalesce(max(seq), 0) FROM audit WHERE chain = ?1",
        crate::records::INSERT_AUDIT.as_str(),
    ] {
        let statement = writer.prepare_cached(sql).expect("cached");
        assert!(
            statement.get_status(rusqlite::StatementStatus::Run) >= 2_000,
            "{sql} is the statement the writer ran"
        );
        assert_eq!(
            statement.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "{sql} was re-prepared"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_new_database_and_its_log_are_private_to_their_owner() {
    use credence_store::prelude::*;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("private.db");
    let store = SqliteStore::open(&path).expect("opens");
    store
        .put_records(&[credence_store::Record {
            kind: "secret",
            id: "s".into(),
            subject: None,
            owner: None,
            body: "\"00\"".into(),
        }])
        .expect("writes");
    for file in ["private.db", "private.db-wal", "private.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}: {mode:o}");
    }
}
