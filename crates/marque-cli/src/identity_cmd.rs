//! `marque identity`: identity model, overrides and explanations (issue 4).

use clap::Args;

#[derive(Args)]
pub struct IdentityArgs {}

pub async fn run(_lake_root: &str, _args: &IdentityArgs) -> anyhow::Result<()> {
    anyhow::bail!("`marque identity` is not built yet")
}
