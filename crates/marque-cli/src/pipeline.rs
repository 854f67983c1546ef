//! The pipeline subcommands: gen, ingest, resolve and eval (serve is in `serve_cmd`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use marque_connect::ingest::BatchStatus;
use marque_engine::{Engine, EngineOptions};
use marque_lake::Lake;

#[derive(Args)]
pub struct GenArgs {
    /// Number of persons in the synthetic world.
    #[arg(long, default_value_t = 20_000)]
    pub persons: u64,
    /// Seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory.
    #[arg(long, default_value = "./marque-sources")]
    pub out: PathBuf,
    /// Override one dirt rate, e.g. `--dirt masked_phone=0.5` (repeatable; see --list-dirt).
    #[arg(long = "dirt", value_name = "NAME=RATE")]
    pub dirt: Vec<String>,
    /// TOML file of dirt rates (`name = rate` lines); --dirt flags override it.
    #[arg(long)]
    pub dirt_config: Option<PathBuf>,
    /// Print every dirt rate with its default and meaning, then exit.
    #[arg(long)]
    pub list_dirt: bool,
}

/// Runs the generator; returns the output directory.
pub fn generate(args: &GenArgs) -> anyhow::Result<PathBuf> {
    if args.list_dirt {
        for (name, default, meaning) in marque_gen::DirtRates::describe() {
            println!("{name:<28} {default:>6}  {meaning}");
        }
        return Ok(args.out.clone());
    }
    let mut dirt = match &args.dirt_config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            marque_gen::DirtRates::from_toml_str(&text)
                .with_context(|| format!("in {}", p.display()))?
        }
        None => marque_gen::DirtRates::default(),
    };
    for kv in &args.dirt {
        let Some((name, rate)) = kv.split_once('=') else {
            bail!("--dirt {kv:?}: expected NAME=RATE")
        };
        let rate: f64 = rate
            .trim()
            .parse()
            .with_context(|| format!("--dirt {kv:?}: rate is not a number"))?;
        dirt.set(name.trim(), rate)?;
    }
    let cfg = marque_gen::GenConfig {
        persons: args.persons,
        seed: args.seed,
        dirt,
        ..Default::default()
    };
    let started = Instant::now();
    let summary = marque_gen::generate(&cfg, &args.out)?;
    print!("{summary}");
    println!(
        "generated into {} in {:.1}s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(args.out.clone())
}

#[derive(Args)]
pub struct IngestArgs {
    /// Directory the connectors' source paths are relative to (the generator's output); not
    /// needed by `s3://` and Postgres sources.
    #[arg(long, default_value = "./marque-sources")]
    pub input: PathBuf,
    /// Directory of connector definitions; the embedded reference connectors when omitted.
    #[arg(long)]
    pub connectors: Option<PathBuf>,
    /// Run only these connectors (repeatable).
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
    /// No progress bars (the per-file summary lines are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

/// A progress bar per connector over its input bytes, with rows/s.
struct Bars {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    rows: u64,
}

impl Bars {
    fn new(quiet: bool, connector: &str) -> Self {
        let bar = (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:<14} [{bar:30}] {bytes}/{total_bytes} {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(connector.to_string());
            bar
        });
        Self {
            bar,
            started: Instant::now(),
            rows: 0,
        }
    }

