//! `credence`: the one binary. It parses flags, loads configuration, opens
//! the store once, and calls library code; every command lives in
//! `commands/`.

/// `println!` that returns an error instead of panicking when stdout is
/// closed (`credence score … | head`), so the caller can stop quietly.
/// Writes a line to stdout, returning the write's error (a closed pipe is
/// not a crash: `main` ends quietly on one) where `println!` would panic.
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        writeln!(std::io::stdout())
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout(), $($arg)*)
    }};
}

/// Writes a line to stderr, returning the write's error where `eprintln!`
/// would panic (`credence import bad.csv 2>&1 | head`).
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stderr(), $($arg)*)
    }};
}

/// The server allocates a little for every request (headers, JSON, audit
/// text) on two threads at once; mimalloc's per-thread free lists made
/// partner checks about 8% faster than the system allocator in
/// `credence bench-api` (three alternating runs each).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod commands;
mod context;
mod output;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_tracing(cli.global.verbose, cli.global.quiet);
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            // `{:#}` prints the whole context chain on one line: what failed,
            // where, and the underlying reason.
            // Nothing is left to report to if stderr is closed too.
            let _ = errln!("error: {error:#}");
            if let Some(hint) = context::hint_for(&error) {
                let _ = errln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CREDENCE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

/// True when the error is a write to a closed pipe: the reader has all it
/// wanted, which is not a failure.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
