//! Unit tests of the engine over a real lake in a temporary folder.

use std::sync::Arc;

use datafusion::arrow::array::{Array, Int64Array, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use marque_lake::{Commit, WriteMode};

use super::*;

fn people(ids: &[i64]) -> (SchemaRef, RecordBatch) {
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]));
    let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap();
    (schema, batch)
}

async fn lake_with_people(dir: &std::path::Path, ids: &[i64]) -> Lake {
    let lake = Lake::open(dir.to_str().unwrap()).unwrap();
    let (schema, batch) = people(ids);
    lake.write(
        "people",
        schema,
        vec![batch],
        WriteMode::Append,
        Commit::default(),
    )
    .await
    .unwrap();
    lake
}

async fn count(engine: &Engine, sql: &str) -> i64 {
    let (_, batches) = engine.sql(sql).await.unwrap();
    let col = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap();
    col.value(0)
}

#[tokio::test]
async fn only_read_only_sql_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_people(dir.path(), &[1, 2, 3]).await;
    let engine = Engine::open(lake, EngineOptions::default()).await.unwrap();
    assert_eq!(engine.tables(), vec!["people".to_string()]);
    assert_eq!(count(&engine, "SELECT count(*) FROM people").await, 3);

    let copy_target = dir.path().join("stolen.csv");
    let forbidden = [
        "CREATE TABLE t (a INT)".to_string(),
        "CREATE TABLE t AS SELECT * FROM people".to_string(),
        "CREATE VIEW v AS SELECT 1".to_string(),
        "CREATE EXTERNAL TABLE e STORED AS CSV LOCATION '/etc/passwd'".to_string(),
        "DROP TABLE people".to_string(),
        "INSERT INTO people VALUES (4, 'n4')".to_string(),
        "DELETE FROM people".to_string(),
        format!("COPY people TO '{}' STORED AS CSV", copy_target.display()),
        "SET datafusion.execution.batch_size = 1".to_string(),
        "PREPARE p AS SELECT * FROM people".to_string(),
        "EXPLAIN CREATE TABLE t (a INT)".to_string(),
        "EXPLAIN INSERT INTO people VALUES (4, 'n4')".to_string(),
        format!(
            "EXPLAIN ANALYZE COPY people TO '{}' STORED AS CSV",
            copy_target.display()
        ),
    ];
    for sql in &forbidden {
        match engine.query(sql).await {
            Err(e) => {
                assert!(e.is_user_error(), "{sql}: {e}");
                assert!(matches!(e, EngineError::Forbidden(_)), "{sql}: {e:?}");
            }
            Ok(_) => panic!("{sql} was accepted"),
        }
    }
    assert!(matches!(
        engine.query("CREATE TABLE t (a INT)").await,
        Err(EngineError::Forbidden(_))
    ));
    assert!(matches!(
        engine.query("EXPLAIN CREATE TABLE t (a INT)").await,
        Err(EngineError::Forbidden(_))
    ));
    assert!(!copy_target.exists(), "COPY must not have written anything");
    assert_eq!(count(&engine, "SELECT count(*) FROM people").await, 3);
    assert_eq!(engine.tables(), vec!["people".to_string()]);

    // DataFusion does not plan transactions at all; still the user's mistake.
    assert!(
        engine
            .query("BEGIN TRANSACTION")
            .await
            .unwrap_err()
            .is_user_error()
    );
    let syntax = engine.query("SELEC 1").await.unwrap_err();
    assert!(matches!(syntax, EngineError::Syntax(_)), "{syntax:?}");
    let unknown = engine.query("SELECT * FROM nope").await.unwrap_err();
    assert!(
        matches!(unknown, EngineError::InvalidQuery(_)),
        "{unknown:?}"
    );
    let column = engine.query("SELECT nope FROM people").await.unwrap_err();
    assert!(column.is_user_error(), "{column:?}");
    // EXPLAIN of a read-only query is fine.
    engine.sql("EXPLAIN SELECT * FROM people").await.unwrap();
}

