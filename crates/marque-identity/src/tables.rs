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

/// The evidence of one edge as JSON: each comparison's level and weight.
pub fn evidence_json(e: &Edge, model: &Model) -> String {
    let Some(v) = e.vector else {
        return format!(
            r#"[{{"comparison":"{}","level":"equal","weight":null}}]"#,
            e.kind.as_str()
        );
    };
    let items: Vec<serde_json::Value> = COMPARISONS
        .iter()
        .map(|&c| {
            let level = v[c.index()];
            let w = if c == Comparison::Name {
                model.name_weight_tf(level, e.name_frequency)
            } else {
                model.weight(c, level)
            };
            serde_json::json!({
                "comparison": c.as_str(),
                "level": c.levels()[level as usize],
                "weight": (w * 100.0).round() / 100.0,
            })
        })
        .chain(std::iter::once(serde_json::json!({
            "comparison": "prior",
            "level": "lambda",
            "weight": (model.prior_weight() * 100.0).round() / 100.0,
        })))
        .collect();
    serde_json::Value::Array(items).to_string()
}

/// Rows of `match_edges`: the links holding each customer together.
pub fn match_edges(
    edges: &[Edge],
    mentions: &[Mention],
    customer_of: impl Fn(u32) -> String,
    model: &Model,
) -> Result<RecordBatch> {
    let mut s = strings(edges.len(), 8);
    let mut w = Float64Builder::with_capacity(edges.len());
    let mut ev = StringBuilder::new();
    for e in edges {
        let (a, b) = (&mentions[e.a as usize], &mentions[e.b as usize]);
        let vals = [
            customer_of(e.a),
            a.source.as_str().to_string(),
            a.key_record().to_string(),
            a.role.as_str().to_string(),
            b.source.as_str().to_string(),
            b.key_record().to_string(),
            b.role.as_str().to_string(),
            e.kind.as_str().to_string(),
        ];
        for (i, v) in vals.iter().enumerate() {
            s[i].append_value(v);
        }
        w.append_option(e.weight.is_finite().then_some(e.weight));
        ev.append_value(evidence_json(e, model));
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
    fn a_model_stored_before_the_masked_pass_u_was_kept_still_loads() {
        let back = model_from(&[model_rows(&model()).unwrap()]).expect("a complete model");
        assert_eq!(back.masked_key_u, None);
    }
}
