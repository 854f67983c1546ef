//! The pipeline subcommands: gen, ingest, resolve, eval and serve.

use std::net::SocketAddr;
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
    /// Directory the connectors' source paths are relative to (the generator's output).
    #[arg(long, default_value = "./marque-sources")]
    pub input: PathBuf,
    /// Directory of connector definitions; the embedded reference connectors when omitted.
    #[arg(long)]
    pub connectors: Option<PathBuf>,
    /// Run only these connectors (repeatable).
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
}

/// Ingests; fails (after landing what it can) when any batch failed.
pub async fn ingest(lake_root: &str, args: &IngestArgs) -> anyhow::Result<u64> {
    if !args.input.is_dir() {
        bail!("input directory {} does not exist", args.input.display());
    }
    let lake = Lake::open(lake_root)?;
    let defs = marque_connect::load_connectors(args.connectors.as_deref())?;
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
        let reports = marque_connect::ingest_connector(&lake, def, &opts).await?;
        if reports.is_empty() {
            println!("{:<14} no input files match {}", def.name, def.source.path);
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
    let lake = Lake::open(lake_root)?;
    let summary =
        marque_identity::resolve(&lake, &marque_identity::ResolveOptions::default()).await?;
    println!("{summary}");
    Ok(())
}

#[derive(Args)]
pub struct EvalArgs {
    /// The generator's output directory (holding truth/mentions.csv).
    #[arg(long)]
    pub truth: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
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

pub async fn eval(lake_root: &str, args: &EvalArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let report = evaluate(lake_root, &args.truth).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
        println!("evaluated in {:.1}s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback unless you mean otherwise).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
}

pub async fn open_engine(lake_root: &str) -> anyhow::Result<Engine> {
    let opts = EngineOptions {
        views_dir: crate::default_views_dir(),
        ..Default::default()
    };
    Ok(Engine::open(Lake::open(lake_root)?, opts).await?)
}

pub async fn serve(lake_root: &str, args: &ServeArgs) -> anyhow::Result<()> {
    let engine = open_engine(lake_root).await?;
    let cfg = marque_server::ServerConfig {
        addr: args.addr,
        ..Default::default()
    };
    println!("serving the lake at {lake_root} on http://{}", args.addr);
    marque_server::serve(engine, cfg).await?;
    Ok(())
}
