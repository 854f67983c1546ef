//! Incremental resolution: find the ingest batches no run has resolved yet, and the existing
//! customers their mentions touch (through a phone, VIN, resident id, app user id or unionid),
//! so that only those customers and the new mentions are linked again.

use crate::hashing::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::mentions::Mention;
use crate::previous::PreviousIds;
use crate::{IdentityError, Result};

/// Table listing the ingest batches resolution has seen.
pub const BATCHES_TABLE: &str = "identity_batches";

async fn strings(ctx: &SessionContext, table: &str, sql: &str) -> Result<Vec<Vec<String>>> {
    let batches = crate::query::collect(ctx, table, sql).await?;
    let mut rows = Vec::new();
    for b in &batches {
        let cols: Vec<ArrayRef> = (0..b.num_columns())
            .map(|i| arrow::compute::cast(b.column(i), &DataType::Utf8))
            .collect::<std::result::Result<_, _>>()
            .map_err(|source| IdentityError::Arrow {
                table: table.into(),
                source,
            })?;
        for r in 0..b.num_rows() {
            rows.push(
                cols.iter()
                    .map(|c| c.as_string::<i32>().value(r).to_string())
                    .collect(),
            );
        }
    }
    Ok(rows)
}

/// Every ingest batch id in the raw tables.
pub async fn raw_batches(ctx: &SessionContext, tables: &[String]) -> Result<HashSet<String>> {
    let mut out = HashSet::default();
    for t in tables.iter().filter(|t| t.starts_with("raw_")) {
        let sql = format!("SELECT DISTINCT _batch_id FROM {t} WHERE _batch_id IS NOT NULL");
        out.extend(
            strings(ctx, t, &sql)
                .await?
                .into_iter()
                .map(|mut r| r.remove(0)),
        );
    }
    Ok(out)
}

/// The batches earlier runs resolved.
pub async fn resolved_batches(ctx: &SessionContext) -> Result<HashSet<String>> {
    let sql = format!("SELECT batch_id FROM {BATCHES_TABLE}");
    Ok(strings(ctx, BATCHES_TABLE, &sql)
        .await?
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect())
}

/// Registers (or replaces) a one-column string table on `ctx`.
pub fn register_list(
    ctx: &SessionContext,
    name: &str,
    column: &str,
    values: Vec<String>,
) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![Field::new(column, DataType::Utf8, false)]));
    let array: ArrayRef = Arc::new(StringArray::from(values));
    let batch = RecordBatch::try_new(schema.clone(), vec![array]).map_err(|source| {
        IdentityError::Arrow {
            table: name.into(),
            source,
        }
    })?;
    let table = MemTable::try_new(schema, vec![vec![batch]]).map_err(|e| IdentityError::Query {
        table: name.into(),
        source: e,
    })?;
    let _ = ctx.deregister_table(name);
    ctx.register_table(name, Arc::new(table))
        .map_err(|e| IdentityError::Query {
            table: name.into(),
            source: e,
        })?;
    Ok(())
}

/// What the new mentions touch: the affected customers and, for each of their records, the
/// previous id.
pub struct Affected {
    pub customers: HashSet<String>,
    /// The previous customer id of every record of an affected customer.
    pub previous: PreviousIds,
}

/// Finds the customers sharing a key with `new` mentions (known hub phones excluded) and
/// registers `_affected_records` for [`crate::mentions::Scope::Some`].
/// `keyless_name` tells the names the keyless pass may link on (rare ones): only those pull in
/// the customers holding the same name in the same city.
pub async fn affected(
    ctx: &SessionContext,
    new: &[Mention],
    hubs: &HashSet<String>,
    keyless_name: impl Fn(&str) -> bool,
) -> Result<Affected> {
    // (column of `mentions`, the values new mentions bring for it). Besides the keys, the
    // visible-digits pattern of a phone (masked or full) with the stated surname pulls in the
    // customers on the other side of the masked pass, and a rare full name with a city the
    // customers with that name there: the masked and keyless passes choose among exactly
    // those, so the incremental run must see them to decide as a full run does. (The pattern
    // alone is shared by a few customers each at 1M persons; with the surname it is the
    // masked pass's own block key and rarely shared.)
    let mut keys: [(&str, HashSet<String>); 7] = [
        ("phone", HashSet::default()),
        ("vin", HashSet::default()),
        ("resident_id_hash", HashSet::default()),
        ("app_user_id", HashSet::default()),
        ("unionid", HashSet::default()),
        ("concat(phone_pattern, '|', surname)", HashSet::default()),
        ("concat(lower(name), '|', city)", HashSet::default()),
    ];
    for m in new {
        let usable = m.phone.as_deref().filter(|p| !hubs.contains(*p));
        if let Some(p) = usable {
            keys[0].1.insert(p.to_string());
        }
        if let (true, Some(surname)) = (
            usable.is_some() || m.masked_phone.is_some(),
            crate::masked::stated_surname(m),
        ) && let Some(pattern) = m.phone_pattern()
        {
            keys[5].1.insert(format!("{pattern}|{surname}"));
        }
        let others = [
            m.vin.as_deref(),
            m.resident.as_ref().map(|r| r.hash.as_str()),
            m.app_user_id.as_deref(),
            m.unionid.as_deref(),
        ];
        for (i, v) in others.into_iter().enumerate() {
            if let Some(v) = v {
                keys[i + 1].1.insert(v.to_string());
            }
        }
        if let (false, Some(city)) = (m.name_key.is_empty(), &m.city)
            && keyless_name(&m.name_key)
        {
            keys[6].1.insert(format!("{}|{city}", m.name_key));
        }
    }
    let customers = holders(ctx, keys).await?;
    register_list(
        ctx,
        "_affected_customers",
        "id",
        customers.iter().cloned().collect(),
    )?;
    let rows = strings(
        ctx,
        "customer_map",
        "SELECT source, record_id, role, customer_id FROM customer_map \
         WHERE customer_id IN (SELECT id FROM _affected_customers)",
    )
    .await?;
    let mut record_ids: HashSet<String> = HashSet::default();
    let mut previous = PreviousIds::default();
    for r in rows {
        previous.insert(&r[0], &r[1], &r[2], &r[3]);
        record_ids.insert(r[1].clone());
    }
    register_list(
        ctx,
        "_affected_records",
        "record_id",
        record_ids.into_iter().collect(),
    )?;
    Ok(Affected {
        customers,
        previous,
    })
}

/// The customers holding a mention whose `expr` (a column or expression of `mentions`) takes
/// one of the given values.
async fn holders<const N: usize>(
    ctx: &SessionContext,
    keys: [(&str, HashSet<String>); N],
) -> Result<HashSet<String>> {
    let mut union = Vec::new();
    for (i, (expr, values)) in keys.into_iter().enumerate() {
        if values.is_empty() {
            continue;
        }
        let name = format!("_keys_{i}");
        register_list(ctx, &name, "value", values.into_iter().collect())?;
        union.push(format!(
            "SELECT customer_id FROM mentions WHERE {expr} IN (SELECT value FROM {name})"
        ));
    }
    if union.is_empty() {
        return Ok(HashSet::default());
    }
    Ok(strings(ctx, "mentions", &union.join(" UNION "))
        .await?
        .into_iter()
        .map(|mut r| r.remove(0))
        .collect())
}
