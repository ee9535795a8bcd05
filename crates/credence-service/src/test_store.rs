//! The store the service's tests run on: a SQLite file, or, with
//! `CREDENCE_TEST_BACKEND=postgres` (as `scripts/test` sets for a second
//! run), a schema of the PostgreSQL database `CREDENCE_TEST_POSTGRES`
//! names. The same path always opens the same database, so two opens of
//! one path are two processes (or nodes) on one database, on either
//! backend.

use credence_store::Store;
use sha2::Digest;
use std::path::Path;
use std::sync::Arc;

/// The database at `path` (created when new), on the backend under test.
pub(crate) fn open(path: &Path) -> Arc<dyn Store> {
    match postgres_url(path) {
        None => Arc::new(
            credence_store_sqlite::SqliteStore::open(path).unwrap_or_else(|e| panic!("{e}")),
        ),
        Some(url) => Arc::new(
            credence_store_postgres::PostgresStore::open(&url).unwrap_or_else(|e| panic!("{e}")),
        ),
    }
}

/// Runs SQL on the database at `path` behind the store's back, as only a
/// tamperer would.
pub(crate) fn execute(path: &Path, sql: &str) {
    match postgres_url(path) {
        None => rusqlite::Connection::open(path)
            .and_then(|c| c.execute_batch(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
        Some(url) => postgres::Client::connect(&url, postgres::NoTls)
            .and_then(|mut c| c.batch_execute(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    }
}

/// The PostgreSQL address of the schema for `path`, when testing on
/// PostgreSQL.
fn postgres_url(path: &Path) -> Option<String> {
    if std::env::var("CREDENCE_TEST_BACKEND").as_deref() != Ok("postgres") {
        return None;
    }
    let url = std::env::var("CREDENCE_TEST_POSTGRES")
        .unwrap_or_else(|_| panic!("CREDENCE_TEST_BACKEND=postgres needs CREDENCE_TEST_POSTGRES"));
    // One schema per path: a temporary directory's path is unique while
    // the test runs.
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    let schema: String = std::iter::once("svc_".to_string())
        .chain(digest[..8].iter().map(|b| format!("{b:02x}")))
        .collect();
    let mut client =
        postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| panic!("{e}"));
    // Two "processes" may open one path at once: one creates the schema.
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(hashtext('{schema}')); CREATE SCHEMA IF NOT EXISTS {schema}; COMMIT;"
        ))
        .unwrap_or_else(|e| panic!("{e}"));
    let joiner = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{joiner}options=-c%20search_path%3D{schema}"))
}
