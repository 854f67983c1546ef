//! The service's configuration: limits, refresh, segments, tokens, from code or a TOML `[server]` section.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::auth::{Role, TokenEntry};
use crate::error::ServerError;

/// Where and how the service runs. `Default`: `127.0.0.1:8080`, 1 MiB bodies, no row cap on
/// streamed SQL answers, 8 concurrent SQL queries, a 5-minute query timeout, lake polled every
/// 5 s, no tokens (open mode, loopback only), audit on, 16 MiB pushed bodies.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// Largest request body in bytes; larger bodies get `413`.
    pub body_limit: usize,
    /// Most rows one `/v1/sql` answer carries (`None`: all; answers are streamed).
    pub max_rows: Option<usize>,
    /// SQL queries running at once; more get `429`.
    pub max_concurrent_queries: usize,
    /// A SQL query (planning and streaming) running longer is cancelled: `504` before the first
    /// row, a cut-off stream after it.
    pub query_timeout: Option<Duration>,
    /// How often the lake's table versions are polled; a new version of a resolution table
    /// rebuilds the profile index and swaps it in, a new version of any table refreshes the SQL
    /// session. `None` never polls.
    pub refresh_interval: Option<Duration>,
    /// Directory of segment definitions (`NAME.sql`); `None` or missing: no segments.
    pub segments_dir: Option<PathBuf>,
    /// Bearer tokens (hashed). Empty: open mode, allowed on loopback addresses only.
    pub tokens: Vec<TokenEntry>,
    /// Write every SQL query and admin action to the `audit_log` Delta table.
    pub audit: bool,
    /// Connector definitions for `POST /v1/ingest/{connector}`; `None`: the embedded ones.
    pub connectors_dir: Option<PathBuf>,
    /// Largest pushed NDJSON body in bytes; larger bodies get `413`.
    pub ingest_body_limit: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            body_limit: 1024 * 1024,
            max_rows: None,
            max_concurrent_queries: 8,
            query_timeout: Some(Duration::from_secs(300)),
            refresh_interval: Some(Duration::from_secs(5)),
            segments_dir: None,
            tokens: Vec::new(),
            audit: true,
            connectors_dir: None,
            ingest_body_limit: 16 * 1024 * 1024,
        }
    }
}

/// The `[server]` section of `marque.toml` (every key optional).
///
/// ```toml
/// [server]
/// addr = "127.0.0.1:8080"
/// body_limit_bytes = 1048576
/// max_rows = 1000000            # omit for no cap
/// max_concurrent_queries = 8
/// query_timeout_secs = 300
/// memory_limit_mb = 2048        # the SQL engine's memory pool (read by `marque serve`)
/// refresh_interval_secs = 5
/// segments_dir = "sql/segments"
/// audit = true
/// connectors_dir = "connectors"  # for POST /v1/ingest/{connector}; embedded ones if unset
/// ingest_body_limit_bytes = 16777216
/// tokens_file = "tokens.toml"   # a file of [[tokens]] entries, same shape as below
///
/// [[server.tokens]]
/// name = "crm"                  # who: written to the audit log
/// role = "service"              # service | analyst | admin
/// sha256 = "9f86d0…"            # hex SHA-256 of the token: printf %s TOKEN | sha256sum
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub addr: Option<SocketAddr>,
    pub body_limit_bytes: Option<usize>,
    pub max_rows: Option<usize>,
    pub max_concurrent_queries: Option<usize>,
    pub query_timeout_secs: Option<u64>,
    pub memory_limit_mb: Option<usize>,
    pub refresh_interval_secs: Option<u64>,
    pub segments_dir: Option<PathBuf>,
    pub audit: Option<bool>,
    pub connectors_dir: Option<PathBuf>,
    pub ingest_body_limit_bytes: Option<usize>,
    pub tokens_file: Option<PathBuf>,
    #[serde(default)]
    pub tokens: Vec<TokenSpec>,
}

/// One token as written in a config or tokens file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    pub name: String,
    pub role: Role,
    pub sha256: String,
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(default)]
    server: ServerSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    #[serde(default)]
    tokens: Vec<TokenSpec>,
}

