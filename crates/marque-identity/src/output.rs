//! The tables resolution writes: `mentions`, `customer_map` and `customers`, as Arrow batches.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Array, Int64Array, Int64Builder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use compact_str::CompactString;
use marque_core::name::Gender;

use crate::compact::{PackedPhone, PackedVin};
use crate::folded::FoldedRecord;
use crate::golden::Golden;
use crate::mentions::Mention;
use crate::{IdentityError, Result};

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// `customer_map`: one row per mention (source record × role).
pub fn customer_map_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("record_id", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("customer_id", DataType::Utf8, false),
        // The record naming the mention this record was folded into (the `record_id` of its
        // `mentions` row); equal to `record_id` for a record that is a mention of its own.
        Field::new("mention_record_id", DataType::Utf8, false),
    ]))
}

/// The golden fields that carry lineage, in `customers` column order.
const LINEAGE: [&str; 7] = marque_lake::GOLDEN_LINEAGE_COLUMNS;

/// `customers`: one golden row per customer. Each `*_from` column names the mention
/// (`source:record_id:role`) the golden value was taken from.
pub fn customers_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("gender", DataType::Utf8, true),
        Field::new("birth_date", DataType::Date32, true),
        Field::new("phone", DataType::Utf8, true),
        Field::new("resident_id_hash", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("app_user_id", DataType::Utf8, true),
        Field::new("unionid", DataType::Utf8, true),
        Field::new("mention_count", DataType::Int64, false),
        Field::new("sources", DataType::Utf8, false),
        Field::new("first_seen", ts(), true),
        Field::new("last_seen", ts(), true),
    ];
    fields.extend(LINEAGE.map(|f| Field::new(f, DataType::Utf8, true)));
    Arc::new(Schema::new(fields))
}

/// `mentions`: the normalised evidence of each mention (app events of one account folded),
/// for explaining and auditing links.
pub fn mentions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("customer_id", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("record_id", DataType::Utf8, false),
        Field::new("record_count", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("surname", DataType::Utf8, true),
        Field::new("gender", DataType::Utf8, true),
        Field::new("phone", DataType::Utf8, true),
        Field::new("resident_id_hash", DataType::Utf8, true),
        Field::new("app_user_id", DataType::Utf8, true),
        Field::new("unionid", DataType::Utf8, true),
        Field::new("vin", DataType::Utf8, true),
        Field::new("city", DataType::Utf8, true),
        Field::new("first_seen", ts(), true),
        Field::new("last_seen", ts(), true),
        Field::new("phone_pattern", DataType::Utf8, true),
    ]))
}

fn gender_code(g: Option<Gender>) -> Option<&'static str> {
    g.map(|g| match g {
        Gender::Male => "M",
        Gender::Female => "F",
    })
}

/// The gender a `mentions.gender` code stands for (the inverse of the code written).
pub(crate) fn gender_from_code(code: Option<&str>) -> Option<Gender> {
    match code {
        Some("M") => Some(Gender::Male),
        Some("F") => Some(Gender::Female),
        _ => None,
    }
}

fn batch(table: &str, schema: SchemaRef, cols: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema, cols).map_err(|source| IdentityError::Arrow {
        table: table.into(),
        source,
    })
}

fn finish_ts(mut b: TimestampMicrosecondBuilder) -> ArrayRef {
    Arc::new(b.finish().with_timezone("UTC"))
}

/// Rows of `customer_map` for `mentions`: each mention's key record, then the records folded
/// into it. `folded` holds (index into `mentions`, record id), in mention order.
pub fn customer_map(
    mentions: &[Mention],
    ids: &[&str],
    folded: &[FoldedRecord],
) -> Result<RecordBatch> {
    let mut rows = Vec::with_capacity(mentions.len() + folded.len());
    let mut next = folded.iter().peekable();
    for (i, (m, &id)) in mentions.iter().zip(ids).enumerate() {
        rows.push((m, None, id));
        while let Some(f) = next.next_if(|f| f.0 as usize == i) {
            rows.push((m, Some(f.1.as_str()), id));
        }
    }
    customer_map_rows(rows.into_iter())
}

/// `customer_map` rows of (mention, record id, customer id); a record of `None` is the
/// mention's key record. A mention's rows come together.
fn customer_map_rows<'a>(
    rows: impl ExactSizeIterator<Item = (&'a Mention, Option<&'a str>, &'a str)>,
) -> Result<RecordBatch> {
    // Sized up front: growing five builders by doubling copied each of them several times.
    let n = rows.len();
    let text = |bytes: usize| StringBuilder::with_capacity(n, n * bytes);
    let (mut s, mut r, mut role, mut c, mut key) =
        (text(12), text(16), text(8), text(16), text(16));
    // Unpacked once a mention: it is the key column, and the record column of a key record.
    let mut mention = (std::ptr::null::<Mention>(), CompactString::default());
    for (m, record, id) in rows {
        if !std::ptr::eq(mention.0, m) {
            mention = (m, m.key_record());
        }
        s.append_value(m.source.as_str());
        r.append_value(record.unwrap_or(&mention.1));
        role.append_value(m.role.as_str());
        c.append_value(id);
        key.append_value(&mention.1);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(s.finish()),
        Arc::new(r.finish()),
        Arc::new(role.finish()),
        Arc::new(c.finish()),
        Arc::new(key.finish()),
    ];
    batch("customer_map", customer_map_schema(), cols)
}

