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
    /// Database: a file path or `sqlite:PATH`.
    #[arg(long, global = true, env = "CREDENCE_DB")]
    pub db: Option<String>,
    /// Configuration file (TOML); see credence.example.toml.
    #[arg(long, global = true, env = "CREDENCE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Years after which negative records stop counting (overrides the
    /// configuration).
    #[arg(long, global = true, env = "CREDENCE_AGEING_YEARS")]
    pub ageing_years: Option<u32>,
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
    /// Score one subject, with reasons.
    Score(ScoreArgs),
    /// Show the scorecard rows behind one subject's score.
    Explain(ScoreArgs),
    /// Inspect, verify or seal scorecard model files.
    Model {
        #[command(subcommand)]
        action: ModelAction,
    },
    /// Measure import, rescore and simulation speed against baselines.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Subjects to simulate.
    #[arg(long, default_value_t = 25_000)]
    pub subjects: u64,
    /// World seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
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
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RescoreArgs {
    /// Score as of this date or instant (default: now).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Print a JSON summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// The subject's id.
    pub subject_id: String,
    /// Score as of this date or instant (default: now).
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
}
