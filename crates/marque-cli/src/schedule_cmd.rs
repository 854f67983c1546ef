//! `marque schedule`: run connector jobs on the cron schedules of marque.toml.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use marque_connect::schedule::{Cron, ScheduleConfig, run_job};
use marque_lake::Lake;

#[derive(Args)]
pub struct ScheduleArgs {
    /// The configuration file holding the `[schedule]` section (see README, "Scheduling").
    #[arg(long, default_value = "marque.toml")]
    config: PathBuf,
    /// Run every job once now, then exit (non-zero when a job failed after its retries).
    #[arg(long)]
    once: bool,
    /// Run only these connectors' jobs (repeatable).
    #[arg(long = "only", value_name = "CONNECTOR")]
    only: Vec<String>,
}

pub async fn run(lake_root: &str, args: &ScheduleArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("reading {}", args.config.display()))?;
    let Some(cfg) = ScheduleConfig::from_toml_str(&text, &args.config)? else {
        bail!("{} has no [schedule] section", args.config.display());
    };
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
    if jobs.is_empty() {
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
        if failed > 0 {
            bail!("{failed} job(s) failed; see the schedule_runs table");
        }
        return Ok(());
    }
    println!(
        "scheduling {} job(s) (times in UTC); Ctrl-C or SIGTERM stops after the running job",
        jobs.len()
    );
    let mut stop = stop_signal()?;
    let mut next: Vec<_> = jobs
        .iter()
        .map(|(_, _, c)| c.next_after(chrono::Utc::now()))
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
        println!("next: {} at {when}", jobs[i].1.name);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {
                println!("stopped");
                return Ok(());
            }
        }
        let (job, def, cron) = &jobs[i];
        match run_job(&lake, def, job, &cfg.input, &when.to_rfc3339()).await {
            Ok(r) => report(&r),
            // A lake error (e.g. the store unreachable) is logged; the schedule goes on.
            Err(e) => eprintln!("{}: {e}", def.name),
        }
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
