//! Metrics: one O(n) pass over the contingency table of customers × persons.

use marque_core::Source;

use crate::predictions::{EXAMPLES, Evaluator, UNASSIGNED};
use crate::report::{
    Clusters, Coverage, LargestCustomer, Pairwise, Report, Scores, SourceScores, f1,
};
use crate::truth::tag_source;

/// n choose 2.
fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Scores the predictions accumulated in `ev`.
///
/// Mentions are bucketed by customer with a counting sort; walking one customer's mentions
/// with a per-person scratch counter yields every non-zero contingency cell `n_ij` of that
/// customer, so the whole table is visited in O(mentions + customers + persons) time without
/// hashing pairs.
pub(crate) fn score(ev: &Evaluator<'_>) -> Report {
    let truth = ev.truth;
    let assigned = &ev.assigned;
    let person_of = truth.persons_of_mentions();
    let tags = truth.tags();
    let n_customers = ev.customers.len();
    let n_persons = truth.persons();

    // Coverage, cluster sizes |C_i| and |T_j| over scored mentions.
    let mut coverage = Coverage {
        truth: truth.len() as u64,
        truth_broken: truth.broken() as u64,
        predicted: ev.predicted,
        scored: 0,
        scored_broken: 0,
        missing_unbroken: 0,
        missing_broken: 0,
        unknown: ev.unknown(),
        missing_examples: Vec::new(),
        unknown_examples: ev.unknown_examples.clone(),
    };
    let mut start = vec![0u32; n_customers + 1];
    let mut person_size = vec![0u32; n_persons];
    for (m, &c) in assigned.iter().enumerate() {
        let broken = truth.is_broken(m as u32);
        if c == UNASSIGNED {
            if broken {
                coverage.missing_broken += 1;
            } else {
                coverage.missing_unbroken += 1;
                if coverage.missing_examples.len() < EXAMPLES {
                    coverage.missing_examples.push(truth.describe(m as u32));
                }
            }
            continue;
        }
        coverage.scored += 1;
        coverage.scored_broken += u64::from(broken);
        start[c as usize + 1] += 1;
        person_size[person_of[m] as usize] += 1;
    }
    for i in 0..n_customers {
        start[i + 1] += start[i];
    }

    // Counting sort of scored mentions by customer.
    let mut order = vec![0u32; coverage.scored as usize];
    let mut cursor = start.clone();
    for (m, &c) in assigned.iter().enumerate() {
        if c != UNASSIGNED {
            order[cursor[c as usize] as usize] = m as u32;
            cursor[c as usize] += 1;
        }
    }
    drop(cursor);

    // One pass over customers.
    let names = customer_names(ev);
    let mut count = vec![0u32; n_persons]; // n_ij for the current customer i
    let mut touched: Vec<u32> = Vec::new(); // persons with count > 0
    let mut person_sq = vec![0u64; n_persons]; // sum_i n_ij^2
    let mut person_customers = vec![0u32; n_persons];
    let mut tp = 0u64;
    let mut predicted_pairs = 0u64;
    let mut bc_precision = 0f64; // sum over customers of (sum_j n_ij^2) / |C_i|
    let mut src_n = [0u64; Source::ALL.len()];
    let mut src_p = [0f64; Source::ALL.len()];
    let mut src_r = [0f64; Source::ALL.len()];
    let mut over_merged = 0u64;
    let mut singletons = 0u64;
    let mut largest: Option<(u64, u64, u32)> = None; // (mentions, persons, customer)
    for c in 0..n_customers {
        let members = &order[start[c] as usize..start[c + 1] as usize];
        let size = members.len() as u64;
        for &m in members {
            let p = person_of[m as usize] as usize;
            if count[p] == 0 {
                touched.push(p as u32);
            }
            count[p] += 1;
        }
        let mut sq = 0u64;
        for &p in &touched {
            let k = u64::from(count[p as usize]);
            sq += k * k;
            tp += pairs(k);
            person_sq[p as usize] += k * k;
            person_customers[p as usize] += 1;
        }
        for &m in members {
            let p = person_of[m as usize] as usize;
            let k = f64::from(count[p]);
            let s = tag_source(tags[m as usize]);
            src_n[s] += 1;
            src_p[s] += k / size as f64;
            src_r[s] += k / f64::from(person_size[p]);
        }
        bc_precision += sq as f64 / size as f64;
        predicted_pairs += pairs(size);
        let distinct = touched.len() as u64;
        over_merged += u64::from(distinct > 1);
        singletons += u64::from(size == 1);
        let candidate = (size, distinct, c as u32);
        largest = match largest {
            None => Some(candidate),
            Some(best) if better(&names, candidate, best) => Some(candidate),
            keep => keep,
        };
        for &p in &touched {
            count[p as usize] = 0;
        }
        touched.clear();
    }

    let mut true_pairs = 0u64;
    let mut bc_recall = 0f64; // sum over persons of (sum_i n_ij^2) / |T_j|
    let mut persons = 0u64;
    let mut split = 0u64;
    for p in 0..n_persons {
        let t = u64::from(person_size[p]);
        if t == 0 {
            continue;
        }
        persons += 1;
        true_pairs += pairs(t);
        bc_recall += person_sq[p] as f64 / t as f64;
        split += u64::from(person_customers[p] > 1);
    }

    // With nothing scored every score is 0, so a wrong truth directory never looks perfect.
    let n = coverage.scored;
    let ratio = |num: u64, den: u64| {
        if n == 0 {
            0.0
        } else if den == 0 {
            1.0
        } else {
            num as f64 / den as f64
        }
    };
    let (pp, pr) = (ratio(tp, predicted_pairs), ratio(tp, true_pairs));
    let pairwise = Pairwise {
        true_positive_pairs: tp,
        predicted_pairs,
        true_pairs,
        precision: pp,
        recall: pr,
        f1: f1(pp, pr),
    };
    let mean = |sum: f64, n: u64| if n == 0 { 0.0 } else { sum / n as f64 };
    let bcubed = Scores::new(mean(bc_precision, n), mean(bc_recall, n));
    let per_source = Source::ALL
        .iter()
        .enumerate()
        .map(|(s, source)| SourceScores {
            source: source.as_str(),
            scored: src_n[s],
            bcubed: Scores::new(mean(src_p[s], src_n[s]), mean(src_r[s], src_n[s])),
        })
        .collect();

    let clusters = Clusters {
        customers: n_customers as u64,
        persons,
        over_merged_customers: over_merged,
        split_persons: split,
        singleton_customers: singletons,
        largest_customer: largest.map(|(mentions, persons, c)| LargestCustomer {
            customer_id: names[c as usize].to_string(),
            mentions,
            persons,
        }),
    };
    Report {
        coverage,
        pairwise,
        bcubed,
        per_source,
        clusters,
    }
}

