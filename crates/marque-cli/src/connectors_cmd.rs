//! `marque connectors`: list connector definitions and check one against a sample of its source
//! (local files, or objects of an `s3://` source read with the lake's S3 settings).

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use marque_connect::object_source;
use marque_connect::{ConnectorDef, Input, ReadOutcome};
use marque_lake::Lake;

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
    /// Directory the definition's `source.path` glob is relative to (not used by `s3://`
    /// sources, which are listed and read with the same AWS settings as the lake).
    #[arg(long, default_value = "./marque-sources")]
    input: PathBuf,
    /// How many mapped and how many quarantined rows to print.
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// How many matching input files or objects to sample (the first ones in path order).
    #[arg(long, default_value_t = 1)]
    files: usize,
    /// Fail (exit 1) when any sampled row would be quarantined.
    #[arg(long)]
    strict: bool,
}

pub async fn run(lake_root: &str, args: &ConnectorsArgs) -> anyhow::Result<()> {
    match &args.command {
        ConnectorsCommand::Check(a) => check(lake_root, a).await,
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

async fn check(lake_root: &str, args: &CheckArgs) -> anyhow::Result<()> {
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
    let outcomes = if object_source::is_object_url(&def.source.path) {
        sample_objects(lake_root, &def, args.files.max(1)).await?
    } else {
        sample_files(&def, args)?
    };
    let (mut read, mut landed, mut quarantined) = (0u64, 0u64, 0u64);
    for (rel, out) in &outcomes {
        read += out.rows_read;
        landed += out.rows_landed;
        quarantined += out.quarantined.len() as u64;
        print_outcome(rel, out, args.limit)?;
    }
    println!("\ntotal: {read} read = {landed} mapped + {quarantined} quarantined");
    if args.strict && quarantined > 0 {
        bail!("{quarantined} row(s) would be quarantined");
    }
    Ok(())
}

/// The first matching local files of `def`, each read whole.
fn sample_files(
    def: &ConnectorDef,
    args: &CheckArgs,
) -> anyhow::Result<Vec<(String, ReadOutcome)>> {
    let files = marque_connect::ingest::input_files(def, &args.input)
        .with_context(|| format!("listing the input of {}", def.name))?;
    if files.is_empty() {
        bail!(
            "no file under {} matches source.path {:?}",
            args.input.display(),
            def.source.path
        );
    }
    let mut outcomes = Vec::new();
    for (path, rel) in files.iter().take(args.files.max(1)) {
        outcomes.push((
            rel.clone(),
            marque_connect::read_file(def, path, rel, "check")?,
        ));
    }
    Ok(outcomes)
}

/// The first `files` objects matching an `s3://` source, each downloaded and read whole, with
/// the lake's S3 settings (its own store when the source is in the lake's bucket, else the AWS
/// variables). Nothing is written, and a local lake folder is not even created.
async fn sample_objects(
    lake_root: &str,
    def: &ConnectorDef,
    files: usize,
) -> anyhow::Result<Vec<(String, ReadOutcome)>> {
    let settings = if object_source::is_object_url(lake_root) {
        lake_root.to_string()
    } else {
        // `s3://bucket/`: the source's own bucket, with the settings from the environment.
        let parts: Vec<&str> = def.source.path.splitn(4, '/').take(3).collect();
        format!("{}/", parts.join("/"))
    };
    let lake = Lake::open(&settings)?;
    let objects = object_source::list(&lake, def)
        .await
        .with_context(|| format!("listing {}", def.source.path))?;
    if objects.is_empty() {
        bail!("no object matches source.path {:?}", def.source.path);
    }
    let mut outcomes = Vec::new();
    for object in objects.into_iter().take(files) {
        let handle = tokio::runtime::Handle::current();
        let def = def.clone();
        let url = object.url.clone();
        let out = tokio::task::spawn_blocking(move || {
            let input = Input::Reader(Box::new(object_source::blocking_reader(handle, &object)?));
            marque_connect::read_input(&def, input, &object.url, "check")
        })
        .await
        .context("the object reader stopped")?
        .with_context(|| format!("reading {url}"))?;
        outcomes.push((url, out));
    }
    Ok(outcomes)
}

/// Prints what one sampled input would land and quarantine.
fn print_outcome(rel: &str, out: &ReadOutcome, limit: usize) -> anyhow::Result<()> {
    println!(
        "\n{rel}: {} rows read, {} would land, {} would be quarantined",
        out.rows_read,
        out.rows_landed,
        out.quarantined.len()
    );
    let mut left = limit;
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
        println!("mapped rows (first {limit}):");
        println!("{}", arrow::util::pretty::pretty_format_batches(&sample)?);
    }
    if !out.quarantined.is_empty() {
        println!("rows that would be quarantined (first {limit}):");
        for q in out.quarantined.iter().take(limit) {
            println!(
                "  line {} (byte {}): {}\n    raw: {}",
                q.line,
                q.byte_offset,
                q.reason,
                crate::quarantine_cmd::printable(&q.raw, 160)
            );
        }
    }
    Ok(())
}
