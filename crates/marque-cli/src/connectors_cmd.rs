//! `marque connectors`: list connector definitions and check one against a sample of its source.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use marque_connect::ConnectorDef;

#[derive(Args)]
pub struct ConnectorsArgs {
    #[command(subcommand)]
    command: ConnectorsCommand,
}

#[derive(Subcommand)]
enum ConnectorsCommand {
    /// Validate a definition file against a sample of its source: print the mapped rows and the
    /// rows that would be quarantined, with their reasons. Writes nothing to the lake. Exits
    /// non-zero when the definition is invalid, no input matches, or (with --strict) any row
    /// would be quarantined.
    Check(CheckArgs),
    /// List the connectors of a directory (the embedded reference ones by default).
    List {
        /// Directory of connector definitions (`*.toml`).
        #[arg(long)]
        connectors: Option<PathBuf>,
    },
}

#[derive(Args)]
struct CheckArgs {
    /// The connector definition (TOML) to check.
    file: PathBuf,
    /// Directory the definition's `source.path` glob is relative to.
    #[arg(long, default_value = "./marque-sources")]
    input: PathBuf,
    /// How many mapped and how many quarantined rows to print.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// How many matching input files to sample (the first ones in path order).
    #[arg(long, default_value_t = 1)]
    files: usize,
    /// Fail (exit 1) when any sampled row would be quarantined.
    #[arg(long)]
    strict: bool,
}

pub async fn run(_lake_root: &str, args: &ConnectorsArgs) -> anyhow::Result<()> {
    match &args.command {
        ConnectorsCommand::Check(a) => check(a),
        ConnectorsCommand::List { connectors } => {
            for d in marque_connect::load_connectors(connectors.as_deref())? {
                println!(
                    "{:<16} {:<12} {:<8} {}",
                    d.name,
                    d.domain,
                    d.format.kind(),
                    d.source.describe()
                );
            }
            Ok(())
        }
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<()> {
    let def = ConnectorDef::load(&args.file)?;
    println!(
        "{}: connector {:?} feeds {} from {} ({})",
        args.file.display(),
        def.name,
        def.domain,
        def.source.describe(),
        def.format.kind()
    );
    if def.source.postgres.is_some() {
        bail!(
            "connector {:?} reads Postgres; check it with `marque ingest --only {}` on a scratch lake",
            def.name,
            def.name
        );
    }
    let files = marque_connect::ingest::input_files(&def, &args.input)
        .with_context(|| format!("listing the input of {}", def.name))?;
    if files.is_empty() {
        bail!(
            "no file under {} matches source.path {:?}",
            args.input.display(),
            def.source.path
        );
    }
    let (mut read, mut landed, mut quarantined) = (0u64, 0u64, 0u64);
    for (path, rel) in files.iter().take(args.files.max(1)) {
        let out = marque_connect::read_file(&def, path, rel, "check")?;
        read += out.rows_read;
        landed += out.rows_landed;
        quarantined += out.quarantined.len() as u64;
        println!(
            "\n{rel}: {} rows read, {} would land, {} would be quarantined",
            out.rows_read,
            out.rows_landed,
            out.quarantined.len()
        );
        let mut left = args.limit;
        let mut sample = Vec::new();
        for b in &out.batches {
            if left == 0 {
                break;
            }
            let n = b.num_rows().min(left);
            // The lineage columns say nothing about the mapping.
            let keep: Vec<usize> = (0..b.num_columns())
                .filter(|i| !b.schema().field(*i).name().starts_with('_'))
                .collect();
            sample.push(b.slice(0, n).project(&keep)?);
            left -= n;
        }
        if !sample.is_empty() {
            println!("mapped rows (first {}):", args.limit);
            println!("{}", arrow::util::pretty::pretty_format_batches(&sample)?);
        }
        if !out.quarantined.is_empty() {
            println!("rows that would be quarantined (first {}):", args.limit);
            for q in out.quarantined.iter().take(args.limit) {
                println!(
                    "  line {} (byte {}): {}\n    raw: {}",
                    q.line,
                    q.byte_offset,
                    q.reason,
                    crate::quarantine_cmd::printable(&q.raw, 160)
                );
            }
        }
    }
    println!("\ntotal: {read} read = {landed} mapped + {quarantined} quarantined");
    if args.strict && quarantined > 0 {
        bail!("{quarantined} row(s) would be quarantined");
    }
    Ok(())
}
