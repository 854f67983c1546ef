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
    /// (visible-digits pattern, surname) of new full mobiles: the masked leads waiting on them.
    masked_leads_on: Pair,
    /// (visible-digits pattern, surname) of new masked leads: the full mobiles they may join.
    mobiles_for: Pair,
    /// (name key, city) of new keyed mentions with a rare name: the keyless leads waiting on
    /// them.
    keyless_leads_on: Pair,
    /// (name key, city) of new keyless leads: the keyed holders they may join.
    named_for: Pair,
}

/// Pairs of texts as fingerprints, with the first texts held to probe cheaply before
/// fingerprinting a row's pair.
#[derive(Default)]
struct Pair {
    firsts: HashSet<String>,
    pairs: HashSet<u128>,
}

impl Pair {
    fn insert(&mut self, first: &str, second: &str) {
        self.firsts.insert(first.to_string());
        self.pairs.insert(fingerprint(&[Some(first), Some(second)]));
    }

    fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    fn contains(&self, first: Option<&str>, second: Option<&str>) -> bool {
        match (first, second) {
            (Some(a), Some(b)) if self.firsts.contains(a) => {
                self.pairs.contains(&fingerprint(&[Some(a), Some(b)]))
            }
            _ => false,
        }
    }
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
    // Besides the keys, the masked and keyless passes link a lead (a masked phone with a
    // surname; a rare full name with a city and no key) to the one customer holding its block
    // key. A decision changes when a new mention is a lead (it may join a holder: the holders
    // come in) or a holder (the leads waiting on its key may join it or become ambiguous: the
    // leads' customers come in). The other holders of a key stay out: the run counts them
    // (`outside.rs`) so that a lead sees as many candidates as a full run does. Pulling in
    // every customer that holds a new mobile's pattern and surname made the scope of a 1 %
    // batch at 1M persons 171k customers instead of 139k.
    let mut keys = Keys::default();
    for m in new {
        let usable = m
            .phone()
            .map(PackedPhone::text)
            .filter(|p| !hubs.contains(p.as_str()));
        if let Some(p) = &usable {
            keys.phone.insert(p.to_string());
        }
        // The masked pass's own keys (its hubs are not marked yet: the stored ones are
        // excluded through `usable`).
        if usable.is_some()
            && let Some((pattern, surname)) = crate::masked::holder_key(m)
        {
            keys.masked_leads_on.insert(&pattern, surname);
        } else if let Some((pattern, surname)) = crate::masked::lead_key(m) {
            keys.mobiles_for.insert(&pattern, surname);
        }
        let vin = m.vin().map(PackedVin::text);
        let others = [
            (&mut keys.vin, vin.as_deref()),
            (&mut keys.resident_id_hash, m.resident().map(|r| r.hash())),
            (&mut keys.app_user_id, m.app_user_id()),
            (&mut keys.unionid, m.unionid()),
        ];
        let mut keyed = usable.is_some();
        for (set, v) in others {
            if let Some(v) = v {
                keyed = true;
                set.insert(v.to_string());
            }
        }
        if let (false, Some(city)) = (m.name_key().is_empty(), m.city())
            && keyless_name(m.name_key())
        {
            let pair = if keyed {
                &mut keys.keyless_leads_on
            } else {
                &mut keys.named_for
            };
            pair.insert(m.name_key(), city);
        }
    }
    let customers = std::sync::Arc::new(holders(ctx, &keys, hubs).await?);
    tracing::debug!(
        customers = customers.len(),
        rss_mib = crate::memory::resident_mib(),
        cpu_s = crate::memory::cpu_seconds(),
        "holders of the new mentions' keys found"
    );
    let previous = PreviousIds::load(ctx, Some(&customers)).await?;
    Ok(Affected {
        customers,
        previous,
    })
}

/// The customers holding a mention that shares one of `keys`: one pass over `mentions`,
/// probing each row's values (one semi-join per relation read the table seven times).
/// `hubs` tells the phones that are no key, so that a row holding one may be a keyless lead.
async fn holders(
    ctx: &SessionContext,
    keys: &Keys,
    hubs: &HashSet<String>,
) -> Result<HashSet<String>> {
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
            let phone = v(1);
            // The masked pass's sides: a full mobile holds its pattern, a masked phone (kept
            // as its pattern alone) waits on one.
            let pattern = match phone {
                Some(_) => &keys.mobiles_for,
                None => &keys.masked_leads_on,
            };
            let keyless_lead =
                || !crate::outside::row_is_keyed(phone, [v(2), v(3), v(4), v(5)], hubs);
            // The keyless pass's sides: any mention may hold a name and city, a mention
            // without a key waits on one.
            let named = || {
                let (Some(n), Some(c)) = (v(8), v(9)) else {
                    return false;
                };
                let lead = !keys.keyless_leads_on.is_empty() && keyless_lead();
                if keys.named_for.is_empty() && !lead {
                    return false; // no name key to derive
                }
                let key = name_key(n);
                let wanted = |pair: &Pair| pair.contains(Some(&key), Some(c));
                wanted(&keys.named_for) || (lead && wanted(&keys.keyless_leads_on))
            };
            let hit = exact
                .iter()
                .any(|(i, set)| !set.is_empty() && v(*i).is_some_and(|x| set.contains(x)))
                || pattern.contains(v(6), v(7))
                || named();
            if hit && let Some(c) = v(0) {
                out.insert(c.to_string());
            }
        }
    })
    .await?;
    Ok(out)
}