#[tokio::test]
async fn refresh_sees_new_commits_and_new_tables() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_people(dir.path(), &[1, 2]).await;
    let engine = Engine::open(lake.clone(), EngineOptions::default())
        .await
        .unwrap();
    assert_eq!(count(&engine, "SELECT count(*) FROM people").await, 2);

    let (schema, batch) = people(&[3]);
    lake.write(
        "people",
        schema.clone(),
        vec![batch],
        WriteMode::Append,
        Commit::default(),
    )
    .await
    .unwrap();
    lake.write(
        "more",
        schema,
        vec![people(&[9]).1],
        WriteMode::Append,
        Commit::default(),
    )
    .await
    .unwrap();
    // The session is a snapshot until refreshed.
    assert_eq!(count(&engine, "SELECT count(*) FROM people").await, 2);
    let before = engine.context();
    engine.refresh().await.unwrap();
    assert_eq!(count(&engine, "SELECT count(*) FROM people").await, 3);
    assert_eq!(count(&engine, "SELECT count(*) FROM more").await, 1);
    assert_eq!(
        engine.tables(),
        vec!["more".to_string(), "people".to_string()]
    );
    // A session taken before the refresh keeps reading its snapshot.
    let old = before
        .sql("SELECT count(*) FROM people")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(
        old[0]
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0),
        2
    );
}

#[tokio::test]
async fn views_come_from_sql_files_in_any_order() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_people(dir.path().join("lake").as_path(), &[1, 2, 3]).await;
    let views = dir.path().join("views");
    std::fs::create_dir(&views).unwrap();
    // `alpha` uses `beta`, which sorts after it.
    std::fs::write(views.join("alpha.sql"), "SELECT count(*) AS n FROM beta;\n").unwrap();
    std::fs::write(
        views.join("beta.sql"),
        "-- big ids\nSELECT * FROM people WHERE id >= 2",
    )
    .unwrap();
    std::fs::write(views.join("missing.sql"), "SELECT * FROM raw_sales").unwrap();
    std::fs::write(views.join("sneaky.sql"), "CREATE TABLE x AS SELECT 1").unwrap();
    std::fs::write(views.join("Bad-Name.sql"), "SELECT 1").unwrap();
    std::fs::write(views.join("notes.txt"), "not a view").unwrap();
    let engine = Engine::open(
        lake.clone(),
        EngineOptions::default().with_views_dir(&views),
    )
    .await
    .unwrap();
    assert_eq!(
        engine.views(),
        vec!["alpha".to_string(), "beta".to_string()]
    );
    assert_eq!(count(&engine, "SELECT n FROM alpha").await, 2);

    let (schema, batch) = people(&[4]);
    lake.write(
        "people",
        schema,
        vec![batch],
        WriteMode::Append,
        Commit::default(),
    )
    .await
    .unwrap();
    engine.refresh().await.unwrap();
    assert_eq!(
        count(&engine, "SELECT n FROM alpha").await,
        3,
        "views are re-planned on refresh"
    );
}

#[tokio::test]
async fn a_new_lake_has_no_tables_and_still_answers_sql() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().join("nothing-yet").to_str().unwrap()).unwrap();
    let engine = Engine::open(
        lake,
        EngineOptions::default().with_views_dir(dir.path().join("no-views")),
    )
    .await
    .unwrap();
    assert!(engine.tables().is_empty());
    assert!(engine.table("customers").await.unwrap().is_none());
    let (_, batches) = engine.sql("SELECT 1 AS one").await.unwrap();
    assert_eq!(batches[0].num_rows(), 1);
    assert!(batches[0].column(0).is_valid(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
    let opts = EngineOptions {
        query_timeout: Some(Duration::from_millis(50)),
        ..EngineOptions::default()
    };
    let engine = Engine::open(lake, opts).await.unwrap();
    let slow = "SELECT max(value % 7) FROM generate_series(1, 10000000000)";
    let err = engine.sql(slow).await.unwrap_err();
    assert!(matches!(err, EngineError::Timeout(_)), "{err:?}");
}
