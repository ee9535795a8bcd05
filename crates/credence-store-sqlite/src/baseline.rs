//! The engine's own limit, for benchmarks: the same rows inserted with a
//! bare prepared statement into a plain table with no keys, no indexes and
//! no Credence logic, under the same durability settings. Import speed is
//! reported as a ratio against this.

use credence_domain::Event;
use credence_store::{Error, Result};
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::{Duration, Instant};

/// Inserts `events` into a fresh table in a new database at `path`, in
/// transactions of `batch` rows, and returns the time taken.
pub fn bare_insert_baseline(path: &Path, events: &[Event], batch: usize) -> Result<Duration> {
    let fail = |e: rusqlite::Error| Error::Backend(format!("baseline insert: {e}"));
    let mut connection = Connection::open(path).map_err(fail)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;
             CREATE TABLE bare_events (subject_id TEXT, furnisher_id TEXT, event_id TEXT,
                 occurred_at INTEGER, recorded_at INTEGER, body BLOB);",
        )
        .map_err(fail)?;
    let started = Instant::now();
    for chunk in events.chunks(batch.max(1)) {
        let tx = connection.transaction().map_err(fail)?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO bare_events VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(fail)?;
            for event in chunk {
                let body =
                    postcard::to_stdvec(&event.body).map_err(|e| Error::Backend(e.to_string()))?;
                stmt.execute(params![
                    event.subject_id.as_str(),
                    event.key.furnisher_id.as_str(),
                    event.key.event_id.as_str(),
                    event.occurred_at.as_second(),
                    event.recorded_at.as_second(),
                    body
                ])
                .map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)?;
    }
    Ok(started.elapsed())
}
