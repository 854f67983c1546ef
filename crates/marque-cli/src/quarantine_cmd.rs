//! `marque quarantine`: list, show and replay quarantined rows (issue 3).

use clap::Args;

#[derive(Args)]
pub struct QuarantineArgs {}

pub async fn run(_lake_root: &str, _args: &QuarantineArgs) -> anyhow::Result<()> {
    anyhow::bail!("`marque quarantine` is not built yet")
}
