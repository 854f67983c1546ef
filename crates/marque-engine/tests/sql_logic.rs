//! sqllogictest: every view and segment of `sql/` pinned by the `.slt` files of `sql/slt/`, run
//! on a small fixture lake whose expected rows were worked out by hand (`sql/fixtures/`,
//! described in `sql/README.md`). The lake is written straight from the CSV fixtures (raw tables
//! with their canonical schemas, `customers` and `customer_map` as identity resolution would
//! write them), so the expectations do not move when the resolver changes. The engine computes
//! as of 2025-06-30.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use marque_engine::{Engine, EngineError, EngineOptions, NaiveDate};
use marque_lake::{Commit, Lake, WriteMode};
use sqllogictest::{DBOutput, DefaultColumnType};

/// The as-of date the expectations were computed for.
const AS_OF: &str = "2025-06-30";

fn sql_dir() -> PathBuf {
    manifest_dir().join("../../sql")
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// The schema a fixture table is written with: the canonical raw schema for raw tables (without
/// the lineage columns, added below), the identity contract's for the others.
fn fixture_schema(table: &str) -> SchemaRef {
    let s = |name: &str| Field::new(name, DataType::Utf8, true);
    match table {
        "customer_map" => Arc::new(Schema::new(vec![
            s("source"),
            s("record_id"),
            s("role"),
            s("customer_id"),
        ])),
        "customers" => Arc::new(Schema::new(vec![
            s("customer_id"),
            s("name"),
            s("gender"),
            Field::new("birth_date", DataType::Date32, true),
            s("phone"),
            s("resident_id_hash"),
            s("city"),
            s("app_user_id"),
            s("unionid"),
            Field::new("mention_count", DataType::Int64, true),
            s("sources"),
            Field::new("first_seen", ts(), true),
            Field::new("last_seen", ts(), true),
        ])),
        raw => {
            let source = marque_core::Source::ALL
                .into_iter()
                .find(|s| marque_core::canonical::raw_table(*s) == raw)
                .unwrap_or_else(|| panic!("no schema for fixture table {raw}"));
            let full = marque_core::canonical::raw_schema(source);
            let fields: Vec<Field> = full
                .fields()
                .iter()
                .filter(|f| !f.name().starts_with('_'))
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect();
            Arc::new(Schema::new(fields))
        }
    }
}

/// Reads `sql/fixtures/TABLE.csv` with the table's schema; raw tables get lineage columns.
fn read_fixture(table: &str) -> (SchemaRef, Vec<RecordBatch>) {
    let path = sql_dir().join("fixtures").join(format!("{table}.csv"));
    let schema = fixture_schema(table);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .build(file)
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    if !table.starts_with("raw_") {
        return (schema, batches);
    }
    let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new("_batch_id", DataType::Utf8, false));
    fields.push(Field::new("_source_file", DataType::Utf8, false));
    fields.push(Field::new("_line", DataType::Int64, false));
    let full = Arc::new(Schema::new(fields));
    let mut line = 1i64;
    let batches = batches
        .into_iter()
        .map(|b| {
            let n = b.num_rows();
            let mut cols = b.columns().to_vec();
            cols.push(Arc::new(arrow::array::StringArray::from(vec![
                "fixture";
                n
            ])));
            cols.push(Arc::new(arrow::array::StringArray::from(vec![
                format!(
                    "{table}.csv"
                );
                n
            ])));
            cols.push(Arc::new(arrow::array::Int64Array::from(
                (0..n as i64).map(|i| line + 1 + i).collect::<Vec<_>>(),
            )));
            line += n as i64;
            RecordBatch::try_new(full.clone(), cols).unwrap()
        })
        .collect();
    (full, batches)
}

const FIXTURE_TABLES: [&str; 6] = [
    "raw_sales",
    "raw_service_orders",
    "raw_leads",
    "raw_app_events",
    "customers",
    "customer_map",
];

async fn fixture_lake(dir: &Path) -> Lake {
    let lake = Lake::open(dir.to_str().unwrap()).unwrap();
    for table in FIXTURE_TABLES {
        let (schema, batches) = read_fixture(table);
        lake.write(
            table,
            schema,
            batches,
            WriteMode::Overwrite,
            Commit::default(),
        )
        .await
        .unwrap();
    }
    lake
}

/// The engine behind the runner: each statement runs through [`Engine::sql`] (read-only).
struct FixtureDb {
    rt: Arc<tokio::runtime::Runtime>,
    engine: Engine,
}

fn render(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for r in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| {
                        let v = f.value(r).to_string();
                        if v.is_empty() {
                            "(empty)".to_string()
                        } else {
                            v
                        }
                    })
                    .collect(),
            );
        }
    }
    rows
}

impl sqllogictest::DB for FixtureDb {
    type Error = EngineError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, EngineError> {
        let (schema, batches) = self.rt.block_on(self.engine.sql(sql))?;
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; schema.fields().len()],
            rows: render(&batches),
        })
    }
}

fn any_column_types(_: &Vec<DefaultColumnType>, _: &Vec<DefaultColumnType>) -> bool {
    true
}

#[test]
fn every_view_and_segment_matches_its_slt_file() {
    let rt = Arc::new(tokio::runtime::Runtime::new().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let engine = rt.block_on(async {
        let lake = fixture_lake(dir.path()).await;
        let opts = EngineOptions {
            views_dir: Some(sql_dir().join("views")),
            segments_dir: Some(sql_dir().join("segments")),
            as_of: Some(NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap()),
            ..Default::default()
        };
        Engine::open(lake, opts).await.unwrap()
    });
    assert!(
        engine.skipped_views().is_empty(),
        "every view and segment plans on the fixture lake: {:?}",
        engine.skipped_views()
    );

    let mut files: Vec<PathBuf> = std::fs::read_dir(sql_dir().join("slt"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();

    // Every view and segment is covered by an slt file of its name.
    let covered: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut missing: Vec<String> = engine
        .views()
        .into_iter()
        .chain(engine.segments().into_iter().map(|s| s.name))
        .filter(|n| !covered.contains(n))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "views/segments without an .slt file: {missing:?}"
    );

    let mut failures = Vec::new();
    for file in &files {
        let (rt, engine) = (rt.clone(), engine.clone());
        let mut runner = sqllogictest::Runner::new(move || {
            let db = FixtureDb {
                rt: rt.clone(),
                engine: engine.clone(),
            };
            async move { Ok::<_, EngineError>(db) }
        });
        runner.with_column_validator(any_column_types);
        if let Err(e) = runner.run_file(file) {
            failures.push(format!("{}: {}", file.display(), e.display(false)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The directory of the crate under test. Cargo sets `CARGO_MANIFEST_DIR` when it runs a test,
/// and that wins over the compile-time value: clones sharing one target directory reuse each
/// other's test binaries, whose compile-time path can name a clone that is gone.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}
