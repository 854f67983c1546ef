//! Predictions: accumulates a customer_map (Arrow batches or key/customer pairs) against truth.

use arrow::array::{Array, LargeStringArray, RecordBatch, StringArray, StringViewArray};
use arrow::datatypes::DataType;
use hashbrown::{HashMap, HashSet};
use marque_core::MentionKey;

use crate::error::{EvalError, Result};
use crate::report::Report;
use crate::truth::{Tag, Truth, describe, parse_role, parse_source, tag};

/// Marks a truth mention that has not been predicted.
pub(crate) const UNASSIGNED: u32 = u32::MAX;

/// How many example keys of missing and unknown mentions the report carries.
pub(crate) const EXAMPLES: usize = 5;

/// Accumulates predictions for one truth, then scores them with [`Evaluator::finish`].
///
/// An error leaves the rows before the offending one added; discard the evaluator then.
///
/// Customer ids are interned to dense `u32`s; a prediction row costs two hash look-ups and
/// no allocation unless it introduces a new customer or an unknown mention.
#[derive(Debug)]
pub struct Evaluator<'a> {
    pub(crate) truth: &'a Truth,
    /// Per truth mention: interned customer index, or [`UNASSIGNED`].
    pub(crate) assigned: Vec<u32>,
    /// Customer id -> interned index; only customers of mentions known to truth.
    pub(crate) customers: HashMap<String, u32>,
    /// Predicted mentions absent from truth, kept to detect duplicates among them too.
    unknown: HashSet<(Tag, Box<str>)>,
    pub(crate) unknown_examples: Vec<String>,
    pub(crate) predicted: u64,
    batches: u64,
    pairs: u64,
}

impl<'a> Evaluator<'a> {
    /// Starts an empty evaluation against `truth`.
    pub fn new(truth: &'a Truth) -> Self {
        Evaluator {
            truth,
            assigned: vec![UNASSIGNED; truth.len()],
            customers: HashMap::new(),
            unknown: HashSet::new(),
            unknown_examples: Vec::new(),
            predicted: 0,
            batches: 0,
            pairs: 0,
        }
    }

    /// Adds one prediction: `key` belongs to customer `customer_id`.
    ///
    /// Errors if `key` was already predicted or `customer_id` is empty.
    pub fn add(&mut self, key: &MentionKey, customer_id: &str) -> Result<()> {
        let n = self.pairs;
        self.pairs += 1;
        self.add_raw(
            tag(key.source, key.role),
            &key.record_id,
            customer_id,
            || format!("pair {n}"),
        )
    }

