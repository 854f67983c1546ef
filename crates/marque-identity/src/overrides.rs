//! Manual corrections that every later run honours: merge two customers, split a mention out
//! of its customer, or keep two customers apart forever. Stored in `identity_overrides` by
//! mention keys, so they survive id changes.

use crate::hashing::{HashMap, HashSet, record_fingerprint};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::prelude::SessionContext;
use marque_lake::{Commit, Lake, WriteMode};

use crate::folded::FoldedRecords;
use crate::link::LinkOverrides;
use crate::mentions::Mention;
use crate::{IdentityError, Result};

/// A mention's key: (source, record id, role).
pub type MentionKey = (String, String, String);

/// The kinds of correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideKind {
    Merge,
    Split,
    NeverLink,
}

impl OverrideKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OverrideKind::Merge => "merge",
            OverrideKind::Split => "split",
            OverrideKind::NeverLink => "never_link",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "merge" => Some(Self::Merge),
            "split" => Some(Self::Split),
            "never_link" => Some(Self::NeverLink),
            _ => None,
        }
    }
}

/// One correction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub kind: OverrideKind,
    pub left: MentionKey,
    /// The other side; `None` for a split.
    pub right: Option<MentionKey>,
    pub reason: String,
}

pub const TABLE: &str = "identity_overrides";

