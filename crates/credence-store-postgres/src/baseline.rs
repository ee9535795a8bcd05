//! The engine's own limit, for benchmarks: the same rows as the SQLite
//! baseline (subject, furnisher, event id, times and the body) loaded by
//! binary `COPY` into a plain table with no keys, no indexes and no
//! Credence logic, committed per batch. Ingest through the store is
//! reported as a ratio against this, and against the same copy into a
//! table with the one thing idempotency cannot do without: a unique key on
//! (furnisher, event id).

use credence_domain::Event;
use credence_store::{Error, Result};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use std::time::{Duration, Instant};

/// Loads `events` into a new table `bare_events` of the database (and
/// schema) `config` names, in transactions of `batch` rows, and returns
/// the time taken; `keyed` gives the table a primary key on (furnisher,
/// event id), as `event_keys` has.
pub fn bare_copy_baseline(
    config: &postgres::Config,
    events: &[Event],
    batch: usize,
    keyed: bool,
) -> Result<Duration> {
    let fail =
        |e: postgres::Error| Error::Backend(format!("baseline copy: {}", crate::describe(&e)));
    let mut client = config.connect(postgres::NoTls).map_err(fail)?;
    let key = if keyed {
        ", PRIMARY KEY (furnisher_id, event_id)"
    } else {
        ""
    };
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS bare_events;
             CREATE TABLE bare_events (subject_id TEXT, furnisher_id TEXT, event_id TEXT,
                 occurred_at BIGINT, recorded_at BIGINT, body BYTEA{key});"
        ))
        .map_err(fail)?;
    let types = [
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::INT8,
        Type::INT8,
        Type::BYTEA,
    ];
    let started = Instant::now();
    for chunk in events.chunks(batch.max(1)) {
        let mut tx = client.transaction().map_err(fail)?;
        let sink = tx
            .copy_in("COPY bare_events FROM STDIN (FORMAT binary)")
            .map_err(fail)?;
        let mut writer = BinaryCopyInWriter::new(sink, &types);
        for event in chunk {
            let body =
                postcard::to_stdvec(&event.body).map_err(|e| Error::Backend(e.to_string()))?;
            writer
                .write(&[
                    &event.subject_id.as_str(),
                    &event.key.furnisher_id.as_str(),
                    &event.key.event_id.as_str(),
                    &event.occurred_at.as_second(),
                    &event.recorded_at.as_second(),
                    &body,
                ])
                .map_err(fail)?;
        }
        writer.finish().map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    let elapsed = started.elapsed();
    client
        .batch_execute("DROP TABLE bare_events")
        .map_err(fail)?;
    Ok(elapsed)
}
