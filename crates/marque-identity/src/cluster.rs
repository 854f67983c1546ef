//! Union-find over compact ids with *exclusive labels*: two clusters that carry different values
//! of the same label never join. Different resident ids are one label; every never-link
//! override is another.

/// A label group and the value a unit carries in it.
pub type Label = (u32, u32);

/// Label group of resident ids.
pub const RESIDENT: u32 = 0;

/// Clusters of units under exclusive labels. Serial by nature (the order of unions decides
/// which of two conflicting links wins) and run over some 20 million edges at 1M persons, so
/// one union should touch as little memory as possible: parent, size and labels in three
/// arrays cost a cache miss each per root. A unit's parent and its root's size share one
/// 8-byte node, and labels (only units with a resident id or a never-link override carry any)
/// are read only when both roots carry some.
pub struct UnionFind {
    nodes: Vec<Node>,
    /// Per labelled root, its label set in `sets`; a root taking over a labelled cluster
    /// takes over its slot, so labels are copied only when two labelled clusters join.
    slot: Vec<u32>,
    /// Sorted label sets.
    sets: Vec<Vec<Label>>,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    parent: u32,
    /// A root's mention count, and in the top bit whether it has labels.
    size: u32,
}

const LABELLED: u32 = 1 << 31;

fn conflict(a: &[Label], b: &[Label]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if a[i].1 != b[j].1 {
                    return true;
                }
                i += 1;
                j += 1;
            }
        }
    }
    false
}

impl UnionFind {
    /// `sizes[i]` is the number of mentions unit `i` stands for; `labels[i]` its guard labels.
    pub fn new(sizes: &[u32], labels: &[Vec<Label>]) -> Self {
        let mut nodes: Vec<Node> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| Node {
                parent: i as u32,
                size: size.min(LABELLED - 1),
            })
            .collect();
        let mut slot = vec![u32::MAX; sizes.len()];
        let mut sets = Vec::new();
        for (i, l) in labels.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
            let mut l = l.clone();
            l.sort_unstable();
            l.dedup();
            nodes[i].size |= LABELLED;
            slot[i] = sets.len() as u32;
            sets.push(l);
        }
        Self { nodes, slot, sets }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn find(&mut self, mut i: u32) -> u32 {
        while self.nodes[i as usize].parent != i {
            let p = self.nodes[i as usize].parent;
            self.nodes[i as usize].parent = self.nodes[p as usize].parent;
            i = p;
        }
        i
    }

    /// Mentions in the cluster of `i`.
    pub fn size_of(&mut self, i: u32) -> u32 {
        let r = self.find(i);
        self.nodes[r as usize].size & !LABELLED
    }

    /// True when the clusters of `a` and `b` may join.
    pub fn compatible(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        ra == rb || !self.conflicting_roots(ra, rb)
    }

    fn conflicting_roots(&self, ra: u32, rb: u32) -> bool {
        let labelled = |r: u32| self.nodes[r as usize].size & LABELLED != 0;
        labelled(ra) && labelled(rb) && conflict(self.labels_of(ra), self.labels_of(rb))
    }

    fn labels_of(&self, root: u32) -> &[Label] {
        &self.sets[self.slot[root as usize] as usize]
    }

    /// Joins the clusters of `a` and `b` unless their labels conflict. Returns `Some(true)` when
    /// joined now, `Some(false)` when already one cluster, `None` when refused.
    pub fn union(&mut self, a: u32, b: u32) -> Option<bool> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Some(false);
        }
        if self.conflicting_roots(ra, rb) {
            return None;
        }
        let (na, nb) = (self.nodes[ra as usize], self.nodes[rb as usize]);
        let (big, small) = if na.size & !LABELLED >= nb.size & !LABELLED {
            (ra, rb)
        } else {
            (rb, ra)
        };
        let size = (na.size & !LABELLED) + (nb.size & !LABELLED);
        let small_labelled = self.nodes[small as usize].size & LABELLED != 0;
        self.nodes[small as usize].parent = big;
        self.nodes[big as usize].size = size.min(LABELLED - 1) | ((na.size | nb.size) & LABELLED);
        if small_labelled {
            let (from, to) = (self.slot[small as usize], self.slot[big as usize]);
            if to == u32::MAX {
                self.slot[big as usize] = from;
            } else if self.sets[from as usize] != self.sets[to as usize] {
                let moved = std::mem::take(&mut self.sets[from as usize]);
                let l = &mut self.sets[to as usize];
                l.extend(moved);
                l.sort_unstable();
                l.dedup();
            }
        }
        Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn different_values_of_one_label_never_join_even_through_a_third_unit() {
        let mut uf = UnionFind::new(
            &[1, 1, 1],
            &[vec![(RESIDENT, 1)], vec![(RESIDENT, 2)], vec![]],
        );
        assert_eq!(uf.union(0, 2), Some(true));
        assert_eq!(uf.union(1, 2), None, "2 carries resident 1 now");
        assert_eq!(uf.size_of(0), 2);
        assert!(!uf.compatible(1, 0));
    }

    #[test]
    fn labels_follow_the_root_whichever_side_is_bigger() {
        // The labelled unit joins a bigger unlabelled cluster: the big root takes its label.
        let mut uf = UnionFind::new(
            &[1, 5, 1],
            &[vec![(RESIDENT, 1)], vec![], vec![(RESIDENT, 2)]],
        );
        assert_eq!(uf.union(0, 1), Some(true));
        assert_eq!(uf.find(0), 1, "the bigger cluster's root stays");
        assert_eq!(uf.size_of(0), 6);
        assert_eq!(uf.union(2, 1), None, "resident 1 came along");
        assert_eq!(uf.size_of(2), 1);
        assert_eq!(uf.len(), 3);
    }
}