impl ServerSection {
    /// The `[server]` section of a whole `marque.toml` text (other sections are ignored).
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ServerError> {
        let file: ConfigFile = toml::from_str(text).map_err(|e| ServerError::Config {
            origin: origin.to_string(),
            reason: e.to_string(),
        })?;
        Ok(file.server)
    }

    /// Reads the `[server]` section of the config file at `path`.
    pub fn from_file(path: &Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path).map_err(|e| ServerError::Config {
            origin: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Applies this section over `cfg`. A relative `tokens_file` or `segments_dir` is resolved
    /// against `base` (the config file's directory).
    pub fn apply(&self, cfg: &mut ServerConfig, base: &Path) -> Result<(), ServerError> {
        if let Some(a) = self.addr {
            cfg.addr = a;
        }
        if let Some(b) = self.body_limit_bytes {
            cfg.body_limit = b;
        }
        if self.max_rows.is_some() {
            cfg.max_rows = self.max_rows;
        }
        if let Some(n) = self.max_concurrent_queries {
            cfg.max_concurrent_queries = n.max(1);
        }
        if let Some(s) = self.query_timeout_secs {
            cfg.query_timeout = (s > 0).then(|| Duration::from_secs(s));
        }
        if let Some(s) = self.refresh_interval_secs {
            cfg.refresh_interval = (s > 0).then(|| Duration::from_secs(s));
        }
        if let Some(d) = &self.segments_dir {
            cfg.segments_dir = Some(base.join(d));
        }
        if let Some(a) = self.audit {
            cfg.audit = a;
        }
        if let Some(d) = &self.connectors_dir {
            cfg.connectors_dir = Some(base.join(d));
        }
        if let Some(b) = self.ingest_body_limit_bytes {
            cfg.ingest_body_limit = b;
        }
        let mut specs = self.tokens.clone();
        if let Some(file) = &self.tokens_file {
            let path = base.join(file);
            let origin = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| ServerError::Config {
                origin: origin.clone(),
                reason: e.to_string(),
            })?;
            let parsed: TokensFile = toml::from_str(&text).map_err(|e| ServerError::Config {
                origin,
                reason: e.to_string(),
            })?;
            specs.extend(parsed.tokens);
        }
        for spec in specs {
            cfg.tokens.push(TokenEntry::from_spec(&spec)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_section_overrides_defaults_and_loads_token_files() {
        let dir = tempfile::tempdir().unwrap();
        let hash = crate::auth::sha256_hex("s3cret");
        std::fs::write(
            dir.path().join("tokens.toml"),
            format!("[[tokens]]\nname = \"bi\"\nrole = \"analyst\"\nsha256 = \"{hash}\"\n"),
        )
        .unwrap();
        let text = format!(
            "[ingest]\nwhatever = 1\n[server]\naddr = \"127.0.0.1:9000\"\nquery_timeout_secs = 7\ntokens_file = \"tokens.toml\"\n[[server.tokens]]\nname = \"crm\"\nrole = \"service\"\nsha256 = \"{}\"\n",
            crate::auth::sha256_hex("other")
        );
        let section = ServerSection::from_toml_str(&text, "marque.toml").unwrap();
        let mut cfg = ServerConfig::default();
        section.apply(&mut cfg, dir.path()).unwrap();
        assert_eq!(cfg.addr.port(), 9000);
        assert_eq!(cfg.query_timeout, Some(Duration::from_secs(7)));
        assert_eq!(cfg.tokens.len(), 2);
        assert_eq!(cfg.tokens[1].name, "bi");
        assert_eq!(cfg.tokens[1].role, Role::Analyst);
    }

    #[test]
    fn bad_token_entries_are_rejected_with_their_origin() {
        let text = "[server]\n[[server.tokens]]\nname = \"x\"\nrole = \"root\"\nsha256 = \"ab\"\n";
        let err = ServerSection::from_toml_str(text, "marque.toml").unwrap_err();
        assert!(err.to_string().contains("marque.toml"), "{err}");
        let text = "[server]\n[[server.tokens]]\nname = \"x\"\nrole = \"admin\"\nsha256 = \"ab\"\n";
        let section = ServerSection::from_toml_str(text, "marque.toml").unwrap();
        let err = section
            .apply(&mut ServerConfig::default(), Path::new("."))
            .unwrap_err();
        assert!(err.to_string().contains("64 hex"), "{err}");
    }
}
