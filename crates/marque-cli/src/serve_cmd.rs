//! `marque serve`: the HTTP service over the lake, set up from a config file and flags.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use marque_engine::{Engine, EngineOptions};
use marque_lake::Lake;
use marque_server::{ServerConfig, ServerSection};

/// Serve profiles and SQL over HTTP.
///
/// Settings come from the `[server]` section of a config file (--config, else `$MARQUE_CONFIG`,
/// else `./marque.toml` when it exists), then from the flags below, which win. The section's
/// keys: addr, body_limit_bytes, max_rows, max_concurrent_queries, query_timeout_secs,
/// memory_limit_mb, refresh_interval_secs, segments_dir, audit, connectors_dir,
/// ingest_body_limit_bytes, tokens_file, and `[[server.tokens]]` entries (name, role =
/// service|analyst|admin, sha256 = hex SHA-256 of the token: `printf %s TOKEN | sha256sum`).
/// Relative paths in the file are relative to the file. With no token configured the service
/// runs in open mode (every caller is admin) and refuses to listen on a non-loopback address.
#[derive(Args, Debug, Default)]
#[command(after_help = CONFIG_HELP)]
pub struct ServeArgs {
    /// Config file with a `[server]` section. Default: $MARQUE_CONFIG, else ./marque.toml when
    /// present.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: the config's addr, else 127.0.0.1:8080]. Without tokens
    /// only loopback addresses are accepted.
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<SocketAddr>,
    /// Tokens file: `[[tokens]]` entries with name, role and sha256, as in `[[server.tokens]]`;
    /// added to the config file's tokens.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// Directory of segment definitions (`NAME.sql`) [default: the config's segments_dir, else
    /// ./sql/segments when present].
    #[arg(long, value_name = "DIR")]
    pub segments: Option<PathBuf>,
    /// SQL queries running at once; more are answered 429 [default: 8].
    #[arg(long, value_name = "N")]
    pub max_concurrent_queries: Option<usize>,
    /// Seconds a SQL query may run, 0 for no limit; slower ones are answered 504 [default: 300].
    #[arg(long, value_name = "SECS")]
    pub query_timeout: Option<u64>,
    /// Memory pool of the SQL engine in MiB; a query that needs more is answered 507
    /// [default: unbounded].
    #[arg(long, value_name = "MIB")]
    pub memory_limit_mb: Option<usize>,
    /// Most rows one SQL answer carries [default: no cap; answers are streamed].
    #[arg(long, value_name = "N")]
    pub max_rows: Option<usize>,
    /// Seconds between polls of the lake for new versions (a new resolution rebuilds the
    /// profile index), 0 to never poll [default: 5].
    #[arg(long, value_name = "SECS")]
    pub refresh_interval: Option<u64>,
    /// Don't write SQL queries and admin actions to the audit_log table.
    #[arg(long)]
    pub no_audit: bool,
    /// Print the settings in effect and exit without serving (checks the config and tokens).
    #[arg(long)]
    pub check: bool,
}

/// What `marque serve --help` says about the config file.
const CONFIG_HELP: &str = "\
Settings: the [server] section of --config FILE (else $MARQUE_CONFIG, else ./marque.toml), then \
the flags above, which win. Keys: addr, body_limit_bytes, max_rows, max_concurrent_queries, \
query_timeout_secs, memory_limit_mb, refresh_interval_secs, segments_dir, audit, connectors_dir, \
ingest_body_limit_bytes, tokens_file, and [[server.tokens]] entries: name, role \
(service|analyst|admin), sha256 (printf %s TOKEN | sha256sum). Paths in the file are relative \
to it. With no token the service is in open mode (every caller is admin), loopback only.";

impl ServeArgs {
    /// Serve on `addr` with everything else from the config file (`marque demo`).
    pub fn at(addr: SocketAddr) -> Self {
        Self {
            addr: Some(addr),
            ..Self::default()
        }
    }
}

