//! # marque-connect: source systems declared, not coded
//!
//! A connector is a TOML file in `connectors/` that says where a source system's exports are,
//! how they are encoded (CSV with delimiter, quoting, header and encoding — UTF-8, UTF-8 with
//! BOM, GBK/GB18030 —, JSON Lines, or Parquet), which domain they feed (sales, after-sales,
//! marketing, app) and how each source column maps to a canonical field, with per-field parsing
//! (date formats, time zones, amounts in 万, full-width digits, spreadsheet-mangled numbers).
//! See `connectors/README.md` for the format; [`ConnectorDef`] is its Rust form.
//!
//! Ingestion is a pipeline of small stages:
//!
//! ```text
//!  file ──read──► records (bytes + position) ──decode──► text fields ──map/parse──► canonical row
//!                      │                              │                      │
//!                      └──────────── any failure: QuarantinedRow (raw bytes, position, reason)
//! ```
//!
//! Files are streamed in bounded chunks of whole records ([`read_input_with`]); chunks are
//! mapped on every core and their rows stream, in file order, into the Delta writer, which
//! encodes while reading goes on — one commit per batch, memory independent of file size.
//! Sources are local globs, `s3://` object globs (`object_source`), Postgres tables
//! (`postgres`) or HTTP push bodies (`push`).
//!
//! Every record read ends in exactly one of two places: the domain's raw table or the
//! `quarantine` table, so `rows read = rows landed + rows quarantined` holds per batch. A batch
//! is one input file (or object); its identity is the connector name plus the file's path, size
//! and content hash (an object's ETag), and it is written with that identity as the Delta
//! transaction id, so a rerun — after success or after a crash at any point — lands nothing
//! twice (see [`ingest`]).

mod chunked;
mod csv_records;
mod decode;
mod definition;
mod error;
pub mod ingest;
mod jsonl;
pub mod object_source;
mod parse;
pub mod postgres;
pub mod push;
mod read;
pub mod replay;
mod rows;
pub mod schedule;

pub use definition::{ConnectorDef, FieldDef, Format, PostgresSource, SourceDef};
pub use error::{ConnectError, Result};
pub use ingest::{BatchReport, IngestOptions, Progress, ingest_connector, ingest_connector_with};
pub use push::ingest_bytes;
pub use read::{Input, ReadOutcome, ReadSummary, read_file, read_input, read_input_with};
pub use rows::{QuarantinedRow, Value};

/// The reference connectors shipped in `connectors/`, embedded so that the binary works from
/// any directory: (file name, definition text).
pub const REFERENCE_CONNECTORS: [(&str, &str); 4] = [
    (
        "dms_sales.toml",
        include_str!("../../../connectors/dms_sales.toml"),
    ),
    (
        "repair_orders.toml",
        include_str!("../../../connectors/repair_orders.toml"),
    ),
    ("leads.toml", include_str!("../../../connectors/leads.toml")),
    (
        "app_events.toml",
        include_str!("../../../connectors/app_events.toml"),
    ),
];

/// Loads the connectors of `dir`, or the embedded reference connectors when `dir` is `None`.
pub fn load_connectors(dir: Option<&std::path::Path>) -> Result<Vec<ConnectorDef>> {
    match dir {
        Some(d) => ConnectorDef::load_dir(d),
        None => REFERENCE_CONNECTORS
            .iter()
            .map(|(name, text)| ConnectorDef::parse(text, std::path::Path::new(name)))
            .collect(),
    }
}
