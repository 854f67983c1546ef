//! Interned strings: one arena, integer ids, and a hash table of ids — a few bytes per string
//! instead of a heap allocation and a map entry each.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

/// The arena would pass 4 GiB: the index cannot hold this many strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArenaFull;

/// Strings with dense ids `0..len`, found by value in O(1).
#[derive(Default)]
pub struct StrTable {
    arena: String,
    /// `ends[i]` is where string `i` ends in the arena; it starts where `i - 1` ends.
    ends: Vec<u32>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl StrTable {
    /// Strings held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no string is held.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// String `id` (empty for an id out of range).
    pub fn get(&self, id: u32) -> &str {
        string_at(&self.arena, &self.ends, id)
    }

    /// The id of `s`, if held.
    pub fn find(&self, s: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(s);
        self.table
            .find(hash, |&i| string_at(&self.arena, &self.ends, i) == s)
            .copied()
    }

    /// The id of `s`, adding it when new; `(id, true)` when it was added.
    pub fn intern(&mut self, s: &str) -> Result<(u32, bool), ArenaFull> {
        let hash = self.hasher.hash_one(s);
        let Self {
            arena,
            ends,
            table,
            hasher,
        } = self;
        if let Some(&i) = table.find(hash, |&i| string_at(arena, ends, i) == s) {
            return Ok((i, false));
        }
        let end = arena.len() + s.len();
        if end > u32::MAX as usize || ends.len() >= u32::MAX as usize {
            return Err(ArenaFull);
        }
        let id = ends.len() as u32;
        arena.push_str(s);
        ends.push(end as u32);
        table.insert_unique(hash, id, |&i| hasher.hash_one(string_at(arena, ends, i)));
        Ok((id, true))
    }

    /// Gives back spare capacity once building is over.
    pub fn shrink_to_fit(&mut self) {
        let Self {
            arena,
            ends,
            table,
            hasher,
        } = self;
        arena.shrink_to_fit();
        ends.shrink_to_fit();
        table.shrink_to_fit(|&i| hasher.hash_one(string_at(arena, ends, i)));
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() + self.ends.capacity() * 4 + self.table.allocation_size()
    }
}

fn string_at<'a>(arena: &'a str, ends: &[u32], id: u32) -> &'a str {
    let i = id as usize;
    let Some(&end) = ends.get(i) else {
        return "";
    };
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    arena.get(start..end as usize).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_strings_keep_dense_ids_and_are_found_by_value() {
        let mut t = StrTable::default();
        assert_eq!(t.intern("王伟").unwrap(), (0, true));
        assert_eq!(t.intern("").unwrap(), (1, true));
        assert_eq!(t.intern("+8613912345678").unwrap(), (2, true));
        assert_eq!(t.intern("王伟").unwrap(), (0, false));
        for i in 0..10_000u32 {
            t.intern(&format!("k{i}")).unwrap();
        }
        t.shrink_to_fit();
        assert_eq!(t.len(), 10_003);
        assert_eq!(t.get(0), "王伟");
        assert_eq!(t.get(1), "");
        assert_eq!(t.get(2), "+8613912345678");
        assert_eq!(t.find("k9999"), Some(10_002));
        assert_eq!(t.get(10_002), "k9999");
        assert_eq!(t.find("k10000"), None);
        assert_eq!(t.get(99_999), "", "an id out of range reads as empty");
        assert!(t.heap_bytes() > 10_000);
    }
}
