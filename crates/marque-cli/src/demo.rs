//! `marque demo`: the whole product on the local lake, from synthetic exports to HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser};

use crate::pipeline;

#[derive(Args)]
pub struct DemoArgs {
    /// Persons in the synthetic world.
    #[arg(long, default_value_t = 20_000)]
    pub persons: u64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Address of the HTTP service.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Stop after the evaluation instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

/// `marque clv` options, parsed from fixed arguments so the demo uses the command's defaults.
#[derive(Parser)]
struct ClvOnly {
    #[command(flatten)]
    args: crate::clv_cmd::ClvArgs,
}

/// `marque segments` options, parsed the same way.
#[derive(Parser)]
struct SegmentsOnly {
    #[command(flatten)]
    args: crate::segments_cmd::SegmentsArgs,
}

pub async fn demo(lake: &str, args: &DemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    // Sources live beside the tables; a leading underscore keeps them from being read as one.
    let sources = PathBuf::from(lake).join("_sources");
    println!(
        "== 1/6 generating {} persons (seed {}) into {}",
        args.persons,
        args.seed,
        sources.display()
    );
    let gen_args = pipeline::GenArgs {
        persons: args.persons,
        seed: args.seed,
        out: sources.clone(),
        dirt: Vec::new(),
        dirt_config: None,
        list_dirt: false,
    };
    pipeline::generate(&gen_args)?;
    println!("\n== 2/6 ingesting into the lake at {lake}");
    let ingest_args = pipeline::IngestArgs {
        input: sources.clone(),
        connectors: None,
        only: Vec::new(),
        quiet: false,
    };
    pipeline::ingest(lake, &ingest_args).await?;
    println!("\n== 3/6 resolving identities");
    pipeline::resolve(lake).await?;
    println!("\n== 4/6 fitting lifetime-value models on service visits");
    let clv = ClvOnly::try_parse_from(["clv", "--from-lake", "--write-table"])?;
    crate::clv_cmd::run(lake, &clv.args).await?;
    println!("\n== 5/6 materialising segment members for the profiles");
    let segments = SegmentsOnly::try_parse_from(["segments", "refresh"])?;
    crate::segments_cmd::run(lake, &segments.args).await?;
    println!("\n== 6/6 scoring against the generator's ground truth");
    let report = pipeline::evaluate(lake, &sources).await?;
    print!("{report}");
    println!(
        "\ndemo pipeline finished in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if args.no_serve {
        return Ok(());
    }
    let example = example_customer(lake).await?;
    let url = format!("http://{}", args.addr);
    println!("\nMarque is serving the lake at {url} (ctrl-c to stop). Try:");
    println!("  curl -s {url}/v1/sql -d '{{\"sql\":\"SELECT count(*) AS n FROM customers\"}}'");
    println!(
        "  curl -s {url}/v1/sql -d '{{\"sql\":\"SELECT customer_id, name, city, sources, mention_count FROM customers ORDER BY mention_count DESC LIMIT 5\"}}'"
    );
    println!("  curl -s {url}/v1/profiles/{example}");
    crate::serve_cmd::run(lake, &crate::serve_cmd::ServeArgs::at(args.addr)).await
}

/// A customer seen in the most sources, to show a rich profile.
async fn example_customer(lake: &str) -> anyhow::Result<String> {
    use arrow::array::AsArray;
    let engine = pipeline::open_engine(lake).await?;
    let sql = "SELECT customer_id FROM customers ORDER BY length(sources) DESC, mention_count DESC, customer_id LIMIT 1";
    let (_, batches) = engine.sql(sql).await?;
    let col = batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| arrow::compute::cast(b.column(0), &arrow::datatypes::DataType::Utf8))
        .transpose()?;
    Ok(col
        .map(|c| c.as_string::<i32>().value(0).to_string())
        .unwrap_or_else(|| "UNKNOWN".into()))
}
