//! `marque lake`: lake maintenance: optimize (compact small files) and vacuum.

use anyhow::bail;
use clap::{Args, Subcommand};
use marque_lake::Lake;

#[derive(Args)]
pub struct LakeArgs {
    #[command(subcommand)]
    command: LakeCommand,
}

#[derive(Subcommand)]
enum LakeCommand {
    /// Compact each table's small files (one per ingest batch) into files of about
    /// --target-mb. Rows, batch ids and older versions are kept.
    Optimize {
        /// Only this table (default: every table).
        table: Option<String>,
        /// Target file size in MiB.
        #[arg(long, default_value_t = 128)]
        target_mb: u64,
    },
    /// Delete files no version younger than --retention-hours references (after optimize,
    /// overwrites and deletes). Takes the lake-maintenance lock.
    Vacuum {
        /// Only this table (default: every table).
        table: Option<String>,
        /// Keep files that versions of the last N hours still use (Delta's default is 168).
        #[arg(long, default_value_t = 168)]
        retention_hours: u64,
        /// Print how many files would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List the lake's tables.
    Tables,
}

pub async fn run(lake_root: &str, args: &LakeArgs) -> anyhow::Result<()> {
    let lake = Lake::open(lake_root)?;
    let tables = |one: &Option<String>| {
        let lake = lake.clone();
        let one = one.clone();
        async move {
            let all = lake.list_tables().await?;
            match one {
                Some(t) if !all.contains(&t) => bail!("the lake has no table {t:?}"),
                Some(t) => Ok(vec![t]),
                None => Ok(all),
            }
        }
    };
    match &args.command {
        LakeCommand::Optimize { table, target_mb } => {
            let _lock = lake.lock("lake_maintenance").await?;
            for t in tables(table).await? {
                let s = lake
                    .optimize(&t, Some(target_mb.saturating_mul(1024 * 1024)))
                    .await?;
                match s.version {
                    Some(v) => println!(
                        "{t:<24} {} files compacted into {} (version {v})",
                        s.files_removed, s.files_added
                    ),
                    None => println!("{t:<24} already compact"),
                }
            }
        }
        LakeCommand::Vacuum {
            table,
            retention_hours,
            dry_run,
        } => {
            let _lock = lake.lock("lake_maintenance").await?;
            for t in tables(table).await? {
                let s = lake.vacuum(&t, *retention_hours, *dry_run).await?;
                let verb = if *dry_run { "would delete" } else { "deleted" };
                println!("{t:<24} {verb} {} file(s)", s.files_deleted);
            }
        }
        LakeCommand::Tables => {
            for t in lake.list_tables().await? {
                println!("{t}");
            }
        }
    }
    Ok(())
}
