//! Candidates of the masked-phone and keyless passes that lie outside an incremental run's
//! scope.
//!
//! Both passes link a lead only when its block key points at exactly one customer. An
//! incremental run re-links the customers the new mentions touch, and those customers bring
//! old leads whose key may also be held by customers the run does not load. A full run sees
//! those customers as further candidates and leaves the lead alone; an incremental run that
//! ignored them would link it. Pulling them into the scope moves the boundary one hop further
//! (they bring leads of their own), so the run instead counts, per lead key, the customers
//! outside its scope that hold the key, and the passes add that count to the candidates they
//! see.

use crate::hashing::{HashMap, HashSet};

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use compact_str::CompactString;
use datafusion::prelude::SessionContext;
use marque_core::name::Gender;

use crate::incremental::register_list;
use crate::link::LinkConfig;
use crate::mentions::Mention;
use crate::model::Model;
use crate::text_column::TextColumn;
use crate::{IdentityError, Result, keyless, masked};

/// A customer outside the scope holding a masked lead's key, with the gender and city of one
/// of its holding mentions (the masked pass counts only holders that fit the lead).
#[derive(Debug, Clone)]
struct MaskedHolder {
    customer: u32,
    gender: Option<Gender>,
    city: Option<CompactString>,
}

/// Customers outside the scope holding each lead key, by pass. Empty for a full run.
#[derive(Debug, Default, Clone)]
pub struct Outside {
    masked: HashMap<String, Vec<MaskedHolder>>,
    keyless: HashMap<String, u32>,
}

fn key(a: &str, b: &str) -> String {
    format!("{a}|{b}")
}

impl Outside {
    /// Customers outside the scope whose full mobile shows `pattern` with `surname` and whose
    /// gender and city fit `lead` ([`masked::compatible`]).
    pub(crate) fn masked(&self, pattern: &str, surname: &str, lead: &Mention) -> u32 {
        if self.masked.is_empty() {
            return 0;
        }
        let Some(rows) = self.masked.get(&key(pattern, surname)) else {
            return 0;
        };
        let mut customers: Vec<u32> = rows
            .iter()
            .filter(|h| masked::compatible(lead, h.gender, h.city.as_deref()))
            .map(|h| h.customer)
            .collect();
        customers.sort_unstable();
        customers.dedup();
        customers.len() as u32
    }

    /// Customers outside the scope holding the name key `name` in `city` with a key.
    pub(crate) fn keyless(&self, name: &str, city: &str) -> u32 {
        if self.keyless.is_empty() {
            return 0;
        }
        self.keyless.get(&key(name, city)).copied().unwrap_or(0)
    }

    /// Counts given directly: (pattern or name, surname or city, customers outside), the
    /// masked holders without a stated gender or city.
    #[cfg(test)]
    pub(crate) fn from_counts(masked: &[(&str, &str, u32)], keyless: &[(&str, &str, u32)]) -> Self {
        Outside {
            masked: masked
                .iter()
                .map(|(a, b, n)| {
                    let holders = (0..*n)
                        .map(|customer| MaskedHolder {
                            customer,
                            gender: None,
                            city: None,
                        })
                        .collect();
                    (key(a, b), holders)
                })
                .collect(),
            keyless: keyless.iter().map(|(a, b, n)| (key(a, b), *n)).collect(),
        }
    }

    /// One masked holder outside the scope, in `city`.
    #[cfg(test)]
    pub(crate) fn from_masked_holder(pattern: &str, surname: &str, city: Option<&str>) -> Self {
        let holder = MaskedHolder {
            customer: 0,
            gender: None,
            city: city.map(Into::into),
        };
        Outside {
            masked: [(key(pattern, surname), vec![holder])]
                .into_iter()
                .collect(),
            keyless: HashMap::default(),
        }
    }

