//! The connector definition file (TOML): source location, format and the field mapping.

use std::path::{Path, PathBuf};

use marque_core::Source;
use marque_core::canonical::{self, FieldType};
use serde::Deserialize;

use crate::{ConnectError, Result};

/// A connector as written in `connectors/NAME.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorDef {
    /// Unique name; part of every batch id, so renaming a connector re-ingests its files.
    pub name: String,
    /// Domain fed: `sales`, `after_sales`, `marketing` or `app`.
    pub domain: String,
    pub source: SourceDef,
    pub format: Format,
    /// Canonical field ← source column mappings.
    #[serde(rename = "field")]
    pub fields: Vec<FieldDef>,
    /// Where the definition was read from (for error messages).
    #[serde(skip)]
    pub path: PathBuf,
}

/// Where a connector's input is: files matching a glob, or a Postgres table or query.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDef {
    /// Glob relative to the input directory given to `marque ingest`, e.g. `sales/*.csv`.
    /// Empty for Postgres sources.
    #[serde(default)]
    pub path: String,
    /// A Postgres table or query read incrementally by a watermark column.
    #[serde(default)]
    pub postgres: Option<PostgresSource>,
}

impl SourceDef {
    /// A one-line description for listings.
    pub fn describe(&self) -> String {
        match &self.postgres {
            Some(pg) => format!(
                "postgres {} by {}",
                pg.table.as_deref().unwrap_or("(query)"),
                pg.watermark
            ),
            None => self.path.clone(),
        }
    }
}

/// A Postgres source: rows of a table (or query) whose watermark column is above the last one
/// landed. Each run is one batch identified by the connector and its watermark range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSource {
    /// Connection URL, e.g. `postgres://marque:${DMS_PASSWORD}@127.0.0.1:5432/dms`; `${VAR}` is
    /// replaced by the environment variable VAR when the connector runs.
    pub url: String,
    /// The table (optionally `schema.table`) to read; or give `query`.
    #[serde(default)]
    pub table: Option<String>,
    /// A SELECT whose rows are the source records (used as a subquery); or give `table`.
    #[serde(default)]
    pub query: Option<String>,
    /// A column that only grows (integer, or timestamp), used to read only new rows.
    pub watermark: String,
    /// Most rows per batch (default 100000): a bigger backlog lands in several batches.
    #[serde(default)]
    pub batch_rows: Option<u64>,
}

/// How the input files are encoded.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Format {
    Csv {
        /// `utf-8` (default; a BOM is skipped), `utf-8-bom`, `gbk` or `gb18030`.
        #[serde(default = "default_encoding")]
        encoding: String,
        #[serde(default = "default_delimiter")]
        delimiter: char,
        #[serde(default = "default_quote")]
        quote: char,
        /// Whether the first row names the columns (default true). Without it, `column` is a
        /// 1-based position.
        #[serde(default = "default_true")]
        header: bool,
    },
    Jsonl,
    Parquet,
}

impl Format {
    /// `csv`, `jsonl` or `parquet`.
    pub fn kind(&self) -> &'static str {
        match self {
            Format::Csv { .. } => "csv",
            Format::Jsonl => "jsonl",
            Format::Parquet => "parquet",
        }
    }
}

fn default_encoding() -> String {
    "utf-8".into()
}
fn default_delimiter() -> char {
    ','
}
fn default_quote() -> char {
    '"'
}
fn default_true() -> bool {
    true
}

/// One canonical field and where its value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDef {
    /// The canonical field name (see the domain's list in `connectors/README.md`).
    pub name: String,
    /// The source column: header name (Chinese headers are fine), JSON key, Parquet column, or
    /// a 1-based position for header-less CSV.
    pub column: String,
    /// chrono formats tried in order for `date` and `timestamp` fields. Defaults cover
    /// `2023-05-01`, `2023/5/1`, `20230501`, `2023年5月1日`, `2023.05.01` and ISO 8601.
    #[serde(default)]
    pub formats: Vec<String>,
    /// Offset applied to timestamps written without one, e.g. `+08:00` (the default).
    #[serde(default)]
    pub timezone: Option<String>,
}

