//! The tables resolution writes: `mentions`, `customer_map` and `customers`, as Arrow batches.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Date32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use marque_core::name::Gender;

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
    ]))
}

/// `customers`: one golden row per customer.
pub fn customers_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
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
    ]))
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
    ]))
}

fn gender_code(g: Option<Gender>) -> Option<&'static str> {
    g.map(|g| match g {
        Gender::Male => "M",
        Gender::Female => "F",
    })
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

/// Rows of `customer_map`, expanding folded app mentions to one row per record.
pub fn customer_map(mentions: &[Mention], ids: &[&str]) -> Result<RecordBatch> {
    let (mut s, mut r, mut role, mut c) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    for (m, id) in mentions.iter().zip(ids) {
        for rec in &m.record_ids {
            s.append_value(m.source.as_str());
            r.append_value(rec);
            role.append_value(m.role.as_str());
            c.append_value(id);
        }
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(s.finish()),
        Arc::new(r.finish()),
        Arc::new(role.finish()),
        Arc::new(c.finish()),
    ];
    batch("customer_map", customer_map_schema(), cols)
}

/// Rows of `mentions`.
pub fn mention_rows(mentions: &[Mention], ids: &[&str]) -> Result<RecordBatch> {
    let mut b: Vec<StringBuilder> = (0..14).map(|_| StringBuilder::new()).collect();
    let mut count = Int64Builder::new();
    let (mut first, mut last) = (
        TimestampMicrosecondBuilder::new(),
        TimestampMicrosecondBuilder::new(),
    );
    for (m, id) in mentions.iter().zip(ids) {
        let full = (!m.name.full.is_empty()).then_some(m.name.full.as_str());
        let values: [Option<&str>; 13] = [
            Some(id),
            Some(m.source.as_str()),
            Some(m.role.as_str()),
            m.record_ids.iter().min().map(String::as_str),
            full,
            m.name.surname.as_deref(),
            gender_code(m.gender()),
            m.phone.as_deref(),
            m.resident.as_ref().map(|r| r.hash.as_str()),
            m.app_user_id.as_deref(),
            m.unionid.as_deref(),
            m.vin.as_deref(),
            m.city.as_deref(),
        ];
        for (i, v) in values.iter().enumerate() {
            b[i].append_option(*v);
        }
        count.append_value(m.record_ids.len() as i64);
        first.append_option(m.first_seen);
        last.append_option(m.last_seen);
    }
    let mut cols: Vec<ArrayRef> = Vec::new();
    let mut it = b.into_iter();
    for _ in 0..4 {
        cols.push(Arc::new(it.next().expect("14 builders").finish()));
    }
    cols.push(Arc::new(count.finish()));
    for _ in 4..13 {
        cols.push(Arc::new(it.next().expect("14 builders").finish()));
    }
    cols.push(finish_ts(first));
    cols.push(finish_ts(last));
    batch("mentions", mentions_schema(), cols)
}

/// Rows of `customers`.
pub fn customers(rows: &[(String, Golden)]) -> Result<RecordBatch> {
    let mut s: Vec<StringBuilder> = (0..9).map(|_| StringBuilder::new()).collect();
    let mut birth = Date32Builder::new();
    let mut count = Int64Builder::new();
    let (mut first, mut last) = (
        TimestampMicrosecondBuilder::new(),
        TimestampMicrosecondBuilder::new(),
    );
    for (id, g) in rows {
        let values: [Option<&str>; 9] = [
            Some(id),
            g.name.as_deref(),
            gender_code(g.gender),
            g.phone.as_deref(),
            g.resident_id_hash.as_deref(),
            g.city.as_deref(),
            g.app_user_id.as_deref(),
            g.unionid.as_deref(),
            Some(&g.sources),
        ];
        for (i, v) in values.iter().enumerate() {
            s[i].append_option(*v);
        }
        birth.append_option(g.birth_date);
        count.append_value(g.mention_count);
        first.append_option(g.first_seen);
        last.append_option(g.last_seen);
    }
    let mut f: Vec<ArrayRef> = s
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    let sources = f.pop().expect("9 columns");
    let tail = f.split_off(3); // phone, resident_id_hash, city, app_user_id, unionid
    let mut cols = f; // customer_id, name, gender
    cols.push(Arc::new(birth.finish()));
    cols.extend(tail);
    cols.push(Arc::new(count.finish()));
    cols.push(sources);
    cols.push(finish_ts(first));
    cols.push(finish_ts(last));
    batch("customers", customers_schema(), cols)
}
