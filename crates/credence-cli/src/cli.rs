//! The command line, as clap types. Names here are a contract: scripts and
//! other tools rely on them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Credence: open, consent-first credit and trust scoring.
#[derive(Debug, Parser)]
#[command(name = "credence", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// Database: a file path, `sqlite:PATH` or `postgres://user@host:port/database`.
    // The value is never shown in --help: it may carry a password.
    #[arg(long, global = true, env = "CREDENCE_DB", hide_env_values = true)]
    pub db: Option<String>,
    /// Configuration file (TOML); see credence.example.toml.
    #[arg(long, global = true, env = "CREDENCE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Years after which negative records stop counting (overrides the
    /// configuration).
    #[arg(long, global = true, env = "CREDENCE_AGEING_YEARS")]
    pub ageing_years: Option<u32>,
    /// File holding the key audit checkpoints are signed and checked with
    /// (64 hex digits, as `openssl rand -hex 32` writes): the same on every
    /// node and wherever the log is verified. Without one, the key the
    /// database keeps is used, which whoever can rewrite the log can read.
    #[arg(
        long,
        global = true,
        env = "CREDENCE_AUDIT_KEY_FILE",
        value_name = "FILE"
    )]
    pub audit_key_file: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Simulate a population, ingest it, score everyone and show a summary.
    Demo(DemoArgs),
    /// Write a synthetic population's events to a file (JSON Lines or CSV).
    Simulate(SimulateArgs),
    /// Import event files (JSON Lines or CSV) into the database.
    Import(ImportArgs),
    /// Score every subject and store the scores.
    Rescore(RescoreArgs),
    /// Score one subject, with reasons; or, with --model --data --out, every
    /// row of a CSV file.
    Score(ScoreArgs),
    /// Show the scorecard rows behind one subject's score.
    Explain(ExplainArgs),
    /// Train a scorecard on a table (CSV or Parquet) with a binary target.
    Train(Box<TrainArgs>),
    /// Export a model for another engine.
    ExportModel(ExportArgs),
    /// Inspect, verify or seal scorecard model files.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Measure import, rescore and simulation speed against baselines.
    Bench(BenchArgs),
    /// Run the HTTP API (furnishers, partners, subjects, operators).
    Serve(ServeArgs),
    /// Load-test the HTTP API on loopback: partner eligibility checks and
    /// furnisher ingest, beside the same server's /healthz.
    BenchApi(BenchApiArgs),
    /// Create, list or revoke API keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Check the hash-chained audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Move a whole deployment into a new, empty database (an embedded
    /// file up to PostgreSQL) and verify it: the same rows, an intact audit
    /// log ending at the same heads, every subject scoring the same.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The database to move: a file path, `sqlite:PATH` or `postgres://…`.
    /// Stop every server and writer on it first.
    #[arg(long, value_name = "DATABASE")]
    pub from: String,
    /// Where to: an empty database (or schema) of either kind; created
    /// when absent.
    // Never shown in --help: it may carry a password.
    #[arg(long, value_name = "DATABASE", hide_env_values = true)]
    pub to: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CREDENCE_LISTEN")]
    pub listen: String,
}