    /// Adds every row of a customer_map batch. The batch must have string columns `source`,
    /// `record_id`, `role` and `customer_id` (Utf8, LargeUtf8 or Utf8View); other columns are
    /// ignored. Nulls, unknown source or role names and empty ids are errors.
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let b = self.batches;
        self.batches += 1;
        let source = StrCol::get(batch, "source", b)?;
        let record_id = StrCol::get(batch, "record_id", b)?;
        let role = StrCol::get(batch, "role", b)?;
        let customer_id = StrCol::get(batch, "customer_id", b)?;
        let location = |row: usize| format!("batch {b}, row {row}");
        let field_err = |row: usize, field: &'static str, value: &str, reason: &'static str| {
            EvalError::PredictionField {
                location: location(row),
                field,
                value: value.to_string(),
                reason,
            }
        };
        // Rows repeat few distinct source/role strings; remember the last pair parsed.
        let mut last: Option<(&str, &str, Tag)> = None;
        for row in 0..batch.num_rows() {
            let s = source
                .value(row)
                .ok_or_else(|| field_err(row, "source", "", "null"))?;
            let r = role
                .value(row)
                .ok_or_else(|| field_err(row, "role", "", "null"))?;
            let t = match last {
                Some((ls, lr, t)) if ls == s && lr == r => t,
                _ => {
                    let src = parse_source(s)
                        .ok_or_else(|| field_err(row, "source", s, "unknown source"))?;
                    let rl =
                        parse_role(r).ok_or_else(|| field_err(row, "role", r, "unknown role"))?;
                    let t = tag(src, rl);
                    last = Some((s, r, t));
                    t
                }
            };
            let rid = record_id
                .value(row)
                .ok_or_else(|| field_err(row, "record_id", "", "null"))?;
            let cid = customer_id
                .value(row)
                .ok_or_else(|| field_err(row, "customer_id", "", "null"))?;
            self.add_raw(t, rid, cid, || location(row))?;
        }
        Ok(())
    }

    fn add_raw(
        &mut self,
        tag: Tag,
        record_id: &str,
        customer_id: &str,
        location: impl Fn() -> String,
    ) -> Result<()> {
        if customer_id.is_empty() {
            return Err(EvalError::PredictionField {
                location: location(),
                field: "customer_id",
                value: String::new(),
                reason: "empty",
            });
        }
        self.predicted += 1;
        match self.truth.find(tag, record_id) {
            Some(m) => {
                let slot = &mut self.assigned[m as usize];
                if *slot != UNASSIGNED {
                    return Err(EvalError::DuplicatePrediction {
                        key: describe(tag, record_id),
                        location: location(),
                    });
                }
                let fresh = self.customers.len() as u32;
                *slot = *self.customers.entry_ref(customer_id).or_insert(fresh);
            }
            None => {
                if !self.unknown.insert((tag, record_id.into())) {
                    return Err(EvalError::DuplicatePrediction {
                        key: describe(tag, record_id),
                        location: location(),
                    });
                }
                if self.unknown_examples.len() < EXAMPLES {
                    self.unknown_examples.push(describe(tag, record_id));
                }
            }
        }
        Ok(())
    }

    /// Scores everything added so far.
    pub fn finish(self) -> Report {
        crate::metrics::score(&self)
    }

    pub(crate) fn unknown(&self) -> u64 {
        self.unknown.len() as u64
    }
}

