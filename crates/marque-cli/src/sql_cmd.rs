//! `marque sql`: run a read-only query against the lake and print the result.

use clap::Args;

use crate::pipeline::open_engine;

#[derive(Args)]
pub struct SqlArgs {
    /// The query (read-only: DDL, DML and SET are refused).
    pub query: String,
}

pub async fn run(lake_root: &str, args: &SqlArgs) -> anyhow::Result<()> {
    let engine = open_engine(lake_root).await?;
    let (_, batches) = engine.sql(&args.query).await?;
    println!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
    Ok(())
}
