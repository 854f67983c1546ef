//! The bookkeeping tables of resolution: `match_edges`, `identity_hubs`, `identity_model`,
//! `customer_id_history` and `identity_overrides`, to and from Arrow.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Builder, Int64Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef, TimeUnit};

use crate::compare::{COMPARISONS, Comparison};
use crate::history::IdChange;
use crate::link::Edge;
use crate::mentions::Mention;
use crate::model::Model;
use crate::{IdentityError, Result};

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn batch(table: &str, schema: SchemaRef, cols: Vec<ArrayRef>) -> Result<RecordBatch> {
    RecordBatch::try_new(schema, cols).map_err(|source| IdentityError::Arrow {
        table: table.into(),
        source,
    })
}

fn strings(rows: usize, n: usize) -> Vec<StringBuilder> {
    (0..n)
        .map(|_| StringBuilder::with_capacity(rows, rows * 16))
        .collect()
}

pub fn match_edges_schema() -> SchemaRef {
    let s = |n: &str| Field::new(n, DataType::Utf8, false);
    Arc::new(Schema::new(vec![
        s("customer_id"),
        s("left_source"),
        s("left_record_id"),
        s("left_role"),
        s("right_source"),
        s("right_record_id"),
        s("right_role"),
        s("kind"),
        Field::new("weight", DataType::Float64, true),
        s("evidence"),
    ]))
}

/// [`write_evidence_json`] into a new string.
#[cfg(test)]
fn evidence_json(e: &Edge, model: &Model) -> String {
    let mut out = String::new();
    write_evidence_json(&mut out, e, model, &EvidenceItems::new(model));
    out
}

/// The evidence items that are the same on every edge, written once per run: each level of
/// every comparison but the name (whose weight depends on the name's frequency), and the prior.
/// Formatting the weights edge by edge was most of building `match_edges`.
struct EvidenceItems {
    /// `[comparison][level]`; empty for the name.
    levels: Vec<Vec<String>>,
    prior: String,
}

impl EvidenceItems {
    fn new(model: &Model) -> Self {
        let levels = COMPARISONS
            .iter()
            .map(|&c| {
                if c == Comparison::Name {
                    return Vec::new();
                }
                (0..c.levels().len())
                    .map(|level| {
                        let mut item = String::new();
                        write_item(
                            &mut item,
                            c.as_str(),
                            c.levels()[level],
                            model.weight(c, level as u8),
                        );
                        item
                    })
                    .collect()
            })
            .collect();
        let mut prior = String::new();
        write_item(&mut prior, "prior", "lambda", model.prior_weight());
        Self { levels, prior }
    }
}

/// One evidence item: `{"comparison":…,"level":…,"weight":…}`.
fn write_item(out: &mut String, comparison: &str, level: &str, weight: f64) {
    use std::fmt::Write;
    let _ = write!(
        out,
        r#"{{"comparison":"{comparison}","level":"{level}","weight":"#
    );
    write_weight(out, weight);
    out.push('}');
}

/// Appends the evidence of one edge as JSON to `out`: each comparison's level and weight, then
/// the prior. Written by hand rather than through a `serde_json::Value`
/// tree: at a million persons `match_edges` has millions of rows, and building a tree of maps per
/// edge was a tenth of a small run's CPU. Every string written is a fixed ASCII name (no
/// escaping needed). `items` are `model`'s fixed items.
fn write_evidence_json(out: &mut String, e: &Edge, model: &Model, items: &EvidenceItems) {
    use std::fmt::Write;
    let Some(v) = e.vector else {
        let _ = write!(
            out,
            r#"[{{"comparison":"{}","level":"equal","weight":null}}]"#,
            e.kind.as_str()
        );
        return;
    };
    out.push('[');
    for &c in COMPARISONS.iter() {
        if !out.ends_with('[') {
            out.push(',');
        }
        let level = v[c.index()];
        if c == Comparison::Name {
            let w = model.name_weight_tf(level, e.name_frequency);
            write_item(out, c.as_str(), c.levels()[level as usize], w);
        } else {
            out.push_str(&items.levels[c.index()][level as usize]);
        }
    }
    out.push(',');
    out.push_str(&items.prior);
    out.push(']');
}

