//! The previous run's customer id of each mention record, held compactly.
//!
//! A full rerun on a resolved lake reads one row per record (19.3M at 1M persons). Kept as
//! `"source\0record\0role" → "customer id"` strings that map took about 3 GB; here a record is
//! 64 bits of its fingerprint in a [`RecordMap`] and its id an index into the run's distinct
//! ids (1.3M).

use datafusion::prelude::SessionContext;

use crate::Result;
use crate::hashing::{HashMap, HashSet, fingerprint, record_fingerprint, words};
use crate::record_set::{RecordMap, short};
use crate::text_column::TextColumn;
use rayon::prelude::*;

/// Record (source, record id, role) → previous customer id.
#[derive(Debug, Default)]
pub struct PreviousIds {
    ids: Vec<Box<str>>,
    /// Fingerprint of an id → its place in `ids` (each id's text is held once).
    id_index: HashMap<[u32; 4], u32>,
    by_record: RecordMap,
    /// The id the last insert named.
    last_id: Option<u32>,
}

fn key(source: &str, record_id: &str, role: &str) -> u64 {
    short(record_fingerprint(source, record_id, role))
}

impl PreviousIds {
    /// Adds one record (runs add a batch at a time: [`PreviousIds::load`]).
    #[cfg(test)]
    fn insert(&mut self, source: &str, record_id: &str, role: &str, customer_id: &str) {
        let id = self.intern(customer_id);
        self.by_record.insert(key(source, record_id, role), id);
    }

    /// The place of `customer_id` in `ids`, added when new.
    fn intern(&mut self, customer_id: &str) -> u32 {
        // `customer_map` lists a mention's folded records after its key record: runs of one
        // customer, whose id is then neither fingerprinted nor looked up again.
        let id = match self.last_id {
            Some(id) if self.ids[id as usize].as_ref() == customer_id => id,
            _ => {
                let next = self.ids.len() as u32;
                let id = *self
                    .id_index
                    .entry(words(fingerprint(&[Some(customer_id)])))
                    .or_insert(next);
                if id == next {
                    self.ids.push(customer_id.into());
                }
                id
            }
        };
        self.last_id = Some(id);
        id
    }

    /// Adds the rows of one batch of (source, record id, role, customer id) columns. The
    /// records' fingerprints are taken on both cores: one by one on the scan's consumer, a
    /// full rerun's 19.3M rows took 9–11 s at 1M persons.
    fn add_batch(&mut self, cols: &[TextColumn], rows: usize) {
        let keys: Vec<Option<u64>> = (0..rows)
            .into_par_iter()
            .map(|r| match [0, 1, 2].map(|i| cols[i].get(r)) {
                [Some(source), Some(record), Some(role)] => Some(key(source, record, role)),
                _ => None,
            })
            .collect();
        let entries: Vec<(u64, u32)> = keys
            .iter()
            .enumerate()
            .filter_map(|(r, k)| Some((k.as_ref()?, cols[3].get(r)?)))
            .map(|(&k, customer)| (k, self.intern(customer)))
            .collect();
        self.by_record.insert_each(&entries);
    }

    /// The customer id `record_id` of `source` in `role` had (a run asks through
    /// [`PreviousIds::into_parts`]).
    #[cfg(test)]
    fn get(&self, source: &str, record_id: &str, role: &str) -> Option<&str> {
        let id = self.by_record.get(key(source, record_id, role))?;
        self.ids.get(id as usize).map(|s| &**s)
    }

    /// The record lookup and the ids' texts apart: the lookup is most of the memory and is
    /// done with once the votes are counted, while the votes still name the ids.
    pub(crate) fn into_parts(self) -> (RecordIds, Vec<Box<str>>) {
        (
            RecordIds {
                by_record: self.by_record,
            },
            self.ids,
        )
    }