/// One string column of a batch, whichever of the three Arrow string layouts it uses.
enum StrCol<'b> {
    Utf8(&'b StringArray),
    Large(&'b LargeStringArray),
    View(&'b StringViewArray),
}

impl<'b> StrCol<'b> {
    fn get(batch: &'b RecordBatch, column: &'static str, b: u64) -> Result<Self> {
        let array = batch
            .column_by_name(column)
            .ok_or(EvalError::MissingPredictionColumn { batch: b, column })?;
        let any = array.as_any();
        let col = match array.data_type() {
            DataType::Utf8 => any.downcast_ref().map(StrCol::Utf8),
            DataType::LargeUtf8 => any.downcast_ref().map(StrCol::Large),
            DataType::Utf8View => any.downcast_ref().map(StrCol::View),
            _ => None,
        };
        col.ok_or_else(|| EvalError::PredictionColumnType {
            batch: b,
            column,
            data_type: array.data_type().to_string(),
        })
    }

    /// The value at `row`, or `None` when it is null.
    fn value(&self, row: usize) -> Option<&'b str> {
        match self {
            StrCol::Utf8(a) => (!a.is_null(row)).then(|| a.value(row)),
            StrCol::Large(a) => (!a.is_null(row)).then(|| a.value(row)),
            StrCol::View(a) => (!a.is_null(row)).then(|| a.value(row)),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int32Array};
    use arrow::datatypes::{Field, Schema};
    use marque_core::{Role, Source};

    use super::*;

    fn key(source: Source, id: &str, role: Role) -> MentionKey {
        MentionKey {
            source,
            record_id: id.into(),
            role,
        }
    }

    fn truth() -> Truth {
        Truth::from_rows([
            (key(Source::Sales, "INV-1", Role::Buyer), "P1", false),
            (key(Source::AfterSales, "RO-1", Role::Owner), "P1", false),
            (key(Source::AfterSales, "RO-1", Role::Sender), "P2", false),
            (key(Source::Marketing, "L-1", Role::Lead), "P3", true),
        ])
        .unwrap()
    }

    fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
        let fields: Vec<Field> = columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(
            Arc::new(Schema::new(fields)),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    #[test]
    fn accepts_all_three_string_layouts_and_ignores_extra_columns() {
        let t = truth();
        let mut ev = Evaluator::new(&t);
        ev.add_batch(&batch(vec![
            ("extra", Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef),
            (
                "source",
                Arc::new(StringArray::from(vec!["sales", "after_sales"])),
            ),
            (
                "record_id",
                Arc::new(LargeStringArray::from(vec!["INV-1", "RO-1"])),
            ),
            (
                "role",
                Arc::new(StringViewArray::from(vec!["buyer", "owner"])),
            ),
            ("customer_id", Arc::new(StringArray::from(vec!["C1", "C1"]))),
        ]))
        .unwrap();
        ev.add_batch(&batch(vec![
            (
                "source",
                Arc::new(StringViewArray::from(vec!["after_sales", "app"])),
            ),
            (
                "record_id",
                Arc::new(StringViewArray::from(vec!["RO-1", "E-9"])),
            ),
            (
                "role",
                Arc::new(LargeStringArray::from(vec!["sender", "app_user"])),
            ),
            (
                "customer_id",
                Arc::new(LargeStringArray::from(vec!["C2", "C3"])),
            ),
        ]))
        .unwrap();
        let r = ev.finish();
        assert_eq!(r.coverage.predicted, 4);
        assert_eq!(r.coverage.scored, 3);
        assert_eq!(r.coverage.unknown, 1);
        assert_eq!(r.coverage.unknown_examples, vec!["app:app_user:E-9"]);
        assert_eq!(r.coverage.missing_unbroken, 0);
        assert_eq!(r.coverage.missing_broken, 1);
        assert_eq!(r.pairwise.f1, 1.0);
    }

    #[test]
    fn batch_errors_name_batch_row_and_field() {
        let t = truth();
        let mut ev = Evaluator::new(&t);
        let cols = |source: Vec<Option<&str>>, cid: Vec<Option<&str>>| {
            batch(vec![
                ("source", Arc::new(StringArray::from(source)) as ArrayRef),
                (
                    "record_id",
                    Arc::new(StringArray::from(vec!["INV-1", "RO-1"])),
                ),
                ("role", Arc::new(StringArray::from(vec!["buyer", "owner"]))),
                ("customer_id", Arc::new(StringArray::from(cid))),
            ])
        };
        let e = ev
            .add_batch(&cols(
                vec![Some("sales"), Some("dms")],
                vec![Some("C"), Some("C")],
            ))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown source \"dms\" at predictions batch 0, row 1 (field source)"
        );
        let mut ev = Evaluator::new(&t);
        let e = ev
            .add_batch(&cols(
                vec![Some("sales"), Some("after_sales")],
                vec![Some("C"), None],
            ))
            .unwrap_err();
        assert!(
            e.to_string().contains("batch 0, row 1 (field customer_id)"),
            "{e}"
        );
        let e = ev
            .add_batch(&batch(vec![(
                "source",
                Arc::new(Int32Array::from(vec![1])) as ArrayRef,
            )]))
            .unwrap_err();
        assert!(
            e.to_string().contains("column \"source\" has type Int32"),
            "{e}"
        );
        let e = ev
            .add_batch(&batch(vec![(
                "source",
                Arc::new(StringArray::from(vec!["x"])) as ArrayRef,
            )]))
            .unwrap_err();
        assert!(e.to_string().contains("no column \"record_id\""), "{e}");
    }

    #[test]
    fn duplicate_predictions_are_errors_known_or_unknown() {
        let t = truth();
        let mut ev = Evaluator::new(&t);
        let k = key(Source::Sales, "INV-1", Role::Buyer);
        ev.add(&k, "C1").unwrap();
        let e = ev.add(&k, "C1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "mention sales:buyer:INV-1 predicted twice (second time at predictions pair 1)"
        );
        let u = key(Source::App, "nope", Role::AppUser);
        ev.add(&u, "C1").unwrap();
        assert!(matches!(
            ev.add(&u, "C2").unwrap_err(),
            EvalError::DuplicatePrediction { .. }
        ));
        assert!(ev.add(&key(Source::App, "x", Role::AppUser), "").is_err());
    }
}
