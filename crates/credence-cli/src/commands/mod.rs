//! One module per command.

mod bench;
mod bench_api;
mod demo;
mod import;
mod migrate;
mod model;
mod score;
mod serve;
mod simulate;
mod train;

use crate::cli::{Cli, Command};
use anyhow::Result;

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    let global = &cli.global;
    match &cli.command {
        Command::Demo(args) => demo::run(global, args),
        Command::Simulate(args) => simulate::run(args),
        Command::Import(args) => import::run(global, args),
        Command::Rescore(args) => score::rescore(global, args),
        Command::Score(args) => score::score(global, args),
        Command::Explain(args) => score::explain(global, args),
        Command::Train(args) => train::run(global, args),
        Command::ExportModel(args) => model::export(args),
        Command::Model { action } => model::run(action),
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => serve::serve(global, args),
        Command::BenchApi(args) => bench_api::run(args),
        Command::Keys { action } => serve::keys(global, action),
        Command::Audit { action } => serve::audit(global, action),
        Command::Migrate(args) => migrate::run(global, args),
    }
}
