//! The conformance suite on PostgreSQL: each check on an empty schema of
//! the database `CREDENCE_TEST_POSTGRES` names (`scripts/test` starts a
//! private cluster and sets it). Without it the suite says it did not run;
//! with `CREDENCE_REQUIRE_POSTGRES=1` (as `scripts/test` sets) that fails.

use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// The test database, or `None` (with a note) when none is configured.
pub(crate) fn test_database() -> Option<postgres::Config> {
    match std::env::var("CREDENCE_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(
            url.parse()
                .unwrap_or_else(|e| panic!("CREDENCE_TEST_POSTGRES {url:?}: {e}")),
        ),
        _ => {
            assert!(
                std::env::var("CREDENCE_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "CREDENCE_REQUIRE_POSTGRES=1 but CREDENCE_TEST_POSTGRES names no database"
            );
            eprintln!(
                "PostgreSQL tests skipped: CREDENCE_TEST_POSTGRES is not set (scripts/test sets it)"
            );
            None
        }
    }
}

/// A store on a new, empty schema of the test database.
pub(crate) fn empty_store(database: &postgres::Config) -> PostgresStore {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut client = database
        .connect(postgres::NoTls)
        .unwrap_or_else(|e| panic!("connecting to the test database: {e}"));
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap_or_else(|e| panic!("creating schema {schema}: {e}"));
    let mut config = database.clone();
    config.options(&format!("-c search_path={schema}"));
    PostgresStore::open_config(config).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn passes_the_conformance_suite() {
    let Some(database) = test_database() else {
        return;
    };
    credence_store::conformance::run_all(&|| Box::new(empty_store(&database)));
}

#[test]
fn reopening_keeps_the_schema_version_and_the_data() {
    let Some(database) = test_database() else {
        return;
    };
    let store = empty_store(&database);
    assert_eq!(store.schema_version().expect("version"), schema::LATEST);
    let mut client = store.client().expect("client");
    let path: String = client
        .query_one("SHOW search_path", &[])
        .expect("search path")
        .get(0);
    drop(client);
    let mut config = database.clone();
    config.options(&format!("-c search_path={path}"));
    let again = PostgresStore::open_config(config).expect("reopens");
    assert_eq!(again.schema_version().expect("version"), schema::LATEST);
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // A port nothing listens on (the discard port, closed on test hosts).
    let error = PostgresStore::open("postgres://nobody@127.0.0.1:9/none?connect_timeout=2")
        .expect_err("nothing listens there");
    let message = error.to_string();
    assert!(message.contains("127.0.0.1:9/none"), "{message}");
}

#[test]
fn a_malformed_address_says_how_to_write_one() {
    let error = PostgresStore::open("postgres://[broken").expect_err("malformed");
    assert!(
        error
            .to_string()
            .contains("postgres://user:password@host:port/database"),
        "{error}"
    );
}

/// A second handle on the schema `store` uses, as another node would have.
fn another_node(database: &postgres::Config, store: &PostgresStore) -> PostgresStore {
    let mut client = store.client().expect("client");
    let path: String = client
        .query_one("SHOW search_path", &[])
        .expect("search path")
        .get(0);
    let mut config = database.clone();
    config.options(&format!("-c search_path={path}"));
    PostgresStore::open_config(config).expect("opens")
}

#[test]
fn two_nodes_appending_to_one_subject_at_once_lose_no_event() {
    use credence_domain::build::EventFactory;
    use credence_store::prelude::*;
    let Some(database) = test_database() else {
        return;
    };
    let one = empty_store(&database);
    let two = another_node(&database, &one);
    let at = |day: i64| Timestamp::from_second(1_700_000_000 + day * 86_400).expect("in range");
    let mut enrol = EventFactory::new("bank-0", "shared");
    one.append_events(&[enrol.enrolled(at(0), SubjectKind::Person, false)])
        .expect("enrols");
    let batches = 40;
    std::thread::scope(|scope| {
        for (node, store) in [(1, &one), (2, &two)] {
            scope.spawn(move || {
                let mut f = EventFactory::new(&format!("bank-{node}"), "shared");
                for n in 0..batches {
                    let due = at(10 + n);
                    let bill = format!("b{n}");
                    store
                        .append_events(&[
                            f.bill(due, "acct", &bill, 100),
                            f.payment(due, "acct", Some(&bill), 100, 0),
                        ])
                        .unwrap_or_else(|e| panic!("node {node}, batch {n}: {e}"));
                }
            });
        }
    });
    let id = SubjectId::new("shared").expect("id");
    for store in [&one, &two] {
        let events = store.subject_events(&id).expect("reads");
        assert_eq!(
            events.len(),
            1 + 2 * 2 * batches as usize,
            "every event of both nodes"
        );
        assert_eq!(store.counts().expect("counts").events, events.len() as u64);
    }
}

#[test]
fn two_nodes_taking_one_number_on_a_chain_one_is_told_to_follow() {
    use credence_store::prelude::*;
    let Some(database) = test_database() else {
        return;
    };
    let one = empty_store(&database);
    let two = another_node(&database, &one);
    let entry = |detail: &str| AuditEntry {
        chain: 3,
        seq: 1,
        at: Timestamp::UNIX_EPOCH,
        actor: "test".into(),
        action: "test.entry".into(),
        subject_ref: None,
        detail: detail.into(),
        prev_hash: "0".repeat(64),
        hash: detail.repeat(64),
        answer: None,
    };
    let barrier = std::sync::Barrier::new(2);
    let outcomes: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = [(&one, "a"), (&two, "b")]
            .into_iter()
            .map(|(store, detail)| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    store.append_audit(&[entry(detail)], &[])
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("joins"))
            .collect()
    });
    let (won, lost): (Vec<_>, Vec<_>) = outcomes.into_iter().partition(Result::is_ok);
    assert_eq!(
        (won.len(), lost.len()),
        (1, 1),
        "exactly one takes number 1"
    );
    assert!(
        matches!(
            lost[0],
            Err(Error::AuditOutOfSequence {
                chain: 3,
                first: 1,
                stored: 1
            })
        ),
        "{:?}",
        lost[0]
    );
    assert_eq!(one.audit_entries(3, 0, 10).expect("reads").len(), 1);
}
