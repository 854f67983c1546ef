//! Per-customer rows of the golden record, lifecycle and CLV, stored row-wise with their
//! values already written as JSON, so that a profile reads one short run of bytes per section.
//!
//! Why not the Arrow batches: a profile needs one row of ~20 golden columns and ~6 lifecycle
//! columns of a random customer. Kept columnar, that is a null bitmap, an offsets array and a
//! values buffer per column — some 75 cache misses per profile over a gigabyte of buffers,
//! which measured at about half of the server's CPU per lookup at a million customers (the
//! same lookup repeated, all in cache, costs 22 µs; cycling 100,000 customers, 45 µs). Here a
//! customer's values sit together (a few cache lines), written as JSON once at build time.
//!
//! Layout of one row: for each column of the section, `varint(len + 1)` then `len` bytes of
//! JSON value; `0` means null. Object keys are written once per section (`"name":`), with
//! whether services may see each column (resident-id columns are for admins only).

use arrow::array::RecordBatch;

use super::cells::{write_cell, write_str};
use crate::auth::Role;

/// Sentinel: a customer without a row in a section.
const NO_ROW: u64 = u64::MAX;

/// One section of the profile (golden, lifecycle, clv): its columns and every customer's row.
#[derive(Default)]
pub struct RowSection {
    /// Column names, in row order.
    names: Vec<String>,
    /// `"name":` of each column, and whether services see it.
    keys: Vec<(Box<[u8]>, bool)>,
    arena: Vec<u8>,
    /// Where customer `i`'s row starts in `arena`, [`NO_ROW`] when it has none.
    starts: Vec<u64>,
    scratch: Vec<u8>,
}

impl RowSection {
    /// A section for `customers` customers (more are added as rows come) with the columns of `batch` that `keep` accepts;
    /// `admin_only` columns are hidden from services.
    pub fn new(
        batch: &RecordBatch,
        customers: usize,
        keep: impl Fn(&str) -> bool,
        admin_only: impl Fn(&str) -> bool,
    ) -> Self {
        let mut s = Self {
            starts: vec![NO_ROW; customers],
            ..Self::default()
        };
        for f in batch.schema_ref().fields() {
            let name = f.name();
            if !keep(name) {
                continue;
            }
            let mut k = Vec::with_capacity(name.len() + 3);
            write_str(&mut k, name);
            k.push(b':');
            s.keys.push((k.into_boxed_slice(), !admin_only(name)));
            s.names.push(name.to_string());
        }
        s
    }

    /// Which column of `batch` holds each column of the section (`None`: written as null).
    pub fn columns_of(&self, batch: &RecordBatch) -> Vec<Option<usize>> {
        let schema = batch.schema_ref();
        self.names.iter().map(|n| schema.index_of(n).ok()).collect()
    }

    /// Whether customer `idx` has a row.
    pub fn has_row(&self, idx: u32) -> bool {
        self.starts.get(idx as usize).is_some_and(|&s| s != NO_ROW)
    }

    /// Stores row `row` of `batch` as customer `idx`'s (`columns` from [`Self::columns_of`]);
    /// a customer's first row wins.
    pub fn push(&mut self, idx: u32, batch: &RecordBatch, row: usize, columns: &[Option<usize>]) {
        let i = idx as usize;
        if i >= self.starts.len() {
            self.starts.resize(i + 1, NO_ROW);
        }
        let slot = &mut self.starts[i];
        if *slot != NO_ROW {
            return;
        }
        *slot = self.arena.len() as u64;
        for c in columns {
            match c.map(|c| batch.column(c)) {
                Some(col) if !col.is_null(row) => {
                    self.scratch.clear();
                    write_cell(&mut self.scratch, col, row);
                    write_varint(&mut self.arena, self.scratch.len() as u64 + 1);
                    self.arena.extend_from_slice(&self.scratch);
                }
                _ => self.arena.push(0),
            }
        }
    }

    /// Gives back spare capacity once building is over.
    pub fn shrink_to_fit(&mut self) {
        self.arena.shrink_to_fit();
        self.starts.shrink_to_fit();
        self.scratch = Vec::new();
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity()
            + self.starts.capacity() * 8
            + self.keys.iter().map(|(k, _)| k.len() + 16).sum::<usize>()
    }

