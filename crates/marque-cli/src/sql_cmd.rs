//! `marque sql`: run a read-only query against the lake and print or write the result; with no
//! query, an interactive prompt (history, `\d` to list and describe tables and views).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use marque_engine::{Engine, EngineOptions, OutputFormat};
use marque_lake::Lake;

/// How the engine is opened: which day "as of", which table versions.
#[derive(Args, Clone, Default)]
pub struct SessionArgs {
    /// Compute date-dependent views (lifecycle, segments, ltv…) as of this day (YYYY-MM-DD)
    /// instead of today.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Read TABLE at Delta VERSION instead of its latest version, for reproducible results
    /// (repeatable, e.g. `--table-version customers=3`).
    #[arg(long = "table-version", value_name = "TABLE=VERSION")]
    pub table_versions: Vec<String>,
    /// Directory of view files (default: sql/views when it exists).
    #[arg(long, value_name = "DIR")]
    pub views: Option<PathBuf>,
}

impl SessionArgs {
    /// The engine options these arguments describe.
    pub fn options(&self) -> anyhow::Result<EngineOptions> {
        let as_of = match &self.as_of {
            Some(d) => Some(
                marque_engine::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                    .with_context(|| format!("--as-of {d:?}: expected a date YYYY-MM-DD"))?,
            ),
            None => None,
        };
        let mut table_versions = BTreeMap::new();
        for tv in &self.table_versions {
            let Some((table, version)) = tv.split_once('=') else {
                bail!("--table-version {tv:?}: expected TABLE=VERSION");
            };
            let version: i64 = version
                .trim()
                .parse()
                .with_context(|| format!("--table-version {tv:?}: version is not a number"))?;
            table_versions.insert(table.trim().to_string(), version);
        }
        Ok(EngineOptions {
            views_dir: self.views.clone().or_else(crate::default_views_dir),
            as_of,
            table_versions,
            ..Default::default()
        })
    }

    /// Opens the engine on the lake at `lake_root`.
    pub async fn open(&self, lake_root: &str) -> anyhow::Result<Engine> {
        let engine = Engine::open(Lake::open(lake_root)?, self.options()?).await?;
        for (name, reason) in engine.skipped_views() {
            tracing::info!(view = %name, %reason, "view or segment not available on this lake");
        }
        Ok(engine)
    }
}

/// Output options shared by `marque sql` and `marque segments members`.
#[derive(Args, Clone)]
pub struct OutputArgs {
    /// Output format: table (aligned, for people), csv, json (one array), ndjson (one object a
    /// line) or parquet (needs --output).
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    pub format: String,
    /// Write the result to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Runs `sql` on `engine` and writes the result as asked.
    pub async fn run_query(&self, engine: &Engine, sql: &str) -> anyhow::Result<()> {
        let format: OutputFormat = self.format.parse()?;
        if format == OutputFormat::Parquet && self.output.is_none() {
            bail!("--format parquet writes a binary file: give it --output FILE");
        }
        let (schema, batches) = engine.sql(sql).await?;
        match &self.output {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?;
                marque_engine::write_batches(
                    format,
                    &schema,
                    &batches,
                    std::io::BufWriter::new(file),
                )
                .with_context(|| format!("writing {}", path.display()))?;
                let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
                eprintln!("{rows} row(s) written to {}", path.display());
            }
            None => {
                let stdout = std::io::BufWriter::new(std::io::stdout());
                marque_engine::write_batches(format, &schema, &batches, stdout)?;
            }
        }
        Ok(())
    }
}

#[derive(Args)]
pub struct SqlArgs {
    /// The query (read-only: DDL, DML and SET are refused). Without one, an interactive prompt
    /// opens: end statements with `;`, `\d` lists tables and views, `\d NAME` describes one,
    /// `\q` quits; history is kept in ~/.marque_history (or $MARQUE_HISTORY).
    pub query: Option<String>,
    #[command(flatten)]
    pub out: OutputArgs,
    #[command(flatten)]
    pub session: SessionArgs,
}

pub async fn run(lake_root: &str, args: &SqlArgs) -> anyhow::Result<()> {
    let engine = args.session.open(lake_root).await?;
    match &args.query {
        Some(q) => args.out.run_query(&engine, q).await,
        None => repl(&engine, &args.out).await,
    }
}

/// What `\d` prints: every table and view with its kind, or one relation's columns.
pub async fn describe(engine: &Engine, name: Option<&str>) -> anyhow::Result<String> {
    let mut out = String::new();
    match name {
        None => {
            let segments: Vec<String> = engine.segments().into_iter().map(|s| s.name).collect();
            out.push_str(&format!("{:<28} kind\n", "name"));
            for t in engine.tables() {
                out.push_str(&format!("{t:<28} table\n"));
            }
            for v in engine.views() {
                out.push_str(&format!("{v:<28} view\n"));
            }
            for s in segments {
                out.push_str(&format!("{s:<28} segment\n"));
            }
        }
        Some(name) => {
            let Some(df) = engine.table(name).await? else {
                bail!("no table, view or segment named {name:?} (\\d lists them)");
            };
            out.push_str(&format!("{:<28} {:<32} nullable\n", "column", "type"));
            for f in df.schema().fields() {
                out.push_str(&format!(
                    "{:<28} {:<32} {}\n",
                    f.name(),
                    f.data_type().to_string(),
                    f.is_nullable()
                ));
            }
        }
    }
    Ok(out)
}

fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MARQUE_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".marque_history"))
}

async fn repl(engine: &Engine, out: &OutputArgs) -> anyhow::Result<()> {
    use rustyline::error::ReadlineError;
    let mut editor = rustyline::DefaultEditor::new().context("opening the line editor")?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "marque sql on {} — end statements with ';', \\d lists tables and views, \\d NAME \
         describes one, \\q quits",
        engine.lake().root().url()
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "marque> "
        } else {
            "   ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("reading a line"),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('\\') {
            let _ = editor.add_history_entry(trimmed);
            let mut words = trimmed.split_whitespace();
            match (words.next(), words.next()) {
                (Some("\\q"), _) => break,
                (Some("\\d"), name) => match describe(engine, name).await {
                    Ok(text) => print!("{text}"),
                    Err(e) => eprintln!("error: {e:#}"),
                },
                _ => eprintln!("unknown command {trimmed:?}: \\d [NAME], \\q"),
            }
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(sql.trim());
        if let Err(e) = out
            .run_query(engine, sql.trim().trim_end_matches(';'))
            .await
        {
            eprintln!("error: {e:#}");
        }
        let _ = std::io::stdout().flush();
    }
    if let Some(h) = &history
        && let Err(e) = editor.save_history(h)
    {
        eprintln!("warning: could not save history to {}: {e}", h.display());
    }
    Ok(())
}