    fn on(&mut self, p: marque_connect::Progress<'_>) {
        let Some(bar) = &self.bar else { return };
        match p {
            marque_connect::Progress::Planned { bytes, .. } => bar.set_length(bytes),
            marque_connect::Progress::Started { file, .. } => bar.set_message(file.to_string()),
            marque_connect::Progress::Finished { report, bytes } => {
                self.rows += report.rows_read;
                bar.inc(bytes);
                let secs = self.started.elapsed().as_secs_f64().max(1e-3);
                bar.set_message(format!(
                    "{} rows, {:.0} rows/s",
                    self.rows,
                    self.rows as f64 / secs
                ));
            }
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Ingests; fails (after landing what it can) when any batch failed.
pub async fn ingest(lake_root: &str, args: &IngestArgs) -> anyhow::Result<u64> {
    let defs = marque_connect::load_connectors(args.connectors.as_deref())?;
    let needs_dir = defs
        .iter()
        .filter(|d| args.only.is_empty() || args.only.contains(&d.name))
        .any(|d| {
            d.source.postgres.is_none()
                && !marque_connect::object_source::is_object_url(&d.source.path)
        });
    if needs_dir && !args.input.is_dir() {
        bail!("input directory {} does not exist", args.input.display());
    }
    let lake = Lake::open(lake_root)?;
    for name in &args.only {
        if !defs.iter().any(|d| &d.name == name) {
            bail!("no connector named {name:?}");
        }
    }
    let opts = marque_connect::IngestOptions {
        input_dir: args.input.clone(),
    };
    let (mut failed, mut landed) = (0, 0u64);
    for def in defs
        .iter()
        .filter(|d| args.only.is_empty() || args.only.contains(&d.name))
    {
        let mut bars = Bars::new(args.quiet, &def.name);
        let reports =
            marque_connect::ingest_connector_with(&lake, def, &opts, &mut |p| bars.on(p)).await;
        bars.finish();
        let reports = reports?;
        if reports.is_empty() {
            match &def.source.postgres {
                Some(_) => println!("{:<14} no new rows", def.name),
                None => println!("{:<14} no input files match {}", def.name, def.source.path),
            }
        }
        for r in reports {
            let status = match &r.status {
                BatchStatus::Landed => format!(
                    "landed {} of {} rows, {} quarantined, {:.1}s",
                    r.rows_landed,
                    r.rows_read,
                    r.rows_quarantined,
                    r.duration_ms as f64 / 1000.0
                ),
                BatchStatus::AlreadyLoaded => "already loaded, nothing to do".to_string(),
                BatchStatus::Failed(e) => {
                    failed += 1;
                    format!("FAILED: {e}")
                }
            };
            landed += r.rows_landed;
            println!("{:<14} {:<36} {}", r.connector, r.file, status);
        }
    }
    if failed > 0 {
        bail!("{failed} batch(es) failed; see ingest_batches");
    }
    Ok(landed)
}

pub async fn resolve(lake_root: &str) -> anyhow::Result<()> {
    crate::resolve_cmd::run(lake_root, &crate::resolve_cmd::ResolveArgs::default()).await
}

#[derive(Args)]
pub struct EvalArgs {
    /// The generator's output directory (holding truth/mentions.csv).
    #[arg(long)]
    pub truth: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Score this file instead of the lake's customer_map: Parquet or CSV (with a header) in
    /// the customer_map layout, string columns source, record_id, role and customer_id (other
    /// columns are ignored). For comparing another resolver's output against the same truth.
    #[arg(long, value_name = "FILE")]
    pub map: Option<PathBuf>,
}

/// Loads the truth and scores the lake's customer_map.
pub async fn evaluate(lake_root: &str, truth_dir: &Path) -> anyhow::Result<marque_eval::Report> {
    let lake = Lake::open(lake_root)?;
    let Some(batches) = lake.read("customer_map").await? else {
        bail!("the lake at {lake_root} has no customer_map; run `marque resolve` first");
    };
    let truth = marque_eval::Truth::load(truth_dir)?;
    Ok(marque_eval::evaluate_batches(&truth, &batches)?)
}

/// Loads the truth and scores a customer_map-layout file (see [`EvalArgs::map`]).
pub fn evaluate_map_file(truth_dir: &Path, map: &Path) -> anyhow::Result<marque_eval::Report> {
    let batches = read_map_file(map)?;
    let truth = marque_eval::Truth::load(truth_dir)?;
    marque_eval::evaluate_batches(&truth, &batches)
        .with_context(|| format!("scoring {}", map.display()))
}

/// Reads a Parquet file (recognised by its `PAR1` magic) or a CSV file with a header, every
/// CSV column read as text so record ids keep their leading zeros.
fn read_map_file(path: &Path) -> anyhow::Result<Vec<arrow::array::RecordBatch>> {
    use std::io::{Read, Seek};
    let context = || format!("reading the customer map {}", path.display());
    let mut file = std::fs::File::open(path).with_context(context)?;
    let mut magic = [0u8; 4];
    let is_parquet = file.read_exact(&mut magic).is_ok() && &magic == b"PAR1";
    file.rewind().with_context(context)?;
    if is_parquet {
        use marque_lake::deltalake::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .with_context(context)?
            .build()
            .with_context(context)?;
        return reader.collect::<Result<Vec<_>, _>>().with_context(context);
    }
    let format = arrow::csv::reader::Format::default().with_header(true);
    let (header, _) = format
        .infer_schema(&mut file, Some(0))
        .with_context(context)?;
    let fields: Vec<arrow::datatypes::Field> = header
        .fields()
        .iter()
        .map(|f| arrow::datatypes::Field::new(f.name(), arrow::datatypes::DataType::Utf8, true))
        .collect();
    file.rewind().with_context(context)?;
    let schema = std::sync::Arc::new(arrow::datatypes::Schema::new(fields));
    arrow::csv::ReaderBuilder::new(schema)
        .with_header(true)
        .build(file)
        .with_context(context)?
        .collect::<Result<Vec<_>, _>>()
        .with_context(context)
}

pub async fn eval(lake_root: &str, args: &EvalArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let report = match &args.map {
        Some(map) => evaluate_map_file(&args.truth, map)?,
        None => evaluate(lake_root, &args.truth).await?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
        println!("evaluated in {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

pub async fn open_engine(lake_root: &str) -> anyhow::Result<Engine> {
    let opts = EngineOptions {
        views_dir: crate::default_views_dir(),
        ..Default::default()
    };
    Ok(Engine::open(Lake::open(lake_root)?, opts).await?)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn truth_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("truth")).unwrap();
        std::fs::write(
            dir.path().join("truth/mentions.csv"),
            "source,record_id,role,person_id,broken\n\
             sales,007,buyer,P1,0\n\
             after_sales,RO-1,owner,P1,0\n\
             after_sales,RO-1,sender,P2,0\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn eval_map_scores_a_csv_keeping_leading_zeros_and_ignoring_extra_columns() {
        let dir = truth_dir();
        let map = dir.path().join("map.csv");
        std::fs::write(
            &map,
            "\"customer_id\",source,record_id,role,score\n\
             1,sales,007,buyer,0.9\n\
             1,after_sales,RO-1,owner,0.9\n\
             1,after_sales,RO-1,sender,0.9\n",
        )
        .unwrap();
        let report = evaluate_map_file(dir.path(), &map).unwrap();
        assert_eq!(report.coverage.scored, 3, "007 must not be read as 7");
        assert_eq!(report.coverage.unknown, 0);
        assert_eq!(report.bcubed.recall, 1.0);
        assert!(report.bcubed.precision < 0.6, "{}", report.bcubed.precision);
    }

    #[test]
    fn eval_map_scores_a_parquet_file() {
        use marque_lake::deltalake::parquet::arrow::ArrowWriter;
        let dir = truth_dir();
        let map = dir.path().join("map.out"); // recognised by content, not by name
        let col = |v: [&str; 3]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
        let fields = ["source", "record_id", "role", "customer_id"]
            .map(|n| Field::new(n, DataType::Utf8, false))
            .to_vec();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            vec![
                col(["sales", "after_sales", "after_sales"]),
                col(["007", "RO-1", "RO-1"]),
                col(["buyer", "owner", "sender"]),
                col(["A", "A", "B"]),
            ],
        )
        .unwrap();
        let file = std::fs::File::create(&map).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let report = evaluate_map_file(dir.path(), &map).unwrap();
        assert_eq!(report.coverage.scored, 3);
        assert_eq!(report.bcubed.f1, 1.0);
    }

    #[test]
    fn eval_map_names_the_file_it_cannot_read() {
        let dir = truth_dir();
        let missing = dir.path().join("nope.parquet");
        let e = evaluate_map_file(dir.path(), &missing).unwrap_err();
        assert!(format!("{e:#}").contains("nope.parquet"), "{e:#}");
        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "source,record_id\nsales,007\n").unwrap();
        let e = evaluate_map_file(dir.path(), &bad).unwrap_err();
        assert!(format!("{e:#}").contains("bad.csv"), "{e:#}");
    }
}
