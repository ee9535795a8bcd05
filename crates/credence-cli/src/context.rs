//! What every command needs: configuration merged from its sources, the
//! store picked once from the database location, and the clock.

use crate::cli::Global;
use anyhow::{Context as _, Result, bail};
use credence_service::{Clock, Config, SystemClock};
use credence_store_sqlite::SqliteStore;
use jiff::Timestamp;
use std::path::{Path, PathBuf};

/// Default database file.
pub const DEFAULT_DB: &str = "credence.db";

/// Merged configuration: defaults < file < environment < flags (clap reads
/// the environment variables of the flags themselves).
pub fn config(global: &Global) -> Result<Config> {
    let mut config = match &global.config {
        Some(path) => Config::from_file(path)
            .with_context(|| format!("loading configuration {}", path.display()))?,
        None => Config::default(),
    };
    if let Some(years) = global.ageing_years {
        if !(1..=20).contains(&years) {
            bail!("--ageing-years {years} is outside 1..=20");
        }
        config.policy.negative_ageing_years = years;
    }
    Ok(config)
}

/// Where the database is, from `--db` / `CREDENCE_DB` or the default.
pub fn db_path(global: &Global, default: &str) -> Result<PathBuf> {
    let location = global.db.clone().unwrap_or_else(|| default.to_string());
    if let Some(rest) = location.strip_prefix("sqlite:") {
        return Ok(PathBuf::from(rest.trim_start_matches("//")));
    }
    if location.starts_with("postgres:") || location.starts_with("postgresql:") {
        bail!(
            "the PostgreSQL backend is not part of this build yet; use a SQLite file (--db credence.db)"
        );
    }
    if location.contains("://") {
        bail!("unknown database location {location:?}; use a file path or sqlite:PATH");
    }
    Ok(PathBuf::from(location))
}

/// Opens the store, its memory sized by the command's configuration.
pub fn open_store(global: &Global, default: &str, config: &Config) -> Result<SqliteStore> {
    let path = db_path(global, default)?;
    let store =
        SqliteStore::open(&path).with_context(|| format!("opening database {}", path.display()))?;
    Ok(store.with_subject_cache(config.store.subject_cache_bytes()))
}

/// Opens an existing store (for commands that only read or score).
pub fn open_existing_store(global: &Global, config: &Config) -> Result<SqliteStore> {
    let path = db_path(global, DEFAULT_DB)?;
    if !path.exists() {
        bail!(
            "no database at {}; run `credence import FILE` first, or point --db (or CREDENCE_DB) at one, e.g. --db credence-demo.db",
            path.display()
        );
    }
    open_store(global, DEFAULT_DB, config)
}

/// A serving process's hold on its database, released when dropped (or
/// when the process ends, however it ends: the operating system drops the
/// lock with the file).
#[derive(Debug)]
pub struct ServingClaim {
    _lock: std::fs::File,
}

/// Claims `database` for one serving process. A server keeps consents,
/// freezes, perks and the day's partner answers in memory, which a second
/// server on the same file would not see change: a consent revoked
/// through one would still be honoured by the other. `credence demo` also
/// claims before it replaces its database, so it cannot delete one that is
/// being served. Commands that write beside a server (`keys`, `import`)
/// need no claim: the server follows what they write.
pub fn claim_for_serving(database: &Path) -> Result<ServingClaim> {
    let lock_path = PathBuf::from(format!("{}-serve.lock", database.display()));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("creating the lock file {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(ServingClaim { _lock: lock }),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another `credence serve` or `credence demo` is serving {}; run one server per database (stop the other first, or point --db elsewhere)",
            database.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
}

/// The clock.
pub fn clock() -> SystemClock {
    SystemClock
}

/// Parses an `--as-of` value, defaulting to now.
pub fn as_of(raw: Option<&str>) -> Result<Timestamp> {
    match raw {
        None => Ok(clock().now()),
        Some(raw) => {
            credence_domain::parse_instant(raw).map_err(|e| anyhow::anyhow!("--as-of: {e}"))
        }
    }
}

/// A suggestion for errors people can fix.
pub fn hint_for(error: &anyhow::Error) -> Option<&'static str> {
    let text = format!("{error:#}");
    if text.contains("database is locked") {
        Some(
            "another credence process is writing to this database; wait for it or use another --db",
        )
    } else if error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<credence_service::Error>(),
            Some(credence_service::Error::UnknownSubject(_))
        )
    }) {
        Some(
            "subject ids are case-sensitive; `credence rescore --json` lists counts, and simulated ids look like sub-00000042",
        )
    } else {
        None
    }
}

/// Whether two paths name the same file: the same path once `.` parts are
/// dropped, or (both existing) the same canonical path.
fn same_file(a: &Path, b: &Path) -> bool {
    let plain = |p: &Path| -> std::path::PathBuf {
        p.components()
            .filter(|c| *c != std::path::Component::CurDir)
            .collect()
    };
    plain(a) == plain(b)
        || (a.canonicalize().ok()).is_some_and(|a| b.canonicalize().ok() == Some(a))
}

/// Which of the files a command reads or keeps (`(what, path)`, for
/// example `("the model (--model)", Some(path))`) `written` would replace,
/// if any: commands check before any work, so a mistyped `--out` never
/// destroys the model or the data it was about to read.
pub fn overwritten<'a>(written: &Path, kept: &[(&'a str, Option<&Path>)]) -> Option<&'a str> {
    kept.iter()
        .find(|(_, path)| path.is_some_and(|path| same_file(written, path)))
        .map(|(what, _)| *what)
}