    /// Writes customer `idx`'s row as a JSON object as `role` may see it (`null` without one).
    pub fn write(&self, out: &mut Vec<u8>, idx: u32, role: Role) {
        let start = match self.starts.get(idx as usize) {
            Some(&s) if s != NO_ROW => s as usize,
            _ => {
                out.extend_from_slice(b"null");
                return;
            }
        };
        let mut bytes = self.arena.get(start..).unwrap_or(&[]);
        let admin = role == Role::Admin;
        out.push(b'{');
        let mut first = true;
        for (key, for_services) in &self.keys {
            let (len, rest) = read_varint(bytes);
            let (value, rest) = match len {
                0 => (&b"null"[..], rest),
                n => {
                    let n = (n - 1) as usize;
                    rest.split_at_checked(n).unwrap_or((b"null", &[]))
                }
            };
            bytes = rest;
            if !(admin || *for_services) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(key);
            out.extend_from_slice(value);
        }
        out.push(b'}');
    }
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A varint and the bytes after it (`0` at the end of the input).
fn read_varint(bytes: &[u8]) -> (u64, &[u8]) {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (v, &bytes[i + 1..]);
        }
    }
    (0, &[])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;
    use crate::index::cells::write_row_object;

    fn batch() -> RecordBatch {
        let long = "x".repeat(300);
        let schema = Arc::new(Schema::new(vec![
            Field::new("customer_id", DataType::Utf8, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("resident_id_hash", DataType::Utf8, true),
            Field::new("mention_count", DataType::Int64, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["C1", "C2"])),
            Arc::new(StringArray::from(vec![
                Some("王\"海\""),
                Some(long.as_str()),
            ])),
            Arc::new(StringArray::from(vec![Some("abc"), None])),
            Arc::new(Int64Array::from(vec![Some(24), None])),
        ];
        RecordBatch::try_new(schema, cols).unwrap()
    }

    #[test]
    fn rows_write_the_json_the_arrow_row_gives_and_hide_resident_ids_from_services() {
        let b = batch();
        let mut s = RowSection::new(&b, 3, |_| true, |n| n.contains("resident_id"));
        let cols = s.columns_of(&b);
        // Stored out of customer order, as extras arrive; the first row of a customer wins.
        s.push(2, &b, 1, &cols);
        s.push(0, &b, 0, &cols);
        s.push(0, &b, 1, &cols);
        for (idx, row) in [(0u32, 0usize), (2, 1)] {
            let mut admin = Vec::new();
            s.write(&mut admin, idx, Role::Admin);
            let mut expected = Vec::new();
            write_row_object(&mut expected, &b, row, |_| false);
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&admin).unwrap(),
                serde_json::from_slice::<serde_json::Value>(&expected).unwrap()
            );
            let mut service = Vec::new();
            s.write(&mut service, idx, Role::Service);
            let v: serde_json::Value = serde_json::from_slice(&service).unwrap();
            assert!(v.get("resident_id_hash").is_none(), "{v}");
            assert_eq!(v["customer_id"], if idx == 0 { "C1" } else { "C2" });
        }
        let mut none = Vec::new();
        s.write(&mut none, 1, Role::Admin);
        assert_eq!(none, b"null");
        assert!(!s.has_row(1) && s.has_row(2));
    }

    #[test]
    fn a_batch_with_other_columns_is_stored_by_name() {
        let b = batch();
        let mut s = RowSection::new(&b, 1, |n| n != "customer_id", |_| false);
        let other = b.project(&[3, 1]).unwrap();
        let cols = s.columns_of(&other);
        s.push(0, &other, 0, &cols);
        let mut out = Vec::new();
        s.write(&mut out, 0, Role::Service);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name": "王\"海\"", "resident_id_hash": null, "mention_count": 24})
        );
    }

    #[test]
    fn varints_round_trip() {
        for v in [0u64, 1, 127, 128, 300, 70_000, u64::from(u32::MAX) + 5] {
            let mut b = Vec::new();
            write_varint(&mut b, v);
            b.push(9);
            assert_eq!(read_varint(&b), (v, &[9u8][..]));
        }
    }
}
