//! Parsed names (and cities) kept by their raw spelling while mentions load, so each is parsed
//! once; phone fields parsed per record.
//!
//! Names repeat far more than any other field: the 1M-person generator data holds 14.6 million
//! name values but only 143 thousand distinct spellings (real Chinese names collide as much:
//! a few thousand given names over a few hundred surnames). Parsing (NFKC, simplification,
//! honorifics, pinyin) was the largest part of normalising a mention.

use std::sync::Arc;

use compact_str::CompactString;
use marque_core::name::{self, PersonName};
use marque_core::phone;
use rayon::prelude::*;

use crate::compact::{PackedPhone, PhoneField, SharedText};
use crate::hashing::HashMap;
use crate::names;

/// A parsed name and its comparison key ([`names::name_key`]), shared by every mention that
/// spells the name alike: ten million mentions hold a pointer each instead of a 128-byte copy.
/// Derefs to the [`PersonName`].
#[derive(Debug, Clone)]
pub struct SharedName(Arc<ParsedName>);

#[derive(Debug)]
struct ParsedName {
    name: PersonName,
    key: CompactString,
}

impl SharedName {
    /// Parses `raw` on its own (the cache parses each spelling once).
    pub fn parse(raw: &str) -> Self {
        Self::parse_with_gender(raw, None)
    }

    /// Parses `raw` and gives it `gender` when one is stated: a name read back from the
    /// `mentions` table, whose gender column holds what the resident id or the honorific said
    /// (the resident id itself is not kept there).
    pub fn parse_with_gender(raw: &str, gender: Option<name::Gender>) -> Self {
        let mut name = name::parse(raw);
        name.gender = gender.or(name.gender);
        let key = names::name_key(&name.full);
        Self(Arc::new(ParsedName { name, key }))
    }

    /// The full name's comparison key (simplified characters, lower case).
    pub fn key(&self) -> &CompactString {
        &self.0.key
    }
}

impl std::ops::Deref for SharedName {
    type Target = PersonName;

    fn deref(&self) -> &PersonName {
        &self.0.name
    }
}

/// Raw field value → its parsed form, filled a record batch at a time: each distinct value is
/// parsed once.
#[derive(Debug)]
#[allow(clippy::len_without_is_empty)]
pub struct ParseCache<T> {
    parsed: HashMap<Box<str>, T>,
    parse: fn(&str) -> T,
    /// What a missing value gives.
    missing: T,
}

impl<T: Clone + Send + Sync> ParseCache<T> {
    fn new(parse: fn(&str) -> T, missing: T) -> Self {
        Self {
            parsed: HashMap::default(),
            parse,
            missing,
        }
    }

    /// Parses, on both cores, the values of `raw` not seen before.
    pub fn add(&mut self, raw: &[&str]) {
        // Looking each value up is most of the work once the cache is warm: both cores. A
        // value new twice in one batch is parsed twice: cheaper than a set of the new values
        // (collecting one was a tenth of the load's CPU while phones, mostly new, were cached).
        let parse = self.parse;
        let parsed: Vec<(Box<str>, T)> = raw
            .par_iter()
            .filter(|r| !self.parsed.contains_key(**r))
            .map(|&r| (Box::from(r), parse(r)))
            .collect();
        self.parsed.extend(parsed);
    }

    /// The parsed form of `raw`; parsed on the spot when [`ParseCache::add`] did not see it.
    pub fn get(&self, raw: Option<&str>) -> T {
        match raw {
            None => self.missing.clone(),
            Some(r) => self
                .parsed
                .get(r)
                .cloned()
                .unwrap_or_else(|| (self.parse)(r)),
        }
    }

    /// How many distinct values were parsed.
    pub fn len(&self) -> usize {
        self.parsed.len()
    }
}

/// Raw name → parsed name (a missing name parses as the empty one).
pub type NameCache = ParseCache<SharedName>;

impl Default for NameCache {
    fn default() -> Self {
        ParseCache::new(SharedName::parse, SharedName::parse(""))
    }
}

/// A phone field's evidence: its key (E.164) or, for a masked number, its block pattern; none
/// for a missing field. Parsed per record, not cached: a customer's number recurs (19.5 million
/// phone values, 2.1 million distinct, at 1M persons) but a parse costs about a lookup, and a
/// cache of the distinct values held ~0.25 GB at the end of the load, the run's peak.
pub(crate) fn parse_phone(raw: Option<&str>) -> PhoneField {
    let Some(raw) = raw else {
        return PhoneField::default();
    };
    let p = phone::parse(raw);
    if matches!(p, phone::Phone::Masked { .. }) {
        PhoneField::masked(p.block_pattern().as_deref().and_then(PackedPhone::pack))
    } else {
        PhoneField::key(p.key().and_then(PackedPhone::pack))
    }
}

/// Raw city → the one shared copy every mention naming it points to (a few hundred cities).
pub type CityCache = ParseCache<Option<SharedText>>;

impl Default for CityCache {
    fn default() -> Self {
        ParseCache::new(|raw| Some(Arc::new(CompactString::from(raw))), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::PhoneKind;

    #[test]
    fn a_phone_field_keeps_the_key_or_the_masked_pattern() {
        let raws = [
            "13912345678",
            "139****5678",
            "021-61234567",
            "13800000000",
            "x",
        ];
        for r in raws {
            let p = phone::parse(r);
            let got = parse_phone(Some(r));
            let is_masked = matches!(p, phone::Phone::Masked { .. });
            let want = if is_masked {
                p.block_pattern()
            } else {
                p.key().map(str::to_string)
            };
            assert_eq!(
                got.value.map(PackedPhone::text).as_deref(),
                want.as_deref(),
                "{r}"
            );
            assert_eq!(got.kind == PhoneKind::Masked, is_masked, "{r}");
        }
        let masked = parse_phone(Some("139****5678"));
        assert_eq!(masked.kind, PhoneKind::Masked);
        assert!(masked.value.is_some());
        assert!(parse_phone(None).value.is_none());
    }

    #[test]
    fn mentions_naming_one_city_share_one_copy() {
        let mut cache = CityCache::default();
        cache.add(&["上海", "北京", "上海"]);
        let (a, b) = (cache.get(Some("上海")), cache.get(Some("上海")));
        assert!(Arc::ptr_eq(a.as_ref().unwrap(), b.as_ref().unwrap()));
        assert_eq!(a.as_deref().map(CompactString::as_str), Some("上海"));
        assert!(cache.get(None).is_none());
    }

    #[test]
    fn a_cached_name_is_the_name_parsed_directly() {
        let mut cache = NameCache::default();
        let raws = ["王先生", "ＷＡＮＧ Xiaoming", "王小明", "王小明", "Tony"];
        cache.add(&raws);
        assert_eq!(cache.len(), 4, "each spelling parsed once");
        for r in raws {
            let got = cache.get(Some(r));
            assert_eq!(*got, name::parse(r), "{r}");
            assert_eq!(got.key(), &names::name_key(&name::parse(r).full), "{r}");
        }
        assert_eq!(*cache.get(None), name::parse(""));
        assert_eq!(
            *cache.get(Some("李四")),
            name::parse("李四"),
            "a name the cache never saw is parsed on the spot"
        );
    }
}