/// The config file to read: `explicit`, else `$MARQUE_CONFIG` (`env`), else `./marque.toml`
/// when present. A named file that does not exist is an error.
fn config_path(explicit: Option<&Path>, env: Option<OsString>) -> anyhow::Result<Option<PathBuf>> {
    let named = explicit
        .map(|p| (p.to_path_buf(), "--config"))
        .or_else(|| env.map(|p| (PathBuf::from(p), "MARQUE_CONFIG")));
    if let Some((p, origin)) = named {
        if !p.is_file() {
            bail!("{origin} names {}, which is not a file", p.display());
        }
        return Ok(Some(p));
    }
    let p = PathBuf::from("marque.toml");
    Ok(p.is_file().then_some(p))
}

/// The settings in effect: the service's config, the SQL memory pool in bytes, and the config
/// file read.
struct Settings {
    server: ServerConfig,
    memory_limit: Option<usize>,
    file: Option<PathBuf>,
}

fn settings(args: &ServeArgs, env_config: Option<OsString>) -> anyhow::Result<Settings> {
    let segments = PathBuf::from("sql/segments");
    let mut server = ServerConfig {
        segments_dir: segments.is_dir().then_some(segments),
        ..Default::default()
    };
    let file = config_path(args.config.as_deref(), env_config)?;
    let mut memory_limit_mb = None;
    if let Some(path) = &file {
        let section = ServerSection::from_file(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        section.apply(&mut server, base)?;
        memory_limit_mb = section.memory_limit_mb;
    }
    // The flags, as a section applied over the file's (paths relative to the working dir).
    let flags = ServerSection {
        addr: args.addr,
        max_rows: args.max_rows,
        max_concurrent_queries: args.max_concurrent_queries,
        query_timeout_secs: args.query_timeout,
        memory_limit_mb: args.memory_limit_mb,
        refresh_interval_secs: args.refresh_interval,
        segments_dir: args.segments.clone(),
        audit: args.no_audit.then_some(false),
        tokens_file: args.tokens.clone(),
        ..Default::default()
    };
    flags
        .apply(&mut server, Path::new(""))
        .with_context(|| "in the flags of `marque serve`")?;
    Ok(Settings {
        server,
        memory_limit: args
            .memory_limit_mb
            .or(memory_limit_mb)
            .map(|mb| mb.saturating_mul(1024 * 1024)),
        file,
    })
}

/// A readable summary of `s`.
fn describe(s: &Settings) -> String {
    let c = &s.server;
    let tokens = if c.tokens.is_empty() {
        "none (open mode: every caller is admin, loopback only)".to_string()
    } else {
        c.tokens
            .iter()
            .map(|t| format!("{} ({})", t.name, t.role.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let secs = |d: Option<std::time::Duration>| match d {
        Some(d) => format!("{} s", d.as_secs()),
        None => "none".into(),
    };
    let path = |p: &Option<PathBuf>| match p {
        Some(p) => p.display().to_string(),
        None => "none".into(),
    };
    format!(
        "config file: {}\naddr: {}\ntokens: {tokens}\nmax concurrent queries: {}\nquery timeout: {}\n\
         SQL memory pool: {}\nmax rows per answer: {}\nrefresh interval: {}\nsegments: {}\n\
         audit log: {}\nbody limit: {} bytes (pushed events {} bytes)",
        path(&s.file),
        c.addr,
        c.max_concurrent_queries,
        secs(c.query_timeout),
        s.memory_limit
            .map_or("unbounded".into(), |b| format!("{} MiB", b / (1024 * 1024))),
        c.max_rows.map_or("no cap".into(), |n| n.to_string()),
        secs(c.refresh_interval),
        path(&c.segments_dir),
        if c.audit { "on" } else { "off" },
        c.body_limit,
        c.ingest_body_limit,
    )
}

/// Runs `marque serve` on the lake at `lake_root`.
pub async fn run(lake_root: &str, args: &ServeArgs) -> anyhow::Result<()> {
    let s = settings(args, std::env::var_os("MARQUE_CONFIG"))?;
    if args.check {
        println!("{}", describe(&s));
        if s.server.tokens.is_empty() && !s.server.addr.ip().is_loopback() {
            bail!(
                "{} is not a loopback address and no token is configured: add tokens",
                s.server.addr
            );
        }
        return Ok(());
    }
    if let Some(path) = &s.file {
        println!("server settings from {}", path.display());
    }
    let opts = EngineOptions {
        views_dir: crate::default_views_dir(),
        memory_limit: s.memory_limit,
        query_timeout: s.server.query_timeout,
        ..Default::default()
    };
    let engine = Engine::open(Lake::open(lake_root)?, opts).await?;
    let mode = if s.server.tokens.is_empty() {
        "open mode: no tokens configured, loopback only".to_string()
    } else {
        format!("{} token(s)", s.server.tokens.len())
    };
    println!(
        "serving the lake at {lake_root} on http://{} ({mode})",
        s.server.addr
    );
    marque_server::serve(engine, s.server).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;
    use marque_server::Role;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn parse(argv: &[&str]) -> ServeArgs {
        let mut all = vec!["serve"];
        all.extend_from_slice(argv);
        Cli::try_parse_from(all).unwrap().args
    }

    fn hash(token: &str) -> String {
        marque_server::auth::sha256_hex(token)
    }

    #[test]
    fn flags_override_the_config_file_and_add_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("marque.toml");
        std::fs::write(
            &config,
            format!(
                "[server]\naddr = \"127.0.0.1:9000\"\nmax_concurrent_queries = 3\nquery_timeout_secs = 60\nmemory_limit_mb = 512\n\
                 [[server.tokens]]\nname = \"crm\"\nrole = \"service\"\nsha256 = \"{}\"\n",
                hash("a")
            ),
        )
        .unwrap();
        let tokens = dir.path().join("tokens.toml");
        std::fs::write(
            &tokens,
            format!(
                "[[tokens]]\nname = \"bi\"\nrole = \"analyst\"\nsha256 = \"{}\"\n",
                hash("b")
            ),
        )
        .unwrap();
        let args = parse(&[
            "--config",
            config.to_str().unwrap(),
            "--tokens",
            tokens.to_str().unwrap(),
            "--query-timeout",
            "7",
            "--no-audit",
        ]);
        let s = settings(&args, None).unwrap();
        assert_eq!(
            s.server.addr,
            "127.0.0.1:9000".parse().unwrap(),
            "from the file"
        );
        assert_eq!(s.server.max_concurrent_queries, 3);
        assert_eq!(
            s.server.query_timeout,
            Some(Duration::from_secs(7)),
            "the flag wins"
        );
        assert_eq!(s.memory_limit, Some(512 * 1024 * 1024));
        assert!(!s.server.audit);
        let names: Vec<(&str, Role)> = s
            .server
            .tokens
            .iter()
            .map(|t| (t.name.as_str(), t.role))
            .collect();
        assert_eq!(names, [("crm", Role::Service), ("bi", Role::Analyst)]);
        let text = describe(&s);
        assert!(text.contains("crm (service), bi (analyst)"), "{text}");

        let args = parse(&[
            "--config",
            config.to_str().unwrap(),
            "--addr",
            "127.0.0.1:9100",
        ]);
        let s = settings(&args, None).unwrap();
        assert_eq!(s.server.addr.port(), 9100);
        assert!(s.server.audit);
    }

    #[test]
    fn a_missing_config_or_a_bad_token_file_is_an_error_naming_it() {
        let err = settings(&parse(&["--config", "/nonexistent/marque.toml"]), None)
            .err()
            .unwrap();
        assert!(
            err.to_string()
                .contains("--config names /nonexistent/marque.toml"),
            "{err}"
        );
        let err = settings(&ServeArgs::default(), Some("/nonexistent/m.toml".into()))
            .err()
            .unwrap();
        assert!(err.to_string().contains("MARQUE_CONFIG"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens.toml");
        std::fs::write(
            &tokens,
            "[[tokens]]\nname = \"x\"\nrole = \"admin\"\nsha256 = \"beef\"\n",
        )
        .unwrap();
        let err = settings(&parse(&["--tokens", tokens.to_str().unwrap()]), None)
            .err()
            .unwrap();
        assert!(format!("{err:#}").contains("64 hex"), "{err:#}");
    }
}
