//! `marque clv`: fit BG/NBD + Gamma-Gamma lifetime-value models and score customers (issue 5).

use clap::Args;

#[derive(Args)]
pub struct ClvArgs {}

pub async fn run(_lake_root: &str, _args: &ClvArgs) -> anyhow::Result<()> {
    anyhow::bail!("`marque clv` is not built yet")
}
