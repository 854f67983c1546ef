//! `marque segments`: list, show and export named segments (issue 5).

use clap::Args;

#[derive(Args)]
pub struct SegmentsArgs {}

pub async fn run(_lake_root: &str, _args: &SegmentsArgs) -> anyhow::Result<()> {
    anyhow::bail!("`marque segments` is not built yet")
}
