//! `marque connectors`: validate connector definitions against a sample of their source (issue 3).

use clap::Args;

#[derive(Args)]
pub struct ConnectorsArgs {}

pub async fn run(_lake_root: &str, _args: &ConnectorsArgs) -> anyhow::Result<()> {
    anyhow::bail!("`marque connectors` is not built yet")
}
