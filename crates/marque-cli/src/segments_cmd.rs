//! `marque segments`: list, show, query and snapshot the named segments of `sql/segments/`, and
//! refresh their materialised membership (lake table `segment_members`, what the service reads).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use clap::{Args, Subcommand};
use marque_engine::Engine;
use marque_lake::Lake;

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
    /// List the segments with their member counts and descriptions. Counts come from the lake
    /// table segment_members (what `marque segments refresh` wrote and `marque serve` serves),
    /// with its state: current, stale (a resolution or CLV run committed since the refresh) or
    /// missing (never refreshed). No definition runs, so it answers in seconds on any lake.
    List {
        /// Run every segment definition now for exact live counts instead of reading
        /// segment_members (slow on a large lake: minutes at a million customers).
        #[arg(long)]
        live: bool,
    },
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
    /// Compute every segment once and overwrite the lake table segment_members (segment,
    /// customer_id, as_of_date, computed_at, resolution_version, table_versions) in one commit,
    /// and customer_lifecycle (each customer's lifecycle stage and the dates behind it, from the
    /// same computation).
    /// Run it after `marque resolve` (and `marque clv`): `marque serve` takes profile segments
    /// and segment members from this table and reports it as stale when the resolution moved
    /// on. The shared views (events, vehicle_ownership, vehicles, lifecycle, ltv) are computed
    /// once into Parquet in a scratch directory, then every segment runs on those files. A
    /// segment that fails is left out of the table and makes the command exit non-zero.
    Refresh {
        /// Directory for the intermediate Parquet files, removed afterwards (needs room for
        /// the events of the lake) [default: the system temporary directory].
        #[arg(long, value_name = "DIR")]
        scratch: Option<PathBuf>,
        /// Memory pool for the queries in MiB (sorts and aggregations spill to the scratch
        /// disk beyond it) [default: unbounded].
        #[arg(long, value_name = "MIB")]
        memory_limit_mb: Option<usize>,
        /// Longest any one stage or segment query may run, in seconds.
        #[arg(long, default_value_t = 3600, value_name = "SECS")]
        timeout_secs: u64,
    },
}

pub async fn run(lake_root: &str, args: &SegmentsArgs) -> anyhow::Result<()> {
    if let SegmentsCommand::Refresh {
        scratch,
        memory_limit_mb,
        timeout_secs,
    } = &args.command
    {
        return refresh_lake(
            lake_root,
            &args.session,
            scratch.as_deref(),
            *memory_limit_mb,
            Duration::from_secs(*timeout_secs),
        )
        .await;
    }
    let engine = args.session.open(lake_root).await?;
    match &args.command {
        SegmentsCommand::List { live: true } => {
            println!("{:<24} {:>9}  description", "segment", "members");
            for s in engine.segments() {
                let members = engine.segment_members(&s.name).await?.len();
                println!("{:<24} {:>9}  {}", s.name, members, short(&s.description));
            }
            skipped(&engine);
        }
        SegmentsCommand::List { live: false } => list_stored(&engine).await?,
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
        SegmentsCommand::Refresh { .. } => unreachable!("handled above"),
    }
    Ok(())
}

/// A description cut to 100 characters.
fn short(description: &str) -> String {
    if description.chars().count() > 100 {
        description.chars().take(97).collect::<String>() + "..."
    } else {
        description.to_string()
    }
}

/// Notes the segments and views this lake cannot plan.
fn skipped(engine: &Engine) {
    for (name, reason) in engine.skipped_views() {
        println!("(not available on this lake: {name}: {reason})");
    }
}

/// `marque segments list`: the definitions with their member counts from `segment_members`.
async fn list_stored(engine: &Engine) -> anyhow::Result<()> {
    use marque_engine::segments::StoredState;
    let stored = engine.stored_segments().await?;
    let when = stored
        .computed_at
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| "-".into());
    match stored.state {
        StoredState::Current => println!(
            "segment_members: current (computed {when} for as-of {})",
            stored.as_of_date.as_deref().unwrap_or("-")
        ),
        StoredState::Stale => println!(
            "segment_members: STALE (computed {when} from other versions of {}): run `marque \
             segments refresh`",
            stored.stale_tables.join(", ")
        ),
        StoredState::Missing => println!(
            "segment_members: missing (never refreshed): run `marque segments refresh`, or \
             `marque segments list --live` to run the definitions"
        ),
    }
    println!("{:<24} {:>9}  description", "segment", "members");
    let defined = engine.segments();
    for s in &defined {
        let members = stored
            .counts
            .get(&s.name)
            .map_or_else(|| "-".to_string(), usize::to_string);
        println!("{:<24} {:>9}  {}", s.name, members, short(&s.description));
    }
    // Segments the table holds that no definition on this lake names any more.
    for (name, n) in &stored.counts {
        if !defined.iter().any(|s| &s.name == name) {
            println!("{name:<24} {n:>9}  (in segment_members; no such definition now)");
        }
    }
    if stored.state != StoredState::Missing
        && defined.iter().any(|s| !stored.counts.contains_key(&s.name))
    {
        println!("(-: not in segment_members: the segment failed or is newer than the refresh)");
    }
    skipped(engine);
    Ok(())
}

/// `marque segments refresh` on the lake at `lake_root` (also run by `marque schedule` after a
/// resolve): scratch files under `scratch` (default: the system temporary directory), an
/// optional memory pool in MiB, `timeout` per stage.
pub async fn refresh_lake(
    lake_root: &str,
    session: &SessionArgs,
    scratch: Option<&std::path::Path>,
    memory_limit_mb: Option<usize>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let opts = marque_engine::EngineOptions {
        memory_limit: memory_limit_mb.map(|m| m.saturating_mul(1024 * 1024)),
        query_timeout: Some(timeout),
        ..session.options()?
    };
    let engine = Engine::open(Lake::open(lake_root)?, opts).await?;
    let scratch = scratch.map_or_else(std::env::temp_dir, std::path::Path::to_path_buf);
    refresh(&engine, &scratch).await
}

/// `marque segments refresh`: materialise every segment into `segment_members`.
async fn refresh(engine: &Engine, scratch: &std::path::Path) -> anyhow::Result<()> {
    if engine.segments().is_empty() {
        bail!(
            "no segment to refresh: no sql/segments directory, or none of its segments plans on \
             this lake (see `marque segments list`)"
        );
    }
    let done = engine.refresh_segment_members(None, scratch).await?;
    for (name, rows, secs) in &done.stages {
        println!("shared view {name:<20} {rows:>11} rows  {secs:>8.1} s");
    }
    if let Some(rows) = done.lifecycle_rows {
        println!("customer_lifecycle: {rows} customers");
    }
    for s in &done.segments {
        match (&s.members, &s.error) {
            (Some(n), _) => println!("segment {:<24} {n:>9} members  {:>8.1} s", s.name, s.secs),
            (None, e) => println!(
                "segment {:<24} FAILED: {}",
                s.name,
                e.as_deref().unwrap_or("unknown error")
            ),
        }
    }
    println!(
        "segment_members version {} (as of {}, resolution: customer_map version {})",
        done.lake_version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "- (nothing written)".into()),
        done.as_of_date
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        done.table_versions
            .get("customer_map")
            .map(|v| v.to_string())
            .unwrap_or_else(|| "-".into()),
    );
    let failures = done.failures();
    if !failures.is_empty() {
        bail!(
            "{} segment(s) failed and are missing from segment_members: {}",
            failures.len(),
            failures
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}
