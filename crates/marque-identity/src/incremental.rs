//! Incremental resolution: find the ingest batches no run has resolved yet, and the existing
//! customers their mentions touch (through a phone, VIN, resident id, app user id or unionid),
//! so that only those customers and the new mentions are linked again.

use crate::hashing::{HashSet, fingerprint};

use datafusion::prelude::SessionContext;

use crate::Result;
use crate::compact::{PackedPhone, PackedVin};
use crate::mentions::Mention;
use crate::names::name_key;
use crate::previous::PreviousIds;

/// Table listing the ingest batches resolution has seen.
pub const BATCHES_TABLE: &str = "identity_batches";

/// The distinct non-null values of the one text column `sql` selects from `table`.
async fn values(ctx: &SessionContext, table: &str, sql: &str) -> Result<HashSet<String>> {
    let mut out = HashSet::default();
    crate::query::for_each_batch(ctx, table, sql, |cols, rows| {
        out.extend((0..rows).filter_map(|r| cols[0].get(r)).map(str::to_string));
    })
    .await?;
    Ok(out)
}

/// Every ingest batch id in the raw tables.
pub async fn raw_batches(ctx: &SessionContext, tables: &[String]) -> Result<HashSet<String>> {
    let mut out = HashSet::default();
    for t in tables.iter().filter(|t| t.starts_with("raw_")) {
        let sql = format!("SELECT DISTINCT _batch_id FROM {t} WHERE _batch_id IS NOT NULL");
        out.extend(values(ctx, t, &sql).await?);
    }
    Ok(out)
}

/// The batches earlier runs resolved.
pub async fn resolved_batches(ctx: &SessionContext) -> Result<HashSet<String>> {
    let sql = format!("SELECT batch_id FROM {BATCHES_TABLE}");
    values(ctx, BATCHES_TABLE, &sql).await
}

/// What the new mentions touch: the affected customers and, for each of their records, the
/// previous id.
pub struct Affected {
    /// Shared: the scan of previous ids tests rows against it on the scan's tasks, and the
    /// writers mark these customers' rows deleted.
    pub customers: std::sync::Arc<HashSet<String>>,
    /// The previous customer id of every record of an affected customer.
    pub previous: PreviousIds,
}

/// The values new mentions bring for each relation the scope follows.
#[derive(Default)]
struct Keys {
    phone: HashSet<String>,
    vin: HashSet<String>,
    resident_id_hash: HashSet<String>,
    app_user_id: HashSet<String>,
    unionid: HashSet<String>,
    /// Fingerprints of (visible-digits pattern, surname).
    pattern_surname: HashSet<u128>,
    /// Fingerprints of (name key, city).
    name_city: HashSet<u128>,
}

/// Finds the customers sharing a key with `new` mentions (known hub phones excluded): the
/// customers the run re-resolves (the writers keep the other customers' rows).
/// `keyless_name` tells the names the keyless pass may link on (rare ones): only those pull in
/// the customers holding the same name in the same city.
pub async fn affected(
    ctx: &SessionContext,
    new: &[Mention],
    hubs: &HashSet<String>,
    keyless_name: impl Fn(&str) -> bool,
) -> Result<Affected> {
    // Besides the keys, the visible-digits pattern of a phone (masked or full) with the stated
    // surname pulls in the customers on the other side of the masked pass, and a rare full name
    // with a city the customers with that name there: the masked and keyless passes choose
    // among exactly those, so the incremental run must see them to decide as a full run does.
    // (The pattern alone is shared by a few customers each at 1M persons; with the surname it
    // is the masked pass's own block key and rarely shared.)
    let mut keys = Keys::default();
    for m in new {
        let usable = m
            .phone()
            .map(PackedPhone::text)
            .filter(|p| !hubs.contains(p.as_str()));
        if let Some(p) = &usable {
            keys.phone.insert(p.to_string());
        }
        if let (true, Some(surname)) = (
            usable.is_some() || m.masked_phone().is_some(),
            crate::masked::stated_surname(m),
        ) && let Some(pattern) = m.phone_pattern()
        {
            keys.pattern_surname
                .insert(fingerprint(&[Some(&pattern), Some(surname)]));
        }
        let vin = m.vin().map(PackedVin::text);
        let others = [
            (&mut keys.vin, vin.as_deref()),
            (&mut keys.resident_id_hash, m.resident().map(|r| r.hash())),
            (&mut keys.app_user_id, m.app_user_id()),
            (&mut keys.unionid, m.unionid()),
        ];
        for (set, v) in others {
            if let Some(v) = v {
                set.insert(v.to_string());
            }
        }
        if let (false, Some(city)) = (m.name_key().is_empty(), m.city())
            && keyless_name(m.name_key())
        {
            keys.name_city
                .insert(fingerprint(&[Some(m.name_key()), Some(city)]));
        }
    }
    let customers = std::sync::Arc::new(holders(ctx, &keys).await?);
    let previous = PreviousIds::load(ctx, Some(&customers)).await?;
    Ok(Affected {
        customers,
        previous,
    })
}

/// The customers holding a mention that shares one of `keys`: one pass over `mentions`,
/// probing each row's values (one semi-join per relation read the table seven times).
async fn holders(ctx: &SessionContext, keys: &Keys) -> Result<HashSet<String>> {
    let exact = [
        (1, &keys.phone),
        (2, &keys.vin),
        (3, &keys.resident_id_hash),
        (4, &keys.app_user_id),
        (5, &keys.unionid),
    ];
    let mut out = HashSet::default();
    let sql = "SELECT customer_id, phone, vin, resident_id_hash, app_user_id, unionid, \
               phone_pattern, surname, name, city FROM mentions";
    crate::query::for_each_batch(ctx, "mentions", sql, |cols, rows| {
        for r in 0..rows {
            let v = |i: usize| cols[i].get(r);
            let hit = exact
                .iter()
                .any(|(i, set)| !set.is_empty() && v(*i).is_some_and(|x| set.contains(x)))
                || (!keys.pattern_surname.is_empty()
                    && matches!((v(6), v(7)), (Some(p), Some(s))
                        if keys.pattern_surname.contains(&fingerprint(&[Some(p), Some(s)]))))
                || (!keys.name_city.is_empty()
                    && matches!((v(8), v(9)), (Some(n), Some(c))
                        if keys.name_city.contains(&fingerprint(&[Some(&name_key(n)), Some(c)]))));
            if hit && let Some(c) = v(0) {
                out.insert(c.to_string());
            }
        }
    })
    .await?;
    Ok(out)
}
