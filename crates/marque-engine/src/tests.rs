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

async fn append_people(lake: &Lake, ids: &[i64]) {
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
}

#[tokio::test]
async fn a_pinned_table_version_reads_the_rows_of_that_version() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_people(dir.path(), &[1, 2]).await; // version 0
    append_people(&lake, &[3, 4, 5]).await; // version 1
    let latest = Engine::open(lake.clone(), EngineOptions::default())
        .await
        .unwrap();
    assert_eq!(count(&latest, "SELECT count(*) FROM people").await, 5);
    assert_eq!(latest.table_versions().get("people"), Some(&1));

    let opts = EngineOptions {
        table_versions: [("people".to_string(), 0)].into_iter().collect(),
        ..Default::default()
    };
    let pinned = Engine::open(lake.clone(), opts).await.unwrap();
    assert_eq!(count(&pinned, "SELECT count(*) FROM people").await, 2);
    assert_eq!(pinned.table_versions().get("people"), Some(&0));

    for (table, version) in [("people", 7), ("people", -1), ("ghosts", 0)] {
        let opts = EngineOptions {
            table_versions: [(table.to_string(), version)].into_iter().collect(),
            ..Default::default()
        };
        let err = Engine::open(lake.clone(), opts).await.unwrap_err();
        assert_eq!(err.code(), "invalid_option", "{table}={version}: {err}");
        assert!(err.to_string().contains(table), "{err}");
    }
}

#[tokio::test]
async fn the_as_of_option_replaces_the_as_of_view() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_people(dir.path(), &[1]).await;
    let views = tempfile::tempdir().unwrap();
    std::fs::write(
        views.path().join("as_of.sql"),
        "SELECT CAST(current_date AS DATE) AS as_of_date",
    )
    .unwrap();
    std::fs::write(
        views.path().join("days.sql"),
        "SELECT as_of_date - DATE '2025-01-01' AS days FROM as_of",
    )
    .unwrap();
    let opts = EngineOptions {
        as_of: Some(NaiveDate::from_ymd_opt(2025, 1, 31).unwrap()),
        ..EngineOptions::default().with_views_dir(views.path())
    };
    let engine = Engine::open(lake.clone(), opts).await.unwrap();
    assert_eq!(count(&engine, "SELECT days FROM days").await, 30);

    let today = Engine::open(lake, EngineOptions::default().with_views_dir(views.path()))
        .await
        .unwrap();
    assert!(count(&today, "SELECT days FROM days").await > 600);
}

#[tokio::test]
async fn an_absent_customer_clv_is_stood_in_for_by_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_people(dir.path(), &[1]).await;
    let engine = Engine::open(lake, EngineOptions::default()).await.unwrap();
    assert_eq!(count(&engine, "SELECT count(*) FROM customer_clv").await, 0);
    let (schema, _) = engine
        .sql("SELECT customer_id, p_alive, clv FROM customer_clv")
        .await
        .unwrap();
    assert_eq!(schema.fields().len(), 3);
    // A placeholder is not a lake table.
    assert_eq!(engine.tables(), vec!["people".to_string()]);
}

#[tokio::test]
async fn segments_are_listed_queried_and_snapshotted_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_people(dir.path(), &[1, 2, 3]).await;
    let sql = tempfile::tempdir().unwrap();
    let (views, segments) = (sql.path().join("views"), sql.path().join("segments"));
    std::fs::create_dir_all(&views).unwrap();
    std::fs::create_dir_all(&segments).unwrap();
    std::fs::write(
        segments.join("odd_people.sql"),
        "-- odd_people: people with an odd id.\nSELECT 'P' || CAST(id AS VARCHAR) AS customer_id \
         FROM people WHERE id % 2 = 1",
    )
    .unwrap();
    std::fs::write(
        segments.join("broken.sql"),
        "SELECT customer_id FROM no_such_table",
    )
    .unwrap();
    // segments_dir defaults to the `segments` folder beside the views folder
    let engine = Engine::open(
        lake.clone(),
        EngineOptions::default().with_views_dir(&views),
    )
    .await
    .unwrap();
    let listed: Vec<String> = engine.segments().into_iter().map(|s| s.name).collect();
    assert_eq!(listed, vec!["odd_people".to_string()]);
    assert_eq!(
        engine.segment("odd_people").unwrap().description,
        "odd_people: people with an odd id."
    );
    assert!(engine.skipped_views().iter().any(|(n, _)| n == "broken"));
    assert_eq!(engine.segment("nope").unwrap_err().code(), "not_found");
    assert_eq!(
        engine.segment_members("odd_people").await.unwrap(),
        vec!["P1".to_string(), "P3".to_string()]
    );

    let snap = engine.snapshot_segment("odd_people").await.unwrap();
    assert_eq!(snap.members, 2);
    assert_eq!(snap.table_versions, r#"{"people":0}"#);
    append_people(&lake, &[5, 7]).await;
    let engine = Engine::open(
        lake.clone(),
        EngineOptions::default().with_views_dir(&views),
    )
    .await
    .unwrap();
    assert_eq!(engine.segment_members("odd_people").await.unwrap().len(), 4);
    let (_, batches) = engine
        .sql(
            "SELECT count(*), min(table_versions), min(segment) FROM segment_snapshots \
             WHERE snapshot_id = (SELECT min(snapshot_id) FROM segment_snapshots)",
        )
        .await
        .unwrap();
    let n = batches[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0);
    assert_eq!(n, 2, "the snapshot keeps the members it had");
    // Reopening at the snapshot's table versions reproduces the audience.
    let pinned = Engine::open(
        lake,
        EngineOptions {
            table_versions: [("people".to_string(), 0)].into_iter().collect(),
            ..EngineOptions::default().with_views_dir(&views)
        },
    )
    .await
    .unwrap();
    assert_eq!(
        pinned.segment_members("odd_people").await.unwrap(),
        vec!["P1".to_string(), "P3".to_string()]
    );
}
