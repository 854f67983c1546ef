//! `marque schedule`: run connector jobs, and the resolution with its segment refresh, on the
//! cron schedules of marque.toml.
//!
//! Besides the connector jobs (`[[schedule.job]]`, see `marque_connect::schedule`), an optional
//! `[schedule.resolve]` table runs `marque resolve` on its own cron and, after each resolve that
//! succeeded, `marque segments refresh` when the materialised segment membership is not
//! current any more, so that `marque serve` never goes on serving segments of an old
//! resolution:
//!
//! ```toml
//! [schedule.resolve]
//! cron = "30 * * * *"        # UTC, as for connector jobs
//! full = false               # optional: re-resolve everything (`marque resolve --full`)
//! refresh_segments = true    # optional, default true
//! scratch = "/var/tmp"       # optional: scratch dir of the refresh (default: system temp dir)
//! views = "sql/views"        # optional: view files of the refresh (default: ./sql/views)
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use marque_connect::schedule::{Cron, ScheduleConfig, run_job};
use marque_lake::Lake;
use serde::Deserialize;

use crate::resolve_cmd::ResolveArgs;
use crate::sql_cmd::SessionArgs;

/// The name `--only` gives the resolve job.
const RESOLVE_JOB: &str = "resolve";

/// `[schedule.resolve]`: resolve on a cron, then refresh the segments.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolveJob {
    cron: String,
    #[serde(default)]
    full: bool,
    #[serde(default = "default_true")]
    refresh_segments: bool,
    #[serde(default)]
    scratch: Option<PathBuf>,
    #[serde(default)]
    views: Option<PathBuf>,
}

fn default_true() -> bool {
    true
}

/// Splits `[schedule.resolve]` off the config text: the resolve job, and the text left for
/// the connector schedule.
fn split_resolve(text: &str, path: &Path) -> anyhow::Result<(Option<ResolveJob>, String)> {
    let mut doc: toml::Table =
        toml::from_str(text).with_context(|| format!("reading {}", path.display()))?;
    let Some(toml::Value::Table(schedule)) = doc.get_mut("schedule") else {
        return Ok((None, text.to_string()));
    };
    let Some(resolve) = schedule.remove(RESOLVE_JOB) else {
        return Ok((None, text.to_string()));
    };
    let job: ResolveJob = resolve
        .try_into()
        .with_context(|| format!("{}: [schedule.resolve]", path.display()))?;
    Cron::parse(&job.cron).map_err(|e| {
        anyhow::anyhow!(
            "{}: [schedule.resolve] cron {:?}: {e}",
            path.display(),
            job.cron
        )
    })?;
    let rest = toml::to_string(&doc).context("re-writing the schedule section")?;
    Ok((Some(job), rest))
}

/// Resolves, then refreshes the segments when they are not current any more; `config` is the
/// file holding `[identity]` too.
async fn run_resolve(lake_root: &str, job: &ResolveJob, config: &Path) -> anyhow::Result<()> {
    let args = ResolveArgs {
        full: job.full,
        config: Some(config.to_path_buf()),
        ..Default::default()
    };
    crate::resolve_cmd::run(lake_root, &args)
        .await
        .context("resolve")?;
    if !job.refresh_segments {
        return Ok(());
    }
    let session = SessionArgs {
        views: job.views.clone(),
        ..Default::default()
    };
    let engine = session.open(lake_root).await?;
    if engine.segments().is_empty() {
        println!("{RESOLVE_JOB:<14} no segment definitions: nothing to refresh");
        return Ok(());
    }
    let stored = engine.stored_segments().await?;
    if stored.state == marque_engine::segments::StoredState::Current {
        println!("{RESOLVE_JOB:<14} segment_members current: no refresh needed");
        return Ok(());
    }
    println!(
        "{RESOLVE_JOB:<14} segment_members {}: refreshing the segments",
        stored.state.as_str()
    );
    crate::segments_cmd::refresh_lake(
        lake_root,
        &session,
        job.scratch.as_deref(),
        None,
        Duration::from_secs(3600),
    )
    .await
    .context("segments refresh")
}

/// Runs the resolve job and prints how it went; `false` when it failed.
async fn resolve_and_report(lake_root: &str, job: &ResolveJob, config: &Path) -> bool {
    match run_resolve(lake_root, job, config).await {
        Ok(()) => {
            println!("{RESOLVE_JOB:<14} ok");
            true
        }
        Err(e) => {
            println!("{RESOLVE_JOB:<14} FAILED: {e:#}");
            false
        }
    }
}

#[derive(Args)]
pub struct ScheduleArgs {
    /// The configuration file holding the `[schedule]` section (see README, "Scheduling").
    #[arg(long, default_value = "marque.toml")]
    config: PathBuf,
    /// Run every job once now, then exit (non-zero when a job failed after its retries).
    #[arg(long)]
    once: bool,
    /// Run only these connectors' jobs (repeatable); `resolve` names the resolve job of
    /// `[schedule.resolve]` (resolve, then `segments refresh` when the segments are stale).
    #[arg(long = "only", value_name = "CONNECTOR")]
    only: Vec<String>,
}

