//! `marque quarantine`: list, show and replay the rows that could not land.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use marque_connect::replay::{self, QuarantineRecord};
use marque_lake::Lake;

#[derive(Args)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    command: QuarantineCommand,
}

#[derive(Subcommand)]
enum QuarantineCommand {
    /// List quarantined rows: id (`BATCH:LINE`), connector, file, line, status and reason.
    List {
        /// Only rows of this connector.
        #[arg(long)]
        connector: Option<String>,
        /// Include rows that a replay already landed.
        #[arg(long)]
        all: bool,
        /// Print at most this many rows (0: all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one quarantined row in full: position, reason and its raw bytes (text and hex).
    Show {
        /// The row id as `list` prints it: `BATCH_ID:LINE`.
        id: String,
    },
    /// Re-read the quarantined rows with the current connector definitions; land the rows that
    /// now map (exactly once) and mark them replayed. Rows that still fail stay quarantined and
    /// are printed with their current reason. Exits non-zero when any row still fails.
    Replay {
        /// Only this connector.
        #[arg(long)]
        connector: Option<String>,
        /// Directory of connector definitions; the embedded reference connectors when omitted.
        #[arg(long)]
        connectors: Option<PathBuf>,
    },
}

pub async fn run(lake_root: &str, args: &QuarantineArgs) -> anyhow::Result<()> {
    let lake = Lake::open(lake_root)?;
    match &args.command {
        QuarantineCommand::List {
            connector,
            all,
            limit,
        } => {
            let rows = replay::quarantined(&lake, connector.as_deref()).await?;
            let open = rows.iter().filter(|q| q.replayed_by.is_none()).count();
            println!("{} quarantined row(s), {} not replayed", rows.len(), open);
            let shown = rows
                .iter()
                .filter(|q| *all || q.replayed_by.is_none())
                .take(if *limit == 0 { usize::MAX } else { *limit });
            for q in shown {
                println!(
                    "{:<48} {:<14} {}:{} {:<9} {}",
                    q.id(),
                    q.connector,
                    q.file,
                    q.line,
                    if q.replayed_by.is_some() {
                        "replayed"
                    } else {
                        "open"
                    },
                    q.reason
                );
            }
            Ok(())
        }
        QuarantineCommand::Show { id } => {
            let rows = replay::quarantined(&lake, None).await?;
            let Some(q) = rows.iter().find(|q| &q.id() == id) else {
                bail!("no quarantined row {id:?}; `marque quarantine list` prints the ids");
            };
            show(q);
            Ok(())
        }
        QuarantineCommand::Replay {
            connector,
            connectors,
        } => {
            let defs = marque_connect::load_connectors(connectors.as_deref())?;
            if let Some(c) = connector
                && !defs.iter().any(|d| &d.name == c)
            {
                bail!("no connector named {c:?}");
            }
            let mut failing = 0;
            for def in defs
                .iter()
                .filter(|d| connector.as_ref().is_none_or(|c| c == &d.name))
            {
                let r = replay::replay(&lake, def).await?;
                if r.tried == 0 {
                    println!("{:<14} nothing to replay", r.connector);
                    continue;
                }
                if r.already_done {
                    println!(
                        "{:<14} replay {} already done, nothing to do",
                        r.connector, r.batch_id
                    );
                    continue;
                }
                println!(
                    "{:<14} replayed {} row(s): {} landed, {} still failing ({})",
                    r.connector,
                    r.tried,
                    r.landed,
                    r.still_failing.len(),
                    r.batch_id
                );
                for (id, reason) in &r.still_failing {
                    println!("  {id}: {reason}");
                }
                failing += r.still_failing.len();
            }
            if failing > 0 {
                bail!("{failing} row(s) still fail; fix the connector and replay again");
            }
            Ok(())
        }
    }
}

fn show(q: &QuarantineRecord) {
    println!("id:          {}", q.id());
    println!("connector:   {}", q.connector);
    println!("batch:       {}", q.batch_id);
    println!("file:        {}", q.file);
    println!("line:        {}", q.line);
    println!("byte offset: {}", q.byte_offset);
    println!("reason:      {}", q.reason);
    match &q.replayed_by {
        Some(by) => println!("status:      replayed by {by}"),
        None => println!("status:      open"),
    }
    println!(
        "raw ({} bytes): {}",
        q.raw.len(),
        printable(&q.raw, usize::MAX)
    );
    println!("hex:");
    for chunk in q.raw.chunks(32) {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        println!("  {}", hex.join(" "));
    }
}

/// The bytes as text, with invalid UTF-8 shown as `\xNN` escapes, cut at `max` characters.
pub fn printable(raw: &[u8], max: usize) -> String {
    let mut out = String::new();
    for chunk in raw.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02X}"));
        }
    }
    if out.chars().count() > max {
        out = out.chars().take(max).collect::<String>() + "…";
    }
    out.replace('\n', "\\n").replace('\r', "\\r")
}