/// Rows of `mentions`.
pub fn mention_rows(mentions: &[Mention], ids: &[&str]) -> Result<RecordBatch> {
    let n = mentions.len();
    let mut b: Vec<StringBuilder> = (0..13)
        .map(|_| StringBuilder::with_capacity(n, n * 16))
        .collect();
    let mut masked = StringBuilder::with_capacity(n, n * 12);
    let mut count = Int64Builder::with_capacity(n);
    let (mut first, mut last) = (
        TimestampMicrosecondBuilder::with_capacity(n),
        TimestampMicrosecondBuilder::with_capacity(n),
    );
    for (m, id) in mentions.iter().zip(ids) {
        let full = (!m.name.full.is_empty()).then_some(m.name.full.as_str());
        let (key, phone, vin) = (
            m.key_record(),
            m.phone().map(PackedPhone::text),
            m.vin().map(PackedVin::text),
        );
        let values: [Option<&str>; 13] = [
            Some(id),
            Some(m.source.as_str()),
            Some(m.role.as_str()),
            Some(key.as_str()),
            full,
            m.name.surname.as_deref(),
            gender_code(m.gender()),
            phone.as_deref(),
            m.resident().map(|r| r.hash()),
            m.app_user_id(),
            m.unionid(),
            vin.as_deref(),
            m.city(),
        ];
        for (i, v) in values.iter().enumerate() {
            b[i].append_option(*v);
        }
        masked.append_option(m.phone_pattern());
        count.append_value(i64::from(m.records));
        first.append_option(m.first_seen());
        last.append_option(m.last_seen());
    }
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut it = b.into_iter();
    for _ in 0..4 {
        cols.push(Arc::new(it.next().expect("13 builders").finish()));
    }
    cols.push(Arc::new(count.finish()));
    for _ in 4..13 {
        cols.push(Arc::new(it.next().expect("13 builders").finish()));
    }
    cols.push(finish_ts(first));
    cols.push(finish_ts(last));
    cols.push(Arc::new(masked.finish()));
    batch("mentions", mentions_schema(), cols)
}

/// Rows of `customers`.
pub fn customers(rows: &[(String, Golden)]) -> Result<RecordBatch> {
    let text = |f: fn(&Golden) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(|(_, g)| f(g)).collect::<StringArray>())
    };
    let from = |f: fn(&Golden) -> Option<&String>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|(_, g)| f(g).map(String::as_str))
                .collect::<StringArray>(),
        )
    };
    let ts_col = |f: fn(&Golden) -> Option<i64>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|(_, g)| f(g))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        )
    };
    let ids: ArrayRef = Arc::new(
        rows.iter()
            .map(|(id, _)| Some(id.as_str()))
            .collect::<StringArray>(),
    );
    let cols: Vec<ArrayRef> = vec![
        ids,
        text(|g| g.name.as_ref().map(|s| s.value.as_str())),
        text(|g| gender_code(g.gender.as_ref().map(|s| s.value))),
        Arc::new(
            rows.iter()
                .map(|(_, g)| g.birth_date.as_ref().map(|s| s.value))
                .collect::<Date32Array>(),
        ),
        text(|g| g.phone.as_ref().map(|s| s.value.as_str())),
        text(|g| g.resident_id_hash.as_deref()),
        text(|g| g.city.as_ref().map(|s| s.value.as_str())),
        text(|g| g.app_user_id.as_ref().map(|s| s.value.as_str())),
        text(|g| g.unionid.as_ref().map(|s| s.value.as_str())),
        Arc::new(
            rows.iter()
                .map(|(_, g)| Some(g.mention_count))
                .collect::<Int64Array>(),
        ),
        text(|g| Some(g.sources.as_str())),
        ts_col(|g| g.first_seen),
        ts_col(|g| g.last_seen),
        from(|g| g.name.as_ref().map(|s| &s.from)),
        from(|g| g.gender.as_ref().map(|s| &s.from)),
        from(|g| g.birth_date.as_ref().map(|s| &s.from)),
        from(|g| g.phone.as_ref().map(|s| &s.from)),
        from(|g| g.city.as_ref().map(|s| &s.from)),
        from(|g| g.app_user_id.as_ref().map(|s| &s.from)),
        from(|g| g.unionid.as_ref().map(|s| &s.from)),
    ];
    batch("customers", customers_schema(), cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::AsArray;

    #[test]
    fn customer_map_writes_each_mentions_key_row_then_the_records_folded_into_it() {
        let mut a = crate::mention::test_mention("王小明");
        a.record = "S-1".into();
        let mut b = crate::mention::test_mention("李华");
        b.record = "S-5".into();
        let c = crate::mention::test_mention("张伟");
        let folded: Vec<FoldedRecord> =
            vec![(0, "S-3".into()), (0, "S-2".into()), (2, "S-8".into())];
        let batch = customer_map(&[a, b, c.clone()], &["C-a", "C-b", "C-c"], &folded).unwrap();
        let col = |name: &str| -> Vec<String> {
            let col = batch.column_by_name(name).unwrap().as_string::<i32>();
            col.iter().map(|v| v.unwrap().to_string()).collect()
        };
        let c_key = c.key_record().to_string();
        assert_eq!(
            col("record_id"),
            ["S-1", "S-3", "S-2", "S-5", &c_key, "S-8"]
        );
        assert_eq!(
            col("mention_record_id"),
            ["S-1", "S-1", "S-1", "S-5", &c_key, &c_key]
        );
        assert_eq!(
            col("customer_id"),
            ["C-a", "C-a", "C-a", "C-b", "C-c", "C-c"]
        );
    }
}
