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
        .connect(NoTls)
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
