//! `marque segments`: list, show, query and snapshot the named segments of `sql/segments/`.

use clap::{Args, Subcommand};

use crate::sql_cmd::{OutputArgs, SessionArgs};

#[derive(Args)]
pub struct SegmentsArgs {
    #[command(subcommand)]
    pub command: SegmentsCommand,
    #[command(flatten)]
    pub session: SessionArgs,
}

#[derive(Subcommand)]
pub enum SegmentsCommand {
    /// List the segments with their member counts and descriptions.
    List,
    /// Print a segment's description and SQL.
    Show {
        /// The segment (a file name in sql/segments without .sql).
        name: String,
    },
    /// Print a segment's members with the columns that explain them.
    Members {
        /// The segment.
        name: String,
        /// Print only the distinct customer ids, one a line.
        #[arg(long)]
        ids_only: bool,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Materialise a segment's members into the lake table segment_snapshots (with the table
    /// versions and as-of date used) so the audience can be reproduced later.
    Snapshot {
        /// The segment.
        name: String,
    },
}

pub async fn run(lake_root: &str, args: &SegmentsArgs) -> anyhow::Result<()> {
    let engine = args.session.open(lake_root).await?;
    match &args.command {
        SegmentsCommand::List => {
            println!("{:<24} {:>9}  description", "segment", "members");
            for s in engine.segments() {
                let members = engine.segment_members(&s.name).await?.len();
                let mut description = s.description.clone();
                if description.chars().count() > 100 {
                    description = description.chars().take(97).collect::<String>() + "...";
                }
                println!("{:<24} {:>9}  {}", s.name, members, description);
            }
            for (name, reason) in engine.skipped_views() {
                println!("(not available on this lake: {name}: {reason})");
            }
        }
        SegmentsCommand::Show { name } => {
            let s = engine.segment(name)?;
            println!("{}", s.sql.trim_end());
        }
        SegmentsCommand::Members {
            name,
            ids_only,
            out,
        } => {
            let s = engine.segment(name)?;
            let sql = if *ids_only {
                format!(
                    "SELECT DISTINCT customer_id FROM {} WHERE customer_id IS NOT NULL \
                     ORDER BY customer_id",
                    s.name
                )
            } else {
                format!("SELECT * FROM {} ORDER BY customer_id", s.name)
            };
            out.run_query(&engine, &sql).await?;
        }
        SegmentsCommand::Snapshot { name } => {
            let snap = engine.snapshot_segment(name).await?;
            println!(
                "snapshot {} of segment {}: {} member(s), lake table versions {}; \
                 segment_snapshots version {}",
                snap.snapshot_id,
                snap.segment,
                snap.members,
                snap.table_versions,
                snap.lake_version
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        }
    }
    Ok(())
}