/// A weight rounded to two decimals, as JSON writes a float (`1.0`, `-3.25`); `null` when it is
/// not finite (JSON has no infinities).
fn write_weight(out: &mut String, w: f64) {
    use std::fmt::Write;
    let rounded = (w * 100.0).round() / 100.0;
    if rounded.is_finite() {
        // `Debug` prints the shortest round-tripping form with a decimal point, as JSON
        // serialisers do.
        let _ = write!(out, "{rounded:?}");
    } else {
        out.push_str("null");
    }
}

/// Edges per part of `match_edges`: about 3 MB of rows (a dozen parts are in flight, see
/// [`crate::publish::CHUNK`]).
const EDGE_CHUNK: usize = 8 * 1024;

/// Whose each mention is: customer number of a mention index, customer id of a number.
pub(crate) struct Owners {
    pub cluster_of: Arc<Vec<u32>>,
    pub ids: Arc<Vec<String>>,
}

/// Rows of `match_edges`: the links holding each customer together, in edge order, as a
/// stream the writer pulls one part at a time. Built whole up front, the evidence text (most
/// of the table, over a gigabyte at 1M persons) sat in memory beside everything else until
/// it was written.
pub(crate) fn match_edges(
    edges: Arc<Vec<Edge>>,
    mentions: Arc<Vec<Mention>>,
    owners: Owners,
    model: Arc<Model>,
) -> marque_lake::BatchStream {
    let items = EvidenceItems::new(&model);
    crate::publish::chunks_of(edges.len(), EDGE_CHUNK, move |r| {
        let customer_of = |m: u32| owners.ids[owners.cluster_of[m as usize] as usize].as_str();
        match_edge_rows(&edges[r], &mentions, &customer_of, &model, &items)
    })
}

fn match_edge_rows<'a>(
    edges: &[Edge],
    mentions: &[Mention],
    customer_of: &impl Fn(u32) -> &'a str,
    model: &Model,
    items: &EvidenceItems,
) -> Result<RecordBatch> {
    let mut s = strings(edges.len(), 8);
    let mut w = Float64Builder::with_capacity(edges.len());
    let mut ev = StringBuilder::with_capacity(edges.len(), edges.len() * 256);
    let mut evidence = String::with_capacity(512);
    for e in edges {
        let (a, b) = (&mentions[e.a as usize], &mentions[e.b as usize]);
        let (a_key, b_key) = (a.key_record(), b.key_record());
        let vals = [
            customer_of(e.a),
            a.source.as_str(),
            &a_key,
            a.role.as_str(),
            b.source.as_str(),
            &b_key,
            b.role.as_str(),
            e.kind.as_str(),
        ];
        for (builder, v) in s.iter_mut().zip(vals) {
            builder.append_value(v);
        }
        w.append_option(e.weight.is_finite().then_some(e.weight));
        evidence.clear();
        write_evidence_json(&mut evidence, e, model, items);
        ev.append_value(&evidence);
    }
    let mut cols: Vec<ArrayRef> = s
        .into_iter()
        .map(|mut b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    cols.push(Arc::new(w.finish()));
    cols.push(Arc::new(ev.finish()));
    batch("match_edges", match_edges_schema(), cols)
}

pub fn hubs_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("kind", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
        Field::new("distinct_names", DataType::Int64, false),
    ]))
}

/// Rows of `identity_hubs`.
pub fn hubs(hubs: &[(String, usize)]) -> Result<RecordBatch> {
    let (mut k, mut v, mut n) = (
        StringBuilder::new(),
        StringBuilder::new(),
        Int64Builder::new(),
    );
    for (phone, names) in hubs {
        k.append_value("phone");
        v.append_value(phone);
        n.append_value(*names as i64);
    }
    batch(
        "identity_hubs",
        hubs_schema(),
        vec![
            Arc::new(k.finish()),
            Arc::new(v.finish()),
            Arc::new(n.finish()),
        ],
    )
}

pub fn model_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("comparison", DataType::Utf8, false),
        Field::new("level", DataType::Utf8, false),
        Field::new("m", DataType::Float64, true),
        Field::new("u", DataType::Float64, true),
        Field::new("weight", DataType::Float64, true),
    ]))
}

/// The `identity_model` row of the masked-phone pass's u (see [`Model::masked_key_u`]).
const MASKED_ROW: (&str, &str) = ("masked_phone", "pattern_and_surname");

