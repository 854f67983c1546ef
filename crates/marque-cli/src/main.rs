//! The `marque` command: argument parsing and output over the Marque library crates.

mod demo;
mod pipeline;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    /// Resolve every mention in the lake into customers.
    Resolve,
    /// Score the lake's customer_map against the generator's ground truth.
    Eval(pipeline::EvalArgs),
    /// Run a read-only SQL query against the lake and print the result.
    Sql(pipeline::SqlArgs),
    /// Serve profiles and SQL over HTTP.
    Serve(pipeline::ServeArgs),
    /// gen → ingest → resolve → eval → serve on the local lake.
    Demo(demo::DemoArgs),
}

fn main() -> std::process::ExitCode {
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
        Command::Resolve => pipeline::resolve(&lake).await,
        Command::Eval(args) => pipeline::eval(&lake, &args).await,
        Command::Sql(args) => pipeline::sql(&lake, &args).await,
        Command::Serve(args) => pipeline::serve(&lake, &args).await,
        Command::Demo(args) => demo::demo(&lake, &args).await,
    }
}

/// `sql/views` when run from a checkout, else no views.
fn default_views_dir() -> Option<PathBuf> {
    let p = PathBuf::from("sql/views");
    p.is_dir().then_some(p)
}
