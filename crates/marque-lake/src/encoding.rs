//! How the lake encodes columns in Parquet: which take a dictionary, which keep statistics,
//! which are stored uncompressed. The settings apply by column name to every table written.

use deltalake::parquet::basic::{Compression, Encoding};
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::parquet::schema::types::ColumnPath;

/// Text columns whose values are (nearly) unique per row: ids, names, phone numbers, identity
/// numbers, VINs, plates, addresses (the raw tables' columns, see `marque_core::canonical`).
/// Their Parquet data is written plain: no dictionary (which would mostly hold each value once,
/// only to be dropped when it overflows) and no min/max statistics (one string comparison per
/// value, and no query filters on ranges of them).
pub const HIGH_CARDINALITY_TEXT_COLUMNS: &[&str] = &[
    "record_id",
    "customer_name",
    "mobile",
    "resident_id",
    "vin",
    "address",
    "plate",
    "owner_name",
    "owner_phone",
    "sender_name",
    "sender_phone",
    "name",
    "app_user_id",
    "unionid",
    "nickname",
];

/// The same for the tables resolution writes (`mentions`, `customer_map`, `customers`,
/// `match_edges`, `customer_id_history`): customer ids (one per dozen mentions, in no order a
/// row group's min/max could narrow), the two ends of a match edge, phone patterns.
/// Dictionary building for these was a twentieth of a small resolve's CPU.
pub const RESOLVED_HIGH_CARDINALITY_TEXT_COLUMNS: &[&str] = &[
    "customer_id",
    "mention_record_id",
    "left_record_id",
    "right_record_id",
    "phone",
    "phone_pattern",
    "resident_id_hash",
    "old_id",
    "new_id",
    "name_key",
];

/// The golden record's lineage columns of `customers`, one per golden field: each names the
/// mention (`source:record_id:role`) its value came from, so nearly one value per row.
/// Written plain like [`RESOLVED_HIGH_CARDINALITY_TEXT_COLUMNS`].
pub const GOLDEN_LINEAGE_COLUMNS: [&str; 7] = [
    "name_from",
    "gender_from",
    "birth_date_from",
    "phone_from",
    "city_from",
    "app_user_id_from",
    "unionid_from",
];

/// Long text columns of few distinct values: a match edge's evidence JSON (~300 bytes, a
/// few hundred distinct values among 4.3M edges at 1M persons). A dictionary stores each
/// once; plain, the writer copied and compressed 1.2 GB of text per run. No statistics: no
/// query filters on their ranges.
pub const REPEATED_LONG_TEXT_COLUMNS: &[&str] = &["evidence"];

/// The resolved tables' instants (`first_seen`, `last_seen`: nearly one per mention): no
/// dictionary, statistics kept.
pub const RESOLVED_HIGH_CARDINALITY_NUMBER_COLUMNS: &[&str] = &["first_seen", "last_seen"];

/// Numeric columns whose values are (nearly) unique per row: amounts, mileages, instants, line
/// numbers. No dictionary; their statistics stay (cheap for numbers, and time ranges are
/// filtered on).
pub const HIGH_CARDINALITY_NUMBER_COLUMNS: &[&str] = &[
    "price",
    "ro_time",
    "mileage_km",
    "labour_amount",
    "parts_amount",
    "created_at",
    "event_time",
    "amount",
    "_line",
];

/// Instant columns of the raw tables: their plain 8-byte values do not compress (Snappy saved
/// under 1 % on the 1M-person ingest), so they are stored uncompressed.
pub const UNCOMPRESSED_COLUMNS: &[&str] = &["ro_time", "created_at", "event_time"];

/// Parquet settings of every data file the lake writes (`marque lake optimize` keeps them).
/// Snappy: the codec every Delta reader has, and among the cheapest to encode (zstd gives
/// smaller files for several times the encode time, which ingestion cannot afford).
/// Dictionary encoding and statistics stay on for the low-cardinality columns that queries
/// group and filter on (dealer codes, cities, models, channels, event types, dates, batch ids)
/// and are dropped for the high-cardinality ones ([`HIGH_CARDINALITY_TEXT_COLUMNS`],
/// [`RESOLVED_HIGH_CARDINALITY_TEXT_COLUMNS`], [`GOLDEN_LINEAGE_COLUMNS`],
/// [`HIGH_CARDINALITY_NUMBER_COLUMNS`], [`RESOLVED_HIGH_CARDINALITY_NUMBER_COLUMNS`]): on the
/// 1M-person ingest this cut the CPU time of the biggest input by a fifth for files 10 %
/// larger. Long repeated text ([`REPEATED_LONG_TEXT_COLUMNS`]) keeps its dictionary.
pub fn writer_properties() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("marque {}", env!("CARGO_PKG_VERSION")));
    for col in HIGH_CARDINALITY_TEXT_COLUMNS
        .iter()
        .chain(RESOLVED_HIGH_CARDINALITY_TEXT_COLUMNS)
        .chain(&GOLDEN_LINEAGE_COLUMNS)
    {
        b = b
            .set_column_dictionary_enabled(ColumnPath::from(*col), false)
            .set_column_statistics_enabled(ColumnPath::from(*col), EnabledStatistics::None);
    }
    for col in HIGH_CARDINALITY_NUMBER_COLUMNS
        .iter()
        .chain(RESOLVED_HIGH_CARDINALITY_NUMBER_COLUMNS)
    {
        b = b.set_column_dictionary_enabled(ColumnPath::from(*col), false);
    }
    for col in REPEATED_LONG_TEXT_COLUMNS {
        b = b.set_column_statistics_enabled(ColumnPath::from(*col), EnabledStatistics::None);
    }
    for col in UNCOMPRESSED_COLUMNS {
        b = b.set_column_compression(ColumnPath::from(*col), Compression::UNCOMPRESSED);
    }
    // Source line numbers rise row by row: delta encoding stores them in a few bits each.
    b.set_column_encoding(ColumnPath::from("_line"), Encoding::DELTA_BINARY_PACKED)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_evidence_is_dictionary_encoded_and_unique_ids_and_lineage_are_written_plain() {
        let p = writer_properties();
        let col = |c: &str| ColumnPath::from(c);
        assert!(p.dictionary_enabled(&col("evidence")));
        assert_eq!(
            p.statistics_enabled(&col("evidence")),
            EnabledStatistics::None
        );
        for plain in [
            "customer_id",
            "name_from",
            "phone_pattern",
            "first_seen",
            "record_id",
        ] {
            assert!(!p.dictionary_enabled(&col(plain)), "{plain}");
        }
        assert!(
            p.dictionary_enabled(&col("source")),
            "low-cardinality text keeps it"
        );
    }
}