    /// The [`short`] [`record_fingerprint`] of every record held.
    pub(crate) fn record_fingerprints(&self) -> impl Iterator<Item = u64> + '_ {
        self.by_record.keys()
    }

    /// Reads `customer_map` (registered on `ctx`) in one streaming pass: the previous id of
    /// every record, or only of the records of `customers` when given.
    pub(crate) async fn load(
        ctx: &SessionContext,
        customers: Option<&std::sync::Arc<HashSet<String>>>,
    ) -> Result<Self> {
        let mut previous = PreviousIds::default();
        if customers.is_some_and(|c| c.is_empty()) {
            return Ok(previous);
        }
        // Room up front: growing a map of millions of records rehashes it several times, and
        // holds the old table beside the new one while it does.
        let records = crate::query::count_rows(ctx, "customer_map").await?;
        let expected = match customers {
            None => records,
            Some(c) => {
                // Customers a new batch touches hold more records than most: at 1M persons
                // 23.5 against 15.1 on average (3.26M records of 139k, 19.2M of 1.27M). Both
                // counts come from the tables' statistics, not a scan.
                let all = crate::query::count_rows(ctx, "customers").await?.max(1);
                (records * c.len() * 3 / (2 * all)).min(records)
            }
        };
        previous.by_record = RecordMap::with_capacity(expected);
        let add = |cols: &[TextColumn], rows: usize| previous.add_batch(cols, rows);
        let columns = ["source", "record_id", "role", "customer_id"];
        match customers {
            Some(customers) => {
                let customers = customers.clone();
                let test: crate::query::RowTest =
                    std::sync::Arc::new(move |v| v[0].is_some_and(|c| customers.contains(c)));
                let (table, tested) = ("customer_map", ["customer_id"]);
                crate::query::for_each_batch_where(ctx, table, &columns, &tested, test, add).await?
            }
            None => {
                let sql = format!("SELECT {} FROM customer_map", columns.join(", "));
                crate::query::for_each_batch(ctx, "customer_map", &sql, add).await?
            }
        }
        Ok(previous)
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.by_record.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_record.len() == 0
    }
}

/// Record → the place of its previous customer id in the texts [`PreviousIds::into_parts`]
/// gives.
#[derive(Debug)]
pub(crate) struct RecordIds {
    by_record: RecordMap,
}

impl RecordIds {
    pub(crate) fn get(&self, source: &str, record_id: &str, role: &str) -> Option<u32> {
        self.by_record.get(key(source, record_id, role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_record_keeps_its_own_previous_id_and_ids_are_stored_once() {
        let mut p = PreviousIds::default();
        p.insert("sales", "S1", "buyer", "C1");
        p.insert("after_sales", "R1", "owner", "C1");
        p.insert("after_sales", "R1", "sender", "C2");
        assert_eq!(p.get("sales", "S1", "buyer"), Some("C1"));
        assert_eq!(p.get("after_sales", "R1", "owner"), Some("C1"));
        assert_eq!(
            p.get("after_sales", "R1", "sender"),
            Some("C2"),
            "role tells apart"
        );
        assert_eq!(p.get("sales", "S1", "owner"), None);
        // Back to C1 after C2: found again, not interned twice.
        p.insert("app", "A1", "account", "C1");
        assert_eq!(p.get("app", "A1", "account"), Some("C1"));
        assert_eq!(p.len(), 4);
        assert_eq!(p.ids.len(), 2, "C1 interned once");
        let (records, ids) = p.into_parts();
        let id =
            |source, record, role| records.get(source, record, role).map(|i| &*ids[i as usize]);
        assert_eq!(id("after_sales", "R1", "sender"), Some("C2"));
        assert_eq!(id("app", "A1", "account"), Some("C1"));
        assert_eq!(id("sales", "S1", "owner"), None);
    }

    #[test]
    fn fields_do_not_run_into_each_other() {
        // ("ab", "c") and ("a", "bc") must be different records.
        let mut p = PreviousIds::default();
        p.insert("sales", "ab", "c", "C1");
        assert_eq!(p.get("sales", "a", "bc"), None);
    }
}