/// Rows of `identity_model`: one per comparison level, plus the prior and the masked-phone
/// pass's u.
pub fn model_rows(model: &Model) -> Result<RecordBatch> {
    let (mut c, mut l) = (StringBuilder::new(), StringBuilder::new());
    let (mut m, mut u, mut w) = (
        Float64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
    );
    c.append_value("prior");
    l.append_value("lambda");
    m.append_value(model.lambda);
    u.append_null();
    w.append_value(model.prior_weight());
    for cmp in COMPARISONS {
        for (i, level) in cmp.levels().iter().enumerate() {
            c.append_value(cmp.as_str());
            l.append_value(level);
            m.append_value(model.m[cmp.index()][i]);
            u.append_value(model.u[cmp.index()][i]);
            w.append_value(model.weight(cmp, i as u8));
        }
    }
    if let Some(p) = model.masked_key_u {
        c.append_value(MASKED_ROW.0);
        l.append_value(MASKED_ROW.1);
        m.append_null();
        u.append_value(p);
        w.append_value(-p.log2());
    }
    batch(
        "identity_model",
        model_schema(),
        vec![
            Arc::new(c.finish()),
            Arc::new(l.finish()),
            Arc::new(m.finish()),
            Arc::new(u.finish()),
            Arc::new(w.finish()),
        ],
    )
}

/// Reads a model back from `identity_model` rows; `None` when they do not describe the
/// comparisons of this version.
pub fn model_from(batches: &[RecordBatch]) -> Option<Model> {
    let mut model = Model::initial(
        COMPARISONS
            .iter()
            .map(|c| vec![0.0; c.levels().len()])
            .collect(),
    );
    let mut seen = 0;
    for b in batches {
        let (c, l) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
        );
        let (m, u) = (
            b.column(2).as_primitive::<Float64Type>(),
            b.column(3).as_primitive::<Float64Type>(),
        );
        for r in 0..b.num_rows() {
            if c.value(r) == "prior" {
                model.lambda = m.value(r);
                continue;
            }
            if (c.value(r), l.value(r)) == MASKED_ROW {
                model.masked_key_u = (!u.is_null(r)).then(|| u.value(r));
                continue;
            }
            let cmp = COMPARISONS.iter().find(|x| x.as_str() == c.value(r))?;
            let level = cmp.levels().iter().position(|x| *x == l.value(r))?;
            model.m[cmp.index()][level] = m.value(r);
            model.u[cmp.index()][level] = if u.is_null(r) { 0.0 } else { u.value(r) };
            seen += 1;
        }
    }
    let expected: usize = COMPARISONS.iter().map(|c| c.levels().len()).sum();
    (seen == expected).then_some(model)
}

pub fn history_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("old_id", DataType::Utf8, false),
        Field::new("new_id", DataType::Utf8, false),
        Field::new("changed_at", utc(), false),
        Field::new("reason", DataType::Utf8, false),
        Field::new("records", DataType::Int64, false),
    ]))
}

/// Rows of `customer_id_history` for one run at `now` (µs since the epoch).
pub fn history(changes: &[IdChange], now: i64) -> Result<RecordBatch> {
    let (mut o, mut n, mut r) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut t = TimestampMicrosecondBuilder::new();
    let mut c = Int64Builder::new();
    for ch in changes {
        o.append_value(&ch.old_id);
        n.append_value(&ch.new_id);
        t.append_value(now);
        r.append_value(ch.change.as_str());
        c.append_value(ch.records as i64);
    }
    batch(
        "customer_id_history",
        history_schema(),
        vec![
            Arc::new(o.finish()),
            Arc::new(n.finish()),
            Arc::new(t.finish().with_timezone("UTC")),
            Arc::new(r.finish()),
            Arc::new(c.finish()),
        ],
    )
}

pub fn name_frequency_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name_key", DataType::Utf8, false),
        Field::new("frequency", DataType::Float64, false),
    ]))
}

/// Rows of `identity_name_frequency`: the term frequencies the model was trained with.
pub fn name_frequency_rows(model: &Model) -> Result<RecordBatch> {
    let mut names: Vec<(&String, &f64)> = model.name_frequency.iter().collect();
    names.sort_by(|a, b| a.0.cmp(b.0));
    let (mut k, mut f) = (StringBuilder::new(), Float64Builder::new());
    for (name, freq) in names {
        k.append_value(name);
        f.append_value(*freq);
    }
    batch(
        "identity_name_frequency",
        name_frequency_schema(),
        vec![Arc::new(k.finish()), Arc::new(f.finish())],
    )
}

