//! `marque schedule`: run connector jobs on cron schedules from marque.toml (issue 3).

use clap::Args;

#[derive(Args)]
pub struct ScheduleArgs {}

pub async fn run(_lake_root: &str, _args: &ScheduleArgs) -> anyhow::Result<()> {
    anyhow::bail!("`marque schedule` is not built yet")
}
