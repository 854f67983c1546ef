//! Compact field types of a [`crate::mentions::Mention`]: at 1M persons ten million mentions
//! are held at once, so every byte of one is ten megabytes of the run's peak.

use std::sync::Arc;

use compact_str::CompactString;

/// The record ids a mention stands for: one inline, or the many an app account's events (or a
/// customer's identical repair orders) fold into, boxed. 24 bytes, where a one-element
/// `SmallVec` of the same strings takes 40. Derefs to the slice of ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordIds {
    One(CompactString),
    Many(Box<Vec<CompactString>>),
}

impl RecordIds {
    pub fn one(id: impl Into<CompactString>) -> Self {
        Self::One(id.into())
    }

    /// Adds a record folded into the mention.
    pub fn push(&mut self, id: CompactString) {
        match self {
            Self::One(first) => {
                let first = std::mem::take(first);
                *self = Self::Many(Box::new(vec![first, id]));
            }
            Self::Many(ids) => ids.push(id),
        }
    }
}

impl std::ops::Deref for RecordIds {
    type Target = [CompactString];

    fn deref(&self) -> &[CompactString] {
        match self {
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(ids) => ids,
        }
    }
}

impl<'a> IntoIterator for &'a RecordIds {
    type Item = &'a CompactString;
    type IntoIter = std::slice::Iter<'a, CompactString>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// What a phone field gave: a key (E.164) or a masked number's block pattern (`139****5678`),
/// never both. A mention holds the two parts as separate fields, so that the tag packs with
/// its other one-byte fields (as one struct they would take 32 bytes, not 25).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhoneField {
    pub value: Option<CompactString>,
    pub kind: PhoneKind,
}

/// What a mention's phone string is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PhoneKind {
    /// A key; also what an empty field holds.
    #[default]
    Key,
    /// A key seen with many different names: not evidence.
    Hub,
    /// A masked number: partial evidence, never a key.
    Masked,
}

impl PhoneField {
    pub fn key(key: Option<CompactString>) -> Self {
        Self {
            value: key,
            kind: PhoneKind::Key,
        }
    }

    pub fn masked(pattern: Option<CompactString>) -> Self {
        Self {
            value: pattern,
            kind: PhoneKind::Masked,
        }
    }
}

/// A text value many mentions share (a city), held once: a thin pointer per mention.
pub type SharedText = Arc<CompactString>;

/// A record's own time, µs since the epoch, first and last of the records folded into a
/// mention; `i64::MIN` stands for none, where two `Option<i64>` would take twice the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenSpan {
    first: i64,
    last: i64,
}

const NONE: i64 = i64::MIN;

impl SeenSpan {
    pub fn at(t: Option<i64>) -> Self {
        // A time of exactly i64::MIN µs (290,000 years BC) would read as none: no record has it.
        let t = t.unwrap_or(NONE);
        Self { first: t, last: t }
    }

    pub fn first(&self) -> Option<i64> {
        (self.first != NONE).then_some(self.first)
    }

    pub fn last(&self) -> Option<i64> {
        (self.last != NONE).then_some(self.last)
    }

    /// Widens the span to cover `t`.
    pub fn cover(&mut self, t: Option<i64>) {
        let Some(t) = t.filter(|&t| t != NONE) else {
            return;
        };
        self.first = if self.first == NONE {
            t
        } else {
            self.first.min(t)
        };
        self.last = self.last.max(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_fold_in_order_and_stay_24_bytes() {
        assert_eq!(std::mem::size_of::<RecordIds>(), 24);
        let mut ids = RecordIds::one("a");
        assert_eq!(&*ids, &[CompactString::from("a")]);
        ids.push("b".into());
        ids.push("c".into());
        let got: Vec<&str> = ids.iter().map(CompactString::as_str).collect();
        assert_eq!(got, ["a", "b", "c"]);
    }

    #[test]
    fn a_seen_span_covers_every_time_and_ignores_missing_ones() {
        let mut s = SeenSpan::at(None);
        assert_eq!((s.first(), s.last()), (None, None));
        s.cover(Some(5));
        s.cover(None);
        s.cover(Some(-3));
        s.cover(Some(9));
        assert_eq!((s.first(), s.last()), (Some(-3), Some(9)));
        let mut t = SeenSpan::at(Some(7));
        t.cover(Some(1));
        assert_eq!((t.first(), t.last()), (Some(1), Some(7)));
    }
}