    /// Number of lead keys with at least one holder outside the scope.
    pub fn len(&self) -> usize {
        self.masked.len() + self.keyless.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts the holders outside the scope (registered as `_affected_customers` by
    /// [`crate::incremental::affected`]) of the lead keys of the scope's mentions `ms`, whose
    /// hubs are marked; `hubs` are the hub phones stored by earlier runs. The conditions
    /// mirror the passes' holders: a stated surname and a usable full mobile for the masked
    /// pass (`masked::holder_key`), a full name, a city and a key for the keyless pass.
    pub async fn load(
        ctx: &SessionContext,
        ms: &[Mention],
        hubs: &HashSet<String>,
        model: &Model,
        cfg: &LinkConfig,
    ) -> Result<Outside> {
        let mut masked_keys: HashSet<String> = HashSet::default();
        let mut keyless_keys: HashSet<String> = HashSet::default();
        for m in ms {
            if let Some((pattern, surname)) = masked::lead_key(m) {
                masked_keys.insert(key(pattern, surname));
            }
            if let Some((name, city)) = keyless::lead_key(m, model, cfg) {
                keyless_keys.insert(key(name, city));
            }
        }
        register_list(
            ctx,
            "_outside_hubs",
            "value",
            hubs.iter().cloned().collect(),
        )?;
        let outside = "customer_id NOT IN (SELECT id FROM _affected_customers)";
        let usable_phone = "phone IS NOT NULL AND phone NOT IN (SELECT value FROM _outside_hubs)";
        let masked = masked_holders(
            ctx,
            masked_keys,
            &format!("source <> 'app' AND surname IS NOT NULL AND {usable_phone} AND {outside}"),
        )
        .await?;
        let keyless = holders(
            ctx,
            "_outside_keyless_keys",
            keyless_keys,
            "concat(lower(name), '|', city)",
            &format!(
                "source <> 'app' AND name IS NOT NULL AND city IS NOT NULL AND {outside} AND \
                 (({usable_phone}) OR resident_id_hash IS NOT NULL OR app_user_id IS NOT NULL \
                 OR unionid IS NOT NULL OR vin IS NOT NULL)"
            ),
        )
        .await?;
        Ok(Outside { masked, keyless })
    }
}

/// For each masked lead key in `keys`, the customers holding it on a `mentions` row passing
/// `filter`, one row per distinct (customer, gender, city).
async fn masked_holders(
    ctx: &SessionContext,
    keys: HashSet<String>,
    filter: &str,
) -> Result<HashMap<String, Vec<MaskedHolder>>> {
    if keys.is_empty() {
        return Ok(HashMap::default());
    }
    register_list(
        ctx,
        "_outside_masked_keys",
        "value",
        keys.into_iter().collect(),
    )?;
    let sql = format!(
        "SELECT k, customer_id, gender, city FROM \
         (SELECT concat(phone_pattern, '|', surname) AS k, customer_id, gender, city \
          FROM mentions WHERE {filter}) \
         WHERE k IN (SELECT value FROM _outside_masked_keys) GROUP BY k, customer_id, gender, city"
    );
    let batches = crate::query::collect(ctx, "mentions", &sql).await?;
    let mut customers: HashMap<String, u32> = HashMap::default();
    let mut out: HashMap<String, Vec<MaskedHolder>> = HashMap::default();
    for b in &batches {
        let cols = (0..4)
            .map(|i| TextColumn::of(b, i, "mentions"))
            .collect::<Result<Vec<_>>>()?;
        for r in 0..b.num_rows() {
            let [k, c, g, city] = [0, 1, 2, 3].map(|i| cols[i].get(r));
            let (Some(k), Some(c)) = (k, c) else {
                continue;
            };
            let next = customers.len() as u32;
            let customer = *customers.entry(c.to_string()).or_insert(next);
            out.entry(k.to_string()).or_default().push(MaskedHolder {
                customer,
                gender: crate::output::gender_from_code(g),
                city: city.map(Into::into),
            });
        }
    }
    Ok(out)
}

/// For each of `keys` that `key_expr` takes on a `mentions` row passing `filter`, the number of
/// distinct customers holding it.
async fn holders(
    ctx: &SessionContext,
    list: &str,
    keys: HashSet<String>,
    key_expr: &str,
    filter: &str,
) -> Result<HashMap<String, u32>> {
    if keys.is_empty() {
        return Ok(HashMap::default());
    }
    register_list(ctx, list, "value", keys.into_iter().collect())?;
    let sql = format!(
        "SELECT k, CAST(count(DISTINCT customer_id) AS BIGINT) AS n FROM \
         (SELECT {key_expr} AS k, customer_id FROM mentions WHERE {filter}) \
         WHERE k IN (SELECT value FROM {list}) GROUP BY k"
    );
    let batches = crate::query::collect(ctx, "mentions", &sql).await?;
    let mut out = HashMap::default();
    for b in &batches {
        let cast = |i: usize, to: &arrow::datatypes::DataType| {
            arrow::compute::cast(b.column(i), to).map_err(|source| IdentityError::Arrow {
                table: "mentions".into(),
                source,
            })
        };
        let k = cast(0, &arrow::datatypes::DataType::Utf8)?;
        let n = cast(1, &arrow::datatypes::DataType::Int64)?;
        let (k, n) = (k.as_string::<i32>(), n.as_primitive::<Int64Type>());
        for r in 0..b.num_rows() {
            if !k.is_null(r) {
                out.insert(k.value(r).to_string(), n.value(r) as u32);
            }
        }
    }
    Ok(out)
}