pub async fn run(lake_root: &str, args: &ScheduleArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let (resolve, text) = split_resolve(&text, &args.config)?;
    let Some(cfg) = ScheduleConfig::from_toml_str(&text, &args.config)? else {
        bail!("{} has no [schedule] section", args.config.display());
    };
    let resolve =
        resolve.filter(|_| args.only.is_empty() || args.only.iter().any(|o| o == RESOLVE_JOB));
    let defs = marque_connect::load_connectors(cfg.connectors.as_deref())?;
    let mut jobs = Vec::new();
    for job in cfg
        .jobs
        .iter()
        .filter(|j| args.only.is_empty() || args.only.contains(&j.connector))
    {
        let Some(def) = defs.iter().find(|d| d.name == job.connector) else {
            bail!("job for unknown connector {:?}", job.connector);
        };
        let cron = Cron::parse(&job.cron).map_err(|e| anyhow::anyhow!("{}: {e}", job.cron))?;
        jobs.push((job, def, cron));
    }
    if jobs.is_empty() && resolve.is_none() {
        bail!("no jobs to run");
    }
    let lake = Lake::open(lake_root)?;
    if args.once {
        let mut failed = 0;
        for (job, def, _) in &jobs {
            let now = chrono::Utc::now().to_rfc3339();
            let r = run_job(&lake, def, job, &cfg.input, &now).await?;
            report(&r);
            failed += usize::from(r.error.is_some());
        }
        // After the ingests, so that the resolution sees what they landed.
        if let Some(job) = &resolve {
            failed += usize::from(!resolve_and_report(lake_root, job, &args.config).await);
        }
        if failed > 0 {
            bail!("{failed} job(s) failed; see the schedule_runs table");
        }
        return Ok(());
    }
    println!(
        "scheduling {} job(s) (times in UTC); Ctrl-C or SIGTERM stops after the running job",
        jobs.len() + usize::from(resolve.is_some())
    );
    let mut stop = stop_signal()?;
    // The resolve job, when configured, is the last entry.
    let resolve_cron = match &resolve {
        Some(job) => {
            Some(Cron::parse(&job.cron).map_err(|e| anyhow::anyhow!("{}: {e}", job.cron))?)
        }
        None => None,
    };
    let mut next: Vec<_> = jobs
        .iter()
        .map(|(_, _, c)| c)
        .chain(resolve_cron.iter())
        .map(|c| c.next_after(chrono::Utc::now()))
        .collect();
    loop {
        let Some((i, when)) = next
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .min_by_key(|(_, t)| *t)
        else {
            bail!("no job has a next run time");
        };
        let wait = (when - chrono::Utc::now()).to_std().unwrap_or_default();
        let name = jobs.get(i).map_or(RESOLVE_JOB, |j| j.1.name.as_str());
        println!("next: {name} at {when}");
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {
                println!("stopped");
                return Ok(());
            }
        }
        let cron = match (jobs.get(i), &resolve, &resolve_cron) {
            (Some((job, def, cron)), _, _) => {
                match run_job(&lake, def, job, &cfg.input, &when.to_rfc3339()).await {
                    Ok(r) => report(&r),
                    // A lake error (e.g. the store unreachable) is logged; the schedule goes on.
                    Err(e) => eprintln!("{}: {e}", def.name),
                }
                cron
            }
            (None, Some(job), Some(cron)) => {
                // A failed resolve is reported; the next run tries again.
                resolve_and_report(lake_root, job, &args.config).await;
                cron
            }
            _ => bail!("internal error: job {i} does not exist"),
        };
        next[i] = cron.next_after(chrono::Utc::now().max(when));
        if *stop.borrow() {
            println!("stopped");
            return Ok(());
        }
    }
}

/// Becomes `true` on Ctrl-C (SIGINT) or SIGTERM. A job that is running finishes first, so its
/// connector's lock is released and the stop is clean (a kill -9 is safe too: batches land
/// exactly once and the lock's lease expires).
fn stop_signal() -> anyhow::Result<tokio::sync::watch::Receiver<bool>> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("listening for SIGTERM")?;
    tokio::spawn(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        let _ = tx.send(true);
    });
    Ok(rx)
}

fn report(r: &marque_connect::schedule::JobRun) {
    match &r.error {
        None => println!(
            "{:<14} ok: {} batch(es), {} rows landed ({} attempt(s))",
            r.connector, r.batches_landed, r.rows_landed, r.attempts
        ),
        Some(e) => println!(
            "{:<14} FAILED after {} attempt(s): {e}",
            r.connector, r.attempts
        ),
    }
}