impl ConnectorDef {
    /// Reads and validates a definition file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| ConnectError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates definition text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let err = |message: String| ConnectError::Definition {
            path: path.to_path_buf(),
            message,
        };
        let mut def: ConnectorDef = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        def.path = path.to_path_buf();
        let source = def.source_domain().map_err(|e| err(e.to_string()))?;
        if def.name.is_empty()
            || !def
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(err(format!(
                "connector name {:?} must be letters, digits, '_' or '-'",
                def.name
            )));
        }
        match (&def.source.postgres, def.source.path.is_empty()) {
            (None, true) => {
                return Err(err(
                    "source needs either path = \"glob\" or a [source.postgres] table".into(),
                ));
            }
            (Some(_), false) => {
                return Err(err("source has both path and postgres: give one".into()));
            }
            (Some(pg), true) => {
                if pg.table.is_some() == pg.query.is_some() {
                    return Err(err(
                        "source.postgres needs exactly one of table or query".into()
                    ));
                }
                if !matches!(def.format, Format::Jsonl) {
                    return Err(err(
                        "Postgres sources are read as JSON objects: use format = { kind = \"jsonl\" }"
                            .into(),
                    ));
                }
            }
            (None, false) => {}
        }
        if let Format::Csv { encoding, .. } = &def.format
            && crate::decode::Encoding::parse(encoding).is_none()
        {
            return Err(err(format!(
                "unknown encoding {encoding:?}: use utf-8, utf-8-bom, gbk or gb18030"
            )));
        }
        let canon = canonical::fields(source);
        for f in &def.fields {
            let Some(c) = canon.iter().find(|c| c.name == f.name) else {
                let names: Vec<_> = canon.iter().map(|c| c.name).collect();
                return Err(err(format!(
                    "field {:?} is not a canonical {} field; expected one of {}",
                    f.name,
                    source,
                    names.join(", ")
                )));
            };
            if !f.formats.is_empty() && !matches!(c.ty, FieldType::Date | FieldType::Timestamp) {
                return Err(err(format!(
                    "field {:?}: formats apply only to date and timestamp fields",
                    f.name
                )));
            }
            if let Some(tz) = &f.timezone
                && crate::parse::parse_offset(tz).is_none()
            {
                return Err(err(format!(
                    "field {:?}: timezone {tz:?} is not an offset like +08:00",
                    f.name
                )));
            }
        }
        for c in canon.iter().filter(|c| c.required) {
            if !def.fields.iter().any(|f| f.name == c.name) {
                return Err(err(format!("required field {:?} has no mapping", c.name)));
            }
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = def.fields.iter().find(|f| !seen.insert(&f.name)) {
            return Err(err(format!("field {:?} is mapped twice", dup.name)));
        }
        Ok(def)
    }

    /// The domain as a [`Source`].
    pub fn source_domain(&self) -> marque_core::Result<Source> {
        self.domain.parse()
    }

    /// Loads every `*.toml` in a directory, sorted by file name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>> {
        let entries = std::fs::read_dir(dir).map_err(|source| ConnectError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| Self::load(p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "dms"
domain = "sales"
source = { path = "sales/*.csv" }
format = { kind = "csv", encoding = "gbk" }
[[field]]
name = "record_id"
column = "发票号"
[[field]]
name = "sale_date"
column = "开票日期"
"#;

    #[test]
    fn a_valid_definition_loads() {
        let d = ConnectorDef::parse(GOOD, Path::new("dms.toml")).unwrap();
        assert_eq!(d.fields.len(), 2);
        assert!(matches!(d.format, Format::Csv { ref encoding, .. } if encoding == "gbk"));
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (GOOD.replace("\"sales\"", "\"dms\""), "unknown source"),
            (GOOD.replace("gbk", "latin9"), "unknown encoding"),
            (
                GOOD.replace("name = \"sale_date\"", "name = \"sold_on\""),
                "not a canonical sales field",
            ),
            (
                GOOD.replace("name = \"sale_date\"", "name = \"record_id\""),
                "required field \"sale_date\"",
            ),
            (
                GOOD.replace("column = \"开票日期\"", "column = \"x\"\nformats = [1]"),
                "invalid type",
            ),
        ];
        for (text, want) in cases {
            let e = ConnectorDef::parse(&text, Path::new("c.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(want) && e.starts_with("c.toml"),
                "{e} should contain {want}"
            );
        }
    }
}