/// Reads term frequencies back into `model`.
pub fn load_name_frequency(model: &mut Model, batches: &[RecordBatch]) {
    for b in batches {
        let (k, f) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_primitive::<Float64Type>(),
        );
        for r in 0..b.num_rows() {
            model
                .name_frequency
                .insert(k.value(r).to_string(), f.value(r));
        }
    }
}

pub fn batches_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("batch_id", DataType::Utf8, false),
        Field::new("resolved_at", utc(), false),
    ]))
}

/// Rows of `identity_batches`: the ingest batches this run resolved.
pub fn batches(ids: &[String]) -> Result<RecordBatch> {
    let now = chrono::Utc::now().timestamp_micros();
    let mut b = StringBuilder::new();
    let mut t = TimestampMicrosecondBuilder::new();
    for id in ids {
        b.append_value(id);
        t.append_value(now);
    }
    self::batch(
        "identity_batches",
        batches_schema(),
        vec![
            Arc::new(b.finish()),
            Arc::new(t.finish().with_timezone("UTC")),
        ],
    )
}

/// Reads a lake table with string columns as plain `Utf8` (the Delta reader may hand back
/// view types), so the readers here can use one array type.
pub async fn read(lake: &marque_lake::Lake, name: &str) -> Result<Option<Vec<RecordBatch>>> {
    let Some(batches) = lake.read(name).await? else {
        return Ok(None);
    };
    let arrow_err = |source| IdentityError::Arrow {
        table: name.into(),
        source,
    };
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        let fields: Vec<Field> = b
            .schema()
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Utf8View | DataType::LargeUtf8 => {
                    Field::new(f.name(), DataType::Utf8, f.is_nullable())
                }
                _ => f.as_ref().clone(),
            })
            .collect();
        let cols = b
            .columns()
            .iter()
            .zip(&fields)
            .map(|(c, f)| arrow::compute::cast(c, f.data_type()))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(arrow_err)?;
        out.push(RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).map_err(arrow_err)?);
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let u = COMPARISONS
            .iter()
            .map(|c| vec![0.1; c.levels().len()])
            .collect();
        let mut m = Model::initial(u);
        m.lambda = 0.25;
        m
    }

    #[test]
    fn a_stored_model_keeps_the_masked_pass_u_so_incremental_runs_weigh_masked_matches_alike() {
        let mut m = model();
        m.masked_key_u = Some(1.0 / 2_000_000.0);
        let back = model_from(&[model_rows(&m).unwrap()]).expect("a complete model");
        assert_eq!(back.masked_key_u, m.masked_key_u);
        assert_eq!(back.lambda, 0.25);
        assert_eq!(back.m, m.m);
    }

    #[test]
    fn evidence_json_lists_every_comparison_with_its_level_and_rounded_weight_then_the_prior() {
        let m = model();
        let edge = Edge {
            a: 0,
            b: 1,
            kind: crate::link::EdgeKind::Scored,
            weight: 3.0,
            vector: Some([0; 6]),
            name_frequency: None,
        };
        let parsed: serde_json::Value =
            serde_json::from_str(&evidence_json(&edge, &m)).expect("evidence is JSON");
        let items = parsed.as_array().expect("a list");
        assert_eq!(items.len(), COMPARISONS.len() + 1);
        for (item, c) in items.iter().zip(COMPARISONS) {
            assert_eq!(item["comparison"], c.as_str());
            assert_eq!(item["level"], c.levels()[0]);
            let w = if c == Comparison::Name {
                m.name_weight_tf(0, None)
            } else {
                m.weight(c, 0)
            };
            assert_eq!(item["weight"].as_f64(), Some((w * 100.0).round() / 100.0));
        }
        assert_eq!(items[COMPARISONS.len()]["comparison"], "prior");
        assert_eq!(
            items[COMPARISONS.len()]["weight"].as_f64(),
            Some((m.prior_weight() * 100.0).round() / 100.0)
        );
        let deterministic = Edge {
            vector: None,
            kind: crate::link::EdgeKind::AppUserId,
            weight: f64::INFINITY,
            ..edge
        };
        let parsed: serde_json::Value =
            serde_json::from_str(&evidence_json(&deterministic, &m)).expect("evidence is JSON");
        assert_eq!(parsed[0]["weight"], serde_json::Value::Null);
        assert_eq!(parsed[0]["level"], "equal");
    }

    #[test]
    fn match_edges_built_in_parts_keep_the_edge_order_and_each_edges_evidence() {
        let m = model();
        let mentions: Vec<Mention> = (0..4)
            .map(|i| crate::mentions::test_mention(&format!("王{i}")))
            .collect();
        let n = 2 * EDGE_CHUNK + 3;
        let edges: Vec<Edge> = (0..n)
            .map(|i| Edge {
                a: (i % 4) as u32,
                b: ((i + 1) % 4) as u32,
                kind: crate::link::EdgeKind::Scored,
                weight: i as f64,
                vector: Some([(i % 7) as u8, 0, 1, 2, 0, 1]),
                name_frequency: (i % 3 == 0).then_some(0.01),
            })
            .collect();
        let owners = Owners {
            cluster_of: Arc::new(vec![0, 1, 2, 3]),
            ids: Arc::new(vec!["c0".into(), "c1".into(), "c2".into(), "c3".into()]),
        };
        let stream = match_edges(
            Arc::new(edges.clone()),
            Arc::new(mentions),
            owners,
            Arc::new(m.clone()),
        );
        let parts: Vec<RecordBatch> =
            futures::executor::block_on(futures::StreamExt::collect::<Vec<_>>(stream))
                .into_iter()
                .map(|b| b.unwrap())
                .collect();
        assert_eq!(parts.len(), 3, "built in parts of EDGE_CHUNK edges");
        let b = arrow::compute::concat_batches(&match_edges_schema(), &parts).unwrap();
        assert_eq!(b.num_rows(), n);
        let customer = b.column(0).as_string::<i32>();
        let weight = b.column(8).as_primitive::<Float64Type>();
        let evidence = b.column(9).as_string::<i32>();
        for (i, e) in edges.iter().enumerate() {
            assert_eq!(weight.value(i), i as f64);
            assert_eq!(customer.value(i), format!("c{}", i % 4));
            // Every item formatted on the spot, as before the fixed items were cached.
            let v = e.vector.unwrap();
            let mut want = String::from("[");
            for c in COMPARISONS {
                let l = v[c.index()];
                let w = if c == Comparison::Name {
                    m.name_weight_tf(l, e.name_frequency)
                } else {
                    m.weight(c, l)
                };
                write_item(&mut want, c.as_str(), c.levels()[l as usize], w);
                want.push(',');
            }
            write_item(&mut want, "prior", "lambda", m.prior_weight());
            want.push(']');
            assert_eq!(evidence.value(i), want, "edge {i}");
        }
    }

    #[test]
    fn a_weight_that_is_not_finite_is_written_as_json_null() {
        let mut out = String::new();
        write_weight(&mut out, f64::NEG_INFINITY);
        assert_eq!(out, "null");
        out.clear();
        write_weight(&mut out, 2.0);
        assert_eq!(out, "2.0");
    }

    #[test]
    fn every_column_the_lake_encodes_specially_for_resolution_is_a_column_of_its_tables() {
        // A renamed output column must not silently fall back to the default encoding.
        let schemas = [
            crate::output::customer_map_schema(),
            crate::output::customers_schema(),
            crate::output::mentions_schema(),
            match_edges_schema(),
            history_schema(),
            name_frequency_schema(),
        ];
        // (columns, whether they are instants rather than text)
        let lists = [
            (marque_lake::RESOLVED_HIGH_CARDINALITY_TEXT_COLUMNS, false),
            (marque_lake::REPEATED_LONG_TEXT_COLUMNS, false),
            (&marque_lake::GOLDEN_LINEAGE_COLUMNS, false),
            (marque_lake::RESOLVED_HIGH_CARDINALITY_NUMBER_COLUMNS, true),
        ];
        for (list, instants) in lists {
            for c in list {
                let fits = |f: &arrow::datatypes::Field| match f.data_type() {
                    DataType::Timestamp(_, _) => instants,
                    DataType::Utf8 => !instants,
                    _ => false,
                };
                assert!(
                    schemas.iter().any(|s| s.field_with_name(c).is_ok_and(fits)),
                    "{c} is no column of that kind in resolution's tables"
                );
            }
        }
    }

    #[test]
    fn a_model_stored_before_the_masked_pass_u_was_kept_still_loads() {
        let back = model_from(&[model_rows(&model()).unwrap()]).expect("a complete model");
        assert_eq!(back.masked_key_u, None);
    }
}