#[derive(Debug, Args)]
pub struct BenchApiArgs {
    /// Subjects in the benchmark world (up to 2,000 of them consent to the
    /// benchmark partner and are asked about).
    #[arg(long, default_value_t = 20_000)]
    pub subjects: u64,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Events per ingest batch.
    #[arg(long, default_value_t = 2_000)]
    pub batch: usize,
    /// Serve from this PostgreSQL database (`postgres://…`) instead of an
    /// embedded file, in a schema of its own dropped afterwards.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Server nodes over the one PostgreSQL database (in this process,
    /// each with its own store and listener; connections are spread over
    /// them).
    #[arg(long, default_value_t = 1, requires = "postgres")]
    pub nodes: usize,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key; it is printed once and stored only as a hash.
    Create {
        /// operator, furnisher or partner.
        #[arg(long)]
        role: String,
        /// The furnisher or partner the key acts for.
        #[arg(long)]
        principal: Option<String>,
        /// Who holds it.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key at once.
    Revoke {
        /// The key's id (the part after `crd_`, before the second `_`).
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk every chain and check the signed checkpoints; exit 1 if any
    /// entry was changed, deleted or reordered, or a chain was rewritten,
    /// cut back or dropped behind a checkpoint.
    Verify {
        /// Also require the chains to end at this head hash (recorded
        /// earlier: it covers every chain's head), to detect a cut-off tail.
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Sign every chain's head now and write the checkpoint to the log
    /// (servers do this at start and every hour).
    Checkpoint,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Subjects to simulate.
    #[arg(long, default_value_t = 25_000)]
    pub subjects: u64,
    /// World seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Address the demo serves on after its summary.
    #[arg(long, default_value = "127.0.0.1:8080", env = "CREDENCE_LISTEN")]
    pub listen: String,
    /// Print the summary and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Subjects to simulate.
    #[arg(long)]
    pub subjects: u64,
    /// World seed; the same seed and --until give the same world.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output file; `.csv` writes CSV, anything else JSON Lines.
    #[arg(long)]
    pub out: PathBuf,
    /// End of the simulated history (date or RFC 3339); default: today.
    #[arg(long)]
    pub until: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FileFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import, each in one transaction.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Import the good records and write the bad ones (with their errors)
    /// to this file, instead of refusing the whole file.
    #[arg(long)]
    pub quarantine: Option<PathBuf>,
    /// File format (default: from the file name).
    #[arg(long, value_enum)]
    pub format: Option<FileFormat>,
    /// The registered furnisher the file is from: its rules apply to every
    /// record, exactly as to its batches over the API (its records only, of
    /// the kinds it is registered for, no consent given). Without it the
    /// file is imported as the operator's, records naming their furnishers.
    #[arg(long)]
    pub furnisher: Option<String>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// Score as of this date or instant (default: now).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Rescore only part K of N (`K/N`, from 1/N to N/N): the subjects
    /// whose stable id hash falls in the K-th of N equal ranges, so N
    /// machines (or runs) share one rescore without overlap.
    #[arg(long, value_name = "K/N", value_parser = parse_part)]
    pub part: Option<(usize, usize)>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The subject's id (not with --data).
    #[arg(required_unless_present = "data", conflicts_with = "data")]
    pub subject_id: Option<String>,
    /// Score this CSV file with --model, writing --out.
    #[arg(long, requires_all = ["model", "out"])]
    pub data: Option<PathBuf>,
    /// The model file to score --data with.
    #[arg(long, requires = "data")]
    pub model: Option<PathBuf>,
    /// Where to write the scored CSV (input columns plus score, band, pd,
    /// reason_1..reason_4).
    #[arg(long, requires = "data")]
    pub out: Option<PathBuf>,
    /// Score as of this date or instant (default: now).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The subject's id.
    pub subject_id: String,
    /// Explain as of this date or instant (default: now).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ModelAction {
    /// Print a model's summary (or the built-in one for a subject kind).
    Show {
        /// Model file, or `person` / `organisation` for a built-in model.
        model: String,
    },
    /// Check a model file's structure, guardrails and checksum.
    Verify { file: PathBuf },
    /// Validate a model file and write its checksum into it.
    Seal { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data: CSV with a header, or Parquet (told apart by content).
    #[arg(
        long,
        required_unless_present = "from_store",
        conflicts_with = "from_store",
        requires = "target"
    )]
    pub data: Option<PathBuf>,
    /// The outcome column of --data.
    #[arg(long, requires = "data")]
    pub target: Option<String>,
    /// Validate on this CSV or Parquet file (same columns) instead of holding out rows of
    /// --data.
    #[arg(long, requires = "data")]
    pub test_data: Option<PathBuf>,
    /// A later scoring population (CSV or Parquet with the same input columns; no
    /// target needed): the report gives its population stability index
    /// against the development sample (--data).
    #[arg(long, requires = "data")]
    pub population: Option<PathBuf>,
    /// Train on the database instead: features as of --snapshot, target =
    /// 90+ days past due, charge-off or court judgment in the window after.
    #[arg(long)]
    pub from_store: bool,
    /// With --from-store: person or organisation.
    #[arg(long, default_value = "person", requires = "from_store")]
    pub kind: String,
    /// With --from-store: the snapshot date (default: --window-months ago).
    #[arg(long, requires = "from_store")]
    pub snapshot: Option<String>,
    /// With --from-store: months of the outcome window.
    #[arg(long, default_value_t = 12, requires = "from_store")]
    pub window_months: u32,
    /// The target value that means a bad outcome (default: 1 or "bad").
    #[arg(long)]
    pub bad: Option<String>,
    /// Where to write the model (JSON).
    #[arg(long)]
    pub out: PathBuf,
    /// A protected-attribute column to report fairness by; never an input.
    #[arg(long = "audit-column")]
    pub audit_columns: Vec<String>,
    /// Leave this column out entirely (neither input nor audit column): for
    /// columns the guardrails refuse, such as an occupation or a purchase's
    /// purpose, that a file carries anyway.
    #[arg(long = "drop-column")]
    pub drop_columns: Vec<String>,
    /// Data dictionary (TOML) declaring each column's category, and how to
    /// read it (a declaration may only tighten what the name suggests):
    /// `[columns.industry] category = "application" kind = "categorical"`
    /// bins numeric codes as categories; `special = [-1, 999]` gives codes
    /// in a numeric column (never, not applicable) bins of their own.
    #[arg(long)]
    pub dictionary: Option<PathBuf>,
    /// Share of rows held out (stratified) to validate on; 0 trains on all.
    #[arg(long, default_value_t = 0.3)]
    pub test_share: f64,
    /// Seed of the stratified split.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Write the validation report here: PATH.json for tools and PATH.html
    /// (one self-contained page with charts) for people.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Model id written into the model.
    #[arg(long, default_value = "trained")]
    pub model_id: String,
    /// Model version written into the model.
    #[arg(long, default_value = "1")]
    pub model_version: String,
    /// A sentence added to the model's provenance note (what data, why).
    #[arg(long)]
    pub note: Option<String>,
    /// Drop inputs with less information value than this. The default
    /// drops only inputs that carry no information: weak inputs still add
    /// to a regularised fit (0.02 is the classic, stricter threshold).
    #[arg(long, default_value_t = 1e-4)]
    pub min_iv: f64,
    /// Drop the weaker of two inputs whose WOE correlate more than this.
    #[arg(long, default_value_t = 0.8)]
    pub max_correlation: f64,
    /// L2 penalty of the logistic regression.
    #[arg(long, default_value_t = 1.0)]
    pub lambda: f64,
    /// Smallest share of rows a bin cut from a continuous input may hold
    /// (a level of a category, flag or code needs only to be not rare: 1%
    /// of rows and 30 rows, never more than this share).
    #[arg(long, default_value_t = 0.05)]
    pub min_bin_share: f64,
    /// Choose inputs by stepwise selection (score test to enter, Wald test
    /// to stay) after the IV and correlation filters.
    #[arg(long)]
    pub stepwise: bool,
    /// With --stepwise: an input enters when its score test's p-value is
    /// below this.
    #[arg(long, default_value_t = 0.05, requires = "stepwise")]
    pub entry_p: f64,
    /// With --stepwise: an input stays while its Wald test's p-value is at
    /// most this.
    #[arg(long, default_value_t = 0.05, requires = "stepwise")]
    pub stay_p: f64,
    /// Event-rate shape of numeric bins: monotone by default; peaks and
    /// valleys only when asked.
    #[arg(long, value_enum, default_value = "auto")]
    pub trend: TrendArg,
    /// Where a continuous input's pre-bins are cut before the optimal
    /// grouping: where a decision tree would split, or at quantiles.
    #[arg(long, value_enum, default_value = "tree")]
    pub prebinning: PrebinningArg,
    /// The approval cut-off of the fairness report.
    #[arg(long, default_value_t = 600)]
    pub cutoff: i32,
    /// Print the metrics as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TrendArg {
    /// Ascending or descending, whichever carries more information.
    Auto,
    /// Event rate rises with the value.
    Ascending,
    /// Event rate falls as the value rises.
    Descending,
    /// Rises, then falls.
    Peak,
    /// Falls, then rises.
    Valley,
    /// The best of all four shapes.
    AutoWithPeaks,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PrebinningArg {
    /// Where a decision tree would split (each side at least the minimum
    /// bin share), as optbinning does.
    Tree,
    /// At equal-count quantiles (20).
    Quantile,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// One SQL SELECT with CASE expressions.
    Sql,
    /// A PMML 4.4 Scorecard with reason codes.
    Pmml,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model file.
    #[arg(long)]
    pub model: PathBuf,
    /// The export format.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Where to write it.
    #[arg(long)]
    pub out: PathBuf,
    /// For SQL: the table to score.
    #[arg(long, default_value = "applicants")]
    pub table: String,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Subjects in the benchmark world (about 40 events each).
    #[arg(long, default_value_t = 50_000)]
    pub subjects: u64,
    /// World seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also measure the PostgreSQL backend on this database
    /// (`postgres://…`), in a schema of its own dropped afterwards: ingest
    /// against a bare binary COPY of the same rows, and rescoring with one
    /// and two workers.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
}

/// Most parts a rescore can be cut into: far more machines than anyone
/// runs, and each part still holds tens of thousands of hashes.
const MAX_PARTS: usize = 65_536;

/// Parses `K/N` with 1 ≤ K ≤ N ≤ [`MAX_PARTS`].
fn parse_part(text: &str) -> Result<(usize, usize), String> {
    let bad =
        || format!("`{text}` is not a part: write K/N with 1 ≤ K ≤ N ≤ {MAX_PARTS}, such as 2/8");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if k == 0 || k > n || n > MAX_PARTS {
        return Err(bad());
    }
    Ok((k, n))
}
