"""Resolves Marque's exported mentions with Splink (DuckDB backend), for the side-by-side benchmark.

    splink_run.py WORKDIR [--cluster-threshold P] [--predict-threshold P] [--u-pairs N]

Reads WORKDIR/mentions.parquet and WORKDIR/records.parquet (written by export_mentions.py),
writes WORKDIR/splink_map.parquet in the customer_map layout (source, record_id, role,
customer_id) for `marque eval --map`, and WORKDIR/splink_model.json (the trained model).
The whole script, data loading and training included, is what the benchmark times.

The configuration follows Splink's documented workflow, not tuned on the truth:

- Input: the mentions as Marque normalised them (E.164 phones, resident-id hashes, parsed
  names). Empty strings become NULL. `given_name` is the name minus its surname (derived here,
  as Splink's docs advise for ForenameSurnameComparison). The mentions carry no date of birth
  and no e-mail, so there is no date or e-mail comparison.
- Blocking rules for prediction: phone; resident_id_hash; app_user_id; unionid; name + city;
  vin.
- Comparisons (splink.comparison_library):
  ForenameSurnameComparison(given_name, surname), with term-frequency adjusted exact match on
  the full name (exact, reversed, Jaro-Winkler 0.92 / 0.88 on both, exact surname, exact given
  name, else); ExactMatch on gender, phone (term-frequency adjusted, which discounts shared
  phones), resident_id_hash, vin and city (term-frequency adjusted). app_user_id and unionid
  block but are not compared: each app account is one mention, so no pair of mentions ever
  agrees on them and EM cannot train their m values (Splink warns and falls back to defaults).
- Training: probability_two_random_records_match from deterministic rules (resident id;
  phone + name) with an assumed recall of 0.6; u by random sampling
  (`estimate_u_using_random_sampling`, 1e7 pairs by default); m by expectation maximisation in
  two sessions, blocked on phone and on name + city (each trains the comparisons the other
  cannot).
- Prediction at match probability >= 0.5, then connected components at >= 0.95
  (`cluster_pairwise_predictions_at_threshold`), the values used in Splink's own examples.
"""

import argparse
import logging
import time

import duckdb
import splink
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

STRING_COLUMNS = [
    "name",
    "surname",
    "gender",
    "phone",
    "resident_id_hash",
    "app_user_id",
    "unionid",
    "vin",
    "city",
]


def settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        blocking_rules_to_generate_predictions=[
            block_on("phone"),
            block_on("resident_id_hash"),
            block_on("app_user_id"),
            block_on("unionid"),
            block_on("name", "city"),
            block_on("vin"),
        ],
        comparisons=[
            cl.ForenameSurnameComparison(
                "given_name", "surname", forename_surname_concat_col_name="name"
            ),
            cl.ExactMatch("gender"),
            cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
            cl.ExactMatch("resident_id_hash"),
            cl.ExactMatch("vin"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--predict-threshold", type=float, default=0.5)
    ap.add_argument("--cluster-threshold", type=float, default=0.95)
    ap.add_argument("--u-pairs", type=float, default=1e7)
    ap.add_argument("--recall", type=float, default=0.6)
    args = ap.parse_args()
    work = args.workdir
    phases: list[tuple[str, float]] = []
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases.append((name, now - mark))
        mark = now

    print(f"splink {splink.__version__}, duckdb {duckdb.__version__}")
    con = duckdb.connect()
    cleaned = ", ".join(f"nullif(trim({c}), '') AS {c}" for c in STRING_COLUMNS)
    con.execute(
        f"""
        CREATE TABLE mentions_in AS
        SELECT unique_id, {cleaned},
               CASE WHEN nullif(trim(surname), '') IS NOT NULL
                         AND starts_with(trim(name), trim(surname))
                    THEN nullif(substr(trim(name), length(trim(surname)) + 1), '')
               END AS given_name
        FROM read_parquet('{work}/mentions.parquet')
        """
    ).fetchall()
    n = con.execute("SELECT count(*) FROM mentions_in").fetchall()[0][0]
    db_api = DuckDBAPI(connection=con)
    df = db_api.register("mentions_in")
    linker = Linker(df, settings(), log_level=logging.WARNING)
    phase("load")

    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("resident_id_hash"),
            block_on("phone", "name"),
        ],
        recall=args.recall,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_pairs, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("name", "city")
    )
    phase("train")

    predictions = linker.inference.predict(
        threshold_match_probability=args.predict_threshold
    )
    phase("predict")
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=args.cluster_threshold
    )
    phase("cluster")

    # A mention missing from the clustering (none expected) stays a customer of its own.
    con.execute(
        f"""
        COPY (
          SELECT r.source, r.record_id, r.role,
                 'S' || CAST(coalesce(c.cluster_id, r.unique_id) AS VARCHAR) AS customer_id
          FROM read_parquet('{work}/records.parquet') r
          LEFT JOIN {clusters.physical_name} c USING (unique_id)
        ) TO '{work}/splink_map.parquet' (FORMAT parquet)
        """
    ).fetchall()
    linker.misc.save_model_to_json(f"{work}/splink_model.json", overwrite=True)
    pairs = con.execute(f"SELECT count(*) FROM {predictions.physical_name}").fetchall()[0][0]
    customers = con.execute(
        f"SELECT count(DISTINCT cluster_id) FROM {clusters.physical_name}"
    ).fetchall()[0][0]
    phase("write")

    lam = linker._settings_obj._probability_two_random_records_match
    print(
        f"splink resolved {n} mentions into {customers} clusters "
        f"({pairs} scored pairs >= {args.predict_threshold}, "
        f"clustered at >= {args.cluster_threshold}; prior match probability {lam:.3g})"
    )
    print("phases: " + ", ".join(f"{name} {secs:.1f}s" for name, secs in phases))


if __name__ == "__main__":
    main()
