//! The `marque` command: argument parsing and output over the Marque library crates.

mod clv_cmd;
mod connectors_cmd;
mod demo;
mod identity_cmd;
mod lake_cmd;
mod pipeline;
mod quarantine_cmd;
mod resolve_cmd;
mod schedule_cmd;
mod segments_cmd;
mod serve_cmd;
mod sql_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

// Resolving a million persons allocates tens of millions of small strings and vectors from both
// cores; with mimalloc's thread-local free lists a 1M full run took 42.7 s and peaked at 3.14 GB,
// against 50.7 s and 3.48 GB with glibc's malloc (benches/RESULTS.md, eleventh session).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc v3's `mi_option_purge_delay` (the Rust bindings do not name it; a test pins it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Returns freed memory to the OS after 100 ms rather than mimalloc's default of one second.
/// A resolve frees hundreds of MB between phases (the load's record sets, the units' map);
/// with the default the next phase allocates before those pages go back, and the peaks add
/// up: a 1M full run peaked at 2.18 GB, 1.97 GB with this (benches/RESULTS.md). Setting
/// `MIMALLOC_PURGE_DELAY` overrides it.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one option by its index; mimalloc reads its options atomically and
        // allows setting them at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 100) };
    }
}

/// Marque: a customer data platform for car makers and dealers.
///
/// Ingests dealer sales, repair orders, marketing leads and app events into Delta tables,
/// resolves the people in them into unified customers, and serves them over SQL and HTTP.
#[derive(Parser)]
#[command(name = "marque", version, about, long_about)]
struct Cli {
    /// Lake root: a local folder or an s3://bucket/prefix URL (S3 settings from the usual AWS_*
    /// variables).
    #[arg(
        long,
        global = true,
        env = "MARQUE_LAKE",
        default_value = "./marque-data"
    )]
    lake: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate synthetic source exports with ground truth.
    Gen(pipeline::GenArgs),
    /// Ingest source files through the connectors into the lake (each file exactly once).
    Ingest(pipeline::IngestArgs),
    /// Resolve mentions into customers (only new batches unless --full).
    Resolve(resolve_cmd::ResolveArgs),
    /// Score the lake's customer_map against the generator's ground truth.
    Eval(pipeline::EvalArgs),
    /// Run a read-only SQL query against the lake and print the result.
    Sql(sql_cmd::SqlArgs),
    /// Serve profiles and SQL over HTTP.
    Serve(serve_cmd::ServeArgs),
    /// gen → ingest → resolve → eval → serve on the local lake.
    Demo(demo::DemoArgs),
    /// Fit lifetime-value models (BG/NBD, Gamma-Gamma) and score customers.
    Clv(clv_cmd::ClvArgs),
    /// List, show and export named segments from sql/segments.
    Segments(segments_cmd::SegmentsArgs),
    /// Lake maintenance: optimize (compact) and vacuum.
    Lake(lake_cmd::LakeArgs),
    /// Check connector definitions against a sample of their source.
    Connectors(connectors_cmd::ConnectorsArgs),
    /// List, show and replay quarantined rows.
    Quarantine(quarantine_cmd::QuarantineArgs),
    /// Run connector jobs on cron schedules from marque.toml.
    Schedule(schedule_cmd::ScheduleArgs),
    /// Identity model, manual overrides and explanations.
    Identity(identity_cmd::IdentityArgs),
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MARQUE_LOG")
                .unwrap_or_else(|_| "warn,deltalake_core=error,marque_server=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let lake = cli.lake;
    match cli.command {
        Command::Gen(args) => pipeline::generate(&args).map(|_| ()),
        Command::Ingest(args) => pipeline::ingest(&lake, &args).await.map(|_| ()),
        Command::Resolve(args) => resolve_cmd::run(&lake, &args).await,
        Command::Eval(args) => pipeline::eval(&lake, &args).await,
        Command::Sql(args) => sql_cmd::run(&lake, &args).await,
        Command::Serve(args) => serve_cmd::run(&lake, &args).await,
        Command::Demo(args) => demo::demo(&lake, &args).await,
        Command::Clv(args) => clv_cmd::run(&lake, &args).await,
        Command::Segments(args) => segments_cmd::run(&lake, &args).await,
        Command::Lake(args) => lake_cmd::run(&lake, &args).await,
        Command::Connectors(args) => connectors_cmd::run(&lake, &args).await,
        Command::Quarantine(args) => quarantine_cmd::run(&lake, &args).await,
        Command::Schedule(args) => schedule_cmd::run(&lake, &args).await,
        Command::Identity(args) => identity_cmd::run(&lake, &args).await,
    }
}

/// `sql/views` when run from a checkout, else no views.
fn default_views_dir() -> Option<PathBuf> {
    let p = PathBuf::from("sql/views");
    p.is_dir().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The option's index is mimalloc's, not ours: a version that moved it would make
    /// `tune_allocator` set some other option.
    #[test]
    fn the_purge_delay_option_index_is_mimallocs_and_tuning_sets_it() {
        // SAFETY: reads and sets one option of the process's allocator.
        let get = || unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(get(), 1000, "mimalloc v3's default purge delay");
            tune_allocator();
            assert_eq!(get(), 100);
        }
    }
}