/// Orders largest-customer candidates: more mentions, then more persons, then smaller id.
fn better(names: &[&str], a: (u64, u64, u32), b: (u64, u64, u32)) -> bool {
    (a.0, a.1) > (b.0, b.1)
        || ((a.0, a.1) == (b.0, b.1) && names[a.2 as usize] < names[b.2 as usize])
}

/// Customer ids by interned index.
fn customer_names<'e>(ev: &'e Evaluator<'_>) -> Vec<&'e str> {
    let mut names = vec![""; ev.customers.len()];
    for (k, &v) in &ev.customers {
        names[v as usize] = k;
    }
    names
}

#[cfg(test)]
mod tests {
    use marque_core::{MentionKey, Role};

    use super::*;
    use crate::{Truth, evaluate};

    const EPS: f64 = 1e-12;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < EPS, "{a} != {b}");
    }

    /// Mention `i` of the sales source (buyer role).
    fn key(i: usize) -> MentionKey {
        MentionKey {
            source: Source::Sales,
            record_id: format!("INV-{i}"),
            role: Role::Buyer,
        }
    }

    /// Truth where mention `i` belongs to person `persons[i]`.
    fn truth(persons: &[&str]) -> Truth {
        Truth::from_rows(persons.iter().enumerate().map(|(i, p)| (key(i), *p, false))).unwrap()
    }

    fn run(persons: &[&str], customers: &[&str]) -> Report {
        let t = truth(persons);
        evaluate(&t, customers.iter().enumerate().map(|(i, c)| (key(i), *c))).unwrap()
    }

    #[test]
    fn perfect_clustering_scores_one() {
        let r = run(
            &["A", "A", "B", "C", "C", "C"],
            &["x", "x", "y", "z", "z", "z"],
        );
        for s in [
            Scores::new(r.pairwise.precision, r.pairwise.recall),
            r.bcubed,
            r.per_source[0].bcubed,
        ] {
            assert_eq!((s.precision, s.recall, s.f1), (1.0, 1.0, 1.0));
        }
        assert_eq!(r.pairwise.true_positive_pairs, 1 + 3);
        assert_eq!(r.clusters.over_merged_customers, 0);
        assert_eq!(r.clusters.split_persons, 0);
        assert_eq!(r.clusters.customers, 3);
        assert_eq!(r.clusters.persons, 3);
    }

    #[test]
    fn one_big_cluster() {
        // Truth A = {0,1,2}, B = {3}; everything predicted as one customer.
        // Pairwise: TP = C(3,2) = 3 of C(4,2) = 6 predicted pairs -> precision 0.5, recall 1.
        // B-cubed precision: (3 * 3/4 + 1 * 1/4) / 4 = 10/16; recall 1.
        let r = run(&["A", "A", "A", "B"], &["x"; 4]);
        close(r.pairwise.precision, 0.5);
        close(r.pairwise.recall, 1.0);
        close(r.pairwise.f1, 2.0 / 3.0);
        close(r.bcubed.precision, 0.625);
        close(r.bcubed.recall, 1.0);
        assert_eq!(r.clusters.over_merged_customers, 1);
        let l = r.clusters.largest_customer.unwrap();
        assert_eq!((l.customer_id.as_str(), l.mentions, l.persons), ("x", 4, 2));
    }

    #[test]
    fn all_singletons() {
        // Truth A = {0,1,2}, B = {3}; every mention its own customer.
        // Pairwise: no predicted pairs -> precision 1 by definition; TP 0 of 3 true pairs.
        // B-cubed recall: (3 * 1/3 + 1 * 1) / 4 = 0.5; precision 1.
        let r = run(&["A", "A", "A", "B"], &["w", "x", "y", "z"]);
        close(r.pairwise.precision, 1.0);
        close(r.pairwise.recall, 0.0);
        close(r.pairwise.f1, 0.0);
        close(r.bcubed.precision, 1.0);
        close(r.bcubed.recall, 0.5);
        close(r.bcubed.f1, 2.0 / 3.0);
        assert_eq!(r.clusters.split_persons, 1);
        assert_eq!(r.clusters.singleton_customers, 4);
        // Ties on size and persons go to the smallest id.
        assert_eq!(r.clusters.largest_customer.unwrap().customer_id, "w");
    }

    #[test]
    fn worked_example() {
        // Truth:      A = {0,1,2,3}, B = {4}, C = {5}
        // Prediction: X = {0,1,4},   Y = {2,3}, Z = {5}
        // Contingency cells: X:A=2, X:B=1, Y:A=2, Z:C=1.
        // Pairwise: TP = C(2,2) + C(2,2) = 2; predicted pairs = C(3,2) + C(2,2) = 4;
        //   true pairs = C(4,2) = 6. Precision 2/4, recall 2/6, F1 = (2 * 1/2 * 1/3) / (5/6) = 0.4.
        // B-cubed precision per mention: 0,1 -> 2/3; 4 -> 1/3; 2,3 -> 1; 5 -> 1.
        //   Sum 4/3 + 1/3 + 2 + 1 = 14/3, mean 7/9.
        // B-cubed recall per mention: 0,1 -> 2/4; 2,3 -> 2/4; 4 -> 1; 5 -> 1. Sum 4, mean 2/3.
        //   F1 = 2 * 7/9 * 2/3 / (7/9 + 2/3) = (28/27) / (13/9) = 28/39.
        let r = run(
            &["A", "A", "A", "A", "B", "C"],
            &["X", "X", "Y", "Y", "X", "Z"],
        );
        assert_eq!(
            (
                r.pairwise.true_positive_pairs,
                r.pairwise.predicted_pairs,
                r.pairwise.true_pairs
            ),
            (2, 4, 6)
        );
        close(r.pairwise.precision, 0.5);
        close(r.pairwise.recall, 1.0 / 3.0);
        close(r.pairwise.f1, 0.4);
        close(r.bcubed.precision, 7.0 / 9.0);
        close(r.bcubed.recall, 2.0 / 3.0);
        close(r.bcubed.f1, 28.0 / 39.0);
        close(r.per_source[0].bcubed.precision, r.bcubed.precision);
        close(r.per_source[0].bcubed.recall, r.bcubed.recall);
        assert_eq!(r.per_source[0].scored, 6);
        assert_eq!(r.per_source[1].scored, 0);
        let c = &r.clusters;
        assert_eq!((c.customers, c.persons), (3, 3));
        assert_eq!(
            (
                c.over_merged_customers,
                c.split_persons,
                c.singleton_customers
            ),
            (1, 1, 1)
        );
        let l = c.largest_customer.as_ref().unwrap();
        assert_eq!((l.customer_id.as_str(), l.mentions, l.persons), ("X", 3, 2));
    }

    #[test]
    fn scores_only_the_intersection_and_counts_the_rest() {
        // Truth: 0,1 -> A (unbroken), 2 -> A (broken), 3 -> B (unbroken, missing),
        // 4 -> B (broken, missing). Predicted: 0, 1, 2 (broken, let through) and an unknown key.
        let t = Truth::from_rows([
            (key(0), "A", false),
            (key(1), "A", false),
            (key(2), "A", true),
            (key(3), "B", false),
            (key(4), "B", true),
        ])
        .unwrap();
        let r = evaluate(
            &t,
            [(key(0), "x"), (key(1), "x"), (key(2), "x"), (key(99), "y")],
        )
        .unwrap();
        let c = &r.coverage;
        assert_eq!(
            (c.truth, c.truth_broken, c.predicted, c.scored),
            (5, 2, 4, 3)
        );
        assert_eq!(
            (
                c.scored_broken,
                c.missing_unbroken,
                c.missing_broken,
                c.unknown
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(c.missing_examples, vec!["sales:buyer:INV-3"]);
        assert_eq!(c.unknown_examples, vec!["sales:buyer:INV-99"]);
        // Person B has no scored mention, so it is not counted and does not hurt recall.
        assert_eq!(r.clusters.persons, 1);
        assert_eq!(r.clusters.customers, 1);
        close(r.bcubed.recall, 1.0);
        close(r.pairwise.f1, 1.0);
    }

    #[test]
    fn nothing_scored_scores_zero() {
        let t = truth(&["A", "B"]);
        let r = evaluate(&t, [(key(7), "x")]).unwrap();
        assert_eq!(r.coverage.scored, 0);
        assert_eq!((r.pairwise.precision, r.pairwise.recall), (0.0, 0.0));
        assert_eq!((r.bcubed.precision, r.bcubed.recall), (0.0, 0.0));
        assert!(r.clusters.largest_customer.is_none());
        let r = evaluate(&Truth::default(), std::iter::empty::<(MentionKey, &str)>()).unwrap();
        assert_eq!(r.bcubed.f1, 0.0);
    }

    #[test]
    fn report_serializes_and_displays() {
        let r = run(&["A", "A", "B"], &["x", "x", "x"]);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["coverage"]["scored"], 3);
        assert_eq!(json["pairwise"]["predicted_pairs"], 3);
        assert_eq!(json["per_source"][0]["source"], "sales");
        assert_eq!(json["clusters"]["largest_customer"]["customer_id"], "x");
        let text = r.to_string();
        assert!(
            text.contains("  b-cubed                  0.5556     1.0000     0.7143"),
            "{text}"
        );
        assert!(
            text.contains("over-merged customers            1"),
            "{text}"
        );
    }

    /// Small deterministic PRNG (splitmix64) so the check needs no extra dependency.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % n
        }
    }

    /// Straight from the definitions: every pair, every mention against every other.
    fn naive(
        person: &[u64],
        customer: &[u64],
        source: &[usize],
    ) -> (f64, f64, f64, f64, Vec<(f64, f64)>) {
        let n = person.len();
        let (mut tp, mut pp, mut tt) = (0u64, 0u64, 0u64);
        for a in 0..n {
            for b in a + 1..n {
                let (same_c, same_t) = (customer[a] == customer[b], person[a] == person[b]);
                tp += u64::from(same_c && same_t);
                pp += u64::from(same_c);
                tt += u64::from(same_t);
            }
        }
        let mut per = vec![(0f64, 0f64, 0u64); Source::ALL.len()];
        let (mut bp, mut br) = (0f64, 0f64);
        for m in 0..n {
            let c = (0..n).filter(|&o| customer[o] == customer[m]).count() as f64;
            let t = (0..n).filter(|&o| person[o] == person[m]).count() as f64;
            let both = (0..n)
                .filter(|&o| customer[o] == customer[m] && person[o] == person[m])
                .count() as f64;
            bp += both / c;
            br += both / t;
            let s = &mut per[source[m]];
            s.0 += both / c;
            s.1 += both / t;
            s.2 += 1;
        }
        let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let per = per
            .into_iter()
            .map(|(p, r, k)| {
                if k == 0 {
                    (0.0, 0.0)
                } else {
                    (p / k as f64, r / k as f64)
                }
            })
            .collect();
        (
            ratio(tp, pp),
            ratio(tp, tt),
            bp / n as f64,
            br / n as f64,
            per,
        )
    }

    #[test]
    fn matches_naive_definitions_on_random_inputs() {
        let mut rng = Rng(0x5EED);
        for round in 0..300 {
            let n = 1 + rng.below(40) as usize;
            let persons = 1 + rng.below(n as u64);
            let customers = 1 + rng.below(n as u64);
            let person: Vec<u64> = (0..n).map(|_| rng.below(persons)).collect();
            let customer: Vec<u64> = (0..n).map(|_| rng.below(customers)).collect();
            let source: Vec<usize> = (0..n).map(|_| rng.below(4) as usize).collect();
            let keys: Vec<MentionKey> = (0..n)
                .map(|i| {
                    let s = Source::ALL[source[i]];
                    MentionKey {
                        source: s,
                        record_id: format!("R{i}"),
                        role: s.roles()[0],
                    }
                })
                .collect();
            let t = Truth::from_rows(
                keys.iter()
                    .zip(&person)
                    .map(|(k, p)| (k.clone(), format!("P{p}"), false)),
            )
            .unwrap();
            let r = evaluate(
                &t,
                keys.iter()
                    .zip(&customer)
                    .map(|(k, c)| (k.clone(), format!("C{c}"))),
            )
            .unwrap();
            let (pp, pr, bp, br, per) = naive(&person, &customer, &source);
            let ctx = format!("round {round}, n {n}");
            assert!((r.pairwise.precision - pp).abs() < 1e-9, "{ctx}");
            assert!((r.pairwise.recall - pr).abs() < 1e-9, "{ctx}");
            assert!((r.bcubed.precision - bp).abs() < 1e-9, "{ctx}");
            assert!((r.bcubed.recall - br).abs() < 1e-9, "{ctx}");
            for (got, want) in r.per_source.iter().zip(per) {
                assert!((got.bcubed.precision - want.0).abs() < 1e-9, "{ctx}");
                assert!((got.bcubed.recall - want.1).abs() < 1e-9, "{ctx}");
            }
        }
    }
}
