//! Parsed names kept by their raw spelling while mentions load, so each is parsed once.
//!
//! Names repeat far more than any other field: the 1M-person generator data holds 14.6 million
//! name values but only 143 thousand distinct spellings (real Chinese names collide as much:
//! a few thousand given names over a few hundred surnames). Parsing (NFKC, simplification,
//! honorifics, pinyin) was the largest part of normalising a mention.

use compact_str::CompactString;
use marque_core::name::{self, PersonName};
use rayon::prelude::*;

use crate::hashing::{HashMap, HashSet};
use crate::names;

/// A parsed name and its comparison key ([`names::name_key`]).
#[derive(Debug, Clone)]
pub struct ParsedName {
    pub name: PersonName,
    pub key: CompactString,
}

fn parse(raw: &str) -> ParsedName {
    let name = name::parse(raw);
    let key = names::name_key(&name.full);
    ParsedName { name, key }
}

/// Raw name → parsed name, filled a record batch at a time.
#[derive(Debug, Default)]
#[allow(clippy::len_without_is_empty)]
pub struct NameCache {
    parsed: HashMap<Box<str>, ParsedName>,
    empty: ParsedName,
}

impl Default for ParsedName {
    fn default() -> Self {
        parse("")
    }
}

impl NameCache {
    /// Parses, on both cores, the names of `raw` not seen before.
    pub fn add<'a>(&mut self, raw: impl IntoIterator<Item = &'a str>) {
        let mut new: HashSet<&str> = HashSet::default();
        for r in raw {
            if !self.parsed.contains_key(r) {
                new.insert(r);
            }
        }
        let parsed: Vec<(Box<str>, ParsedName)> = new
            .into_par_iter()
            .map(|r| (Box::from(r), parse(r)))
            .collect();
        self.parsed.extend(parsed);
    }

    /// The parsed name of `raw` (a missing name parses as the empty one); parsed on the spot
    /// when [`NameCache::add`] did not see it.
    pub fn get(&self, raw: Option<&str>) -> ParsedName {
        match raw {
            None => self.empty.clone(),
            Some(r) => self.parsed.get(r).cloned().unwrap_or_else(|| parse(r)),
        }
    }

    /// How many distinct spellings were parsed.
    pub fn len(&self) -> usize {
        self.parsed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_name_is_the_name_parsed_directly() {
        let mut cache = NameCache::default();
        let raws = ["王先生", "ＷＡＮＧ Xiaoming", "王小明", "王小明", "Tony"];
        cache.add(raws);
        assert_eq!(cache.len(), 4, "each spelling parsed once");
        for r in raws {
            let got = cache.get(Some(r));
            assert_eq!(got.name, name::parse(r), "{r}");
            assert_eq!(got.key, names::name_key(&name::parse(r).full), "{r}");
        }
        assert_eq!(cache.get(None).name, name::parse(""));
        assert_eq!(
            cache.get(Some("李四")).name,
            name::parse("李四"),
            "a name the cache never saw is parsed on the spot"
        );
    }
}
