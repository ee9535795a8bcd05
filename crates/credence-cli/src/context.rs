//! What every command needs: configuration merged from its sources, the
//! store picked once from the database location, and the clock.

use crate::cli::Global;
use anyhow::{Context as _, Result, bail};
use credence_service::platform::Answering;
use credence_service::{Clock, Config, SystemClock};
use credence_store::Store;
use credence_store_postgres::PostgresStore;
use credence_store_sqlite::SqliteStore;
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Where the database is, chosen by its location (`--db` /
/// `CREDENCE_DB`): a backend is picked here, once, and everything after
/// sees only a [`Store`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An embedded SQLite file (`PATH` or `sqlite:PATH`).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…` or `postgresql://…`).
    Postgres(String),
}

impl Database {
    /// The location the flags name, or `default`.
    pub fn from_flags(global: &Global, default: &str) -> Result<Self> {
        Self::parse(global.db.as_deref().unwrap_or(default))
    }

    /// Reads a location: a file path, `sqlite:PATH` or `sqlite://PATH`.
    pub fn parse(location: &str) -> Result<Self> {
        if let Some(rest) = location.strip_prefix("sqlite:") {
            return Self::sqlite(rest.trim_start_matches("//"));
        }
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            // Read now, so a malformed address fails before any work.
            location.parse::<postgres::Config>().map_err(|e| {
                anyhow::anyhow!(
                    "reading the PostgreSQL address: {e}; write it as postgres://user:password@host:port/database"
                )
            })?;
            return Ok(Self::Postgres(location.to_string()));
        }
        if location.contains("://") {
            bail!(
                "unknown database location {:?}; use a file path, sqlite:PATH or postgres://user@host:port/database",
                redacted(location)
            );
        }
        Self::sqlite(location)
    }

    fn sqlite(path: &str) -> Result<Self> {
        // SQLite would open an empty name as a private temporary database,
        // deleted on close: everything written to it lost.
        if path.trim().is_empty() {
            bail!("the database location names no file; use --db PATH or --db sqlite:PATH");
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// True when the database is there to open.
    pub fn exists(&self) -> bool {
        match self {
            Self::Sqlite(path) => path.exists(),
            // A server database is there when it can be opened; opening
            // says why not.
            Self::Postgres(_) => true,
        }
    }

    /// Opens (creating when absent) the store, its memory sized by the
    /// command's configuration.
    pub fn open(&self, config: &Config) -> Result<Arc<dyn Store>> {
        match self {
            Self::Sqlite(path) => {
                let store = SqliteStore::open(path)
                    .with_context(|| format!("opening database {}", path.display()))?;
                Ok(Arc::new(
                    store.with_subject_cache(config.store.subject_cache_bytes()),
                ))
            }
            Self::Postgres(url) => {
                let store = PostgresStore::open(url)
                    .with_context(|| format!("opening database {}", redacted(url)))?;
                Ok(Arc::new(store))
            }
        }
    }

    /// Claims the database for serving, where the backend needs it: an
    /// embedded file is served by one process (see [`claim_for_serving`]);
    /// a PostgreSQL database by any number of nodes, each claiming every
    /// partner answer in the store before it leaves.
    pub fn claim_for_serving(&self) -> Result<ServingClaim> {
        match self {
            Self::Sqlite(path) => claim_for_serving(path),
            Self::Postgres(_) => Ok(ServingClaim {
                _lock: None,
                answering: Answering::Shared,
            }),
        }
    }
}

impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

/// Opens the store the flags name (creating it when absent).
pub fn open_store(global: &Global, default: &str, config: &Config) -> Result<Arc<dyn Store>> {
    Database::from_flags(global, default)?.open(config)
}

/// Opens an existing store (for commands that only read or score).
/// The audit checkpoint key `--audit-key-file` names, if it names one.
pub fn audit_key(global: &Global) -> Result<Option<credence_service::platform::CheckpointKey>> {
    let Some(path) = &global.audit_key_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read the audit key file {}; write one with `openssl rand -hex 32 > {}`",
            path.display(),
            path.display()
        )
    })?;
    // Whoever reads the key can sign checkpoints over a rewritten log. Not
    // refused (secret stores often mount files group-readable), but said.
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
        if mode & 0o077 != 0 {
            let _ = errln!(
                "credence: warning: the audit key file {} can be read by other users (mode {:o}); `chmod 600 {}` keeps the checkpoints' signatures yours",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    credence_service::platform::CheckpointKey::from_hex(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

pub fn open_existing_store(global: &Global, config: &Config) -> Result<Arc<dyn Store>> {
    let database = Database::from_flags(global, DEFAULT_DB)?;
    if !database.exists() {
        bail!(
            "no database at {database}; run `credence import FILE` first, or point --db (or CREDENCE_DB) at one, e.g. --db credence-demo.db"
        );
    }
    database.open(config)
}

/// A serving process's hold on its database, released when dropped (or
/// when the process ends, however it ends: the operating system drops the
/// lock with the file), and how it answers partners under it.
#[derive(Debug)]
pub struct ServingClaim {
    _lock: Option<std::fs::File>,
    answering: Answering,
}

impl ServingClaim {
    /// How the server answers partners under this claim: alone when it
    /// holds the database, shared otherwise.
    pub fn answering(&self) -> Answering {
        self.answering
    }
}

/// Claims `database` for one serving process. A server on an embedded
/// file keeps the day's partner answers in memory (so a check reads
/// nothing to learn its transaction id is new), which a second server on
/// the same file would not see: the same transaction id asked of both
/// could be answered twice, differently. `credence demo` also claims
/// before it replaces its database, so it cannot delete one that is being
/// served. Commands that write beside a server (`keys`, `import`) need no
/// claim: the server follows what they write.
fn claim_for_serving(database: &Path) -> Result<ServingClaim> {
    // Beside the file as the system names it, so that two spellings of one
    // database (a symlink, `./`, a relative path) take one lock.
    let named = database
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .canonicalize()
        .ok()
        .zip(database.file_name())
        .map(|(folder, file)| folder.join(file))
        .map(|path| std::fs::canonicalize(&path).unwrap_or(path))
        .unwrap_or_else(|| database.to_path_buf());
    let lock_path = PathBuf::from(format!("{}-serve.lock", named.display()));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("creating the lock file {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(ServingClaim {
            _lock: Some(lock),
            answering: Answering::Alone,
        }),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another `credence serve` or `credence demo` is serving {}; run one server per database file (stop the other first, or point --db elsewhere; many servers share a PostgreSQL database)",
            database.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("locking {}", lock_path.display()))
        }
    }
}