pub fn schema() -> SchemaRef {
    let s = |n: &str, null| Field::new(n, DataType::Utf8, null);
    Arc::new(Schema::new(vec![
        s("kind", false),
        s("left_source", false),
        s("left_record_id", false),
        s("left_role", false),
        s("right_source", true),
        s("right_record_id", true),
        s("right_role", true),
        s("reason", false),
        Field::new(
            "created_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// Reads every override in the lake.
pub async fn load(lake: &Lake) -> Result<Vec<Override>> {
    let Some(batches) = crate::tables::read(lake, TABLE).await? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for b in &batches {
        let col = |i: usize| b.column(i).as_string::<i32>();
        for r in 0..b.num_rows() {
            let Some(kind) = OverrideKind::parse(col(0).value(r)) else {
                continue;
            };
            let key = |i: usize| {
                (
                    col(i).value(r).to_string(),
                    col(i + 1).value(r).to_string(),
                    col(i + 2).value(r).to_string(),
                )
            };
            out.push(Override {
                kind,
                left: key(1),
                right: (!col(4).is_null(r)).then(|| key(4)),
                reason: col(7).value(r).to_string(),
            });
        }
    }
    Ok(out)
}

/// Appends one override.
pub async fn add(lake: &Lake, o: &Override) -> Result<()> {
    let mut b: Vec<StringBuilder> = (0..8).map(|_| StringBuilder::new()).collect();
    b[0].append_value(o.kind.as_str());
    b[1].append_value(&o.left.0);
    b[2].append_value(&o.left.1);
    b[3].append_value(&o.left.2);
    for (i, v) in [4, 5, 6].into_iter().zip([
        o.right.as_ref().map(|k| k.0.as_str()),
        o.right.as_ref().map(|k| k.1.as_str()),
        o.right.as_ref().map(|k| k.2.as_str()),
    ]) {
        b[i].append_option(v);
    }
    b[7].append_value(&o.reason);
    let mut t = TimestampMicrosecondBuilder::new();
    t.append_value(chrono::Utc::now().timestamp_micros());
    let mut cols: Vec<ArrayRef> = b
        .into_iter()
        .map(|mut x| Arc::new(x.finish()) as ArrayRef)
        .collect();
    cols.push(Arc::new(t.finish().with_timezone("UTC")));
    let batch = RecordBatch::try_new(schema(), cols).map_err(|source| IdentityError::Arrow {
        table: TABLE.into(),
        source,
    })?;
    lake.write(
        TABLE,
        schema(),
        vec![batch],
        WriteMode::Append,
        Commit::default().with("operation", format!("identity {}", o.kind.as_str())),
    )
    .await?;
    Ok(())
}

/// One mention key of a customer (its earliest record), from `customer_map`.
pub async fn mention_of(lake: &Lake, customer_id: &str) -> Result<MentionKey> {
    let ctx = SessionContext::new();
    lake.register_all(&ctx).await?;
    let q = format!(
        "SELECT source, record_id, role FROM customer_map WHERE customer_id = '{}' ORDER BY source, record_id, role LIMIT 1",
        customer_id.replace('\'', "''")
    );
    let batches = crate::query::collect(&ctx, "customer_map", &q).await?;
    for b in &batches {
        if b.num_rows() > 0 {
            let c = |i: usize| {
                arrow::compute::cast(b.column(i), &DataType::Utf8)
                    .map(|a| a.as_string::<i32>().value(0).to_string())
                    .map_err(|source| IdentityError::Arrow {
                        table: "customer_map".into(),
                        source,
                    })
            };
            return Ok((c(0)?, c(1)?, c(2)?));
        }
    }
    Err(IdentityError::UnknownCustomer(customer_id.to_string()))
}

/// The [`crate::mentions::record_key`]s of records that split and never-link overrides name:
/// loading must keep each of them a mention of its own.
pub fn keep_apart(overrides: &[Override]) -> HashSet<String> {
    overrides
        .iter()
        .filter(|o| o.kind != OverrideKind::Merge)
        .flat_map(|o| std::iter::once(&o.left).chain(o.right.as_ref()))
        .map(|k| crate::mentions::record_key(&k.0, &k.1, &k.2))
        .collect()
}

/// Turns overrides into mention indices (a record folded into a mention names that mention);
/// overrides naming mentions that no longer exist are skipped and counted.
pub fn resolve_indices(
    overrides: &[Override],
    mentions: &[Mention],
    folded: &FoldedRecords,
) -> Result<(LinkOverrides, usize)> {
    if overrides.is_empty() {
        return Ok((LinkOverrides::default(), 0));
    }
    // Only the records the overrides name are looked for, by fingerprint.
    let key = |source: &str, record: &str, role: &str| record_fingerprint(source, record, role);
    let mut index: HashMap<u128, Option<u32>> = overrides
        .iter()
        .flat_map(|o| std::iter::once(&o.left).chain(o.right.as_ref()))
        .map(|k| (key(&k.0, &k.1, &k.2), None))
        .collect();
    let mut note = |m: &Mention, record: &str, i: u32| {
        if let Some(slot) = index.get_mut(&key(m.source.as_str(), record, m.role.as_str())) {
            *slot = Some(i);
        }
    };
    for (i, m) in mentions.iter().enumerate() {
        note(m, &m.key_record(), i as u32);
    }
    folded.for_each(|i, record| note(&mentions[i as usize], record, i))?;
    let find = |k: &MentionKey| index.get(&key(&k.0, &k.1, &k.2)).copied().flatten();
    let mut out = LinkOverrides::default();
    let mut missing = 0;
    for o in overrides {
        let l = find(&o.left);
        let r = o.right.as_ref().and_then(find);
        match (o.kind, l, r) {
            (OverrideKind::Merge, Some(a), Some(b)) => out.merge.push((a, b)),
            (OverrideKind::NeverLink, Some(a), Some(b)) => out.never.push((a, b)),
            (OverrideKind::Split, Some(a), _) => out.isolate.push(a),
            _ => missing += 1,
        }
    }
    Ok((out, missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(record: &str) -> MentionKey {
        ("sales".into(), record.into(), "buyer".into())
    }

    #[test]
    fn an_override_naming_a_folded_record_finds_the_mention_it_folded_into() {
        let mut a = crate::mention::test_mention("王小明");
        a.record = "S-1".into();
        let mut b = crate::mention::test_mention("李华");
        b.record = "S-5".into();
        let mut folded = FoldedRecords::default();
        folded.push(1, "S-9").unwrap();
        folded.finish().unwrap();
        let o = |kind, left: &str, right: Option<&str>| Override {
            kind,
            left: key(left),
            right: right.map(key),
            reason: String::new(),
        };
        let rows = [
            o(OverrideKind::Merge, "S-1", Some("S-9")),
            o(OverrideKind::Split, "S-9", None),
            o(OverrideKind::NeverLink, "S-1", Some("S-404")),
        ];
        let (found, missing) = resolve_indices(&rows, &[a, b], &folded).unwrap();
        assert_eq!(found.merge, [(0, 1)]);
        assert_eq!(found.isolate, [1]);
        assert!(found.never.is_empty());
        assert_eq!(missing, 1, "a record no mention holds");
    }
}
