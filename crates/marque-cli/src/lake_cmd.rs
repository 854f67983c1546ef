//! `marque lake`: lake maintenance: optimize and vacuum (issue 3).

use clap::Args;

#[derive(Args)]
pub struct LakeArgs {}

pub async fn run(_lake_root: &str, _args: &LakeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`marque lake` is not built yet")
}
