//! Union-find over compact ids with *exclusive labels*: two clusters that carry different values
//! of the same label never join. Different resident ids are one label; every never-link
//! override is another.

/// A label group and the value a unit carries in it.
pub type Label = (u32, u32);

/// Label group of resident ids.
pub const RESIDENT: u32 = 0;

pub struct UnionFind {
    parent: Vec<u32>,
    /// Mentions per root.
    size: Vec<u32>,
    /// Sorted labels per root; empty for most.
    labels: Vec<Vec<Label>>,
}

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
    /// `sizes[i]` is the number of mentions unit `i` stands for.
    pub fn new(sizes: Vec<u32>, mut labels: Vec<Vec<Label>>) -> Self {
        for l in &mut labels {
            l.sort_unstable();
            l.dedup();
        }
        Self {
            parent: (0..sizes.len() as u32).collect(),
            size: sizes,
            labels,
        }
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    pub fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let p = self.parent[i as usize];
            self.parent[i as usize] = self.parent[p as usize];
            i = p;
        }
        i
    }

    /// Mentions in the cluster of `i`.
    pub fn size_of(&mut self, i: u32) -> u32 {
        let r = self.find(i);
        self.size[r as usize]
    }

    /// True when the clusters of `a` and `b` may join.
    pub fn compatible(&mut self, a: u32, b: u32) -> bool {
        let (ra, rb) = (self.find(a), self.find(b));
        ra == rb || !conflict(&self.labels[ra as usize], &self.labels[rb as usize])
    }

    /// Joins the clusters of `a` and `b` unless their labels conflict. Returns `Some(true)` when
    /// joined now, `Some(false)` when already one cluster, `None` when refused.
    pub fn union(&mut self, a: u32, b: u32) -> Option<bool> {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return Some(false);
        }
        if conflict(&self.labels[ra as usize], &self.labels[rb as usize]) {
            return None;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
        if !self.labels[small as usize].is_empty() {
            let moved = std::mem::take(&mut self.labels[small as usize]);
            let l = &mut self.labels[big as usize];
            l.extend(moved);
            l.sort_unstable();
            l.dedup();
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
            vec![1, 1, 1],
            vec![vec![(RESIDENT, 1)], vec![(RESIDENT, 2)], vec![]],
        );
        assert_eq!(uf.union(0, 2), Some(true));
        assert_eq!(uf.union(1, 2), None, "2 carries resident 1 now");
        assert_eq!(uf.size_of(0), 2);
        assert!(!uf.compatible(1, 0));
    }
}