/// A database location fit to print: a PostgreSQL address without its
/// password.
pub fn redacted(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let authority = match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    // A password may also come as a parameter (`?password=…`).
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, _)) if key.eq_ignore_ascii_case("password") => {
                        format!("{key}=***")
                    }
                    _ => pair.to_string(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_picks_its_backend() {
        let sqlite = |path: &str| Some(Database::Sqlite(PathBuf::from(path)));
        assert_eq!(Database::parse("credence.db").ok(), sqlite("credence.db"));
        assert_eq!(Database::parse("sqlite:a/b.db").ok(), sqlite("a/b.db"));
        assert_eq!(
            Database::parse("sqlite:///tmp/c.db").ok(),
            sqlite("/tmp/c.db")
        );
        let postgres = |url: &str| Some(Database::Postgres(url.to_string()));
        assert_eq!(
            Database::parse("postgres://u@h:5433/db").ok(),
            postgres("postgres://u@h:5433/db")
        );
        assert_eq!(
            Database::parse("postgresql://h/db").ok(),
            postgres("postgresql://h/db")
        );
        for refused in [
            "postgres://[broken",
            "mysql://h/db",
            "",
            "sqlite:",
            "sqlite://",
            "  ",
        ] {
            assert!(Database::parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_printed_location_never_shows_a_password() {
        assert_eq!(
            redacted("postgres://ann:s3cret@db.example:5432/credence"),
            "postgres://ann:***@db.example:5432/credence"
        );
        assert_eq!(
            redacted("postgres://ann@db.example/credence"),
            "postgres://ann@db.example/credence"
        );
        assert_eq!(redacted("postgres://p:a@b@h/db"), "postgres://p:***@h/db");
        assert_eq!(redacted("credence.db"), "credence.db");
        assert_eq!(
            redacted("postgres://h/db?user=ann&password=s3cret"),
            "postgres://h/db?user=ann&password=***"
        );
        let refused = Database::parse("mysql://root:hunter2@h/db").expect_err("refused");
        assert!(!format!("{refused:#}").contains("hunter2"), "{refused:#}");
    }
}
